#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
---
module: serving_plan
short_description: Plan how to serve GPT-OSS on a host's GPUs
description:
  - From the facts of M(gpu_facts), choose the engine (vLLM or llama.cpp), backend (cuda, rocm,
    vulkan, cpu), wheel variant, the driver stack the host needs, replicas and tensor parallelism,
    sizing (max-model-len, gpu-memory-utilization, max-num-seqs), environment and the exact server
    command line that the systemd unit will run.
  - Rules follow vLLM's GPT-OSS recipe per GPU generation and per vLLM release; flag and environment
    names are looked up per release, so the argv is valid for the version installed.
  - Fails, before anything changes, with a message naming the host, the card, the need and the options
    when nothing fits.
version_added: "0.1.0"
author: gpt-oss-fleet contributors
options:
  gpu:
    description: The C(ansible_facts.gpu) returned by M(gpu_facts).
    type: dict
    required: true
  model:
    description: The model to serve.
    type: str
    default: openai/gpt-oss-20b
    choices: [openai/gpt-oss-20b, openai/gpt-oss-120b]
  engine:
    description: C(auto) picks vLLM where it can serve the card and llama.cpp elsewhere.
    type: str
    default: auto
    choices: [auto, vllm, llamacpp]
  vllm_version:
    description:
      - vLLM release to plan for (one with validated rules). Unset, the tested default
        (C(VLLM_DEFAULT_VERSION) in C(module_utils/gpu_catalog.py)).
    type: str
  allow_cpu:
    description: Serve on the CPU when the host has no usable GPU (otherwise that is an error).
    type: bool
    default: false
  bind_address:
    description: Address the server listens on.
    type: str
    default: 127.0.0.1
  port:
    description: Port of the first replica; further replicas take the next ports.
    type: int
    default: 8000
  model_path:
    description: Local path (or repository id) passed to the engine as the model.
    type: str
  served_model_name:
    description: Name clients use in requests; defaults to the model's repository name.
    type: str
  venv_path:
    description: The engine's virtual environment (its C(current) link).
    type: path
    default: /opt/gpt-oss/venvs/current
  host_memory_mib:
    description: Host RAM, used for CPU plans.
    type: int
  cpu_count:
    description: CPU threads for CPU plans.
    type: int
  overrides:
    description:
      - Sizing overrides. Keys C(max_model_len), C(max_num_seqs), C(max_num_batched_tokens) (vLLM), C(tensor_parallel_size), C(parallel)
        (llama.cpp slots), C(cpu_kv_cache_gib), C(gguf_file), C(cpu_replicas) (llama.cpp on CPU only - that many
        llama-server processes on consecutive ports, sharing the mapped weights and splitting the cores).
    type: dict
    default: {}
  hf_home:
    description: HF_HOME on the host; the plan's argv then points at the weights' snapshot in its hub cache.
    type: path
  revision:
    description: Weights revision (snapshot directory name in the cache).
    type: str
    default: main
  llamacpp_version:
    description:
      - Release of the llama.cpp wheel (C(xllamacpp)) for llama.cpp plans; the catalog's tested pin when unset.
        A new value means a new versioned venv, which is how a fleet rollout upgrades llama.cpp.
    type: str
  extra_args:
    description:
      - Arguments appended to every replica's server command line. A flag the plan already sets is refused.
    type: list
    elements: str
    default: []
  host_name:
    description: Name of the host in messages.
    type: str
    default: localhost
  distribution:
    description: The host's distribution (C(ansible_facts.distribution)); decides which llama.cpp backends its
      packages can build.
    type: str
  distribution_version:
    description: The release (C(22.04) on Ubuntu, the major version on Debian).
    type: str
  host_python:
    description: Version of the host's python3; a release whose Requires-Python rejects it gets a uv-managed CPython.
    type: str
  rocm_variant:
    description: vLLM ROCm build to install on AMD (for example C(rocm700)), for a release whose ROCm build the
      catalog does not list. The engine gate proves after install that it is a HIP build.
    type: str
  llamacpp_artifact:
    description: C(auto) builds upstream llama-server for GPU plans and uses the CPU wheel for CPU plans; C(wheel)
      forces the C(xllamacpp) wheel (from an index serving its GPU builds); C(build) forces the source build.
    type: str
    default: auto
    choices: [auto, build, wheel]
  goal:
    description: What the sizing optimises (gpt_oss_plan_goal) - C(throughput) (context up to the model's window
      while two full-length requests fit; llama.cpp four slots) or C(context) (the longest context one request can
      have; llama.cpp one slot).
    type: str
    default: throughput
    choices: [throughput, context]
  host_groups:
    description:
      - The groups that exist on the host (the keys of C(ansible_facts.getent_group)). The unit's supplementary
        groups are the backend's device groups among these or among those the planned driver stack creates
        (M(gpu_driver_plan) C(groups)); unset and I(read_host=false) means every device group the backend wants.
    type: list
    elements: str
  read_host:
    description:
      - Read what is not given from the host the module runs on, in the same round trip as the plan -
        I(host_groups) from the group database (NSS, as C(getent group)) and I(host_python) by running
        I(python_path). Given values (replays, tests) win.
      - The preflight gives both, as M(host_probe) read them, so that the plan is computed on the controller.
    type: bool
    default: false
  python_path:
    description:
      - The interpreter engine venvs are made from, read for I(host_python) when I(read_host) is true. A missing
        interpreter leaves I(host_python) unset (the plan then assumes the host's Python is usable).
    type: path
    default: python3
attributes:
  action:
    support: full
    details: An action plugin (action_plugins/serving_plan.py) runs the module's own code in the controller's worker
      process, without a round trip to the host, unless the call needs a read only the host can make.
  check_mode:
    support: full
  diff_mode:
    support: none
seealso:
  - module: host_probe
  - module: gpu_facts
"""

EXAMPLES = r"""
- name: Plan the serving stack
  serving_plan:
    gpu: "{{ ansible_facts.gpu }}"
    model: openai/gpt-oss-120b
    vllm_version: "0.10.2"
  register: plan

- name: Show why
  ansible.builtin.debug:
    var: plan.plan.reasons
"""

RETURN = r"""
plan:
  description: The serving plan.
  returned: success
  type: complex
  contains:
    engine:
      description: vllm or llamacpp.
      type: str
    engine_version:
      description: Version of the engine package.
      type: str
    backend:
      description: cuda, rocm, vulkan or cpu.
      type: str
    wheel_variant:
      description: cu128, cu129, cu130, rocm, vulkan or cpu.
      type: str
    packages:
      description: pip requirement specifiers to install into the engine venv.
      type: list
      elements: str
    driver:
      description: The driver stack the host needs (vendor, cuda, branch, min_driver_version, kernel_modules, rocm).
      type: dict
    env:
      description: Environment every replica runs with.
      type: dict
    argv:
      description: The first replica's full command line, exactly what its systemd unit runs.
      type: list
      elements: str
    replicas:
      description: One entry per server process (name, port, devices, argv, env).
      type: list
      elements: dict
    tensor_parallel_size:
      description: GPUs per replica.
      type: int
    sizing:
      description:
        - max_model_len (per sequence or slot), max_num_seqs (vLLM sequences or llama.cpp slots), goal; on GPUs also
          kv_cache_dtype, kv_tokens (the KV capacity the engine reports) and experts (where the MoE experts live);
          vLLM adds gpu_memory_utilization and max_num_batched_tokens, llama.cpp ubatch and n_cpu_moe.
      type: dict
    build:
      description:
        - The engine build - C(artifact) (wheel or source), C(id) (the install directory's name), C(python)
          (requires, source system or uv, version), C(packages), C(torch_backend), C(extra_index_urls), for
          source builds C(source) (package, version, sha256), C(cmake_args), C(build_packages), C(build_env), and
          C(gate), what the engine gate must find installed (torch build, linked GPU library, device name).
      type: dict
    model_format:
      description: safetensors (vLLM) or gguf (llama.cpp).
      type: str
    weights:
      description: repo, revision, files (what to fetch; every shard of a split GGUF), file (the GGUF the engine
        loads, the first shard), snapshot_dir, path (what the engine loads) and download_mib.
      type: dict
    unit:
      description:
        - What each replica's systemd unit and environment file hold for this engine and backend (tables in
          module_utils/unit_profiles.py); the templates only render these fields.
        - C(groups) (supplementary groups of the service user and the unit), C(device_allow) (C(DeviceAllow=)
          values, under C(DevicePolicy=closed)), C(private_devices) (C(PrivateDevices=yes) instead of an
          allow-list), C(address_families) (C(RestrictAddressFamilies=)), C(memory_deny_write_execute),
          C(api_key_env) (the variable the server reads the API key from), C(engine_env) (fixed engine
          environment) and C(state_env) (environment paths relative to the state directory).
      type: dict
      sample:
        groups: [video, render]
        device_allow: [/dev/kfd rw, char-drm rw]
        private_devices: false
        address_families: [AF_INET, AF_INET6, AF_UNIX, AF_NETLINK]
        memory_deny_write_execute: false
        api_key_env: VLLM_API_KEY
        engine_env: {VLLM_NO_USAGE_STATS: "1"}
        state_env: {VLLM_CACHE_ROOT: cache/vllm}
    reasons:
      description: Which rule chose what.
      type: list
      elements: str
    warnings:
      description: What the plan left out or could not honour.
      type: list
      elements: str
table:
  description: The plan as readable lines.
  returned: success
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.module_exit import finish
from ansible.module_utils.host_probe import group_names, python_version
from ansible.module_utils.serving_planner import PlanError, build_serving_plan, plan_table


def read_host(groups, python, python_path):
    """The host's group names and its engine Python's version, unless given."""
    if groups is None:
        groups = group_names()
    if python is None:
        python = python_version(python_path)
    return groups, python


ARGUMENT_SPEC = dict(
    gpu=dict(type="dict", required=True),
    model=dict(type="str", default="openai/gpt-oss-20b", choices=["openai/gpt-oss-20b", "openai/gpt-oss-120b"]),
    engine=dict(type="str", default="auto", choices=["auto", "vllm", "llamacpp"]),
    vllm_version=dict(type="str"),
    allow_cpu=dict(type="bool", default=False),
    bind_address=dict(type="str", default="127.0.0.1"),
    port=dict(type="int", default=8000),
    model_path=dict(type="str"),
    served_model_name=dict(type="str"),
    venv_path=dict(type="path", default="/opt/gpt-oss/venvs/current"),
    host_memory_mib=dict(type="int"),
    cpu_count=dict(type="int"),
    overrides=dict(type="dict", default={}),
    host_name=dict(type="str", default="localhost"),
    hf_home=dict(type="path"),
    revision=dict(type="str", default="main"),
    llamacpp_version=dict(type="str"),
    extra_args=dict(type="list", elements="str", default=[]),
    distribution=dict(type="str"),
    distribution_version=dict(type="str"),
    host_python=dict(type="str"),
    rocm_variant=dict(type="str"),
    llamacpp_artifact=dict(type="str", default="auto", choices=["auto", "build", "wheel"]),
    host_groups=dict(type="list", elements="str"),
    goal=dict(type="str", default="throughput", choices=["throughput", "context"]),
    read_host=dict(type="bool", default=False),
    python_path=dict(type="path", default="python3"),
)


def run(p):
    """The module's result for validated params: on the host (main), or in-process on the controller when nothing is
    left to read there (action_plugins/serving_plan.py)."""
    if p["read_host"]:
        p["host_groups"], p["host_python"] = read_host(p["host_groups"], p["host_python"], p["python_path"])
    try:
        plan = build_serving_plan(
            p["gpu"], model=p["model"], engine=p["engine"], vllm_version=p["vllm_version"], host=p["host_name"],
            allow_cpu=p["allow_cpu"], bind_address=p["bind_address"], port=p["port"], model_path=p["model_path"],
            served_model_name=p["served_model_name"], venv_path=p["venv_path"], host_memory_mib=p["host_memory_mib"],
            cpu_count=p["cpu_count"], overrides=p["overrides"],
            hf_home=p["hf_home"], revision=p["revision"], llamacpp_version=p["llamacpp_version"],
            extra_args=p["extra_args"], distribution=p["distribution"],
            distribution_version=p["distribution_version"], host_python=p["host_python"],
            rocm_variant=p["rocm_variant"], llamacpp_artifact=p["llamacpp_artifact"], host_groups=p["host_groups"],
            goal=p["goal"])
    except PlanError as error:
        return dict(failed=True, msg=str(error))
    return dict(changed=False, plan=plan, table=plan_table(plan, p["gpu"]), warnings=list(plan["warnings"]))


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    finish(module, run(module.params))


if __name__ == "__main__":
    main()
