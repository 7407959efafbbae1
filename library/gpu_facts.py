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
  - A source that was given, or a tool that answered, but whose text cannot be read fails the task with
    the option (or command) and the first line that could not be read. It never yields "no GPU".
  - Sources that disagree on the number of GPUs (lspci lists 8, nvidia-smi 7) are reported in C(notes).
  - Reports hardware readiness against the deployment and hardware guides (host RAM, the disk holding
    I(hf_home) and its free space, each GPU's PCIe link against its maximum) with warnings below them.
version_added: "0.1.0"
author: gpt-oss-fleet contributors
options:
  sysfs_root:
    description: A directory laid out like C(/sys) to read instead of the live one.
    type: path
  lspci_output:
    description:
      - Text of C(lspci -nn), C(lspci -Dnn) or plain C(lspci) (names without ids; family and nominal VRAM
        then come from the product name) to read instead of the PCI bus. Indented C(-v) lines are skipped.
    type: str
  nvidia_smi_output:
    description:
      - Output of nvidia-smi, recognised by content. The XML of C(nvidia-smi -q -x); the text of
        C(nvidia-smi -q) (or C(-a)); the default C(nvidia-smi) table; or C(nvidia-smi --query-gpu=FIELDS
        --format=csv) with its header line (columns read by header name, in any order).
    type: str
  rocminfo_output:
    description:
      - Text of C(rocminfo). Alone it is enough - GPU agents become devices with their PCI address (BDFID),
        gfx target and VRAM; agents without a UUID (older ROCm) stay distinct.
    type: str
  rocm_smi_output:
    description:
      - "Output of rocm-smi, recognised by content. JSON of C(rocm-smi ... --json) of any release (older ones
        print C(GPU ID) and no C(GFX Version)); the C(GPU[N] : key: value) text of C(--showproductname),
        C(--showbus), C(-a) and similar; or the default concise table."
    type: str
  hf_home:
    description:
      - Where the weights will live; its disk (NVMe/SSD/HDD) and free space are reported. Defaults to the
        C(HF_HOME) environment variable, else C(~/.cache/huggingface). Read live only.
    type: path
  memory_mib:
    description: Host RAM to assume instead of reading C(/proc/meminfo) (for replays).
    type: int
  hf_home_disk:
    description: The HF_HOME disk to assume instead of reading it, as C({type, free_mib, device}) (for replays).
    type: dict
  model:
    description: Model whose hardware recommendations the readiness warnings use.
    type: str
    default: openai/gpt-oss-20b
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
          description: >-
            Devices that were seen and ignored, errors the vendor tools printed, and "sources disagree on
            the number of NVIDIA GPUs: lspci lists 8, nvidia-smi lists 7" when the sources disagree.
          type: list
          elements: str
        source_counts:
          description: GPUs each source listed, per vendor.
          type: dict
          sample: {"nvidia": {"lspci": 8, "nvidia-smi": 7}}
        readiness:
          description: >-
            model, ram_mib, hf_home (path, device, type nvme/ssd/hdd/unknown, free_mib), pcie (per GPU:
            current and maximum link generation and width), warnings (below the guides: VRAM, RAM, disk type,
            degraded or narrow PCIe links) and notes. Values not measured are null and give no warning.
          type: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.gpu_inventory import (
    NVIDIA_SMI_QUERY_FIELDS, UnreadableSource, facts_from_sources, hardware_readiness, meminfo_mib, read_disk_of,
)

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
    labels = {}
    nvidia = ["nvidia-smi", "--query-gpu=" + NVIDIA_SMI_QUERY_FIELDS, "--format=csv"]
    texts["nvidia_smi"] = _run(module, nvidia)
    if texts["nvidia_smi"] and "not a valid field" in texts["nvidia_smi"]:  # drivers older than the fields
        nvidia = ["nvidia-smi", "-q", "-x"]
        texts["nvidia_smi"] = _run(module, nvidia)
    rocm = ["rocm-smi", "--showproductname", "--showmeminfo", "vram", "--showbus", "--showuniqueid", "--json"]
    texts["rocm_smi"] = _run(module, rocm)
    if not os.path.isdir(os.path.join(sysfs, "class", "kfd")):
        texts["rocminfo"] = _run(module, ["rocminfo"])
    labels.update(nvidia_smi=" ".join(nvidia), rocm_smi=" ".join(rocm), rocminfo="rocminfo")
    return sysfs, texts, labels


def main():
    module = AnsibleModule(
        argument_spec=dict(
            sysfs_root=dict(type="path"),
            lspci_output=dict(type="str"),
            nvidia_smi_output=dict(type="str"),
            rocminfo_output=dict(type="str"),
            rocm_smi_output=dict(type="str"),
            include_integrated=dict(type="bool", default=False),
            hf_home=dict(type="path"),
            memory_mib=dict(type="int"),
            hf_home_disk=dict(type="dict"),
            model=dict(type="str", default="openai/gpt-oss-20b"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    replay = any(params[name] is not None for name in REPLAY_OPTIONS)
    labels = {}
    if replay:
        sysfs = params["sysfs_root"]
        texts = {"nvidia_smi": params["nvidia_smi_output"], "rocm_smi": params["rocm_smi_output"],
                 "rocminfo": params["rocminfo_output"]}
        if sysfs is not None and not os.path.isdir(sysfs):
            module.fail_json(msg="sysfs_root=%s is not a directory; point it at a tree laid out like /sys" % sysfs)
    else:
        sysfs, texts, labels = gather_live(module)
    try:
        facts = facts_from_sources(
            sysfs_root=sysfs, lspci_text=params["lspci_output"], nvidia_smi_text=texts["nvidia_smi"],
            rocm_smi_text=texts["rocm_smi"], rocminfo_text=texts["rocminfo"],
            include_integrated=params["include_integrated"], labels=labels)
    except UnreadableSource as error:
        module.fail_json(msg=str(error))
    ram, disk = params["memory_mib"], params["hf_home_disk"]
    if not replay:
        ram = ram or meminfo_mib(_read_text("/proc/meminfo"))
        if disk is None:
            hf_home = params["hf_home"] or os.environ.get("HF_HOME") or os.path.expanduser("~/.cache/huggingface")
            try:
                disk = read_disk_of(hf_home)
            except OSError as error:
                facts["notes"].append("could not read the disk of %s: %s" % (hf_home, error))
    facts["readiness"] = hardware_readiness(facts["devices"], ram_mib=ram, disk=disk, model=params["model"])
    for warning in facts["readiness"].get("warnings", []):
        module.warn(warning)
    module.exit_json(changed=False, ansible_facts={"gpu": facts})


def _read_text(path):
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return None


if __name__ == "__main__":
    main()
