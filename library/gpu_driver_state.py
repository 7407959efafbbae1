#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
---
module: gpu_driver_state
short_description: Report the kernel side of a GPU driver and whether a reboot is needed
description:
  - Reads Secure Boot from efivarfs, whether the host is a container, whether nouveau is loaded, and the
    version of the GPU kernel module that is loaded (C(/sys/module/NAME/version)) and installed (C(modinfo)).
  - With I(load_module), loads the module with C(modprobe) when it is installed but not loaded, nouveau is not
    in the way and the host is not a container (not in check mode).
  - Decides C(reboot_required) with a reason; it never reboots (the role does, when allowed).
version_added: "0.2.0"
author: gpt-oss-fleet contributors
options:
  kernel_module:
    description: The GPU kernel module (nvidia, amdgpu, i915); omit for stacks without one.
    type: str
  load_module:
    description: Try C(modprobe) when the module is installed but not loaded.
    type: bool
    default: false
  sysfs_root:
    description: A directory laid out like C(/sys) to read instead of the live one (tests, replays).
    type: path
    default: /sys
  efivars_dir:
    description: Where the EFI variables are (replays of a Secure Boot machine point this elsewhere).
    type: path
    default: /sys/firmware/efi/efivars
  root:
    description: Filesystem root to look for container markers under.
    type: path
    default: /
  dkms:
    description: The planned module is built by DKMS (unsigned unless a Machine Owner Key signs it).
    type: bool
    default: false
  mok_enrolled:
    description: DKMS's Machine Owner Key is enrolled in the firmware.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: Only reads (sysfs, efivars, C(/proc/modules)); the same answer in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - The readings and decisions are in C(module_utils/driver_stack.py).
seealso:
  - module: community.general.modprobe
    description: Loads a kernel module; this module says whether loading can work or a reboot is needed.
  - module: ansible.builtin.reboot
    description: What the C(gpu_driver) role runs when this module says only a reboot loads the new driver.
"""

EXAMPLES = r"""
- name: Read the driver's kernel state
  gpu_driver_state:
    kernel_module: nvidia
    load_module: true
  register: state

- name: Stop before installing unsigned modules on a Secure Boot host
  ansible.builtin.fail:
    msg: Secure Boot is on
  when: state.secure_boot == 'enabled'
"""

RETURN = r"""
secure_boot:
  description: enabled, disabled or not-efi.
  returned: always
  type: str
container:
  description: Whether the host is a container (no modules are loaded, no reboot happens).
  returned: always
  type: bool
nouveau_loaded:
  description: Whether the nouveau module is loaded.
  returned: always
  type: bool
loaded_version:
  description: Version of the loaded module; null when not loaded.
  returned: always
  type: str
installed_version:
  description: >-
    Version of the module on disk (C(modinfo -F version)); empty for in-kernel modules without one; null when the
    module is not installed (or in a container, where the host's modules are not ours to read).
  returned: always
  type: str
loaded_now:
  description: Whether this run loaded the module with modprobe.
  returned: always
  type: bool
reboot_required:
  description: Whether only a reboot gets the planned module running.
  returned: always
  type: bool
secure_boot_blocker:
  description: Why installing would leave a module Secure Boot refuses, with the options; null when nothing blocks.
  returned: always
  type: str
reason:
  description: Why (or why not) a reboot is required.
  returned: always
  type: str
  sample: the nvidia kernel module is not loaded (in a container, modules are not loaded and the host is not rebooted)
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.driver_stack import (
    assess_reboot, in_container, loaded_module_version, secure_boot_blocker, secure_boot_state,
)


def _installed_version(module, name):
    modinfo = module.get_bin_path("modinfo", opt_dirs=["/usr/sbin", "/sbin"])
    if not modinfo:
        return None
    rc, out, _err = module.run_command([modinfo, "-F", "version", name])
    # "" = installed without a version field (in-kernel modules); None = not installed
    return out.strip() if rc == 0 else None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            kernel_module=dict(type="str"),
            load_module=dict(type="bool", default=False),
            sysfs_root=dict(type="path", default="/sys"),
            efivars_dir=dict(type="path", default="/sys/firmware/efi/efivars"),
            root=dict(type="path", default="/"),
            dkms=dict(type="bool", default=False),
            mok_enrolled=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    name, sysfs = params["kernel_module"], params["sysfs_root"]
    container = in_container(params["root"])
    nouveau = loaded_module_version(sysfs, "nouveau") is not None
    loaded = loaded_module_version(sysfs, name) if name else None
    installed = _installed_version(module, name) if name and not container else None
    loaded_now = False
    if (name and params["load_module"] and loaded is None and installed is not None and not container and not nouveau
            and not module.check_mode):
        rc, _out, err = module.run_command([module.get_bin_path("modprobe", required=True, opt_dirs=["/usr/sbin"]),
                                            name])
        loaded = loaded_module_version(sysfs, name) if rc == 0 else None
        loaded_now = loaded is not None
        if rc != 0:
            module.warn("modprobe %s failed: %s" % (name, err.strip()))
    required, reason = assess_reboot(name, loaded, installed, nouveau, container)
    secure_boot = secure_boot_state(params["efivars_dir"])
    module.exit_json(changed=loaded_now, secure_boot=secure_boot, container=container,
                     secure_boot_blocker=secure_boot_blocker(secure_boot, params["dkms"], params["mok_enrolled"]),
                     nouveau_loaded=nouveau, loaded_version=loaded, installed_version=installed, loaded_now=loaded_now,
                     reboot_required=required, reason=reason)


if __name__ == "__main__":
    main()
