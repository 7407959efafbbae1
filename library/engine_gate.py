#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
---
module: engine_gate
short_description: Fail a host whose installed or running inference engine is not on the planned GPU backend
description:
  - Phase C(install) reads what was installed in the engine's directory and compares it with the plan's
    C(build.gate) - the shared libraries the engine links (read from the ELF files themselves - vLLM's extensions,
    the xllamacpp extension, or the built C(llama-server)), the torch build (CUDA major or HIP) and, for llama.cpp,
    the devices C(llama-server --list-devices) sees with each replica's device selection.
  - Phase C(serving) checks each running replica holds its model on the GPU - llama.cpp's own
    C(offloaded N/M layers to GPU) log line since the unit last started, or GPU memory held by a process of the
    replica's cgroup (C(nvidia-smi --query-compute-apps), or the kernel's C(/sys/class/kfd/kfd/proc) on AMD).
  - A GPU plan that would be (or is) served on the CPU fails with a message naming the host, the planned
    backend, what was found, and the fix. It is never a warning.
version_added: "0.2.0"
author: gpt-oss-fleet contributors
options:
  gate:
    description: The plan's C(build.gate) from M(serving_plan).
    type: dict
    required: true
  install_dir:
    description: The engine's install directory (a venv, or a llama.cpp build prefix with C(bin/llama-server)).
    type: path
    required: true
  phase:
    description: C(install) after installing, C(serving) once the replicas answer.
    type: str
    choices: [install, serving]
    default: install
  replicas:
    description: The plan's replicas (C(name), C(env)); their device selection is used to list devices.
    type: list
    elements: dict
    default: []
  check_devices:
    description: In the install phase also require that the engine sees a GPU (torch device count, llama.cpp's
      device list). Off only where no GPU can be present (a replayed host).
    type: bool
    default: true
  host_name:
    description: The inventory name used in messages.
    type: str
    required: true
  plan_summary:
    description: One line describing the planned engine and backend, used in messages.
    type: str
    required: true
  cmake_args:
    description: The plan's llama.cpp CMake options, named in the fix of a failed source build.
    type: list
    elements: str
    default: []
  packages:
    description: The plan's engine packages, named in the fix of a failed wheel install.
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
    details: Read-only; an install directory that does not exist yet (check mode before the first install) is
      reported as not checked.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - The ELF reader is in C(module_utils/elf_deps.py); the same code reads the release wheels in the tests.
seealso:
  - module: serving_plan
  - name: llama.cpp build documentation
    description: The backend CMake options the plan builds with.
    link: https://github.com/ggml-org/llama.cpp/blob/master/docs/build.md
"""

EXAMPLES = r"""
- name: Check the installed engine is built for the planned backend
  engine_gate:
    gate: "{{ plan.build.gate }}"
    install_dir: /opt/gpt-oss/venvs/llamacpp-b11434-vulkan
    replicas: "{{ plan.replicas }}"
    host_name: "{{ inventory_hostname }}"
    plan_summary: llama.cpp b11434 on vulkan

- name: Check the running replicas hold the model on the GPU
  engine_gate:
    gate: "{{ plan.build.gate }}"
    install_dir: /opt/gpt-oss/venvs/current
    phase: serving
    replicas: "{{ plan.replicas }}"
    host_name: "{{ inventory_hostname }}"
    plan_summary: vLLM 0.32.0 on cuda
"""

RETURN = r"""
checked:
  description: Whether anything was checked (false in check mode before the first install).
  type: bool
  returned: always
observed:
  description: What was found - linked GPU libraries, torch build, the engine's modules with and without bytecode,
    devices per replica, offload per replica.
  type: dict
  returned: always
  sample: {"what": "llama-server (llama.cpp b11434)", "libraries": ["libvulkan.so.1"],
           "devices": {"gpt-oss-0": ["Vulkan0: llvmpipe (LLVM 19.1.7, 256 bits)"]}}
"""

import glob
import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.elf_deps import ElfError, needed_libraries_of_file
from ansible.module_utils.engine_gate import (
    GateError, failure_message, install_problems, parse_list_devices, parse_nvidia_compute_apps, parse_offload,
    serving_problems,
)

# Run with the venv's python: torch's build, where the engine package lives and whether its modules have bytecode
# for this interpreter, without importing the engine.
TORCH_PROBE = r"""
import importlib.util, json, os, sys
out = {"torch": None, "packages": {}, "bytecode": {}}
for name in sys.argv[2:]:
    spec = importlib.util.find_spec(name)
    out["packages"][name] = list(spec.submodule_search_locations or []) if spec else None
    sources = [os.path.join(root, f) for location in out["packages"][name] or [] for root, _, files in os.walk(location)
               for f in files if f.endswith(".py")]
    missing = [path for path in sources if not os.path.exists(importlib.util.cache_from_source(path))]
    out["bytecode"][name] = {"modules": len(sources), "missing": len(missing), "example": (missing or [None])[0]}
if sys.argv[1] == "torch":
    import torch
    out["torch"] = {"version": torch.__version__, "cuda": torch.version.cuda, "hip": getattr(torch.version, "hip", None),
                    "device_count": torch.cuda.device_count()}
print(json.dumps(out))
"""
FIXES = {
    "source": "remove {dir} and re-run: the runtime role rebuilds llama.cpp with {cmake} (needs the backend's "
              "build packages; see {dir}.build.log)",
    "wheel-llamacpp": "set gpt_oss_llamacpp_artifact: build (the default for GPU plans: upstream llama-server built "
                      "for {backend}), or point inference_runtime_extra_index_urls at an index serving a {backend} "
                      "build of {packages}",
    "wheel-vllm": "remove {dir} and re-run: the runtime role installs {packages} as the plan names it ({build}); "
                  "a mirror or find-links directory must serve that build, not a CPU one",
    "bytecode": "compile it once as root, {python} -m compileall -q -j 0 {site}, or remove {dir} and re-run (the "
                "runtime role's install compiles every module)",
    "devices": "the {backend} driver exposes no device to the engine: check `{probe}` on the host, the service "
               "user's groups (video, render) and the replica's {visible}",
}
PROBES = {"cuda": "nvidia-smi -L", "rocm": "rocminfo", "vulkan": "vulkaninfo --summary"}


def _libraries(paths):
    found = set()
    for path in paths:
        try:
            found.update(needed_libraries_of_file(path))
        except (OSError, ElfError):
            continue
    return sorted(found)


def _cgroup_pids(module, unit):
    rc, out, _ = module.run_command(["systemctl", "show", "-p", "ControlGroup", "--value", unit])
    group = out.strip()
    for root in ("/sys/fs/cgroup", "/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"):
        path = os.path.join(root + group, "cgroup.procs")
        if group and os.path.exists(path):
            with open(path) as handle:
                return [int(line) for line in handle if line.strip()]
    return []


def check_install(module, p):
    gate, directory = p["gate"], p["install_dir"]
    if not os.path.exists(directory):
        if module.check_mode:
            module.exit_json(changed=False, checked=False, observed={"what": "%s (not installed yet)" % directory})
        module.fail_json(msg="ENGINE GATE %s: %s does not exist; the runtime role did not install the engine"
                             % (p["host_name"], directory))
    observed = {"devices": None, "torch": None, "check_devices": p["check_devices"]}
    server = os.path.join(directory, "bin", "llama-server")
    site = directory
    build_info = os.path.join(directory, "build.json")
    if os.path.exists(server):
        kind = "source"
        meta = json.load(open(build_info)) if os.path.exists(build_info) else {}
        observed["what"] = "llama-server (%s)" % (meta.get("summary") or directory)
        observed["libraries"] = _libraries([server] + glob.glob(os.path.join(directory, "lib", "*.so*")))
    else:
        python = os.path.join(directory, "bin", "python")
        package = "vllm" if gate["engine"] == "vllm" else "xllamacpp"
        kind = "wheel-" + gate["engine"]
        rc, out, err = module.run_command([python, "-c", TORCH_PROBE, "torch" if gate.get("torch") else "-", package])
        if rc != 0:
            module.fail_json(msg="ENGINE GATE %s: cannot inspect the engine in %s: %s"
                                 % (p["host_name"], directory, (err or out).strip()[-800:]))
        probe = json.loads(out.strip().splitlines()[-1])
        locations = probe["packages"].get(package)
        if not locations:
            module.fail_json(msg="ENGINE GATE %s: %s has no %s package; the install did not complete"
                                 % (p["host_name"], directory, package))
        observed["torch"] = probe["torch"]
        observed["bytecode"] = dict(probe["bytecode"][package], package=package)
        site = os.path.dirname(locations[0])
        files = [f for location in locations for f in glob.glob(os.path.join(location, "*.so"))]
        observed["what"] = "the %s package in %s%s" % (package, directory, " (torch %s)" % probe["torch"]["version"]
                                                      if probe["torch"] else "")
        observed["libraries"] = _libraries(files)
    if gate.get("devices") and kind == "source" and p["check_devices"]:
        observed["devices"], listed = [], {}
        for replica in p["replicas"] or [{"name": "engine", "env": {}}]:
            env = dict(os.environ, **{k: str(v) for k, v in (replica.get("env") or {}).items()})
            rc, out, err = module.run_command([server, "--list-devices"], environ_update=env)
            try:
                devices = parse_list_devices(out)
            except GateError as error:
                module.fail_json(msg="ENGINE GATE %s: %s (rc=%s, stderr: %s)" % (p["host_name"], error, rc,
                                                                                  err.strip()[-500:]))
            listed[replica["name"]] = ["%s%d: %s" % d for d in devices]
            observed["devices"].extend(devices)
        observed["listed"] = listed
    problems = install_problems(gate, observed)
    if problems:
        device_only = all("lists no" in problem or "sees no GPU" in problem for problem in problems)
        bytecode_only = all("no bytecode" in problem for problem in problems)
        fix = FIXES["bytecode" if bytecode_only else "devices" if device_only else kind].format(
            python=os.path.join(directory, "bin", "python"), site=site,
            dir=directory, backend=gate["backend"], cmake=" ".join(p.get("cmake_args") or []) or "its backend option",
            packages=", ".join(p.get("packages") or []) or "the engine",
            build=", ".join(["torch backend %s" % gate["torch_backend"]] * bool(gate.get("torch_backend"))
                            + ["index %s" % url for url in gate.get("indexes") or []]) or "the planned build",
            probe=PROBES.get(gate["backend"], "-"), visible=gate.get("visible_env") or "device selection")
        module.fail_json(msg=failure_message(p["host_name"], p["plan_summary"], problems, fix),
                         observed=_public(observed))
    module.exit_json(changed=False, checked=True, observed=_public(observed))


def check_serving(module, p):
    gate = p["gate"]
    observed, problems = {}, []
    vram = None
    for replica in p["replicas"]:
        unit = "%s.service" % replica["name"]
        seen = {}
        if gate["engine"] == "llamacpp":
            rc, invocation, _ = module.run_command(["systemctl", "show", "-p", "InvocationID", "--value", unit])
            rc, journal, _ = module.run_command(["journalctl", "--no-pager", "-o", "cat",
                                                 "_SYSTEMD_INVOCATION_ID=%s" % invocation.strip()])
            seen["offload"] = parse_offload(journal)
        else:
            seen["pids"] = _cgroup_pids(module, unit)
            if vram is None:
                vram = _vram_pids(module, gate["backend"], seen["pids"])
            seen["vram_pids"] = vram
        observed[replica["name"]] = {k: v for k, v in seen.items()}
        problems += serving_problems(gate, replica["name"], seen)
    if problems:
        fix = ("the engine fell back to the CPU: read the replica's journal (journalctl -u %s) for the device it "
               "opened, and check `%s` and the unit's device access (DeviceAllow, groups video/render)"
               % (p["replicas"][0]["name"], PROBES.get(gate["backend"], "-")))
        module.fail_json(msg=failure_message(p["host_name"], p["plan_summary"], problems, fix), observed=observed)
    module.exit_json(changed=False, checked=True, observed=observed)


def _vram_pids(module, backend, pids):
    if backend == "cuda":
        rc, out, err = module.run_command(["nvidia-smi", "--query-compute-apps=pid,used_memory",
                                           "--format=csv,noheader,nounits"])
        if rc != 0:
            module.fail_json(msg="ENGINE GATE: nvidia-smi failed (rc=%d): %s" % (rc, (err or out).strip()))
        try:
            return parse_nvidia_compute_apps(out)
        except GateError as error:
            module.fail_json(msg="ENGINE GATE: %s" % error)
    # AMD: the kernel's KFD lists every process that opened a GPU context
    return {pid: 1 for pid in pids if os.path.isdir("/sys/class/kfd/kfd/proc/%d" % pid)}


def _public(observed):
    return {k: v for k, v in observed.items() if k in ("what", "libraries", "torch", "listed", "bytecode")}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            gate=dict(type="dict", required=True),
            install_dir=dict(type="path", required=True),
            phase=dict(type="str", default="install", choices=["install", "serving"]),
            replicas=dict(type="list", elements="dict", default=[]),
            check_devices=dict(type="bool", default=True),
            host_name=dict(type="str", required=True),
            plan_summary=dict(type="str", required=True),
            cmake_args=dict(type="list", elements="str", default=[]),
            packages=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    if module.params["phase"] == "install":
        check_install(module, module.params)
    check_serving(module, module.params)


if __name__ == "__main__":
    main()
