"""The engine gate's readers and decisions, over outputs captured from real llama-server builds (Vulkan on lavapipe,
CUDA on an H200) and real ELF files; see tests/fixtures/engine-gate/SOURCE.md."""
import glob
import pathlib
import subprocess

import pytest
from ansible.module_utils.elf_deps import ElfError, needed_libraries, needed_libraries_of_file
from ansible.module_utils.engine_gate import (
    GateError, install_problems, parse_list_devices, parse_nvidia_compute_apps, parse_offload, serving_problems,
)
from ansible.module_utils.serving_planner import build_serving_plan

from fixture_loader import load_facts

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "engine-gate"


def read(name):
    return (FIXTURES / name).read_text()


def vulkan_gate():
    plan = build_serving_plan(load_facts("rx6800"), host="rx6800", distribution="Debian", distribution_version="13")
    return plan["build"]["gate"]


def test_list_devices_reads_the_vulkan_device_and_the_empty_list():
    assert parse_list_devices(read("list-devices-vulkan-lavapipe.txt")) == [
        ("Vulkan", 0, "llvmpipe (LLVM 19.1.7, 256 bits) (24105 MiB, 23597 MiB free)")]
    assert parse_list_devices(read("list-devices-none.txt")) == []


@pytest.mark.parametrize("garbage", ["", "error: unknown argument: --list-devices", "load_backend: loaded CPU"])
def test_list_devices_refuses_what_it_cannot_read(garbage):
    with pytest.raises(GateError, match="Available devices"):
        parse_list_devices(garbage)


def test_offload_is_read_from_the_replicas_log():
    assert parse_offload(read("llama-server-vulkan-lavapipe.log")) == (3, 3, {"CPU_Mapped": 0.07, "Vulkan0": 0.35})
    assert parse_offload(read("llama-server-vulkan-ngl0.log"))[:2] == (0, 3)
    assert parse_offload(read("llama-server-vulkan-no-device.log")) is None


def test_serving_gate_passes_only_when_every_layer_is_on_the_gpu():
    gate = vulkan_gate()
    assert serving_problems(gate, "gpt-oss-0", {"offload": parse_offload(read("llama-server-vulkan-lavapipe.log"))}) == []
    ngl0 = serving_problems(gate, "gpt-oss-0", {"offload": parse_offload(read("llama-server-vulkan-ngl0.log"))})
    assert ngl0 and "offloaded 0 of 3 layers" in ngl0[0] and "CPU_Mapped" in ngl0[0]
    silent = serving_problems(gate, "gpt-oss-0", {"offload": parse_offload(read("llama-server-vulkan-no-device.log"))})
    assert silent and "no 'offloaded N/M layers to GPU' line" in silent[0]


def test_install_gate_wants_the_backend_library_and_a_device():
    gate = vulkan_gate()
    assert gate["library"] == "libvulkan.so.1" and gate["devices"] == "Vulkan"
    good = {"libraries": ["libvulkan.so.1", "libc.so.6"], "devices": parse_list_devices(read(
        "list-devices-vulkan-lavapipe.txt")), "what": "llama-server"}
    assert install_problems(gate, good) == []
    cpu_only = dict(good, libraries=["libgomp.so.1", "libc.so.6"])
    assert "links no libvulkan.so.1" in install_problems(gate, cpu_only)[0]
    no_device = dict(good, devices=parse_list_devices(read("list-devices-none.txt")))
    assert "lists no Vulkan device" in install_problems(gate, no_device)[0]


def test_vllm_gate_checks_the_torch_build_and_the_cuda_major():
    gate = build_serving_plan(load_facts("h200"), vllm_version="0.32.0", host_python="3.12.3")["build"]["gate"]
    linked = {"libraries": ["libcudart.so.13", "libcuda.so.1"], "what": "vllm"}
    assert install_problems(gate, dict(linked, torch={"version": "2.13.0+cu130", "cuda": "13.0", "hip": None})) == []
    wrong = install_problems(gate, dict(linked, torch={"version": "2.13.0+cu129", "cuda": "12.9", "hip": None}))
    assert wrong == ["torch 2.13.0+cu129 is built for CUDA 12.9, the plan needs CUDA 13"]
    old = install_problems(gate, {"libraries": ["libcudart.so.12"], "what": "vllm 0.10.2",
                                  "torch": {"version": "2.8.0+cu128", "cuda": "12.8"}})
    assert "links no libcudart.so.13" in old[0] and "CUDA 12.8" in old[1]


def test_install_gate_wants_the_engines_modules_compiled():
    gate = build_serving_plan({"devices": []}, engine="vllm", allow_cpu=True, vllm_version="0.32.0",
                              host_python="3.11.2")["build"]["gate"]
    cpu = {"libraries": ["libgomp.so.1"], "what": "vllm", "torch": {"version": "2.13.0+cpu", "cuda": None}}
    compiled = {"package": "vllm", "modules": 2642, "missing": 0, "example": None}
    assert install_problems(gate, dict(cpu, bytecode=compiled)) == []
    assert install_problems(gate, dict(cpu, bytecode=None)) == []  # a llama.cpp source build has no modules
    one = dict(compiled, missing=1, example="/v/lib/python3.11/site-packages/vllm/envs.py")
    problems = install_problems(gate, dict(cpu, bytecode=one))
    assert len(problems) == 1 and problems[0].startswith("1 of the 2642 modules of vllm have no bytecode")
    assert "vllm/envs.py" in problems[0]


def test_vram_gate_reads_nvidia_smi_and_names_the_replicas_processes():
    held = parse_nvidia_compute_apps("4242, 70123\n4250, 512\n")
    gate = build_serving_plan(load_facts("h200"), vllm_version="0.32.0")["build"]["gate"]
    assert serving_problems(gate, "gpt-oss-0", {"pids": [4242, 4300], "vram_pids": held}) == []
    assert "no process of gpt-oss-0 holds GPU memory" in serving_problems(
        gate, "gpt-oss-0", {"pids": [17], "vram_pids": held})[0]
    with pytest.raises(GateError):
        parse_nvidia_compute_apps("No devices were found\n")


@pytest.mark.parametrize("path", sorted(glob.glob("/usr/lib/x86_64-linux-gnu/lib*.so.*"))[:25])
def test_elf_reader_agrees_with_readelf(path):
    readelf = subprocess.run(["readelf", "-d", path], capture_output=True, text=True)
    if readelf.returncode != 0:
        pytest.skip("readelf cannot read %s" % path)
    wanted = [line.split("[", 1)[1].rstrip("]") for line in readelf.stdout.splitlines() if "(NEEDED)" in line]
    assert needed_libraries_of_file(path) == wanted


def test_elf_reader_refuses_what_is_not_elf():
    with pytest.raises(ElfError):
        needed_libraries(b"#!/bin/sh\necho not a library\n")


# Captured on one H200 from the planner's CUDA build of b11434 (SOURCE.md); the expected values are what llama.cpp
# printed in those files.
def cuda_gate():
    return build_serving_plan(load_facts("h200"), host="h200", engine="llamacpp")["build"]["gate"]


def test_list_devices_reads_the_cuda_h200():
    assert parse_list_devices(read("list-devices-cuda-h200.txt")) == [
        ("CUDA", 0, "NVIDIA H200 (143155 MiB, 142629 MiB free)")]


def test_install_gate_accepts_the_h200_cuda_build():
    gate = cuda_gate()
    assert gate["library"] == "libcudart.so.13" and gate["devices"] == "CUDA"
    # readelf -d of the llama-server built in the same run (SOURCE.md)
    needed = ["libgomp.so.1", "libcudart.so.13", "libcublas.so.13", "libcuda.so.1", "libnccl.so.2", "libssl.so.3",
              "libcrypto.so.3", "libm.so.6", "libgcc_s.so.1", "libc.so.6", "ld-linux-x86-64.so.2"]
    observed = {"libraries": needed, "devices": parse_list_devices(read("list-devices-cuda-h200.txt")),
                "what": "llama-server"}
    assert install_problems(gate, observed) == []
    no_device = dict(observed, devices=parse_list_devices(read("list-devices-none.txt")))
    assert "lists no CUDA device" in install_problems(gate, no_device)[0]


def test_serving_gate_on_the_h200_cuda_logs():
    gate = cuda_gate()
    # "offloaded 3/3 layers to GPU", "CPU_Mapped model buffer size = 0.07 MiB", "CUDA0 model buffer size = 0.35 MiB"
    offload = parse_offload(read("llama-server-cuda-h200.log"))
    assert offload == (3, 3, {"CPU_Mapped": 0.07, "CUDA0": 0.35})
    assert serving_problems(gate, "gpt-oss-0", {"offload": offload}) == []
    # -ngl 0: "offloaded 0/3 layers to GPU", only "CPU_Mapped model buffer size = 0.41 MiB"
    ngl0 = parse_offload(read("llama-server-cuda-h200-ngl0.log"))
    assert ngl0 == (0, 3, {"CPU_Mapped": 0.41})
    refused = serving_problems(gate, "gpt-oss-0", {"offload": ngl0})
    assert len(refused) == 1
    assert "gpt-oss-0 offloaded 0 of 3 layers" in refused[0] and "CPU_Mapped" in refused[0]
    assert "runs on the CPU" in refused[0]
