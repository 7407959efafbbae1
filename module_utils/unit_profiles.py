# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
"""What a replica's systemd unit and environment file need per backend and per engine, as data.

The planner (serving_planner.py) looks these tables up and records the result in the plan's `unit` section; the
templates (roles/inference_server/templates/replica.service.j2, replica.env.j2) and the service user
(roles/inference_runtime/tasks/service-user.yml) only loop over that record. A new backend or engine is an entry
here, not a branch in a template. tests/unit/test_unit_profiles.py renders the unit for real hosts' plans and checks
it with `systemd-analyze verify`.
"""
from __future__ import annotations

# Address families every replica keeps (RestrictAddressFamilies=): TCP/IP for the API on IPv4 and IPv6, and
# AF_UNIX for the journal and local IPC. Engines add to it (ENGINE_PROFILES[...]["address_families"]).
BASE_ADDRESS_FAMILIES = ("AF_INET", "AF_INET6", "AF_UNIX")

# Per backend, the device sandbox of the replica unit:
#   private_devices : PrivateDevices=yes (a private /dev with only the pseudo devices); False means the unit keeps
#                     the host's /dev under DevicePolicy=closed and opens exactly `device_allow`
#   device_allow    : DeviceAllow= values (a node or a `char-<name>` class from /proc/devices, and the access)
#   groups          : supplementary groups the service user wants for the device nodes; only those the host has
#                     (or the planned driver stack creates) are used
BACKEND_SANDBOX = {
    "cuda": {
        "private_devices": False,
        "device_allow": (
            # /dev/nvidiactl: the control node every CUDA context opens first (driver ioctls).
            "/dev/nvidiactl rw",
            # /dev/nvidia-uvm: Unified Memory; the CUDA runtime refuses to initialise without it.
            "/dev/nvidia-uvm rw",
            # /dev/nvidia-uvm-tools: UVM event queue the CUDA driver opens for tools/profiling counters.
            "/dev/nvidia-uvm-tools rw",
            # /dev/nvidia0..N: their major is registered as "nvidia-frontend" in /proc/devices (all GPUs at once).
            "char-nvidia-frontend rw",
            # the nvidia-uvm module's major ("nvidia-uvm"), the class form of the two UVM nodes above.
            "char-nvidia-uvm rw",
            # /dev/nvidia-caps/*: MIG and fabric capability nodes (MIG instances are opened through them).
            "char-nvidia-caps rw",
        ),
        # NVIDIA's nodes are 0666 by default, but NVreg_DeviceFileGID/Mode can restrict them to a group (video on
        # Debian/Ubuntu packaging); /dev/dri nodes of the same cards belong to video/render.
        "groups": ("video", "render"),
    },
    "rocm": {
        "private_devices": False,
        "device_allow": (
            # /dev/kfd: the AMD Kernel Fusion Driver, ROCm's compute queue interface (HSA runtime).
            "/dev/kfd rw",
            # /dev/dri/card* and renderD*: the GPU's DRM nodes (major "drm"), which ROCm allocates memory through.
            "char-drm rw",
        ),
        # ROCm's documented requirement: the user is in render (/dev/kfd, renderD*) and video (card*, older distros).
        "groups": ("video", "render"),
    },
    "vulkan": {
        "private_devices": False,
        "device_allow": (
            # Kept as for ROCm (AMD Vulkan hosts have /dev/kfd; a missing node allows nothing).
            "/dev/kfd rw",
            # Mesa's Vulkan drivers (RADV, ANV) open the DRM render node /dev/dri/renderD*.
            "char-drm rw",
        ),
        # /dev/dri/renderD* is group render, /dev/dri/card* group video.
        "groups": ("video", "render"),
    },
    "cpu": {
        # No device node is needed: a private /dev (null, zero, random, urandom, tty) and no device groups.
        "private_devices": True,
        "device_allow": (),
        "groups": (),
    },
}

# Distribution packages every engine venv needs: venv support (python3 -m venv for the tools venv) and the CA store.
BASE_OS_PACKAGES = ("python3-venv", "ca-certificates")

# Host RAM a backend needs beyond the weights' own accounting (preflight refuses less): CPU serving keeps the
# weights, the KV cache and the engine in RAM, and below 4 GiB even the 20b GGUF's working set does not fit.
BACKEND_MIN_HOST_MEMORY_MIB = {"cpu": 4096}

# Per engine, what its unit and environment file add:
#   address_families : added to BASE_ADDRESS_FAMILIES
#   api_key_env      : the environment variable the server reads its API key from (the env file sets it)
#   engine_env       : fixed environment for the engine (values are plain tokens: no quoting is needed)
#   state_env        : environment holding paths, relative to the state directory (gpt_oss_state_dir); the
#                      env-file template joins them with it
ENGINE_PROFILES = {
    "vllm": {
        # vLLM sets up torch.distributed even for one GPU (NCCL/RCCL on GPUs, Gloo on the CPU); their socket setup
        # lists the host's interfaces with getifaddrs(), which glibc implements over a NETLINK_ROUTE socket.
        "address_families": ("AF_NETLINK",),
        # `vllm serve --api-key` falls back to VLLM_API_KEY; the key never appears on the command line.
        "api_key_env": "VLLM_API_KEY",
        # vLLM reports usage statistics to its maintainers unless told not to.
        "engine_env": {"VLLM_NO_USAGE_STATS": "1"},
        # vLLM's compile/kernel caches default to ~/.cache/vllm; keep them in the (writable) state directory.
        "state_env": {"VLLM_CACHE_ROOT": "cache/vllm"},
        # libraries vLLM's and torch's extensions link that the wheels do not bundle (NUMA for the CPU backend's
        # thread binding, GNU OpenMP)
        "os_packages": ("libnuma1", "libgomp1"),
        # the API server and the engine core exchange tensors through /dev/shm (Docker's default 64 MiB is too
        # small); preflight checks its size
        "shared_memory": True,
    },
    "llamacpp": {
        # llama-server only listens on TCP; nothing beyond the base families.
        "address_families": (),
        # llama-server (and the xllamacpp launcher) read the key from LLAMA_API_KEY when --api-key is not given.
        "api_key_env": "LLAMA_API_KEY",
        "engine_env": {},
        "state_env": {},
        # ggml's CPU backend is built with OpenMP
        "os_packages": ("libgomp1",),
        "shared_memory": False,
    },
}
