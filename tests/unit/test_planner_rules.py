"""Planner rules that no single captured host pins down, and the parsers' edge cases."""
import pytest
from ansible.module_utils.gpu_catalog import MODELS, NVIDIA_DEVICES, VLLM_RELEASES
from ansible.module_utils.gpu_inventory import (
    amd_family, build_gpu_facts, decode_gfx_target_version, normalize_pci_address, parse_lspci, parse_nvidia_smi,
    parse_rocm_smi_json,
)
from ansible.module_utils.serving_planner import PlanError, build_serving_plan, size_vllm

from fixture_loader import load_facts


def gpu(vendor="nvidia", family="hopper", cc="9.0", gfx=None, memory=81559, index=0, **extra):
    device = {"index": index, "pci_address": "0000:%02x:00.0" % (index + 1), "vendor": vendor, "model": "test card",
              "family": family, "compute_capability": cc, "gfx_target": gfx, "memory_mib": memory,
              "healthy": True, "health": "ok", "mig_mode": None}
    device.update(extra)
    return device


def facts(*devices):
    return {"devices": list(devices), "summary": {}}


@pytest.mark.parametrize("value, expected", [("90402", "gfx942"), ("90010", "gfx90a"), ("90500", "gfx950"),
                                             ("100300", "gfx1030"), ("110000", "gfx1100"), ("120001", "gfx1201"),
                                             ("90008", "gfx908"), ("0", None), ("junk", None)])
def test_gfx_target_version_decoding(value, expected):
    assert decode_gfx_target_version(value) == expected


@pytest.mark.parametrize("gfx, family", [("gfx906", "gcn5"), ("gfx908", "cdna1"), ("gfx90a", "cdna2"),
                                         ("gfx942", "cdna3"), ("gfx950", "cdna4"), ("gfx1031", "rdna2"),
                                         ("gfx1101", "rdna3"), ("gfx1151", "rdna3"), ("gfx1200", "rdna4"),
                                         ("gfx1337", "unknown"), (None, "unknown")])
def test_amd_family_by_gfx(gfx, family):
    assert amd_family(gfx) == family


@pytest.mark.parametrize("raw, normalized", [("00000000:18:00.0", "0000:18:00.0"), ("18:00.0", "0000:18:00.0"),
                                             ("0001:C4:00.1", "0001:c4:00.1"), ("nonsense", None), (None, None)])
def test_pci_address_normalization(raw, normalized):
    assert normalize_pci_address(raw) == normalized


def test_nvidia_csv_without_units_and_unknown_fields():
    text = "name, pci.bus_id, memory.total [MiB], fan.speed [%]\nNVIDIA L4, 00000000:00:03.0, 23034, 0\n"
    gpus, errors, _ = parse_nvidia_smi(text)
    assert gpus[0]["memory_mib"] == 23034 and gpus[0]["pci_address"] == "0000:00:03.0" and not errors


def test_nvidia_driver_not_loaded_is_a_note_not_a_crash():
    text = ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
            "Make sure that the latest NVIDIA driver is installed and running.\n")
    result = build_gpu_facts(parse_lspci("18:00.0 3D controller [0302]: NVIDIA Corporation GH100 [10de:2330] (rev a1)"),
                             nvidia_smi_text=text)
    assert result["summary"]["count"] == 1 and result["devices"][0]["family"] == "hopper"
    assert any("couldn't communicate" in note for note in result["notes"])


def test_rocm_smi_spells_gfx90a_as_gfx9010():
    cards = parse_rocm_smi_json('{"card0": {"GFX Version": "gfx9010", "PCI Bus": "0000:d1:00.0"}}')
    assert cards[0]["gfx_target"] == "gfx90a"


def test_every_nvidia_table_entry_has_a_known_family():
    assert {entry[2] for entry in NVIDIA_DEVICES.values()} <= {"volta", "turing", "ampere", "ada-lovelace",
                                                                 "hopper", "blackwell"}


def test_forcing_vllm_on_turing_names_the_fix():
    with pytest.raises(PlanError, match="gpt_oss_engine: llamacpp"):
        build_serving_plan(facts(gpu(family="turing", cc="7.5", memory=15360)), engine="vllm", host="t4-box")


def test_tensor_parallel_larger_than_gpu_count():
    with pytest.raises(PlanError, match="tensor_parallel_size=4 but only 2"):
        build_serving_plan(facts(gpu(index=0), gpu(index=1)), overrides={"tensor_parallel_size": 4})


def test_unknown_vllm_version_is_refused():
    with pytest.raises(PlanError, match="gpt_oss_vllm_version='0.9.0'"):
        build_serving_plan(facts(gpu()), vllm_version="0.9.0")


def test_unknown_model_is_refused():
    with pytest.raises(PlanError, match="not a GPT-OSS model"):
        build_serving_plan(facts(gpu()), model="meta/llama")


def test_120b_on_a_24gb_card_without_the_ram_for_its_experts_names_host_card_need_and_options():
    """llama.cpp can serve 120b from one 24 GB card with most experts in RAM - on a host that has the RAM."""
    card = gpu(family="ada-lovelace", cc="8.9", memory=24564)
    with pytest.raises(PlanError) as error:
        build_serving_plan(facts(card), model="openai/gpt-oss-120b", host="rtx-box", host_memory_mib=32768)
    message = str(error.value)
    for needle in ("rtx-box", "test card", "24564 MiB", "in RAM", "the host has 32768 MiB", "Options",
                   "openai/gpt-oss-20b", "max_model_len"):
        assert needle in message, (needle, message)
    plan = build_serving_plan(facts(card), model="openai/gpt-oss-120b", host="rtx-box", host_memory_mib=131072)
    assert plan["engine"] == "llamacpp" and "--n-cpu-moe" in plan["argv"]
    in_ram = int(plan["argv"][plan["argv"].index("--n-cpu-moe") + 1])
    # what stays on the card: the dense weights plus the other layers' experts, within its memory
    spec = MODELS["openai/gpt-oss-120b"]
    on_card = spec["gguf_dense_mib"] + (spec["architecture"]["layers"] - in_ram) * spec["gguf_expert_layer_mib"]
    assert on_card < 24564 < on_card + spec["gguf_expert_layer_mib"] * 3, (in_ram, on_card)


def test_vllm_only_refuses_what_vllm_cannot_hold():
    with pytest.raises(PlanError) as error:
        build_serving_plan(facts(gpu(family="ada-lovelace", cc="8.9", memory=24564)), model="openai/gpt-oss-120b",
                           engine="vllm", host="rtx-box")
    for needle in ("rtx-box", "24564 MiB", "openai/gpt-oss-20b", "gpt_oss_allow_cpu"):
        assert needle in str(error.value)


def test_120b_on_one_80gb_card_takes_the_recipes_out_of_memory_fix():
    """vLLM recipe, Known Limitations: TP 1 on an 80 GB H100 at the default utilization and batched tokens runs out of
    memory; its fix is 0.95 and 1024 batched tokens. With two such cards it takes TP 2 instead."""
    plan = build_serving_plan(facts(gpu(model="H100 80GB HBM3")), model="openai/gpt-oss-120b")
    argv = plan["argv"]
    assert argv[argv.index("--gpu-memory-utilization") + 1] == "0.95"
    assert argv[argv.index("--max-num-batched-tokens") + 1] == "1024"
    two = build_serving_plan(facts(gpu(index=0), gpu(index=1)), model="openai/gpt-oss-120b")
    assert two["tensor_parallel_size"] == 2 and float(two["sizing"]["gpu_memory_utilization"]) < 0.95
    # a 141 GB card holds it alone, at the planner's own utilization
    h200 = build_serving_plan(facts(gpu(memory=143771, model="NVIDIA H200")), model="openai/gpt-oss-120b")
    argv = h200["argv"]
    assert h200["tensor_parallel_size"] == 1 and argv[argv.index("--max-num-batched-tokens") + 1] == "8192"
    assert argv[argv.index("--gpu-memory-utilization") + 1] == "0.90"
    # three 80 GB cards: three TP 1 replicas with the fix, not a pair and an idle card
    three = build_serving_plan(facts(*[gpu(index=i) for i in range(3)]), model="openai/gpt-oss-120b")
    assert three["tensor_parallel_size"] == 1 and len(three["replicas"]) == 3 and not three["warnings"]
    with pytest.raises(PlanError, match="max_num_seqs=2048 is more than the plan's 1024 batched tokens"):
        build_serving_plan(facts(gpu()), model="openai/gpt-oss-120b", overrides={"max_num_seqs": 2048})


def test_the_context_goal_gives_one_request_the_longest_context():
    a10 = facts(gpu(family="ampere", cc="8.6", memory=23028, model="NVIDIA A10"))
    throughput = build_serving_plan(a10)["sizing"]
    context = build_serving_plan(a10, goal="context")["sizing"]
    assert context["max_model_len"] > throughput["max_model_len"]
    assert context["max_model_len"] == MODELS["openai/gpt-oss-20b"]["max_context"]
    # llama.cpp: one slot at the model's whole window instead of four shorter ones
    t4 = facts(gpu(family="turing", cc="7.5", memory=15360))
    slots = build_serving_plan(t4)["sizing"], build_serving_plan(t4, goal="context")["sizing"]
    assert slots[1]["max_num_seqs"] < slots[0]["max_num_seqs"]
    assert slots[1]["max_model_len"] == MODELS["openai/gpt-oss-20b"]["max_context"] > slots[0]["max_model_len"]
    with pytest.raises(PlanError, match="gpt_oss_plan_goal='fast'"):
        build_serving_plan(a10, goal="fast")


def test_every_120b_llamacpp_plan_fetches_every_shard_and_loads_the_first():
    plan = build_serving_plan(facts(gpu(vendor="amd", family="rdna3", cc=None, gfx="gfx1100", memory=24560, index=0),
                                    gpu(vendor="amd", family="rdna3", cc=None, gfx="gfx1100", memory=24560, index=1)),
                              model="openai/gpt-oss-120b", hf_home="/srv/hf", host_memory_mib=131072)
    files = plan["weights"]["files"]
    assert len(files) == 3 and [f.split("-")[-3] for f in files] == ["00001", "00002", "00003"], files
    assert plan["argv"][plan["argv"].index("--model") + 1].endswith("/" + files[0])
    assert plan["weights"]["path"].endswith(files[0])


def test_a_small_card_quantises_the_kv_cache_before_moving_experts_to_ram():
    """q8_0 KV needs flash attention in llama.cpp (a quantised V cache without it is an error)."""
    plan = build_serving_plan(facts(gpu(family="turing", cc="7.5", memory=15360)))
    argv = plan["argv"]
    assert argv[argv.index("--cache-type-v") + 1] == "q8_0" and argv[argv.index("--flash-attn") + 1] == "on"
    assert "--n-cpu-moe" not in argv
    roomy = build_serving_plan(facts(gpu(family="turing", cc="7.5", memory=24576)))["argv"]
    assert "--cache-type-v" not in roomy and "--n-cpu-moe" not in roomy


def test_no_gpu_without_cpu_permission_fails_clearly():
    with pytest.raises(PlanError, match="gpt_oss_allow_cpu: true"):
        build_serving_plan(facts(), host="cpu-box")


def test_mixed_vendors_serve_from_the_larger_group():
    plan = build_serving_plan(facts(gpu(index=0), gpu(vendor="amd", family="rdna3", cc=None, gfx="gfx1100",
                                                      memory=24560, index=1)))
    assert plan["backend"] == "cuda" and any("several vendors" in w for w in plan["warnings"])


def test_rdna4_gets_vllm_only_where_the_release_supports_it():
    card = gpu(vendor="amd", family="rdna4", cc=None, gfx="gfx1201", memory=32624)
    assert build_serving_plan(facts(card), vllm_version="0.32.0", rocm_variant="rocm700")["engine"] == "vllm"
    assert build_serving_plan(facts(card), vllm_version="0.10.2")["engine"] == "llamacpp"


def test_tensor_parallel_when_one_card_is_too_small():
    plan = build_serving_plan(facts(*[gpu(family="ampere", cc="8.0", memory=40960, index=i) for i in range(4)]),
                              model="openai/gpt-oss-120b")
    assert plan["tensor_parallel_size"] == 2 and len(plan["replicas"]) == 2
    assert plan["replicas"][1]["env"]["CUDA_VISIBLE_DEVICES"] == "2,3"
    assert "--tensor-parallel-size" in plan["argv"]


def test_sizing_grows_with_vram_and_respects_the_model_window():
    small, large = size_vllm("openai/gpt-oss-20b", 24564, 1), size_vllm("openai/gpt-oss-20b", 143771, 1)
    assert small["kv_tokens"] < large["kv_tokens"]
    assert small["max_model_len"] <= large["max_model_len"] == MODELS["openai/gpt-oss-20b"]["max_context"]
    assert small["max_num_seqs"] < large["max_num_seqs"]
    assert size_vllm("openai/gpt-oss-20b", 16376, 1) is None
    # an fp8 cache holds twice the tokens of bf16 in the same memory
    bf16, fp8 = (size_vllm("openai/gpt-oss-20b", 143771, 1, cache_dtype=dtype) for dtype in ("auto", "fp8"))
    assert abs(fp8["kv_tokens"] / bf16["kv_tokens"] - 2) < 0.01


def test_max_num_seqs_is_capped_at_vllms_own_default_for_the_card():
    """EngineArgs.get_batch_defaults: 1024 sequences on >= 70 GiB cards other than A100, 256 below."""
    h100 = build_serving_plan(facts(gpu(model="H100 80GB HBM3")))["sizing"]["max_num_seqs"]
    a100 = build_serving_plan(facts(gpu(family="ampere", cc="8.0", model="A100-SXM4-80GB", memory=81920)))
    assert h100 == 1024 and a100["sizing"]["max_num_seqs"] == 256


def test_every_release_names_its_parser_module_and_server_module():
    for release in VLLM_RELEASES.values():
        assert release["module"].startswith("vllm.") and release["tool_parser"]


def test_replicas_get_consecutive_ports_and_pinned_devices():
    plan = build_serving_plan(load_facts("l40s-4x"), port=9000)
    assert [r["port"] for r in plan["replicas"]] == [9000, 9001, 9002, 9003]
    assert [r["env"]["CUDA_VISIBLE_DEVICES"] for r in plan["replicas"]] == ["0", "1", "2", "3"]


def test_the_api_key_never_appears_in_the_argv():
    plan = build_serving_plan(load_facts("h200"))
    assert not any("api-key" in arg or "api_key" in arg for arg in plan["argv"])


def test_weights_point_into_the_hf_cache():
    plan = build_serving_plan(load_facts("t4"), hf_home="/srv/hf", revision="abc123")
    assert plan["weights"]["path"] == ("/srv/hf/hub/models--ggml-org--gpt-oss-20b-GGUF/snapshots/abc123/"
                                       "gpt-oss-20b-mxfp4.gguf")
    assert plan["argv"][plan["argv"].index("--model") + 1] == plan["weights"]["path"]


def test_flashinfer_comes_with_vllm_on_hopper_and_blackwell_only():
    assert build_serving_plan(load_facts("b200-8x"))["packages"] == ["vllm[flashinfer]==0.10.2"]
    assert build_serving_plan(load_facts("h200"))["packages"] == ["vllm[flashinfer]==0.10.2"]
    assert build_serving_plan(load_facts("a100-80gb-2x"))["packages"] == ["vllm==0.10.2"]
    assert build_serving_plan(load_facts("mi300x-8x-azure"), rocm_variant="rocm700")["packages"] == ["vllm==0.10.2"]
    # 0.32+ pin flashinfer-python as a hard dependency (read from the wheel): no extra to ask for
    assert build_serving_plan(load_facts("h200"), vllm_version="0.32.0")["packages"] == ["vllm==0.32.0"]


@pytest.mark.parametrize("overrides, needle", [({"max_model_lenght": 4096}, "max_model_lenght is not a planner setting"),
                                               ({"max_model_len": "big"}, "positive whole number"),
                                               ({"max_num_seqs": 0}, "positive whole number"),
                                               ({"tensor_parallel_size": 3}, "splits over 1/2/4/8"),
                                               ({"gguf_file": "../etc/passwd"}, "file name")])
def test_bad_overrides_are_named(overrides, needle):
    with pytest.raises(PlanError, match="gpt_oss_plan_overrides") as error:
        build_serving_plan(facts(gpu()), overrides=overrides)
    assert needle in str(error.value)


def test_an_unvalidated_vllm_version_is_refused_on_cpu_hosts_too():
    with pytest.raises(PlanError, match="gpt_oss_vllm_version='0.99.0'"):
        build_serving_plan(facts(), allow_cpu=True, vllm_version="0.99.0")


@pytest.mark.parametrize("model", sorted(MODELS))
def test_every_llamacpp_gpu_argv_uses_options_the_pinned_llama_server_has(model):
    """The option table is read from the pinned llama.cpp source (test_engine_options.py keeps it true)."""
    from ansible.module_utils.engine_options import LLAMACPP_OPTIONS
    from ansible.module_utils.gpu_catalog import LLAMACPP_SOURCE
    from fixture_loader import FIXTURE_NAMES
    options = LLAMACPP_OPTIONS["llama-server-%s" % LLAMACPP_SOURCE["build"]]
    seen = set()
    for name in FIXTURE_NAMES:
        for goal in ("throughput", "context"):
            try:
                plan = build_serving_plan(load_facts(name), model=model, engine="llamacpp", goal=goal,
                                          host_memory_mib=262144)
            except PlanError:
                continue
            if plan["backend"] == "cpu":
                continue
            flags = [arg for arg in plan["argv"][1:] if arg.startswith("-")]
            assert set(flags) <= options, (name, set(flags) - options)
            argv = plan["argv"]
            if "--flash-attn" in argv:  # llama.cpp's -fa takes a value (on/off/auto); a bare one eats the next word
                assert argv[argv.index("--flash-attn") + 1] in ("on", "off", "auto")
            seen.update(flags)
    # the plans exercise every option the sizing can emit
    for flag in ("--n-cpu-moe", "--cache-type-v", "--split-mode", "--ubatch-size"):
        assert flag in seen or model.endswith("20b") and flag == "--split-mode", (flag, model)


def test_a_split_gguf_named_by_its_first_shard_fetches_every_shard():
    plan = build_serving_plan(facts(gpu(family="turing", cc="7.5", memory=15360)),
                              overrides={"gguf_file": "my-model-00001-of-00004.gguf"})
    assert plan["weights"]["files"] == ["my-model-%05d-of-00004.gguf" % n for n in range(1, 5)]
    assert plan["weights"]["path"].endswith("my-model-00001-of-00004.gguf")


@pytest.mark.parametrize("name", ["rx7900xtx-2x", "rtx3090-2x-table", "rtx4060ti-2x-smi-q"])
def test_a_replica_split_over_gpus_fits_each_of_them(name):
    """llama.cpp gives each GPU whole layers in --tensor-split proportion, in order, and --n-cpu-moe N keeps the
    experts of the FIRST N layers in RAM: recount every GPU's share from the argv and the model's sizes."""
    for model in sorted(MODELS):
        plan = build_serving_plan(load_facts(name), model=model, engine="llamacpp", host_memory_mib=262144)
        argv = plan["argv"]
        if "--tensor-split" not in argv:
            continue
        spec, layers = MODELS[model], MODELS[model]["architecture"]["layers"]
        split = [int(n) for n in argv[argv.index("--tensor-split") + 1].split(",")]
        in_ram = int(argv[argv.index("--n-cpu-moe") + 1]) if "--n-cpu-moe" in argv else 0
        assert sum(split) == layers, split
        from ansible.module_utils.gpu_catalog import LLAMACPP_UBATCH_OVERHEAD_MIB
        from ansible.module_utils.model_memory import llamacpp_kv_bytes
        ubatch = int(argv[argv.index("--ubatch-size") + 1])
        cache = argv[argv.index("--cache-type-k") + 1] if "--cache-type-k" in argv else "f16"
        kv_mib = llamacpp_kv_bytes(model, int(argv[argv.index("--ctx-size") + 1]),
                                   int(argv[argv.index("--parallel") + 1]), ubatch, cache) / 2 ** 20
        first = 0
        for device, count in zip(load_facts(name)["devices"], split):
            experts = sum(spec["gguf_expert_layer_mib"] for layer in range(first, first + count) if layer >= in_ram)
            used = (dict(LLAMACPP_UBATCH_OVERHEAD_MIB)[ubatch] + experts
                    + count * (spec["gguf_dense_mib"] + kv_mib) / layers)
            assert used <= device["memory_mib"], (name, model, device["index"], used, split, in_ram)
            first += count


def test_the_xllamacpp_launcher_gets_only_what_its_parser_takes_and_the_plan_says_so():
    from ansible.module_utils.engine_options import LLAMACPP_OPTIONS
    plan = build_serving_plan(facts(gpu(family="turing", cc="7.5", memory=8192)), llamacpp_artifact="wheel")
    flags = {arg for arg in plan["argv"][2:] if arg.startswith("--")}
    assert flags <= LLAMACPP_OPTIONS["gpt-oss-llamacpp-server"], flags
    assert any("--n-cpu-moe" in w and "gpt_oss_llamacpp_artifact: build" in w for w in plan["warnings"])
