# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
"""Turn the serving plan's driver needs into an install plan for one host, and judge whether the
kernel side is ready (module loaded at the installed version, nouveau gone, Secure Boot).

Pure functions over tables in gpu_catalog.py; the gpu_driver_plan and gpu_driver_state modules are
thin wrappers. Errors are DriverPlanError with a message that names the variable to change.
"""
from __future__ import annotations

import os

from ansible.module_utils.gpu_catalog import (
    AMDGPU_DKMS_PACKAGE, DRIVER_VERIFY, NVIDIA_CUDA_TOOLKIT_PACKAGE, NVIDIA_DKMS_ROUTES, NVIDIA_DRIVER_PACKAGES,
    NVIDIA_FABRIC_MANAGER_PACKAGE, NVIDIA_PINNED_PACKAGE_GLOBS, NVIDIA_REPO_ARCHES, NVIDIA_REPO_DISTROS,
    ROCM_AMDGPU_RELEASES, ROCM_REPO_SUITES, ROCM_RUNTIME_PACKAGES, VULKAN_PACKAGES,
)

KEYRING_DIR = "/etc/apt/keyrings"
# EFI global-variable GUID of the SecureBoot variable (UEFI spec); the 5th byte is the value.
SECURE_BOOT_VARIABLE = "SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
CONTAINER_MARKERS = ("/.dockerenv", "/run/.containerenv")

DEFAULT_OPTIONS = {
    "nvidia_route": "cuda_repo",
    "nvidia_kernel_modules": "auto",
    "nvidia_branch": "",
    "nvidia_repo_url": "https://developer.download.nvidia.com/compute/cuda/repos",
    "nvidia_key_file": "3bf863cc.pub",
    "cuda_toolkit": False,
    "rocm_version": "",
    "rocm_repo_url": "https://repo.radeon.com/rocm/apt",
    "amdgpu_repo_url": "https://repo.radeon.com/amdgpu",
    "rocm_key_url": "https://repo.radeon.com/rocm/rocm.gpg.key",
    "amdgpu_dkms": False,
    "in_container": False,
}


class DriverPlanError(Exception):
    """Bad input: the message names the variable to change."""


def distro_key(os_id, os_version):
    """('Ubuntu', '24.04') -> ('ubuntu', '24.04'); Debian point releases -> major only."""
    os_id = (os_id or "").strip().lower()
    version = str(os_version or "").strip()
    if os_id == "debian":
        version = version.split(".")[0]
    return os_id, version


def kernel_flavour(kernel_release):
    """Ubuntu kernel flavour from a release string: 6.8.0-45-generic -> generic, 6.8.0-1015-aws -> aws."""
    parts = (kernel_release or "").split("-", 2)
    return parts[2] if len(parts) == 3 else ""


def stack_name(driver):
    """Which driver stack a plan's driver dict asks for: nvidia, rocm, vulkan-amd, vulkan-intel or none."""
    vendor = driver.get("vendor", "none")
    if vendor == "none":
        return "none"
    if driver.get("vulkan"):
        return "vulkan-" + vendor
    return "rocm" if vendor == "amd" else vendor


def _apt_arch(arch):
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(arch, arch)


def _nvidia(driver, distro, arch, kernel_release, opts, result):
    route = opts["nvidia_route"]
    if route not in NVIDIA_DRIVER_PACKAGES:
        raise DriverPlanError("gpu_driver_nvidia_route=%r is not one of: %s"
                              % (route, ", ".join(sorted(NVIDIA_DRIVER_PACKAGES))))
    if route == "ubuntu" and distro[0] != "ubuntu":
        raise DriverPlanError("gpu_driver_nvidia_route=ubuntu installs Canonical's prebuilt modules and needs Ubuntu; "
                              "this host runs %s %s. Use gpu_driver_nvidia_route: cuda_repo." % distro)
    family_modules = driver["kernel_modules"]
    modules = opts["nvidia_kernel_modules"] if opts["nvidia_kernel_modules"] != "auto" else family_modules
    if modules not in ("open", "proprietary"):
        raise DriverPlanError("gpu_driver_nvidia_kernel_modules=%r is not one of: auto, open, proprietary" % modules)
    if modules == "proprietary" and driver.get("open_modules_required"):
        raise DriverPlanError("gpu_driver_nvidia_kernel_modules=proprietary cannot drive these GPUs: they require "
                              "NVIDIA's open kernel modules. Set it to auto or open.")
    if modules == "open" and family_modules == "proprietary":
        raise DriverPlanError("gpu_driver_nvidia_kernel_modules=open cannot drive these GPUs (open modules need "
                              "Turing or newer). Set it to auto or proprietary.")
    branch = str(opts["nvidia_branch"] or driver["branch"])
    if not branch.isdigit():
        raise DriverPlanError("gpu_driver_nvidia_branch=%r is not a driver branch such as 580" % branch)
    if int(branch) < int(driver["branch"]):
        raise DriverPlanError("gpu_driver_nvidia_branch=%s is older than the plan needs: CUDA %s wheels need "
                              "driver branch %s or newer (>= %s)." % (branch, driver["cuda"], driver["branch"],
                                                                      driver["min_driver_version"]))
    fields = {"branch": branch, "kernel_flavour": kernel_flavour(kernel_release),
              "cuda_dashed": driver["cuda"].replace(".", "-")}
    if route == "ubuntu" and not fields["kernel_flavour"]:
        raise DriverPlanError("gpu_driver_nvidia_route=ubuntu: cannot tell the kernel flavour from %r" % kernel_release)
    packages = [name.format(**fields) for name in NVIDIA_DRIVER_PACKAGES[route][modules]]
    services = ["nvidia-persistenced"]
    if driver.get("fabric_manager"):
        packages.append(NVIDIA_FABRIC_MANAGER_PACKAGE.format(**fields))
        services.append("nvidia-fabricmanager")
        result["reasons"].append("NVSwitch board -> Fabric Manager %s (service nvidia-fabricmanager)" % branch)
    if opts["cuda_toolkit"]:
        if route != "cuda_repo":
            raise DriverPlanError("gpu_driver_cuda_toolkit=true needs gpu_driver_nvidia_route=cuda_repo "
                                  "(the toolkit comes from NVIDIA's CUDA repository)")
        packages.append(NVIDIA_CUDA_TOOLKIT_PACKAGE.format(**fields))
    if route == "cuda_repo":
        if distro not in NVIDIA_REPO_DISTROS:
            raise DriverPlanError("NVIDIA's CUDA repository has no packages for %s %s (it has: %s). Install the driver "
                                  "yourself and set gpu_driver_install: false." % (
                                      distro[0], distro[1], ", ".join(sorted(NVIDIA_REPO_DISTROS.values()))))
        if arch not in NVIDIA_REPO_ARCHES:
            raise DriverPlanError("NVIDIA's CUDA repository has no %s packages; set gpu_driver_install: false." % arch)
        base = "%s/%s/%s/" % (opts["nvidia_repo_url"].rstrip("/"), NVIDIA_REPO_DISTROS[distro],
                              NVIDIA_REPO_ARCHES[arch])
        result["repositories"].append({
            "name": "gpt-oss-nvidia-cuda", "uris": base, "suites": "/", "components": "",
            "architectures": _apt_arch(arch), "key_url": base + opts["nvidia_key_file"],
            "keyring": "%s/gpt-oss-nvidia-cuda.asc" % KEYRING_DIR})
    result["packages"] = packages
    result["hold"] = list(packages)
    result["pins"].append({"name": "gpt-oss-nvidia-driver", "packages": " ".join(NVIDIA_PINNED_PACKAGE_GLOBS),
                           "pin": "version %s.*" % branch, "priority": 1000,
                           "why": "keep every NVIDIA driver package on branch %s" % branch})
    result["unattended_blacklist"] = ["nvidia-", "libnvidia-", "cuda-drivers", "libxnvctrl", "linux-modules-nvidia-"]
    result["blacklist_nouveau"] = True
    result["services"] = services
    result["dkms"] = route in NVIDIA_DKMS_ROUTES
    result["kernel_modules"] = modules
    result["branch"] = branch
    flavour_reason = ("required on %s" % driver.get("family", "these GPUs") if driver.get("open_modules_required")
                      else "chosen by gpu_driver_nvidia_kernel_modules" if opts["nvidia_kernel_modules"] != "auto"
                      else "NVIDIA's recommendation for Turing and newer" if modules == "open"
                      else "open modules need Turing or newer")
    result["reasons"].insert(0, "NVIDIA driver branch %s (CUDA %s needs >= %s), %s kernel modules (%s), via %s" % (
        branch, driver["cuda"], driver["min_driver_version"], modules, flavour_reason,
        "NVIDIA's CUDA repository (DKMS)" if route == "cuda_repo" else "Canonical's signed prebuilt modules"))


def _rocm(driver, distro, arch, opts, result):
    version = str(opts["rocm_version"] or driver["rocm"])
    if version not in ROCM_AMDGPU_RELEASES:
        raise DriverPlanError("gpu_driver_rocm_version=%r has no repository rules; use one of: %s"
                              % (version, ", ".join(sorted(ROCM_AMDGPU_RELEASES))))
    if distro not in ROCM_REPO_SUITES:
        raise DriverPlanError("ROCm %s has no packages for %s %s (supported: Ubuntu 22.04/24.04, Debian 12). Install "
                              "it yourself and set gpu_driver_install: false." % (version, distro[0], distro[1]))
    if arch != "x86_64":
        raise DriverPlanError("ROCm packages exist for x86_64 only; set gpu_driver_install: false.")
    suite = ROCM_REPO_SUITES[distro]
    keyring = "%s/gpt-oss-rocm.asc" % KEYRING_DIR
    result["repositories"].append({
        "name": "gpt-oss-rocm", "uris": "%s/%s" % (opts["rocm_repo_url"].rstrip("/"), version), "suites": suite,
        "components": "main", "architectures": "amd64", "key_url": opts["rocm_key_url"], "keyring": keyring})
    packages = list(ROCM_RUNTIME_PACKAGES)
    if opts["amdgpu_dkms"]:
        result["repositories"].append({
            "name": "gpt-oss-amdgpu", "uris": "%s/%s/ubuntu" % (opts["amdgpu_repo_url"].rstrip("/"),
                                                              ROCM_AMDGPU_RELEASES[version]),
            "suites": suite, "components": "main", "architectures": "amd64", "key_url": opts["rocm_key_url"],
            "keyring": keyring})
        packages.append(AMDGPU_DKMS_PACKAGE)
        result["dkms"] = True
    result["packages"] = packages
    result["hold"] = list(packages)
    # AMD's documented pin: prefer repo.radeon.com over the distro's own (older, different) ROCm packages.
    result["pins"].append({"name": "gpt-oss-rocm", "packages": "*", "pin": "release o=repo.radeon.com",
                           "priority": 600, "why": "prefer AMD's ROCm %s packages over the distribution's" % version})
    result["unattended_blacklist"] = ["rocm", "hip-", "hsa-", "amdgpu-", "rocminfo"]
    result["rocm_version"] = version
    result["reasons"].insert(0, "ROCm %s for %s from repo.radeon.com (%s suite)%s" % (
        version, driver.get("gfx_target") or "these GPUs", suite,
        " with the amdgpu-dkms kernel driver" if opts["amdgpu_dkms"] else
        "; the kernel's own amdgpu driver (gpu_driver_amdgpu_dkms: false)"))


def driver_install_plan(driver, os_id, os_version, arch="x86_64", kernel_release="", options=None):
    """What to configure on a host for the plan's driver dict. Raises DriverPlanError on bad input."""
    opts = dict(DEFAULT_OPTIONS)
    opts.update({key: value for key, value in (options or {}).items() if value is not None})
    unknown = set(opts) - set(DEFAULT_OPTIONS)
    if unknown:
        raise DriverPlanError("unknown driver option(s): %s" % ", ".join(sorted(unknown)))
    distro = distro_key(os_id, os_version)
    stack = stack_name(driver)
    verify = DRIVER_VERIFY.get(stack, {})
    result = {"stack": stack, "repositories": [], "packages": [], "hold": [], "pins": [], "unattended_blacklist": [],
              "blacklist_nouveau": False, "services": [], "groups": list(verify.get("groups", ())),
              "kernel_module": verify.get("module"), "verify_command": list(verify.get("command", [])),
              "dkms": False, "headers": None, "reasons": []}
    if stack == "none":
        result["reasons"].append(driver.get("reason", "no GPU driver needed"))
        return result
    if stack == "nvidia":
        _nvidia(driver, distro, arch, kernel_release, opts, result)
    elif stack == "rocm":
        _rocm(driver, distro, arch, opts, result)
    else:
        result["packages"] = list(VULKAN_PACKAGES)
        result["reasons"].append("llama.cpp's Vulkan backend on the in-kernel %s driver: Mesa's Vulkan drivers from "
                                 "the distribution" % verify.get("module"))
    if result["dkms"]:
        if opts["in_container"]:
            result["reasons"].append("in a container: kernel headers for DKMS skipped (the host's kernel is not ours)")
        elif kernel_release:
            result["headers"] = "linux-headers-%s" % kernel_release
            result["packages"].insert(0, result["headers"])
    return result


# --------------------------------------------------------------------------------------------
# Kernel-side state

def secure_boot_state(efivars_dir="/sys/firmware/efi/efivars"):
    """'enabled', 'disabled', or 'not-efi' (legacy BIOS boot or no efivarfs)."""
    path = os.path.join(efivars_dir, SECURE_BOOT_VARIABLE)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return "not-efi" if not os.path.isdir(efivars_dir) else "disabled"
    # efivarfs prepends 4 bytes of attributes; the value is the byte after them.
    return "enabled" if len(data) >= 5 and data[4] == 1 else "disabled"


def in_container(root="/"):
    """True inside Docker/Podman/LXC/systemd-nspawn (no kernel modules can be loaded there)."""
    for marker in CONTAINER_MARKERS:
        if os.path.exists(os.path.join(root, marker.lstrip("/"))):
            return True
    try:
        with open(os.path.join(root, "run/systemd/container")) as handle:
            return bool(handle.read().strip())
    except OSError:
        return False


def loaded_module_version(sysfs_root, module):
    """Version of a loaded kernel module from /sys/module/<name>/version; '' when loaded without one; None if absent."""
    base = os.path.join(sysfs_root, "module", module)
    if not os.path.isdir(base):
        return None
    try:
        with open(os.path.join(base, "version")) as handle:
            return handle.read().strip()
    except OSError:
        return ""


def secure_boot_blocker(secure_boot, dkms, mok_enrolled):
    """Message explaining why installing would leave an unloadable module, or None."""
    if secure_boot != "enabled" or not dkms or mok_enrolled:
        return None
    return ("Secure Boot is enabled and this plan builds the GPU kernel module with DKMS, which the firmware will "
            "refuse to load unsigned. Nothing was installed. Options: (1) enrol DKMS's Machine Owner Key "
            "(/var/lib/dkms/mok.pub) with `mokutil --import` and a reboot, then set gpu_driver_mok_enrolled: true; "
            "(2) on Ubuntu, use Canonical's signed prebuilt modules: gpu_driver_nvidia_route: ubuntu; "
            "(3) disable Secure Boot in the firmware.")


def assess_reboot(kernel_module, loaded_version, disk_version, nouveau_loaded, container):
    """(reboot_required, reason) for the driver's kernel side; version strings as the kernel reports them."""
    if not kernel_module:
        return False, "no kernel module is needed"
    where = " (in a container: modules are not loaded and the host is not rebooted here)" if container else ""
    if kernel_module == "nvidia" and nouveau_loaded:
        return True, "nouveau is loaded and holds the GPUs; it is blacklisted now and goes away with a reboot" + where
    if loaded_version is None and disk_version is None and not container:
        return False, "the %s kernel module is not installed" % kernel_module
    if loaded_version is None:
        return True, "the %s kernel module is not loaded%s" % (kernel_module, where)
    if disk_version and loaded_version and loaded_version != disk_version:
        return True, "the loaded %s module is %s but %s is installed%s" % (kernel_module, loaded_version,
                                                                           disk_version, where)
    return False, "the %s module is loaded%s" % (kernel_module, " at " + loaded_version if loaded_version else "")
