# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
"""GPU detection as pure functions: parse what the host shows (sysfs, lspci, nvidia-smi,
rocm-smi, rocminfo, the kfd topology) and merge it into one list of devices.

Nothing here runs a command; library/gpu_facts.py gathers the texts (live or replayed) and
calls build_gpu_facts(). That keeps every rule testable on outputs captured on real machines.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import xml.etree.ElementTree as ET

from ansible.module_utils.gpu_catalog import (
    ACCELERATOR_PCI_CLASSES, AMD_DEVICES, AMD_FAMILY_BY_GFX, BMC_VENDOR_IDS, GPU_PCI_CLASSES, INTEL_DISCRETE_DEVICES,
    NVIDIA_DEFAULT_CC, NVIDIA_DEVICES, NVIDIA_FAMILY_BY_ARCH_NAME, NVIDIA_FAMILY_BY_CC, NVIDIA_NVSWITCH_DEVICES,
    VENDOR_IDS,
)

# Fields asked of nvidia-smi --query-gpu (the parser reads any order and ignores extra ones).
NVIDIA_SMI_QUERY_FIELDS = (
    "index,pci.bus_id,pci.device_id,name,compute_cap,memory.total,driver_version,"
    "mig.mode.current,pcie.link.gen.current,pcie.link.width.current"
)
PCIE_GEN_BY_SPEED = {"2.5": 1, "5.0": 2, "5": 2, "8.0": 3, "8": 3, "16.0": 4, "16": 4,
                     "32.0": 5, "32": 5, "64.0": 6, "64": 6}
_NA = ("[n/a]", "n/a", "[not supported]", "not supported", "", "[unknown error]", "[insufficient permissions]")
_LOST = re.compile(r"(unknown error|gpu is lost|fallen off the bus|gpu requires reset)", re.I)


def normalize_pci_address(address):
    """'00000000:18:00.0' / '18:00.0' / '0000:18:00.0' -> '0000:18:00.0' (lower case)."""
    if not address:
        return None
    address = address.strip().lower()
    match = re.match(r"^(?:([0-9a-f]{4,8}):)?([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$", address)
    if not match:
        return None
    domain = (match.group(1) or "0000")[-4:]
    return "%s:%s:%s.%s" % (domain, match.group(2), match.group(3), match.group(4))


def _clean(value):
    value = (value or "").strip()
    return None if value.lower() in _NA else value


def _int_prefix(value):
    match = re.match(r"^\s*(\d+)", value or "")
    return int(match.group(1)) if match else None


# ---------------------------------------------------------------------------------- PCI
def parse_lspci(text):
    """Parse `lspci -nn` or `lspci -Dnn` text into PCI function records."""
    pattern = re.compile(
        r"^(?P<addr>(?:[0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7])\s+"
        r"(?P<class_name>[^\[]+?)\s*\[(?P<class>[0-9a-fA-F]{4})\]:\s+(?P<desc>.*?)\s*"
        r"\[(?P<vendor>[0-9a-fA-F]{4}):(?P<device>[0-9a-fA-F]{4})\]"
        r"(?:\s*\(rev (?P<rev>[0-9a-fA-F]{2})\))?")
    records = []
    for line in (text or "").splitlines():
        match = pattern.match(line.strip()) if not line[:1].isspace() else None
        if not match:
            continue
        desc = match.group("desc")
        bracket = re.findall(r"\[([^\]]+)\]", desc)
        records.append({
            "pci_address": normalize_pci_address(match.group("addr")),
            "class": match.group("class").lower(),
            "vendor_id": match.group("vendor").lower(),
            "device_id": match.group("device").lower(),
            "name": bracket[-1] if bracket else desc,
            "description": desc,
            "fallen_off_bus": (match.group("rev") or "").lower() == "ff",
            "source": "lspci",
        })
    return records


def _read(path, binary=False):
    try:
        with open(path, "rb" if binary else "r") as handle:
            return handle.read() if binary else handle.read().strip()
    except (OSError, UnicodeDecodeError):
        return None


def read_sysfs_pci(sysfs_root):
    """Read /sys/bus/pci/devices/* (or a replayed tree laid out like /sys)."""
    base = os.path.join(sysfs_root, "bus", "pci", "devices")
    records = []
    if not os.path.isdir(base):
        return records
    for address in sorted(os.listdir(base)):
        path = os.path.join(base, address)
        pci_class = (_read(os.path.join(path, "class")) or "").lower().replace("0x", "")
        vendor = (_read(os.path.join(path, "vendor")) or "").lower().replace("0x", "")
        device = (_read(os.path.join(path, "device")) or "").lower().replace("0x", "")
        config = _read(os.path.join(path, "config"), binary=True)
        driver_link = os.path.join(path, "driver")
        driver = os.path.basename(os.readlink(driver_link)) if os.path.islink(driver_link) else None
        speed = _read(os.path.join(path, "current_link_speed")) or ""
        width = _read(os.path.join(path, "current_link_width"))
        vram = _read(os.path.join(path, "mem_info_vram_total"))
        numa = _read(os.path.join(path, "numa_node"))
        speed_match = re.match(r"^([\d.]+)\s*GT/s", speed)
        records.append({
            "pci_address": normalize_pci_address(address),
            "class": pci_class[:4],
            "vendor_id": vendor,
            "device_id": device,
            "name": None,
            "fallen_off_bus": bool(config) and config[:4] == b"\xff\xff\xff\xff",
            "driver": driver,
            "pcie_link_gen": PCIE_GEN_BY_SPEED.get(speed_match.group(1)) if speed_match else None,
            "pcie_link_width": int(width) if width and width.isdigit() and width not in ("0", "255") else None,
            "memory_mib": int(vram) // (1024 * 1024) if vram and vram.isdigit() else None,
            "numa_node": int(numa) if numa and numa.lstrip("-").isdigit() and int(numa) >= 0 else None,
            "source": "sysfs",
        })
    return records


def read_module_version(sysfs_root, module):
    return _read(os.path.join(sysfs_root, "module", module, "version")) if module else None


# ------------------------------------------------------------------------------ NVIDIA
def parse_nvidia_smi(text):
    """Parse nvidia-smi output: the XML of `-q -x`, or `--query-gpu=... --format=csv` with its
    header (any field order, extra fields ignored). Returns (gpus, errors, driver_version)."""
    text = text or ""
    if text.lstrip().startswith("<?xml") or "<nvidia_smi_log" in text:
        return _parse_nvidia_smi_xml(text)
    return _parse_nvidia_smi_csv(text)


def _nvidia_error_lines(lines):
    errors = []
    for line in lines:
        match = re.search(r"device handle for gpu\s*([0-9a-fA-F:.]+)\W*(.*)", line, re.I)
        if match:
            errors.append({"pci_address": normalize_pci_address(match.group(1).rstrip(":")),
                           "message": line.strip()})
        elif _LOST.search(line) or "failed because it couldn't communicate" in line:
            errors.append({"pci_address": None, "message": line.strip()})
    return errors


def _parse_nvidia_smi_csv(text):
    lines = [line for line in text.splitlines() if line.strip()]
    header_at = next((i for i, line in enumerate(lines) if re.match(r"^\s*[a-z_.]+(\s*\[[^\]]*\])?\s*,", line)
                      and ("pci.bus_id" in line or "name" in line or "index" in line)), None)
    errors = _nvidia_error_lines(lines if header_at is None else lines[:header_at] + lines[header_at + 1:])
    if header_at is None:
        return [], errors, None
    reader = csv.reader(io.StringIO("\n".join(lines[header_at:])), skipinitialspace=True)
    header = [re.sub(r"\s*\[.*\]$", "", name.strip()) for name in next(reader)]
    gpus, driver = [], None
    for row in reader:
        if len(row) != len(header):
            continue
        record = dict(zip(header, (cell.strip() for cell in row)))
        address = normalize_pci_address(record.get("pci.bus_id"))
        if address is None and record.get("pci.bus_id") is not None:
            continue
        device_id = _clean(record.get("pci.device_id"))
        lost = any(_LOST.search(value or "") for value in record.values())
        gpu = {
            "index": _int_prefix(record.get("index")),
            "pci_address": address,
            "name": _clean(record.get("name")),
            "compute_capability": _clean(record.get("compute_cap")),
            "memory_mib": _int_prefix(_clean(record.get("memory.total"))),
            "driver_version": _clean(record.get("driver_version")),
            "mig_mode": (_clean(record.get("mig.mode.current")) or "").lower() or None,
            "pcie_link_gen": _int_prefix(_clean(record.get("pcie.link.gen.current"))),
            "pcie_link_width": _int_prefix(_clean(record.get("pcie.link.width.current"))),
            "device_id": device_id[2:6].lower() if device_id and device_id.lower().startswith("0x") else None,
            "architecture": None,
            "healthy": not lost,
        }
        driver = driver or gpu["driver_version"]
        gpus.append(gpu)
    return gpus, errors, driver


def _xml_text(node, path):
    found = node.find(path)
    return _clean(found.text) if found is not None and found.text is not None else None


def _parse_nvidia_smi_xml(text):
    root = ET.fromstring(text.strip())
    driver = _xml_text(root, "driver_version")
    gpus = []
    for position, gpu in enumerate(root.findall("gpu")):
        device_id = _xml_text(gpu, "pci/pci_device_id") or ""
        name = _xml_text(gpu, "product_name")
        values = [element.text or "" for element in gpu.iter()]
        gpus.append({
            "index": _int_prefix(_xml_text(gpu, "minor_number")) if _xml_text(gpu, "minor_number") else position,
            "pci_address": normalize_pci_address(gpu.get("id") or _xml_text(gpu, "pci/pci_bus_id")),
            "name": name,
            "compute_capability": _xml_text(gpu, "compute_cap"),
            "memory_mib": _int_prefix(_xml_text(gpu, "fb_memory_usage/total")),
            "driver_version": driver,
            "mig_mode": (_xml_text(gpu, "mig_mode/current_mig") or "").lower() or None,
            "pcie_link_gen": _int_prefix(_xml_text(gpu, "pci/pci_gpu_link_info/pcie_gen/current_link_gen")),
            "pcie_link_width": _int_prefix(_xml_text(gpu, "pci/pci_gpu_link_info/link_widths/current_link_width")),
            "device_id": device_id[2:6].lower() if device_id.lower().startswith("0x") else None,
            "architecture": _xml_text(gpu, "product_architecture"),
            "healthy": not any(_LOST.search(value) for value in values),
        })
    return gpus, [], driver


def nvidia_family(device_id=None, compute_capability=None, architecture=None, name=None):
    """Family by PCI id, then compute capability, then nvidia-smi's architecture name."""
    if device_id and device_id in NVIDIA_DEVICES:
        return NVIDIA_DEVICES[device_id][2]
    if compute_capability:
        try:
            major, minor = (int(part) for part in compute_capability.split(".")[:2])
            if (major, minor) in NVIDIA_FAMILY_BY_CC:
                return NVIDIA_FAMILY_BY_CC[(major, minor)]
        except ValueError:
            pass
    if architecture and architecture.lower() in NVIDIA_FAMILY_BY_ARCH_NAME:
        return NVIDIA_FAMILY_BY_ARCH_NAME[architecture.lower()]
    for pattern, family in ((r"\bB[23]00\b|RTX 50\d0|RTX PRO \d+ Blackwell|GB[12]\d\d", "blackwell"),
                            (r"\bH[12]00\b|\bH800\b|GH200", "hopper"),
                            (r"\bL40S?\b|\bL4\b|RTX 40\d0|Ada Generation", "ada-lovelace"),
                            (r"\bA100\b|\bA800\b|\bA[1-4]0\b|RTX 30\d0|RTX A\d000", "ampere"),
                            (r"\bT4\b|RTX 20\d0|Quadro RTX", "turing"), (r"V100", "volta")):
        if name and re.search(pattern, name):
            return family
    return "unknown"


# --------------------------------------------------------------------------------- AMD
def decode_gfx_target_version(value):
    """kfd's packed gfx_target_version -> 'gfxNNN' (90402 -> gfx942, 90010 -> gfx90a)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    if number <= 0:
        return None
    major, minor, step = number // 10000, (number // 100) % 100, number % 100
    return "gfx%d%x%x" % (major, minor, step)


def amd_family(gfx_target):
    if not gfx_target:
        return "unknown"
    for prefix in sorted(AMD_FAMILY_BY_GFX, key=len, reverse=True):
        if gfx_target.startswith(prefix):
            return AMD_FAMILY_BY_GFX[prefix]
    return "unknown"


def read_kfd_nodes(sysfs_root):
    """GPU nodes of /sys/class/kfd/kfd/topology/nodes (CPU nodes have simd_count 0)."""
    base = os.path.join(sysfs_root, "class", "kfd", "kfd", "topology", "nodes")
    nodes = []
    if not os.path.isdir(base):
        return nodes
    for name in sorted(os.listdir(base), key=lambda n: int(n) if n.isdigit() else 0):
        text = _read(os.path.join(base, name, "properties")) or ""
        props = dict(line.split(None, 1) for line in text.splitlines() if len(line.split(None, 1)) == 2)
        if props.get("simd_count", "0") == "0":
            continue
        location = int(props.get("location_id", "0"))
        domain = int(props.get("domain", "0"))
        nodes.append({
            "node": int(name) if name.isdigit() else name,
            "gfx_target": decode_gfx_target_version(props.get("gfx_target_version")),
            "unique_id": props.get("unique_id"),
            "device_id": "%04x" % int(props["device_id"]) if props.get("device_id", "").isdigit() else None,
            "pci_address": "%04x:%02x:%02x.%x" % (domain, location >> 8, (location >> 3) & 0x1f, location & 7)
            if location else None,
            "memory_mib": int(props["local_mem_size"]) // (1024 * 1024)
            if props.get("local_mem_size", "0").isdigit() and int(props.get("local_mem_size", "0")) else None,
        })
    return nodes


def parse_rocm_smi_json(text):
    """`rocm-smi --showproductname --showmeminfo vram --showbus --showuniqueid --json`."""
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return []
    cards = []
    for key, card in sorted(data.items()):
        if not key.startswith("card") or not isinstance(card, dict):
            continue
        lower = {k.lower(): v for k, v in card.items()}
        model = lower.get("device id") or lower.get("card model") or ""
        gfx = lower.get("gfx version") or ""
        vram = lower.get("vram total memory (b)")
        cards.append({
            "card": key,
            "pci_address": normalize_pci_address(lower.get("pci bus")),
            "name": lower.get("card series") or lower.get("device name") or lower.get("card model"),
            "device_id": model.lower()[2:] .zfill(4) if model.lower().startswith("0x") else None,
            "gfx_target": _normalize_gfx(gfx),
            "memory_mib": int(vram) // (1024 * 1024) if vram and str(vram).isdigit() else None,
            "unique_id": _clean(lower.get("unique id")),
        })
    return cards


def _normalize_gfx(value):
    """rocm-smi prints 'gfx9010' for gfx90a (decimal step); rocminfo prints 'gfx90a'."""
    value = (value or "").strip().lower()
    match = re.match(r"^gfx(\d+)$", value)
    if match and len(match.group(1)) == 4 and value.startswith("gfx9"):
        digits = match.group(1)
        return "gfx%s%s%x" % (digits[0], digits[1], int(digits[2:]))
    return value or None


def parse_rocminfo(text):
    """GPU agents of `rocminfo`: name (gfx target), marketing name, uuid, compute units."""
    agents, current = [], None
    for line in (text or "").splitlines():
        if re.match(r"^\*+\s*$", line.strip()) or re.match(r"^Agent \d+", line.strip()):
            if current:
                agents.append(current)
            current = {}
            continue
        if current is None or ":" not in line:
            continue
        key, value = (part.strip() for part in line.split(":", 1))
        if key in ("Name", "Marketing Name", "Uuid", "Device Type", "Compute Unit", "BDFID") and key not in current:
            current[key] = value
    if current:
        agents.append(current)
    return [{"gfx_target": a.get("Name"), "name": a.get("Marketing Name"), "unique_id": a.get("Uuid"),
             "compute_units": _int_prefix(a.get("Compute Unit"))}
            for a in agents if a.get("Device Type") == "GPU"]


# ------------------------------------------------------------------------------- merge
def _classify(record, include_integrated):
    """Return (keep, reason) for a PCI function."""
    vendor = record["vendor_id"]
    if record["class"] not in GPU_PCI_CLASSES and not (
            record["class"] in ACCELERATOR_PCI_CLASSES and vendor in ("1002", "10de")):
        return False, None
    if vendor in BMC_VENDOR_IDS:
        return False, "ignored %s %s:%s (%s)" % (record["pci_address"], vendor, record["device_id"], BMC_VENDOR_IDS[vendor])
    if vendor not in VENDOR_IDS:
        return False, "ignored %s %s:%s (display function of an unknown vendor)" % (
            record["pci_address"], vendor, record["device_id"])
    if _is_integrated(record) and not include_integrated:
        return False, "ignored %s %s:%s (integrated GPU; set include_integrated to count it)" % (
            record["pci_address"], vendor, record["device_id"])
    return True, None


# AMD APU graphics by codename, for ids missing from the table (lspci prints the codename).
_AMD_APU_NAMES = re.compile(r"\b(Raven|Picasso|Renoir|Lucienne|Cezanne|Barcelo|Rembrandt|Mendocino|Raphael|"
                            r"Phoenix\d?|Hawk Point|Granite Ridge|Strix|Krackan|Van Gogh)\b", re.I)


def _is_integrated(record):
    vendor, device = record["vendor_id"], record["device_id"]
    if vendor == "8086":
        return device not in INTEL_DISCRETE_DEVICES
    if vendor == "1002":
        if device in AMD_DEVICES:
            return AMD_DEVICES[device][3]
        return bool(_AMD_APU_NAMES.search(record.get("description") or record.get("name") or ""))
    return False


def _new_device(record):
    vendor = VENDOR_IDS.get(record["vendor_id"], "unknown")
    device = {
        "index": None, "pci_address": record.get("pci_address"), "vendor": vendor,
        "pci_id": "%s:%s" % (record["vendor_id"], record["device_id"]),
        "model": record.get("name"), "family": "unknown", "compute_capability": None,
        "gfx_target": None, "memory_mib": record.get("memory_mib"), "driver": record.get("driver"),
        "driver_version": None, "pcie_link_gen": record.get("pcie_link_gen"),
        "pcie_link_width": record.get("pcie_link_width"), "numa_node": record.get("numa_node"),
        "integrated": _is_integrated(record), "mig_mode": None, "compute_partitions": None,
        "healthy": not record.get("fallen_off_bus"),
        "health": "fallen off the bus (config space reads 0xff)" if record.get("fallen_off_bus") else "ok",
        "sources": [record["source"]],
    }
    if vendor == "nvidia" and record["device_id"] in NVIDIA_DEVICES:
        name, _chip, family, cc, vram = NVIDIA_DEVICES[record["device_id"]]
        device.update(model=name, family=family, compute_capability=cc)
        device["memory_mib"] = device["memory_mib"] or vram
    elif vendor == "amd" and record["device_id"] in AMD_DEVICES:
        name, gfx, vram, _integrated = AMD_DEVICES[record["device_id"]]
        device.update(model=name, gfx_target=gfx, family=amd_family(gfx))
        device["memory_mib"] = device["memory_mib"] or vram
    elif vendor == "intel" and record["device_id"] in INTEL_DISCRETE_DEVICES:
        device["model"], vram = INTEL_DISCRETE_DEVICES[record["device_id"]]
        device["memory_mib"] = device["memory_mib"] or vram
    return device


def _adopt(devices, by_address, vendor_id, device_id, pci_address, name):
    """Add a GPU that a vendor tool reports but the PCI scan did not list (or could not classify)."""
    device = _new_device({"vendor_id": vendor_id, "device_id": device_id or "0000", "pci_address": pci_address,
                          "name": name, "source": "vendor tool"})
    device["sources"] = []
    devices.append(device)
    if pci_address:
        by_address[pci_address] = device
    return device


def _merge_nvidia(devices, gpus, errors, notes, ignored):
    by_address = {d["pci_address"]: d for d in devices if d["pci_address"]}
    for gpu in gpus:
        device = by_address.get(gpu["pci_address"])
        if device is None and gpu["pci_address"] in ignored:
            continue
        if device is None:
            device = _adopt(devices, by_address, "10de", gpu["device_id"], gpu["pci_address"], gpu["name"])
        device["sources"].append("nvidia-smi")
        for key in ("compute_capability", "memory_mib", "driver_version", "mig_mode", "pcie_link_gen",
                    "pcie_link_width", "index"):
            if gpu.get(key) is not None:
                device[key] = gpu[key]
        if gpu.get("name"):
            device["model"] = re.sub(r"^NVIDIA\s+", "", gpu["name"])
        device["family"] = nvidia_family(gpu.get("device_id") or device["pci_id"][5:], device["compute_capability"],
                                         gpu.get("architecture"), device["model"])
        if device["compute_capability"] is None and device["family"] in NVIDIA_DEFAULT_CC:
            device["compute_capability"] = NVIDIA_DEFAULT_CC[device["family"]]
        if not gpu["healthy"]:
            device["healthy"], device["health"] = False, "nvidia-smi reports an error for this GPU"
    for error in errors:
        device = by_address.get(error["pci_address"]) if error["pci_address"] else None
        if device is not None:
            device["healthy"], device["health"] = False, error["message"]
        else:
            notes.append("nvidia-smi: %s" % error["message"])
    if gpus:
        reported = {gpu["pci_address"] for gpu in gpus}
        for device in devices:
            if device["vendor"] == "nvidia" and device["pci_address"] not in reported and device["healthy"]:
                device["healthy"], device["health"] = False, "on the PCI bus but not reported by nvidia-smi"


def _merge_amd(devices, kfd_nodes, rocm_cards, rocminfo_agents, partition_counts, ignored):
    by_address = {d["pci_address"]: d for d in devices if d["pci_address"]}
    for card in rocm_cards:
        device = by_address.get(card["pci_address"])
        if device is None and (card["pci_address"] is None or card["pci_address"] in ignored):
            continue
        if device is None:
            device = _adopt(devices, by_address, "1002", card["device_id"], card["pci_address"], card["name"])
        device["sources"].append("rocm-smi")
        if card["gfx_target"]:
            device["gfx_target"] = card["gfx_target"]
        if card["memory_mib"]:
            device["memory_mib"] = card["memory_mib"]
        if card["name"]:
            device["model"] = card["name"]
    seen_ids = set()
    for node in kfd_nodes:
        device = by_address.get(node["pci_address"])
        if device is None and node["unique_id"] in seen_ids:
            continue  # another partition of a GPU already listed
        seen_ids.add(node["unique_id"])
        if device is None and node["pci_address"] and node["pci_address"] not in ignored:
            device = _adopt(devices, by_address, "1002", node["device_id"], node["pci_address"], None)
            device["memory_mib"] = device["memory_mib"] or node["memory_mib"]
        if device is not None and node["gfx_target"]:
            device["gfx_target"] = node["gfx_target"]
            if "kfd" not in device["sources"]:
                device["sources"].append("kfd")
    if rocminfo_agents and not kfd_nodes:
        amd = [d for d in devices if d["vendor"] == "amd" and not d["integrated"]]
        unique = []
        for agent in rocminfo_agents:
            if agent["unique_id"] not in [u["unique_id"] for u in unique]:
                unique.append(agent)
        for device, agent in zip(amd, unique):
            device["gfx_target"] = agent["gfx_target"] or device["gfx_target"]
            device["sources"].append("rocminfo")
    for device in devices:
        if device["vendor"] == "amd":
            device["family"] = amd_family(device["gfx_target"])
            if device["pci_address"] in partition_counts:
                device["compute_partitions"] = partition_counts[device["pci_address"]]


def _partitions(entries):
    """Physical GPUs hold several kfd nodes (or rocm-smi cards) with one unique_id when
    partitioned (MI300 CPX/DPX). Returns {pci_address of the first node: partitions}."""
    counts, first = {}, {}
    for entry in entries:
        uid = entry.get("unique_id")
        if not uid or uid in ("0", "N/A"):
            continue
        counts[uid] = counts.get(uid, 0) + 1
        first.setdefault(uid, entry.get("pci_address"))
    return {first[uid]: n for uid, n in counts.items() if first[uid]}


def build_gpu_facts(pci_records, nvidia_smi_text=None, rocm_smi_text=None, rocminfo_text=None,
                    kfd_nodes=None, module_versions=None, include_integrated=False):
    """Merge every source into ansible_facts.gpu: {'summary': ..., 'devices': [...], 'notes': [...]}."""
    notes, devices, ignored = [], [], set()
    for record in pci_records:
        keep, reason = _classify(record, include_integrated)
        if reason:
            notes.append(reason)
        if keep:
            devices.append(_new_device(record))
        else:
            ignored.add(record["pci_address"])
    if nvidia_smi_text:
        gpus, errors, _driver = parse_nvidia_smi(nvidia_smi_text)
        _merge_nvidia(devices, gpus, errors, notes, ignored)
    kfd_nodes = kfd_nodes or []
    rocm_cards = parse_rocm_smi_json(rocm_smi_text) if rocm_smi_text else []
    agents = parse_rocminfo(rocminfo_text) if rocminfo_text else []
    if rocm_cards and not kfd_nodes:
        # a partitioned GPU shows once per partition: keep the first, count the rest
        seen, deduped = set(), []
        for card in rocm_cards:
            if card["unique_id"] and card["unique_id"] in seen:
                continue
            seen.add(card["unique_id"])
            deduped.append(card)
        partition_counts = _partitions(rocm_cards)
        rocm_cards = deduped
    else:
        partition_counts = _partitions(kfd_nodes)
    if rocm_cards or kfd_nodes or agents:
        _merge_amd(devices, kfd_nodes, rocm_cards, agents, partition_counts, ignored)
    for device in devices:
        if device["vendor"] == "nvidia" and device["family"] == "unknown":
            device["family"] = nvidia_family(device["pci_id"][5:], device["compute_capability"], None, device["model"])
        if device["driver"] and not device["driver_version"] and module_versions:
            device["driver_version"] = module_versions.get(device["driver"])
    devices.sort(key=lambda d: (d["index"] if d["index"] is not None else 1 << 16, d["pci_address"] or ""))
    for position, device in enumerate(devices):
        device["index"] = position
    nvswitches = sum(1 for record in pci_records
                     if record["vendor_id"] == "10de" and record["device_id"] in NVIDIA_NVSWITCH_DEVICES)
    return {"summary": summarize(devices, nvswitches), "devices": devices, "notes": notes}


def facts_from_sources(sysfs_root=None, lspci_text=None, nvidia_smi_text=None, rocm_smi_text=None,
                       rocminfo_text=None, include_integrated=False):
    """Read PCI from lspci text when given, else from a /sys tree; then merge the vendor tools."""
    if lspci_text is not None:
        pci = parse_lspci(lspci_text)
    elif sysfs_root is not None:
        pci = read_sysfs_pci(sysfs_root)
    else:
        pci = []
    drivers = {record.get("driver") for record in pci if record.get("driver")}
    versions = {name: read_module_version(sysfs_root, name) for name in drivers} if sysfs_root else {}
    return build_gpu_facts(pci, nvidia_smi_text=nvidia_smi_text, rocm_smi_text=rocm_smi_text,
                           rocminfo_text=rocminfo_text, kfd_nodes=read_kfd_nodes(sysfs_root) if sysfs_root else [],
                           module_versions=versions, include_integrated=include_integrated)


def summarize(devices, nvswitch_count=0):
    healthy = [d for d in devices if d["healthy"]]
    memories = [d["memory_mib"] for d in healthy if d["memory_mib"]]
    partitions = sum(d["compute_partitions"] or 0 for d in devices)
    return {
        "count": len(devices),
        "healthy_count": len(healthy),
        "unhealthy": [d["pci_address"] for d in devices if not d["healthy"]],
        "vendors": sorted({d["vendor"] for d in devices}),
        "families": sorted({d["family"] for d in devices}),
        "models": sorted({d["model"] or "unknown" for d in devices}),
        "total_memory_mib": sum(memories),
        "min_memory_mib": min(memories) if memories else 0,
        "mig_enabled": any(d["mig_mode"] == "enabled" for d in devices),
        "compute_partitions": partitions,
        "drivers": sorted({d["driver"] for d in devices if d["driver"]}),
        "nvswitch_count": nvswitch_count,
    }
