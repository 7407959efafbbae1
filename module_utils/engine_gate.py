# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
"""The engine gate: does what was installed, and what is running, match the backend the plan chose?

Pure functions over what the host reports (shared libraries linked, torch's build, llama.cpp's device list, the
replica's journal, the GPU's process list). A GPU plan served on the CPU is a failure here, never a warning.
"""
from __future__ import annotations

import re

LIST_DEVICES_HEADER = "Available devices:"
# llama-server --list-devices: "  Vulkan0: llvmpipe (LLVM 19.1.7, 256 bits) (16040 MiB, 16040 MiB free)"
_DEVICE_LINE = re.compile(r"^\s+([A-Za-z]+)(\d+): (.*?)\s*$")
# src/llama-model.cpp: LLAMA_LOG_INFO("%s: offloaded %d/%d layers to GPU\n", __func__, ...)
_OFFLOADED = re.compile(r"offloaded (\d+)/(\d+) layers to GPU")
# "load_tensors:      Vulkan0 model buffer size =    97.31 MiB"
_BUFFER = re.compile(r"(\S+) model buffer size =\s+([\d.]+) MiB")


class GateError(ValueError):
    """An output the gate cannot read (never taken as 'no GPU')."""


def parse_list_devices(text):
    """[(backend, index, description)] from `llama-server --list-devices`; raises if the header is missing."""
    lines = (text or "").splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == LIST_DEVICES_HEADER)
    except StopIteration:
        raise GateError("llama-server --list-devices printed no %r line; first line: %r"
                        % (LIST_DEVICES_HEADER, lines[0] if lines else ""))
    devices = []
    for line in lines[start + 1:]:
        match = _DEVICE_LINE.match(line)
        if match:
            devices.append((match.group(1), int(match.group(2)), match.group(3)))
    return devices


def parse_offload(journal):
    """(offloaded, total, {buffer device: MiB}) from a llama.cpp replica's log; None when it has not loaded yet."""
    matches = _OFFLOADED.findall(journal or "")
    if not matches:
        return None
    offloaded, total = (int(x) for x in matches[-1])
    buffers = {}
    for device, mib in _BUFFER.findall(journal):
        buffers[device] = float(mib)
    return offloaded, total, buffers


def parse_nvidia_compute_apps(text):
    """{pid: MiB} from `nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits`."""
    held = {}
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 2 or not parts[0].isdigit():
            raise GateError("cannot read nvidia-smi compute-apps line %r" % line)
        held[int(parts[0])] = int(parts[1]) if parts[1].isdigit() else 0
    return held


def install_problems(gate, observed):
    """What is wrong with the installed engine for the planned backend; [] when it matches.

    gate: the plan's build.gate (engine, backend, torch, library, devices, cuda_major).
    observed: {"libraries": [...], "torch": {"version", "cuda", "hip"} or None, "devices": [(backend, i, desc)]
    or None (not listed), "bytecode": {"package", "modules", "missing", "example"} or None (not a Python engine),
    "what": a description of the installed artifact}.
    """
    problems = []
    libraries = observed.get("libraries") or []
    wanted = gate.get("library")
    if wanted and not any(lib == wanted or lib.startswith(wanted + ".") or
                          (wanted.endswith(".so") and lib.startswith(wanted)) for lib in libraries):
        linked = sorted(lib for lib in libraries if re.match(r"lib(cudart|amdhip64|vulkan|hip|cuda)", lib))
        problems.append("%s links no %s (GPU libraries it links: %s) - it is not a %s build"
                        % (observed.get("what", "the engine"), wanted, ", ".join(linked) or "none", gate["backend"]))
    torch = observed.get("torch")
    if gate.get("torch") and torch is not None:
        if gate["torch"] == "cuda":
            major = str(torch.get("cuda") or "").split(".")[0]
            if not torch.get("cuda"):
                problems.append("torch %s is not a CUDA build" % torch.get("version"))
            elif gate.get("cuda_major") and major != str(gate["cuda_major"]):
                problems.append("torch %s is built for CUDA %s, the plan needs CUDA %s"
                                % (torch.get("version"), torch.get("cuda"), gate["cuda_major"]))
        elif gate["torch"] == "hip" and not torch.get("hip"):
            problems.append("torch %s is not a ROCm (HIP) build" % torch.get("version"))
        elif gate["torch"] == "cpu" and (torch.get("cuda") or torch.get("hip")):
            problems.append("torch %s is a GPU build on a CPU plan" % torch.get("version"))
    if gate.get("devices") and observed.get("devices") is not None:
        mine = [d for d in observed["devices"] if d[0] == gate["devices"]]
        if not mine:
            problems.append("llama.cpp lists no %s device (it lists: %s) - it would run on the CPU"
                            % (gate["devices"], ", ".join("%s%d %s" % d for d in observed["devices"]) or "none"))
    if gate.get("torch") in ("cuda", "hip") and torch is not None and observed.get("check_devices") \
            and not torch.get("device_count"):
        problems.append("torch sees no GPU (torch.cuda.device_count() == 0)")
    bytecode = observed.get("bytecode")
    if bytecode and bytecode["missing"]:
        # The replicas' user cannot write __pycache__ into the root-owned venv (ProtectSystem=strict): without
        # bytecode from the install, every start of every engine process compiles these modules again.
        problems.append("%d of the %d modules of %s have no bytecode for this Python (e.g. %s), so every replica "
                        "start compiles them again" % (bytecode["missing"], bytecode["modules"], bytecode["package"],
                                                       bytecode["example"]))
    return problems


def serving_problems(gate, replica, observed):
    """What shows that a running replica is not on its GPU; [] when it is."""
    if gate["backend"] == "cpu":
        return []
    if gate["engine"] == "llamacpp":
        offload = observed.get("offload")
        if offload is None:
            return ["%s's log has no 'offloaded N/M layers to GPU' line since it started" % replica]
        done, total, buffers = offload
        if total == 0 or done < total:
            return ["%s offloaded %d of %d layers to the GPU (model buffers: %s) - the rest runs on the CPU"
                    % (replica, done, total, ", ".join("%s %.0f MiB" % kv for kv in sorted(buffers.items())) or "-")]
        return []
    held = observed.get("vram_pids") or {}
    mine = [pid for pid in observed.get("pids", []) if held.get(pid)]
    if not mine:
        return ["no process of %s holds GPU memory (its processes: %s; processes holding GPU memory: %s)"
                % (replica, ", ".join(map(str, observed.get("pids", []))) or "none",
                   ", ".join("%d" % pid for pid in sorted(held)) or "none")]
    return []


def failure_message(host, plan_summary, problems, fix):
    """One line: the host, what the plan wanted, what was found (each problem names the artifact), the fix."""
    return "ENGINE GATE %s: the plan is %s, but %s. Fix: %s" % (host, plan_summary, "; ".join(problems), fix)
