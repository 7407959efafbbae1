"""Driver-stack selection per distro, branch, flavour and generation; kernel-side state; the two real modules."""
import json
import os
import pathlib
import subprocess
import sys

import pytest
from ansible.module_utils.driver_stack import (
    DriverPlanError, assess_reboot, driver_install_plan, in_container, kernel_flavour, loaded_module_version,
    secure_boot_blocker, secure_boot_state,
)
from ansible.module_utils.serving_planner import build_serving_plan

from fixture_loader import FIXTURE_NAMES, load_facts

ROOT = pathlib.Path(__file__).resolve().parents[2]
ANSIBLE = pathlib.Path(sys.executable).parent / "ansible"

HOPPER = {"vendor": "nvidia", "cuda": "12.8", "branch": "570", "min_driver_version": "570.26", "kernel_modules": "open",
          "open_modules_required": False, "fabric_manager": False, "family": "hopper"}
BLACKWELL = dict(HOPPER, open_modules_required=True, family="blackwell")
VOLTA = dict(HOPPER, cuda="12.9", branch="575", min_driver_version="575.51.03", kernel_modules="proprietary",
             family="volta")
MI300X = {"vendor": "amd", "rocm": "7.0", "kernel_driver": "amdgpu", "gfx_target": "gfx942"}
RDNA3 = {"vendor": "amd", "vulkan": "mesa", "kernel_driver": "amdgpu (in-kernel)"}
ARC = {"vendor": "intel", "vulkan": "mesa", "kernel_driver": "i915/xe (in-kernel)"}


def plan(driver, os_id="Debian", version="12.7", arch="x86_64", kernel="6.1.0-26-amd64", **options):
    return driver_install_plan(driver, os_id, version, arch, kernel, options)


# --- NVIDIA, NVIDIA's CUDA repository -----------------------------------------------------------

@pytest.mark.parametrize("os_id,version,tag", [("Ubuntu", "22.04", "ubuntu2204"), ("Ubuntu", "24.04", "ubuntu2404"),
                                               ("Debian", "12.7", "debian12"), ("Debian", "13", "debian13")])
def test_cuda_repository_per_distro(os_id, version, tag):
    result = plan(HOPPER, os_id, version)
    repo, = result["repositories"]
    assert repo["uris"] == "https://developer.download.nvidia.com/compute/cuda/repos/%s/x86_64/" % tag
    assert repo["suites"] == "/" and repo["components"] == ""  # a flat repository
    assert repo["key_url"] == repo["uris"] + "3bf863cc.pub"
    assert repo["keyring"] == "/etc/apt/keyrings/gpt-oss-nvidia-cuda.asc"


def test_arm_servers_use_the_sbsa_repository():
    assert plan(HOPPER, "Ubuntu", "24.04", "aarch64")["repositories"][0]["uris"].endswith("/ubuntu2404/sbsa/")


def test_open_modules_on_hopper():
    result = plan(HOPPER)
    assert result["packages"] == ["linux-headers-6.1.0-26-amd64", "nvidia-open-570"]
    assert result["hold"] == ["nvidia-open-570"]  # the headers follow the kernel, not the driver
    assert result["kernel_modules"] == "open" and result["dkms"] and result["blacklist_nouveau"]
    assert result["services"] == ["nvidia-persistenced"]
    assert result["pins"][0]["pin"] == "version 570.*" and result["pins"][0]["priority"] == 1000
    assert "NVIDIA's recommendation" in result["reasons"][0]


def test_proprietary_modules_before_turing():
    result = plan(VOLTA, in_container=True)
    assert result["packages"] == ["cuda-drivers-575"]
    assert "open modules need Turing" in result["reasons"][0]
    assert any("headers for DKMS skipped" in reason for reason in result["reasons"])


def test_blackwell_states_the_requirement():
    assert "required on blackwell" in plan(BLACKWELL)["reasons"][0]


def test_blackwell_refuses_proprietary_modules():
    with pytest.raises(DriverPlanError, match="gpu_driver_nvidia_kernel_modules=proprietary"):
        plan(BLACKWELL, nvidia_kernel_modules="proprietary")


def test_volta_refuses_open_modules():
    with pytest.raises(DriverPlanError, match="gpu_driver_nvidia_kernel_modules=open.*Turing"):
        plan(VOLTA, nvidia_kernel_modules="open")


def test_proprietary_modules_on_request_where_allowed():
    assert plan(HOPPER, nvidia_kernel_modules="proprietary", in_container=True)["packages"] == ["cuda-drivers-570"]


def test_newer_branch_allowed_older_refused():
    result = plan(HOPPER, nvidia_branch="580", in_container=True)
    assert result["packages"] == ["nvidia-open-580"] and result["pins"][0]["pin"] == "version 580.*"
    with pytest.raises(DriverPlanError, match="gpu_driver_nvidia_branch=550 is older"):
        plan(HOPPER, nvidia_branch="550")
    with pytest.raises(DriverPlanError, match="gpu_driver_nvidia_branch='latest'"):
        plan(HOPPER, nvidia_branch="latest")


def test_fabric_manager_and_toolkit():
    result = plan(dict(HOPPER, fabric_manager=True), cuda_toolkit=True, in_container=True)
    assert result["packages"] == ["nvidia-open-570", "nvidia-fabricmanager-570", "cuda-toolkit-12-8"]
    assert result["services"] == ["nvidia-persistenced", "nvidia-fabricmanager"]


def test_mirror_url_replaces_only_the_base():
    result = plan(HOPPER, nvidia_repo_url="http://mirror.lab:8080/nvidia/cuda/repos/")
    assert result["repositories"][0]["uris"] == "http://mirror.lab:8080/nvidia/cuda/repos/debian12/x86_64/"


def test_unsupported_distro_names_the_way_out():
    with pytest.raises(DriverPlanError, match="no packages for debian 11.*gpu_driver_install: false"):
        plan(HOPPER, "Debian", "11.9")


# --- NVIDIA, Canonical's prebuilt modules ----------------------------------------------------------

@pytest.mark.parametrize("kernel,flavour", [("6.8.0-45-generic", "generic"), ("6.8.0-1015-aws", "aws"),
                                            ("5.15.0-1071-azure", "azure"), ("6.8.0-1012-nvidia", "nvidia")])
def test_ubuntu_prebuilt_modules_follow_the_kernel_flavour(kernel, flavour):
    assert kernel_flavour(kernel) == flavour
    result = plan(HOPPER, "Ubuntu", "24.04", kernel=kernel, nvidia_route="ubuntu")
    assert result["packages"] == ["nvidia-headless-no-dkms-570-server-open", "nvidia-utils-570-server",
                                  "linux-modules-nvidia-570-server-open-%s" % flavour]
    assert result["repositories"] == [] and not result["dkms"] and result["headers"] is None


def test_ubuntu_prebuilt_proprietary_on_22_04():
    result = plan(VOLTA, "Ubuntu", "22.04", kernel="5.15.0-122-generic", nvidia_route="ubuntu")
    assert result["packages"] == ["nvidia-headless-no-dkms-575-server", "nvidia-utils-575-server",
                                  "linux-modules-nvidia-575-server-generic"]


def test_ubuntu_route_needs_ubuntu():
    with pytest.raises(DriverPlanError, match="gpu_driver_nvidia_route=ubuntu .* needs Ubuntu"):
        plan(HOPPER, nvidia_route="ubuntu")


def test_toolkit_needs_the_cuda_repository():
    with pytest.raises(DriverPlanError, match="gpu_driver_cuda_toolkit"):
        plan(HOPPER, "Ubuntu", "24.04", kernel="6.8.0-45-generic", nvidia_route="ubuntu", cuda_toolkit=True)


# --- AMD -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("os_id,version,suite", [("Ubuntu", "22.04", "jammy"), ("Ubuntu", "24.04", "noble"),
                                                 ("Debian", "12.7", "jammy")])
def test_rocm_repository_per_distro(os_id, version, suite):
    result = plan(MI300X, os_id, version)
    repo, = result["repositories"]
    assert (repo["uris"], repo["suites"], repo["components"]) == ("https://repo.radeon.com/rocm/apt/7.0", suite, "main")
    assert result["packages"] == ["rocm-hip-runtime", "rocminfo", "rocm-smi-lib"]
    assert result["pins"] == [{"name": "gpt-oss-rocm", "packages": "*", "pin": "release o=repo.radeon.com",
                               "priority": 600, "why": "prefer AMD's ROCm 7.0 packages over the distribution's"}]
    assert result["groups"] == ["video", "render"] and result["kernel_module"] == "amdgpu"
    assert not result["blacklist_nouveau"] and not result["dkms"]


def test_amdgpu_dkms_adds_the_paired_driver_repository():
    result = plan(MI300X, amdgpu_dkms=True, kernel="6.1.0-26-amd64")
    assert [r["uris"] for r in result["repositories"]] == ["https://repo.radeon.com/rocm/apt/7.0",
                                                           "https://repo.radeon.com/amdgpu/30.10/ubuntu"]
    assert result["packages"] == ["linux-headers-6.1.0-26-amd64", "rocm-hip-runtime", "rocminfo", "rocm-smi-lib",
                                  "amdgpu-dkms"]
    assert plan(MI300X, amdgpu_dkms=True, rocm_version="6.4")["repositories"][1]["uris"].endswith("/amdgpu/6.4/ubuntu")


def test_rocm_rejects_unknown_versions_and_distros():
    with pytest.raises(DriverPlanError, match="gpu_driver_rocm_version='9.9'"):
        plan(MI300X, rocm_version="9.9")
    with pytest.raises(DriverPlanError, match="ROCm 7.0 has no packages for debian 13"):
        plan(MI300X, "Debian", "13")


@pytest.mark.parametrize("driver,stack,module", [(RDNA3, "vulkan-amd", "amdgpu"), (ARC, "vulkan-intel", "i915")])
def test_vulkan_uses_the_distribution_mesa(driver, stack, module):
    result = plan(driver)
    assert result["stack"] == stack and result["kernel_module"] == module
    assert result["packages"] == ["mesa-vulkan-drivers", "libvulkan1", "vulkan-tools"]
    assert result["repositories"] == [] and result["hold"] == [] and result["verify_command"][0] == "vulkaninfo"


def test_cpu_plan_needs_nothing():
    result = plan({"vendor": "none", "reason": "CPU serving needs no GPU driver"})
    assert result["stack"] == "none" and result["packages"] == [] and result["kernel_module"] is None


def test_unknown_option_is_refused():
    with pytest.raises(DriverPlanError, match="unknown driver option"):
        plan(HOPPER, nvidia_flavor="open")


# --- every captured host plans a driver stack ----------------------------------------------------

@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_every_fixture_gets_a_consistent_stack(name):
    try:
        serving = build_serving_plan(load_facts(name), host=name, allow_cpu=True)
    except Exception as error:  # hosts the planner refuses are covered by test_gpu_fixtures
        pytest.skip(str(error))
    driver = serving["driver"]
    result = plan(driver, "Ubuntu", "24.04", kernel="6.8.0-45-generic")
    expected = {"cuda": "nvidia", "rocm": "rocm", "vulkan": "vulkan-" + driver.get("vendor", ""), "cpu": "none"}
    assert result["stack"] == expected[serving["backend"]], (name, driver)
    if result["stack"] == "nvidia":
        flavour = "open" if driver["kernel_modules"] == "open" else "proprietary"
        assert result["packages"][1] == ("nvidia-open-%s" if flavour == "open" else "cuda-drivers-%s") % driver["branch"]
        assert ("nvidia-fabricmanager-%s" % driver["branch"] in result["packages"]) == driver["fabric_manager"]


def test_the_nvswitch_board_gets_fabric_manager_from_detection():
    serving = build_serving_plan(load_facts("dgx-h100-8x-nvswitch"), host="dgx")
    assert serving["driver"]["fabric_manager"] is True
    assert not build_serving_plan(load_facts("h200"), host="h200")["driver"]["fabric_manager"]


# --- kernel side ----------------------------------------------------------------------------------

def _efivar(tmp_path, value):
    efivars = tmp_path / "efivars"
    efivars.mkdir(exist_ok=True)
    (efivars / "SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c").write_bytes(bytes([6, 0, 0, 0, value]))
    return str(efivars)


def test_secure_boot_state(tmp_path):
    assert secure_boot_state(_efivar(tmp_path, 1)) == "enabled"
    assert secure_boot_state(_efivar(tmp_path, 0)) == "disabled"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert secure_boot_state(str(empty)) == "disabled"
    assert secure_boot_state(str(tmp_path / "absent")) == "not-efi"


def test_secure_boot_blocks_only_unsigned_dkms():
    assert "mokutil --import" in secure_boot_blocker("enabled", dkms=True, mok_enrolled=False)
    assert secure_boot_blocker("enabled", dkms=True, mok_enrolled=True) is None
    assert secure_boot_blocker("enabled", dkms=False, mok_enrolled=False) is None
    assert secure_boot_blocker("disabled", dkms=True, mok_enrolled=False) is None


def test_container_markers(tmp_path):
    assert not in_container(str(tmp_path))
    (tmp_path / ".dockerenv").write_text("")
    assert in_container(str(tmp_path))
    other = tmp_path / "nspawn"
    (other / "run" / "systemd").mkdir(parents=True)
    (other / "run" / "systemd" / "container").write_text("systemd-nspawn\n")
    assert in_container(str(other))


def test_loaded_module_version(tmp_path):
    (tmp_path / "module" / "nvidia").mkdir(parents=True)
    (tmp_path / "module" / "nvidia" / "version").write_text("570.195.03\n")
    (tmp_path / "module" / "amdgpu").mkdir()
    assert loaded_module_version(str(tmp_path), "nvidia") == "570.195.03"
    assert loaded_module_version(str(tmp_path), "amdgpu") == ""
    assert loaded_module_version(str(tmp_path), "nouveau") is None


@pytest.mark.parametrize("args,required,words", [
    (("nvidia", "570.195.03", "570.195.03", False, False), False, "loaded at 570.195.03"),
    (("nvidia", "570.133.20", "570.195.03", False, False), True, "is 570.133.20 but 570.195.03 is installed"),
    (("nvidia", None, "570.195.03", True, False), True, "nouveau is loaded"),
    (("nvidia", None, "570.195.03", False, False), True, "not loaded"),
    (("nvidia", None, None, False, False), False, "not installed"),
    (("nvidia", None, None, False, True), True, "in a container"),
    (("amdgpu", "", "", False, False), False, "is loaded"),
    (("amdgpu", "", "", True, False), False, "is loaded"),  # nouveau is NVIDIA's problem only
    ((None, None, None, False, False), False, "no kernel module"),
])
def test_assess_reboot(args, required, words):
    got, reason = assess_reboot(*args)
    assert got == required and words in reason


# --- the real modules through ansible ----------------------------------------------------------------

def run_module(name, args):
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    result = subprocess.run([str(ANSIBLE), "localhost", "-m", name, "-a", json.dumps(args)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    return json.loads(result.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]


def test_gpu_driver_plan_module_fails_naming_the_variable():
    result = run_module("gpu_driver_plan", {"driver": BLACKWELL, "os_id": "Debian", "os_version": "12",
                                            "options": {"nvidia_kernel_modules": "proprietary"}})
    assert result["failed"] and "gpu_driver_nvidia_kernel_modules=proprietary" in result["msg"]


def test_gpu_driver_plan_module_returns_the_install():
    # a bare-metal host (unset, the module would detect this test machine, which may be a container)
    result = run_module("gpu_driver_plan", {"driver": HOPPER, "os_id": "Ubuntu", "os_version": "24.04",
                                            "kernel_release": "6.8.0-45-generic", "in_container": False})
    assert not result.get("failed") and result["changed"] is False
    assert result["install"]["packages"] == ["linux-headers-6.8.0-45-generic", "nvidia-open-570"]


def test_gpu_driver_state_module_on_a_replayed_secure_boot_host(tmp_path):
    sysfs = tmp_path / "sys"
    (sysfs / "module" / "nouveau").mkdir(parents=True)
    result = run_module("gpu_driver_state", {"kernel_module": "nvidia", "sysfs_root": str(sysfs),
                                             "efivars_dir": _efivar(tmp_path, 1), "root": str(tmp_path),
                                             "dkms": True, "load_module": True})
    assert not result.get("failed"), result
    assert result["secure_boot"] == "enabled" and "Secure Boot is enabled" in result["secure_boot_blocker"]
    assert result["nouveau_loaded"] and result["reboot_required"] and not result["loaded_now"]
    assert result["changed"] is False
