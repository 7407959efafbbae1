#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
---
module: gpu_facts
short_description: Detect GPUs before or after a vendor driver is installed
description:
  - Reads the PCI bus from sysfs (or C(lspci) text), then enriches NVIDIA GPUs from C(nvidia-smi)
    and AMD GPUs from the kfd topology, C(rocm-smi) and C(rocminfo) when they are present.
  - Counts only real GPUs. BMC VGA functions (for example ASPEED C(1a03:2000)), NVSwitch bridges,
    GPU audio functions and non-display devices are ignored, integrated GPUs unless asked.
  - GPUs that have fallen off the bus, or that nvidia-smi reports errors for, are returned with
    C(healthy=false) instead of failing.
  - Every source can be replayed from recorded output, so plans can be made and tested offline.
    When any replay option is given, no live source is read.
  - Works on hosts without any GPU; it then returns a count of 0.
version_added: "0.1.0"
author: gpt-oss-fleet contributors
options:
  sysfs_root:
    description: A directory laid out like C(/sys) to read instead of the live one.
    type: path
  lspci_output:
    description: Text of C(lspci -nn) or C(lspci -Dnn) to read instead of the PCI bus.
    type: str
  nvidia_smi_output:
    description:
      - Either the XML of C(nvidia-smi -q -x), or the text of C(nvidia-smi --query-gpu=FIELDS --format=csv)
        with its header line. CSV columns are read by header name, in any order.
    type: str
  rocminfo_output:
    description: Text of C(rocminfo).
    type: str
  rocm_smi_output:
    description: JSON of C(rocm-smi --showproductname --showmeminfo vram --showbus --showuniqueid --json).
    type: str
  include_integrated:
    description: Count integrated GPUs (APUs, Intel graphics) as GPUs.
    type: bool
    default: false
notes:
  - Supports check mode; it never changes the host.
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  facts:
    support: full
"""

EXAMPLES = r"""
- name: Detect GPUs
  gpu_facts:

- name: Plan offline from outputs captured on another machine
  gpu_facts:
    lspci_output: "{{ lookup('ansible.builtin.file', 'captures/h100x8/lspci.txt') }}"
    nvidia_smi_output: "{{ lookup('ansible.builtin.file', 'captures/h100x8/nvidia-smi.csv') }}"
"""

RETURN = r"""
ansible_facts:
  description: Facts to add to ansible_facts.
  returned: always
  type: complex
  contains:
    gpu:
      description: GPUs of the host.
      type: complex
      contains:
        summary:
          description: >-
            count, healthy_count, unhealthy (PCI addresses), vendors, families, models,
            total_memory_mib and min_memory_mib (healthy GPUs), mig_enabled, compute_partitions, drivers,
            nvswitch_count (NVSwitch bridges on the board: Fabric Manager is needed).
          type: dict
          sample: {"count": 8, "healthy_count": 8, "vendors": ["nvidia"], "families": ["hopper"],
                   "total_memory_mib": 652472, "min_memory_mib": 81559}
        devices:
          description: >-
            One entry per GPU with index, pci_address, vendor (nvidia/amd/intel), pci_id, model, family
            (volta ... blackwell; gcn5, cdna1-4, rdna2-4; unknown), compute_capability (NVIDIA), gfx_target (AMD),
            memory_mib, driver, driver_version, pcie_link_gen, pcie_link_width, numa_node, integrated,
            mig_mode, compute_partitions, healthy, health and sources.
          type: list
          elements: dict
        notes:
          description: Devices that were seen and ignored, and errors the vendor tools printed.
          type: list
          elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.gpu_inventory import NVIDIA_SMI_QUERY_FIELDS, facts_from_sources

REPLAY_OPTIONS = ("sysfs_root", "lspci_output", "nvidia_smi_output", "rocminfo_output", "rocm_smi_output")


def _run(module, argv):
    """Run a vendor tool if it exists; return its stdout (errors included) or None."""
    binary = module.get_bin_path(argv[0])
    if binary is None:
        return None
    rc, out, err = module.run_command([binary] + argv[1:])
    return out + ("\n" + err if rc != 0 and err else "")


def gather_live(module):
    sysfs = "/sys"
    texts = {"nvidia_smi": None, "rocm_smi": None, "rocminfo": None}
    texts["nvidia_smi"] = _run(module, ["nvidia-smi", "--query-gpu=" + NVIDIA_SMI_QUERY_FIELDS, "--format=csv"])
    if texts["nvidia_smi"] and "not a valid field" in texts["nvidia_smi"]:  # drivers older than the fields
        texts["nvidia_smi"] = _run(module, ["nvidia-smi", "-q", "-x"])
    texts["rocm_smi"] = _run(module, ["rocm-smi", "--showproductname", "--showmeminfo", "vram", "--showbus",
                                      "--showuniqueid", "--json"])
    if not os.path.isdir(os.path.join(sysfs, "class", "kfd")):
        texts["rocminfo"] = _run(module, ["rocminfo"])
    return sysfs, texts


def main():
    module = AnsibleModule(
        argument_spec=dict(
            sysfs_root=dict(type="path"),
            lspci_output=dict(type="str"),
            nvidia_smi_output=dict(type="str"),
            rocminfo_output=dict(type="str"),
            rocm_smi_output=dict(type="str"),
            include_integrated=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if any(params[name] is not None for name in REPLAY_OPTIONS):
        sysfs = params["sysfs_root"]
        texts = {"nvidia_smi": params["nvidia_smi_output"], "rocm_smi": params["rocm_smi_output"],
                 "rocminfo": params["rocminfo_output"]}
        if sysfs is not None and not os.path.isdir(sysfs):
            module.fail_json(msg="sysfs_root=%s is not a directory; point it at a tree laid out like /sys" % sysfs)
    else:
        sysfs, texts = gather_live(module)
    facts = facts_from_sources(
        sysfs_root=sysfs, lspci_text=params["lspci_output"], nvidia_smi_text=texts["nvidia_smi"],
        rocm_smi_text=texts["rocm_smi"], rocminfo_text=texts["rocminfo"],
        include_integrated=params["include_integrated"])
    module.exit_json(changed=False, ansible_facts={"gpu": facts})


if __name__ == "__main__":
    main()
