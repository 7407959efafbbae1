#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
---
module: gpu_driver_plan
short_description: Decide the GPU driver packages, repositories, pins and services for a host
description:
  - Turns the C(driver) part of a M(serving_plan) result into what to configure on this host's distribution
    version and architecture; package names, repository layout and pins come from tables, not branches.
  - "NVIDIA: NVIDIA's CUDA network repository (flat, per distro such as C(ubuntu2404) or C(debian12)) with
    C(nvidia-open-<branch>) (open kernel modules) or C(cuda-drivers-<branch>) (proprietary, pre-Turing), or on
    Ubuntu Canonical's signed prebuilt modules (C(linux-modules-nvidia-<branch>-server[-open]-<flavour>));
    Fabric Manager on NVSwitch boards; an apt pin keeping every driver package on the branch."
  - "AMD: repo.radeon.com's ROCm repository (Debian 12 uses the jammy suite), the HIP runtime and tools,
    optionally C(amdgpu-dkms); AMD's origin pin. Vulkan plans get Mesa's Vulkan drivers from the distribution."
  - Changes nothing on the host; fails with a message naming the variable to change when the input cannot work.
version_added: "0.2.0"
author: gpt-oss-fleet contributors
options:
  driver:
    description: The C(driver) dict of a M(serving_plan) result.
    type: dict
    required: true
  os_id:
    description: Distribution id, e.g. C(ansible_facts.distribution) (Ubuntu, Debian).
    type: str
    required: true
  os_version:
    description: Distribution version, e.g. C(ansible_facts.distribution_version) (24.04, 12.7).
    type: str
    required: true
  architecture:
    description: Machine architecture (C(ansible_facts.architecture)).
    type: str
    default: x86_64
  kernel_release:
    description: Running kernel (C(ansible_facts.kernel)); names the headers and Ubuntu's module flavour.
    type: str
    default: ""
  in_container:
    description:
      - The host is a container; kernel headers are not planned.
      - Unset, the module finds out on the host as C(gpu_driver_state) does (C(/.dockerenv), C(/run/.containerenv),
        C(/run/systemd/container)), so both decide "in a container" the same way.
    type: bool
  options:
    description:
      - Overrides; keys as in the C(gpu_driver) role without its prefix. C(nvidia_route) (cuda_repo or ubuntu),
        C(nvidia_kernel_modules) (auto, open, proprietary), C(nvidia_branch), C(nvidia_repo_url),
        C(nvidia_key_file), C(cuda_toolkit), C(rocm_version), C(rocm_repo_url), C(amdgpu_repo_url),
        C(rocm_key_url), C(amdgpu_dkms).
    type: dict
    default: {}
attributes:
  action:
    support: full
    details: An action plugin (action_plugins/gpu_driver_plan.py) runs the module's own code in the controller's worker
      process, without a round trip to the host, unless the call needs a read only the host can make.
  check_mode:
    support: full
    details: Reads nothing on the host and changes nothing; the plan is the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - The decisions are pure functions in C(module_utils/driver_stack.py); the package and repository tables are in
    C(module_utils/gpu_catalog.py).
seealso:
  - module: ansible.builtin.apt
    description: Installs the packages this plan names (the C(gpu_driver) role does).
  - module: ansible.builtin.deb822_repository
    description: Adds the vendor repositories this plan names.
"""

EXAMPLES = r"""
- name: Plan the driver stack
  gpu_driver_plan:
    driver: "{{ gpt_oss_plan.driver }}"
    os_id: "{{ ansible_facts['distribution'] }}"
    os_version: "{{ ansible_facts['distribution_version'] }}"
    kernel_release: "{{ ansible_facts['kernel'] }}"
    options:
      nvidia_repo_url: http://mirror.lab.internal/nvidia/cuda/repos
  register: driver_plan
"""

RETURN = r"""
install:
  description: What to configure.
  returned: always
  type: dict
  contains:
    stack:
      description: nvidia, rocm, vulkan-amd, vulkan-intel or none.
      type: str
    repositories:
      description: deb822 sources to write; each with name, uris, suites, components, architectures, key_url, keyring.
      type: list
      elements: dict
    packages:
      description: Packages to install, in order.
      type: list
      elements: str
    hold:
      description: Packages to put on dpkg hold.
      type: list
      elements: str
    pins:
      description: apt preferences entries (name, packages, pin, priority, why).
      type: list
      elements: dict
    unattended_blacklist:
      description: Package-name patterns unattended-upgrades must never touch.
      type: list
      elements: str
    blacklist_nouveau:
      description: Whether nouveau must be blacklisted.
      type: bool
    services:
      description: systemd services the stack needs enabled (nvidia-persistenced, nvidia-fabricmanager).
      type: list
      elements: str
    groups:
      description: Groups the service user needs for the device nodes.
      type: list
      elements: str
    kernel_module:
      description: The kernel module that drives the GPUs (nvidia, amdgpu, i915) or null.
      type: str
    verify_command:
      description: argv that proves the driver answers once loaded.
      type: list
      elements: str
    dkms:
      description: Whether the kernel module is built on the host (unsigned for Secure Boot unless a MOK signs it).
      type: bool
    reasons:
      description: Why each choice was made.
      type: list
      elements: str
  sample:
    stack: nvidia
    packages: [linux-headers-6.8.0-45-generic, nvidia-open-570, nvidia-fabricmanager-570]
    pins: [{name: gpt-oss-nvidia-driver, packages: "nvidia-* libnvidia-* cuda-drivers* libxnvctrl*",
            pin: "version 570.*", priority: 1000}]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.module_exit import finish
from ansible.module_utils.driver_stack import DriverPlanError, driver_install_plan, in_container


ARGUMENT_SPEC = dict(
    driver=dict(type="dict", required=True),
    os_id=dict(type="str", required=True),
    os_version=dict(type="str", required=True),
    architecture=dict(type="str", default="x86_64"),
    kernel_release=dict(type="str", default=""),
    in_container=dict(type="bool"),
    options=dict(type="dict", default={}),
)


def run(params, container_probe=in_container):
    """The module's result for validated params; container_probe() reads the host when in_container is unset.
    Also called in-process on the controller by action_plugins/gpu_driver_plan.py (with in_container given)."""
    container = params["in_container"] if params["in_container"] is not None else container_probe()
    options = dict(params["options"], in_container=container)
    try:
        install = driver_install_plan(params["driver"], params["os_id"], params["os_version"],
                                      params["architecture"], params["kernel_release"], options)
    except DriverPlanError as error:
        return dict(failed=True, msg=str(error))
    return dict(changed=False, install=install)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    finish(module, run(module.params))


if __name__ == "__main__":
    main()
