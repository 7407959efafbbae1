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
    ACCELERATOR_PCI_CLASSES, AMD_DEVICES, AMD_FAMILY_BY_GFX, AMD_GFX_BY_NAME, BMC_VENDOR_IDS, GPU_PCI_CLASSES,
    HARDWARE_GUIDE, INTEL_DISCRETE_DEVICES, INTEL_DISCRETE_NAME, LSPCI_CLASS_NAMES, LSPCI_VENDOR_NAMES,
    NVIDIA_DEFAULT_CC, NVIDIA_DEVICES, NVIDIA_FAMILY_BY_ARCH_NAME, NVIDIA_FAMILY_BY_CC, NVIDIA_FAMILY_BY_NAME,
    NVIDIA_NVSWITCH_DEVICES, VENDOR_IDS,
)

# Fields asked of nvidia-smi --query-gpu (the parser reads any order and ignores extra ones).
NVIDIA_SMI_QUERY_FIELDS = (
    "index,pci.bus_id,pci.device_id,name,compute_cap,memory.total,driver_version,"
    "mig.mode.current,pcie.link.gen.current,pcie.link.width.current,pcie.link.gen.max,pcie.link.width.max"
)
PCIE_GEN_BY_SPEED = {"2.5": 1, "5.0": 2, "5": 2, "8.0": 3, "8": 3, "16.0": 4, "16": 4,
                     "32.0": 5, "32": 5, "64.0": 6, "64": 6}
_NA = ("[n/a]", "n/a", "[not supported]", "not supported", "", "[unknown error]", "[insufficient permissions]")
_LOST = re.compile(r"(unknown error|gpu is lost|fallen off the bus|gpu requires reset)", re.I)


class UnreadableSource(ValueError):
    """A source was given (or a tool answered) but its text could not be read. Never an empty result."""

    def __init__(self, source, line_number, line, expected):
        self.source, self.line_number, self.line, self.expected = source, line_number, line, expected
        ValueError.__init__(self, self.message(source))

    def message(self, label):
        return "%s: could not read line %d: %r (expected %s)" % (label, self.line_number, self.line[:120],
                                                                 self.expected)


def _first_unread(text, readable, source, expected):
    """Raise UnreadableSource at the first non-blank line that `readable(line)` rejects."""
    for number, line in enumerate((text or "").splitlines(), 1):
        if line.strip() and not readable(line):
            raise UnreadableSource(source, number, line.strip(), expected)
    raise UnreadableSource(source, 1, (text or "").strip()[:120] or "(empty)", expected)


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
_LSPCI_NN = re.compile(
    r"^(?P<addr>(?:[0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7])\s+"
    r"(?P<class_name>[^\[]+?)\s*\[(?P<class>[0-9a-fA-F]{4})\]:\s+(?P<desc>.*?)\s*"
    r"\[(?P<vendor>[0-9a-fA-F]{4}):(?P<device>[0-9a-fA-F]{4})\]"
    r"(?:\s*\(rev (?P<rev>[0-9a-fA-F]{2})\))?")
_LSPCI_PLAIN = re.compile(
    r"^(?P<addr>(?:[0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7])\s+(?P<class_name>[^:]+?):\s+"
    r"(?P<desc>.*?)(?:\s*\(rev (?P<rev>[0-9a-fA-F]{2})\))?(?:\s*\(prog-if [^)]*\))?\s*$")
LSPCI_FORMATS = "lspci, lspci -nn or lspci -Dnn device lines"


def _lspci_vendor(desc):
    """Plain lspci: 'NVIDIA Corporation GH100 [H100 SXM5 80GB]' -> ('10de', 'GH100 [H100 SXM5 80GB]')."""
    for name, vendor_id in LSPCI_VENDOR_NAMES:
        if desc.startswith(name):
            return vendor_id, desc[len(name):].strip()
    return "unknown", desc


def parse_lspci(text, source="lspci_output"):
    """Parse `lspci`, `lspci -nn` or `lspci -Dnn` text into PCI function records. Indented lines (-v details)
    are skipped; any other line that is not a PCI function is an error naming it."""
    records = []
    for number, line in enumerate((text or "").splitlines(), 1):
        if not line.strip() or line[:1].isspace():
            continue
        match = _LSPCI_NN.match(line.strip())
        if match:
            desc = match.group("desc")
            bracket = re.findall(r"\[([^\]]+)\]", desc)
            records.append({
                "pci_address": normalize_pci_address(match.group("addr")), "class": match.group("class").lower(),
                "vendor_id": match.group("vendor").lower(), "device_id": match.group("device").lower(),
                "name": bracket[-1] if bracket else desc, "description": desc,
                "fallen_off_bus": (match.group("rev") or "").lower() == "ff", "source": "lspci",
            })
            continue
        match = _LSPCI_PLAIN.match(line.strip())
        if not match:
            raise UnreadableSource(source, number, line.strip(), LSPCI_FORMATS)
        desc = match.group("desc")
        vendor_id, rest = _lspci_vendor(desc)
        bracket = re.findall(r"\[([^\]]+)\]", rest)
        records.append({
            "pci_address": normalize_pci_address(match.group("addr")),
            "class": LSPCI_CLASS_NAMES.get(match.group("class_name").strip().lower(), "ffff"),
            "vendor_id": vendor_id, "device_id": None, "name": bracket[-1] if bracket else rest, "description": desc,
            "fallen_off_bus": (match.group("rev") or "").lower() == "ff", "source": "lspci",
        })
    if not records:
        raise UnreadableSource(source, 1, "(empty)", LSPCI_FORMATS)
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
        max_speed = re.match(r"^([\d.]+)\s*GT/s", _read(os.path.join(path, "max_link_speed")) or "")
        max_width = _read(os.path.join(path, "max_link_width"))
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
            "pcie_link_gen_max": PCIE_GEN_BY_SPEED.get(max_speed.group(1)) if max_speed else None,
            "pcie_link_width_max": int(max_width) if max_width and max_width.isdigit()
            and max_width not in ("0", "255") else None,
            "memory_mib": int(vram) // (1024 * 1024) if vram and vram.isdigit() else None,
            "numa_node": int(numa) if numa and numa.lstrip("-").isdigit() and int(numa) >= 0 else None,
            "source": "sysfs",
        })
    return records


def read_module_version(sysfs_root, module):
    return _read(os.path.join(sysfs_root, "module", module, "version")) if module else None


# ------------------------------------------------------------------------------ NVIDIA
NVIDIA_SMI_FORMATS = ("nvidia-smi -q, nvidia-smi -q -x, nvidia-smi --query-gpu=... --format=csv with its header, "
                      "or the default nvidia-smi table")
# Whole outputs nvidia-smi prints when it has no GPU to list or cannot reach the driver (not parse failures).
_NVIDIA_NO_GPU = re.compile(r"^(No devices were found|NVIDIA-SMI has failed because|Unable to determine the device "
                            r"handle|Failed to initialize NVML|Driver/library version mismatch|NVML library version)",
                            re.I)


def _nvidia_smi_format(text):
    """Recognise the format by content: a table of (marker test, parser) pairs, first hit wins."""
    for test, parser in (
            (lambda t: t.lstrip().startswith("<?xml") or "<nvidia_smi_log" in t, _parse_nvidia_smi_xml),
            (lambda t: "NVSMI LOG" in t or re.search(r"^GPU [0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:", t, re.M),
             _parse_nvidia_smi_text),
            (lambda t: re.search(r"^\|\s*NVIDIA-SMI \d", t, re.M) or re.search(r"^\|\s*GPU\s+Name\s", t, re.M),
             _parse_nvidia_smi_table),
            (lambda t: re.search(r"^\s*[a-z_.]+(\s*\[[^\]]*\])?\s*,", t, re.M), _parse_nvidia_smi_csv)):
        if test(text):
            return parser
    return None


def parse_nvidia_smi(text, source="nvidia_smi_output"):
    """Parse nvidia-smi output, recognised by content: the XML of `-q -x`, the text of `-q`, the default table,
    or `--query-gpu=... --format=csv` with its header (any field order, extra fields ignored).
    Returns (gpus, errors, driver_version). Text that is none of these (and not one of nvidia-smi's own
    "no GPU / no driver" messages) raises UnreadableSource naming its first line."""
    text = text or ""
    parser = _nvidia_smi_format(text)
    if parser is None:
        if text.strip() and all(_NVIDIA_NO_GPU.match(line.strip()) or _LOST.search(line)
                                for line in text.splitlines() if line.strip()):
            return [], _nvidia_error_lines(text.splitlines()), None
        _first_unread(text, lambda line: bool(_NVIDIA_NO_GPU.match(line.strip())), source, NVIDIA_SMI_FORMATS)
    try:
        gpus, errors, driver = parser(text)
    except ET.ParseError as error:
        line = error.position[0] if hasattr(error, "position") else 1
        lines = text.strip().splitlines() or [""]
        raise UnreadableSource(source, line, lines[min(line, len(lines)) - 1].strip(),
                               "well-formed nvidia-smi -q -x XML")
    declared = re.search(r"^\s*Attached GPUs\s*:\s*(\d+)", text, re.M)
    if not gpus and not errors and not re.search(r"No devices were found", text):
        _first_unread(text, lambda line: False, source, NVIDIA_SMI_FORMATS)
    if declared and parser is _parse_nvidia_smi_text and int(declared.group(1)) > len(gpus) and not errors:
        missing = int(declared.group(1)) - len(gpus)
        errors.append({"pci_address": None, "message": "nvidia-smi -q says %s GPUs are attached but lists %d"
                       % (declared.group(1), len(gpus)), "missing": missing})
    return gpus, errors, driver


def _gpu_record(**values):
    """One GPU as every nvidia-smi parser returns it."""
    record = dict.fromkeys(("index", "pci_address", "name", "compute_capability", "memory_mib", "driver_version",
                            "mig_mode", "pcie_link_gen", "pcie_link_width", "pcie_link_gen_max",
                            "pcie_link_width_max", "pcie_link_gen_device_max", "device_id", "architecture"))
    record["healthy"] = True
    record.update(values)
    return record


def _parse_nvidia_smi_text(text):
    """`nvidia-smi -q` (and `-q -i N`): 'GPU 00000000:18:00.0' blocks of indented 'Key : value' lines."""
    driver = None
    gpus, current, path = [], None, []
    for line in text.splitlines():
        if not line.strip():
            continue
        header = re.match(r"^GPU ([0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-7])\s*$", line)
        if header:
            current = {"_address": header.group(1)}
            gpus.append(current)
            path = []
            continue
        indent = (len(line) - len(line.lstrip(" "))) // 4
        key, sep, value = line.strip().partition(":")
        key = key.strip()
        if current is None:
            if key == "Driver Version" and sep:
                driver = value.strip()
            continue
        path = path[:max(indent - 1, 0)]
        if sep and value.strip():
            current["/".join(path + [key])] = value.strip()
        else:
            path.append(key)
    result = []
    for position, values in enumerate(gpus):
        device_id = _clean(values.get("PCI/Device Id")) or ""
        link = "PCI/GPU Link Info/"
        result.append(_gpu_record(
            index=_int_prefix(values.get("Minor Number")) if _clean(values.get("Minor Number")) else position,
            pci_address=normalize_pci_address(values.get("PCI/Bus Id") or values["_address"]),
            name=_clean(values.get("Product Name")),
            memory_mib=_int_prefix(_clean(values.get("FB Memory Usage/Total"))),
            driver_version=driver,
            mig_mode=(_clean(values.get("MIG Mode/Current")) or "").lower() or None,
            pcie_link_gen=_int_prefix(_clean(values.get(link + "PCIe Generation/Current"))),
            pcie_link_gen_max=_int_prefix(_clean(values.get(link + "PCIe Generation/Max"))),
            pcie_link_gen_device_max=_int_prefix(_clean(values.get(link + "PCIe Generation/Device Max"))),
            pcie_link_width=_int_prefix(_clean(values.get(link + "Link Width/Current"))),
            pcie_link_width_max=_int_prefix(_clean(values.get(link + "Link Width/Max"))),
            device_id=device_id[2:6].lower() if device_id.lower().startswith("0x") else None,
            architecture=_clean(values.get("Product Architecture")),
            healthy=not any(_LOST.search(value) for value in values.values()),
        ))
    return result, _nvidia_error_lines([l for l in text.splitlines() if not l.startswith(" ")]), driver


_TABLE_GPU_ROW = re.compile(r"^\|\s*(\d+)\s+(.*?)\s+(On|Off|N/A)?\s*\|\s*([0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:"
                            r"[0-9A-Fa-f]{2}\.[0-7])\s+(?:On|Off|N/A)\s*\|")
_TABLE_MEMORY = re.compile(r"\|\s*(\d+)MiB\s*/\s*(\d+)MiB\s*\|")


def _parse_nvidia_smi_table(text):
    """The default `nvidia-smi` table (old 79-column and new 89-column layouts). Three rows per GPU:
    index/name/bus id, then memory used/total, then the MIG mode. Names may be cut short ('...')."""
    driver = re.search(r"Driver Version:\s*([\d.]+)", text)
    gpus, rows_left = [], 0
    for line in text.splitlines():
        if re.match(r"^\|\s*Processes:", line):
            break
        match = _TABLE_GPU_ROW.match(line)
        if match:
            name = match.group(2).strip()
            gpus.append(_gpu_record(index=int(match.group(1)), pci_address=normalize_pci_address(match.group(4)),
                                    name=name, driver_version=driver.group(1) if driver else None,
                                    healthy=not _LOST.search(line)))
            rows_left = 2
            continue
        if gpus and rows_left:
            rows_left -= 1
            memory = _TABLE_MEMORY.search(line)
            if memory:
                gpus[-1]["memory_mib"] = int(memory.group(2))
            if rows_left == 0:
                mig = re.search(r"\|\s*(Enabled|Disabled)\s*\|\s*$", line)
                gpus[-1]["mig_mode"] = mig.group(1).lower() if mig else None
            if _LOST.search(line) or "ERR!" in line:
                gpus[-1]["healthy"] = False
    return gpus, _nvidia_error_lines([l for l in text.splitlines() if not l.startswith("|")]), \
        driver.group(1) if driver else None


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
    for number, row in enumerate(reader, header_at + 2):
        if len(row) != len(header):
            if _nvidia_error_lines([lines[number - 1]]):
                continue
            raise UnreadableSource("nvidia_smi_output", number, lines[number - 1].strip(),
                                   "%d comma-separated columns as in the CSV header" % len(header))
        record = dict(zip(header, (cell.strip() for cell in row)))
        address = normalize_pci_address(record.get("pci.bus_id"))
        if address is None and record.get("pci.bus_id") is not None:
            continue
        device_id = _clean(record.get("pci.device_id"))
        lost = any(_LOST.search(value or "") for value in record.values())
        gpu = _gpu_record(
            index=_int_prefix(record.get("index")),
            pci_address=address,
            name=_clean(record.get("name")),
            compute_capability=_clean(record.get("compute_cap")),
            memory_mib=_int_prefix(_clean(record.get("memory.total"))),
            driver_version=_clean(record.get("driver_version")),
            mig_mode=(_clean(record.get("mig.mode.current")) or "").lower() or None,
            pcie_link_gen=_int_prefix(_clean(record.get("pcie.link.gen.current"))),
            pcie_link_width=_int_prefix(_clean(record.get("pcie.link.width.current"))),
            pcie_link_gen_max=_int_prefix(_clean(record.get("pcie.link.gen.max"))),
            pcie_link_width_max=_int_prefix(_clean(record.get("pcie.link.width.max"))),
            device_id=device_id[2:6].lower() if device_id and device_id.lower().startswith("0x") else None,
            healthy=not lost,
        )
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
        link = "pci/pci_gpu_link_info/"
        gpus.append(_gpu_record(
            index=_int_prefix(_xml_text(gpu, "minor_number")) if _xml_text(gpu, "minor_number") else position,
            pci_address=normalize_pci_address(gpu.get("id") or _xml_text(gpu, "pci/pci_bus_id")),
            name=name,
            compute_capability=_xml_text(gpu, "compute_cap"),
            memory_mib=_int_prefix(_xml_text(gpu, "fb_memory_usage/total")),
            driver_version=driver,
            mig_mode=(_xml_text(gpu, "mig_mode/current_mig") or "").lower() or None,
            pcie_link_gen=_int_prefix(_xml_text(gpu, link + "pcie_gen/current_link_gen")),
            pcie_link_gen_max=_int_prefix(_xml_text(gpu, link + "pcie_gen/max_link_gen")),
            pcie_link_gen_device_max=_int_prefix(_xml_text(gpu, link + "pcie_gen/device_max_link_gen")),
            pcie_link_width=_int_prefix(_xml_text(gpu, link + "link_widths/current_link_width")),
            pcie_link_width_max=_int_prefix(_xml_text(gpu, link + "link_widths/max_link_width")),
            device_id=device_id[2:6].lower() if device_id.lower().startswith("0x") else None,
            architecture=_xml_text(gpu, "product_architecture"),
            healthy=not any(_LOST.search(value) for value in values),
        ))
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
    for pattern, family in NVIDIA_FAMILY_BY_NAME:
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


ROCM_SMI_FORMATS = ("rocm-smi --json, rocm-smi 'GPU[N] : key: value' text (--showproductname, --showbus, -a ...) "
                    "or rocm-smi's concise table")


def parse_rocm_smi(text, source="rocm_smi_output"):
    """rocm-smi output recognised by content: JSON, 'GPU[N] : key: value' text, or the concise table."""
    text = text or ""
    if text.lstrip().startswith("{"):
        return parse_rocm_smi_json(text, source)
    if re.search(r"^GPU\[\d+\]\s*:", text, re.M):
        return _rocm_cards(_parse_rocm_smi_keyed(text))
    if "Concise Info" in text:
        return _parse_rocm_smi_concise(text, source)
    _first_unread(text, lambda line: line.strip().startswith("=") or "ROCm System Management" in line,
                  source, ROCM_SMI_FORMATS)


def parse_rocm_smi_json(text, source="rocm_smi_output"):
    """`rocm-smi --showproductname --showmeminfo vram --showbus --showuniqueid --json` (any ROCm release)."""
    try:
        data = json.loads(text or "{}")
    except ValueError as error:
        line = getattr(error, "lineno", 1)
        lines = (text or "").splitlines() or [""]
        raise UnreadableSource(source, line, lines[min(line, len(lines)) - 1].strip() or "(empty)", "rocm-smi --json")
    if not isinstance(data, dict) or not any(key.startswith("card") for key in data):
        raise UnreadableSource(source, 1, (text or "").strip().splitlines()[0] if (text or "").strip() else "(empty)",
                               'rocm-smi --json with "cardN" objects')
    return _rocm_cards(sorted((key, card) for key, card in data.items()
                              if key.startswith("card") and isinstance(card, dict)))


def _parse_rocm_smi_keyed(text):
    """'GPU[0]\t\t: Card series: \t\tAMD Instinct MI300X OAM' lines -> [('card0', {key: value})]."""
    cards = {}
    for line in text.splitlines():
        match = re.match(r"^GPU\[(\d+)\]\s*:\s*([^:]+?):\s*(.*?)\s*$", line)
        if match:
            cards.setdefault(int(match.group(1)), {}).setdefault(match.group(2).strip(), match.group(3))
    return [("card%d" % index, cards[index]) for index in sorted(cards)]


def _parse_rocm_smi_concise(text, source):
    """rocm-smi's default table. Rows start with the device index; '[0x74a1 : 0x00]' (ROCm 6.1+) or
    '0x74a1,' (ROCm 6.0) carry the PCI device id, and the next indented line the name (ROCm 6.1+)."""
    cards, body = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if re.match(r"^=+$", line.strip()):
            body = bool(cards) is False and not body
            continue
        if not body or "End of ROCm SMI Log" in line:
            continue
        row = re.match(r"^(\d+)\s+", line)
        if row:
            device = re.search(r"\b0x([0-9a-fA-F]{3,4})\s*[:,\]]", line)
            cards.append(("card%s" % row.group(1), {"Device ID": "0x" + device.group(1) if device else ""}))
        elif cards and line.startswith(" ") and line.strip():
            cards[-1][1].setdefault("Device Name", line.strip())
        elif line.strip() and not cards:
            raise UnreadableSource(source, number, line.strip(), "a device row of rocm-smi's concise table")
    if not cards:
        _first_unread(text, lambda line: line.strip().startswith("=") or "ROCm System" in line or "Concise" in line,
                      source, "device rows in rocm-smi's concise table")
    return _rocm_cards(cards)


def _hex_id(value):
    value = (value or "").strip().lower()
    return value[2:].zfill(4) if re.match(r"^0x[0-9a-f]{1,4}$", value) else None


def _rocm_cards(cards):
    """Same facts from every rocm-smi format. Older releases name the device id 'GPU ID' and use 'Card model'
    for the subsystem id; 'Card series' may be the vendor id ('0x1002') instead of a name."""
    result = []
    for key, card in cards:
        lower = {k.lower().strip(): str(v).strip() for k, v in card.items()}
        device_id = _hex_id(lower.get("device id")) or _hex_id(lower.get("gpu id"))
        if device_id is None and _hex_id(lower.get("card model")) in AMD_DEVICES:
            device_id = _hex_id(lower.get("card model"))
        names = [lower.get(k) for k in ("card series", "device name", "card model") if lower.get(k)]
        name = next((n for n in names if not re.match(r"^0x[0-9a-f]+$", n, re.I)), None)
        vram = lower.get("vram total memory (b)")
        link = re.search(r"\(([\d.]+)GT/s x(\d+)\)", lower.get("pcie clock level", ""))
        result.append({
            "card": key,
            "pci_address": normalize_pci_address(lower.get("pci bus")),
            "name": name or (AMD_DEVICES[device_id][0] if device_id in AMD_DEVICES else None),
            "device_id": device_id,
            "gfx_target": _normalize_gfx(lower.get("gfx version")),
            "memory_mib": int(vram) // (1024 * 1024) if vram and vram.isdigit() else None,
            "unique_id": _clean(lower.get("unique id")),
            "pcie_link_gen": PCIE_GEN_BY_SPEED.get(link.group(1)) if link else None,
            "pcie_link_width": int(link.group(2)) if link else None,
        })
    return result


def _normalize_gfx(value):
    """rocm-smi prints 'gfx9010' for gfx90a (decimal step); rocminfo prints 'gfx90a'."""
    value = (value or "").strip().lower()
    match = re.match(r"^gfx(\d+)$", value)
    if match and len(match.group(1)) == 4 and value.startswith("gfx9"):
        digits = match.group(1)
        return "gfx%s%s%x" % (digits[0], digits[1], int(digits[2:]))
    return value or None


ROCMINFO_FIELDS = ("Name", "Marketing Name", "Uuid", "Device Type", "Compute Unit", "BDFID", "Chip ID", "Size")


def parse_rocminfo(text, source="rocminfo_output"):
    """GPU agents of `rocminfo`: gfx target, marketing name, uuid (empty on older ROCm), PCI address (BDFID),
    PCI device id (Chip ID), VRAM (the first memory pool). Text without any agent is an error."""
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
        if key in ROCMINFO_FIELDS and key not in current:
            current[key] = value
    if current:
        agents.append(current)
    if not agents:
        _first_unread(text, lambda line: bool(re.match(r"^(ROCk module|=+|HSA System|HSA Agents|\s)", line)),
                      source, "rocminfo's 'Agent N' sections")
    gpus = []
    for agent in agents:
        if agent.get("Device Type") != "GPU":
            continue
        bdf = agent.get("BDFID", "")
        bdf = int(bdf) if bdf.isdigit() and int(bdf) else None
        chip = re.search(r"\(0x([0-9a-fA-F]+)\)", agent.get("Chip ID", ""))
        size_kib = _int_prefix(agent.get("Size"))
        uuid = (agent.get("Uuid") or "").strip()
        gpus.append({
            "gfx_target": _normalize_gfx(agent.get("Name")), "name": agent.get("Marketing Name") or None,
            "unique_id": uuid if uuid and uuid not in ("GPU-XX",) else None,
            "compute_units": _int_prefix(agent.get("Compute Unit")),
            "pci_address": "0000:%02x:%02x.%x" % (bdf >> 8, (bdf >> 3) & 0x1f, bdf & 7) if bdf else None,
            "device_id": chip.group(1).lower().zfill(4) if chip else None,
            "memory_mib": size_kib // 1024 if size_kib else None,
        })
    return gpus


# ------------------------------------------------------------------------------- merge
def _pci_label(record):
    return "%s %s:%s" % (record["pci_address"], record["vendor_id"], record["device_id"] or "?")


def _classify(record, include_integrated):
    """Return (keep, reason) for a PCI function."""
    vendor = record["vendor_id"]
    if record["class"] not in GPU_PCI_CLASSES and not (
            record["class"] in ACCELERATOR_PCI_CLASSES and vendor in ("1002", "10de")):
        return False, None
    if vendor in BMC_VENDOR_IDS:
        return False, "ignored %s (%s)" % (_pci_label(record), BMC_VENDOR_IDS[vendor])
    if vendor not in VENDOR_IDS:
        return False, "ignored %s (display function of an unknown vendor: %s)" % (
            _pci_label(record), record.get("description") or "?")
    if _is_integrated(record) and not include_integrated:
        return False, "ignored %s (integrated GPU; set include_integrated to count it)" % _pci_label(record)
    return True, None


# AMD APU graphics by codename, for ids missing from the table (lspci prints the codename).
_AMD_APU_NAMES = re.compile(r"\b(Raven|Picasso|Renoir|Lucienne|Cezanne|Barcelo|Rembrandt|Mendocino|Raphael|"
                            r"Phoenix\d?|Hawk Point|Granite Ridge|Strix|Krackan|Van Gogh)\b", re.I)
# gfx targets that only integrated GPUs have (rocminfo lists APUs as GPU agents).
_AMD_INTEGRATED_GFX = {gfx for _n, gfx, _v, integrated in AMD_DEVICES.values() if integrated} - {
    gfx for _n, gfx, _v, integrated in AMD_DEVICES.values() if not integrated}


def _is_integrated(record):
    vendor, device = record["vendor_id"], record["device_id"]
    name = record.get("description") or record.get("name") or ""
    if vendor == "8086":
        return device not in INTEL_DISCRETE_DEVICES and not re.search(INTEL_DISCRETE_NAME, name)
    if vendor == "1002":
        if device in AMD_DEVICES:
            return AMD_DEVICES[device][3]
        return bool(_AMD_APU_NAMES.search(name)) or record.get("gfx_target") in _AMD_INTEGRATED_GFX
    return False


def _nvidia_id_by_name(name):
    """'NVIDIA A40' / 'Tesla V100-SXM2-32GB' -> the PCI id whose catalog name it is (sources without ids)."""
    bare = re.sub(r"^(NVIDIA|Tesla)\s+", "", (name or "").strip()).lower()
    if bare.endswith("..."):  # the table cuts long names: a unique catalog name with that prefix
        found = [device_id for device_id, entry in NVIDIA_DEVICES.items() if entry[0].lower().startswith(bare[:-3])]
        return found[0] if len(found) == 1 else None
    return next((device_id for device_id, entry in NVIDIA_DEVICES.items()
                 if bare and entry[0].lower() in (bare, "geforce " + bare)), None)


def amd_gfx_by_name(name):
    return next((gfx for pattern, gfx in AMD_GFX_BY_NAME if name and re.search(pattern, name)), None)


def _new_device(record):
    vendor = VENDOR_IDS.get(record["vendor_id"], "unknown")
    device_id = record["device_id"]
    if vendor == "nvidia" and not device_id:
        device_id = _nvidia_id_by_name(record.get("name"))
    nominal = re.search(r"\b(\d+)\s*GB\b", record.get("name") or "") if not device_id else None
    device = {
        "index": None, "pci_address": record.get("pci_address"), "vendor": vendor,
        "pci_id": "%s:%s" % (record["vendor_id"], device_id or "????"),
        "model": record.get("name"), "family": "unknown", "compute_capability": None,
        "gfx_target": None,
        "memory_mib": record.get("memory_mib") or (int(nominal.group(1)) * 1024 if nominal else None),
        "driver": record.get("driver"), "driver_version": None, "pcie_link_gen": record.get("pcie_link_gen"),
        "pcie_link_width": record.get("pcie_link_width"), "pcie_link_gen_max": record.get("pcie_link_gen_max"),
        "pcie_link_width_max": record.get("pcie_link_width_max"), "pcie_link_gen_device_max": None,
        "numa_node": record.get("numa_node"),
        "integrated": _is_integrated(record), "mig_mode": None, "compute_partitions": None,
        "healthy": not record.get("fallen_off_bus"),
        "health": "fallen off the bus (config space reads 0xff)" if record.get("fallen_off_bus") else "ok",
        "sources": [record["source"]],
    }
    if vendor == "nvidia" and device_id in NVIDIA_DEVICES:
        name, _chip, family, cc, vram = NVIDIA_DEVICES[device_id]
        device.update(model=name, family=family, compute_capability=cc)
        device["memory_mib"] = device["memory_mib"] or vram
    elif vendor == "amd" and device_id in AMD_DEVICES:
        name, gfx, vram, _integrated = AMD_DEVICES[device_id]
        device.update(model=name, gfx_target=gfx, family=amd_family(gfx))
        device["memory_mib"] = device["memory_mib"] or vram
    elif vendor == "intel" and device_id in INTEL_DISCRETE_DEVICES:
        device["model"], vram = INTEL_DISCRETE_DEVICES[device_id]
        device["memory_mib"] = device["memory_mib"] or vram
    return device


def _adopt(devices, by_address, vendor_id, device_id, pci_address, name, **extra):
    """Add a GPU that a vendor tool reports but the PCI scan did not list (or could not classify)."""
    record = {"vendor_id": vendor_id, "device_id": device_id, "pci_address": pci_address, "name": name,
              "source": "vendor tool"}
    record.update(extra)
    device = _new_device(record)
    device["sources"] = []
    devices.append(device)
    if pci_address:
        by_address[pci_address] = device
    return device


_NVIDIA_COPIED = ("compute_capability", "memory_mib", "driver_version", "mig_mode", "pcie_link_gen", "pcie_link_width",
                  "pcie_link_gen_max", "pcie_link_width_max", "pcie_link_gen_device_max", "index")


def _merge_nvidia(devices, gpus, errors, notes, ignored):
    by_address = {d["pci_address"]: d for d in devices if d["pci_address"]}
    for gpu in gpus:
        device = by_address.get(gpu["pci_address"])
        if device is None and gpu["pci_address"] in ignored:
            continue
        if device is None:
            device = _adopt(devices, by_address, "10de", gpu["device_id"], gpu["pci_address"], gpu["name"])
        device["sources"].append("nvidia-smi")
        for key in _NVIDIA_COPIED:
            if gpu.get(key) is not None:
                device[key] = gpu[key]
        if gpu.get("name") and not (gpu["name"].endswith("...") and device["pci_id"][5:] in NVIDIA_DEVICES):
            device["model"] = re.sub(r"^NVIDIA\s+", "", gpu["name"])
        device_id = gpu.get("device_id") or device["pci_id"][5:]
        if device_id not in NVIDIA_DEVICES:
            device_id = _nvidia_id_by_name(device["model"]) or device_id
            if device_id in NVIDIA_DEVICES:
                device["pci_id"] = "10de:" + device_id
                if device["model"].endswith("..."):
                    device["model"] = NVIDIA_DEVICES[device_id][0]
        if device["compute_capability"] is None and device_id in NVIDIA_DEVICES:
            device["compute_capability"] = NVIDIA_DEVICES[device_id][3]
        device["family"] = nvidia_family(device_id, device["compute_capability"], gpu.get("architecture"),
                                         device["model"])
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


def _match_amd(devices, by_address, entry, source, ignored, adopt):
    """The device an AMD tool's entry describes: by PCI address, else the next AMD GPU this source has not
    described yet (tools without addresses list GPUs in PCI order), else a new one when `adopt`."""
    if entry.get("pci_address"):
        if entry["pci_address"] in by_address:
            return by_address[entry["pci_address"]]
        if entry["pci_address"] in ignored:
            return None
    else:
        free = [d for d in devices if d["vendor"] == "amd" and not d["integrated"] and source not in d["sources"]]
        if free:
            return free[0]
    if not adopt:
        return None
    return _adopt(devices, by_address, "1002", entry.get("device_id"), entry.get("pci_address"), entry.get("name"),
                  gfx_target=entry.get("gfx_target"), memory_mib=entry.get("memory_mib"))


def _merge_amd(devices, kfd_nodes, rocm_cards, rocminfo_agents, partition_counts, ignored, notes, adopt):
    by_address = {d["pci_address"]: d for d in devices if d["pci_address"]}
    for card in rocm_cards:
        device = _match_amd(devices, by_address, card, "rocm-smi", ignored, adopt or card["pci_address"] is not None)
        if device is None:
            continue
        device["sources"].append("rocm-smi")
        for key in ("gfx_target", "memory_mib", "pcie_link_gen", "pcie_link_width"):
            if card.get(key):
                device[key] = card[key]
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
    if not kfd_nodes:
        seen_ids = set()
        for agent in rocminfo_agents:
            if agent["unique_id"] and agent["unique_id"] in seen_ids:
                continue  # a compute partition of a GPU already listed
            seen_ids.add(agent["unique_id"])
            integrated = agent["gfx_target"] in _AMD_INTEGRATED_GFX
            device = _match_amd(devices, by_address, agent, "rocminfo", ignored,
                                (adopt or agent["pci_address"] is not None) and not integrated)
            if device is None:
                if integrated:
                    notes.append("ignored rocminfo agent %s %s (integrated GPU; set include_integrated to count it)"
                                 % (agent["gfx_target"], agent["name"] or ""))
                continue
            device["sources"].append("rocminfo")
            device["gfx_target"] = agent["gfx_target"] or device["gfx_target"]
            if agent["memory_mib"] and not device["memory_mib"]:
                device["memory_mib"] = agent["memory_mib"]
            if agent["name"] and not device["model"]:
                device["model"] = agent["name"]
    for device in devices:
        if device["vendor"] == "amd":
            device["gfx_target"] = device["gfx_target"] or amd_gfx_by_name(device["model"])
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


def _source_counts(devices, counted):
    """{vendor: {source: GPUs it listed}} for the sources that were read."""
    counts = {}
    for device in devices:
        for source in set(device["sources"]):
            counts.setdefault(device["vendor"], {}).setdefault(source, 0)
            counts[device["vendor"]][source] += 1
    for vendor, sources in counts.items():
        for source in counted.get(vendor, ()):
            sources.setdefault(source, 0)
    return counts


def disagreement_notes(source_counts):
    """'lspci lists 8 NVIDIA GPUs, nvidia-smi 7': one note per vendor whose sources do not agree."""
    notes = []
    for vendor, counts in sorted(source_counts.items()):
        if len(set(counts.values())) > 1:
            notes.append("sources disagree on the number of %s GPUs: %s" % (
                vendor.upper() if vendor != "intel" else "Intel",
                ", ".join("%s lists %d" % (source, n) for source, n in sorted(counts.items()))))
    return notes


def build_gpu_facts(pci_records, nvidia_smi_text=None, rocm_smi_text=None, rocminfo_text=None,
                    kfd_nodes=None, module_versions=None, include_integrated=False):
    """Merge every source into ansible_facts.gpu: {'summary', 'devices', 'notes', 'source_counts'}.
    A source that cannot be read raises UnreadableSource (never an empty result)."""
    notes, devices, ignored = [], [], set()
    for record in pci_records:
        keep, reason = _classify(record, include_integrated)
        if reason:
            notes.append(reason)
        if keep:
            devices.append(_new_device(record))
        else:
            ignored.add(record["pci_address"])
    counted = {}
    if nvidia_smi_text:
        gpus, errors, _driver = parse_nvidia_smi(nvidia_smi_text)
        _merge_nvidia(devices, gpus, errors, notes, ignored)
        counted["nvidia"] = ["nvidia-smi"]
    kfd_nodes = kfd_nodes or []
    rocm_cards = parse_rocm_smi(rocm_smi_text) if rocm_smi_text else []
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
        # tools without PCI addresses add GPUs only when no PCI scan was given
        _merge_amd(devices, kfd_nodes, rocm_cards, agents, partition_counts, ignored, notes, adopt=not pci_records)
        counted["amd"] = (["rocm-smi"] if rocm_smi_text else []) + (["rocminfo"] if rocminfo_text and not kfd_nodes
                                                                     else [])
    for device in devices:
        if device["vendor"] == "nvidia" and device["family"] == "unknown":
            device["family"] = nvidia_family(device["pci_id"][5:], device["compute_capability"], None, device["model"])
        if device["driver"] and not device["driver_version"] and module_versions:
            device["driver_version"] = module_versions.get(device["driver"])
    pci_source = {r["source"] for r in pci_records}
    for vendor in {d["vendor"] for d in devices}:
        counted.setdefault(vendor, []).extend(pci_source)
    source_counts = _source_counts([d for d in devices if not d["integrated"] or include_integrated], counted)
    notes.extend(disagreement_notes(source_counts))
    devices.sort(key=lambda d: (d["index"] if d["index"] is not None else 1 << 16, d["pci_address"] or ""))
    for position, device in enumerate(devices):
        device["index"] = position
    nvswitches = sum(1 for record in pci_records if record["vendor_id"] == "10de" and (
        record["device_id"] in NVIDIA_NVSWITCH_DEVICES or "NVSwitch" in (record.get("name") or "")))
    return {"summary": summarize(devices, nvswitches), "devices": devices, "notes": notes,
            "source_counts": source_counts}


# What each replay option is called when it fails; gpu_facts passes the live command lines instead.
SOURCE_LABELS = {"lspci": "lspci_output", "nvidia_smi": "nvidia_smi_output", "rocm_smi": "rocm_smi_output",
                 "rocminfo": "rocminfo_output"}
_SOURCE_BY_PARSER_LABEL = {"lspci_output": "lspci", "nvidia_smi_output": "nvidia_smi",
                           "rocm_smi_output": "rocm_smi", "rocminfo_output": "rocminfo"}


def facts_from_sources(sysfs_root=None, lspci_text=None, nvidia_smi_text=None, rocm_smi_text=None,
                       rocminfo_text=None, include_integrated=False, labels=None):
    """Read PCI from lspci text when given, else from a /sys tree; then merge the vendor tools.
    UnreadableSource is re-raised with the option (or command) named by `labels`."""
    labels = dict(SOURCE_LABELS, **(labels or {}))
    try:
        if lspci_text is not None:
            pci = parse_lspci(lspci_text)
        elif sysfs_root is not None:
            pci = read_sysfs_pci(sysfs_root)
        else:
            pci = []
        drivers = {record.get("driver") for record in pci if record.get("driver")}
        versions = {name: read_module_version(sysfs_root, name) for name in drivers} if sysfs_root else {}
        return build_gpu_facts(pci, nvidia_smi_text=nvidia_smi_text, rocm_smi_text=rocm_smi_text,
                               rocminfo_text=rocminfo_text,
                               kfd_nodes=read_kfd_nodes(sysfs_root) if sysfs_root else [],
                               module_versions=versions, include_integrated=include_integrated)
    except UnreadableSource as error:
        label = labels[_SOURCE_BY_PARSER_LABEL.get(error.source, error.source)]
        raise UnreadableSource(label, error.line_number, error.line, error.expected)


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


# ----------------------------------------------------------------------- hardware readiness
def meminfo_mib(text):
    """MemTotal of /proc/meminfo in MiB (None when absent)."""
    match = re.search(r"^MemTotal:\s+(\d+)\s*kB", text or "", re.M)
    return int(match.group(1)) // 1024 if match else None


def disk_kind(block_name, rotational):
    """'nvme0n1' -> nvme; rotational '0' -> ssd, '1' -> hdd; else unknown."""
    if (block_name or "").startswith("nvme"):
        return "nvme"
    return {"0": "ssd", "1": "hdd"}.get((rotational or "").strip(), "unknown")


def read_disk_of(path, sysfs_root="/sys"):
    """The disk holding `path` (its nearest existing parent): {path, device, type, free_mib}."""
    probe = os.path.abspath(path)
    while not os.path.exists(probe) and os.path.dirname(probe) != probe:
        probe = os.path.dirname(probe)
    stat, fs = os.stat(probe), os.statvfs(probe)
    block = os.path.realpath(os.path.join(sysfs_root, "dev", "block", "%d:%d" % (os.major(stat.st_dev),
                                                                                os.minor(stat.st_dev))))
    disk = os.path.dirname(block) if os.path.exists(os.path.join(block, "partition")) else block
    name = os.path.basename(disk) if os.path.isdir(disk) else None
    return {"path": path, "device": name, "type": disk_kind(name, _read(os.path.join(disk, "queue", "rotational"))),
            "free_mib": fs.f_bavail * fs.f_frsize // (1024 * 1024)}


def hardware_readiness(devices, ram_mib=None, disk=None, model="openai/gpt-oss-20b"):
    """Host RAM, the HF_HOME disk and each GPU's PCIe link against HARDWARE_GUIDE. Returns
    {'ram_mib', 'hf_home', 'pcie': [...], 'warnings': [...], 'notes': [...]}; unknown values give no warning."""
    guide = HARDWARE_GUIDE.get(model, {})
    warnings, notes, links = [], [], []
    gpus = [d for d in devices if d["healthy"] and not d["integrated"]]
    for d in gpus:
        if d["memory_mib"] and guide and d["memory_mib"] < guide["min_vram_mib"]:
            warnings.append("GPU %s (%s) has %d MiB; the guides want at least %d MiB for %s (%d recommended)" % (
                d["pci_address"], d["model"], d["memory_mib"], guide["min_vram_mib"], model, guide["rec_vram_mib"]))
        elif d["memory_mib"] and guide and d["memory_mib"] < guide["rec_vram_mib"]:
            notes.append("GPU %s (%s) has %d MiB: enough for %s, below the recommended %d MiB" % (
                d["pci_address"], d["model"], d["memory_mib"], model, guide["rec_vram_mib"]))
        link = {key: d.get(key) for key in ("pci_address", "pcie_link_gen", "pcie_link_gen_max",
                                            "pcie_link_gen_device_max", "pcie_link_width", "pcie_link_width_max")}
        links.append(link)
        width, width_max = d.get("pcie_link_width"), d.get("pcie_link_width_max")
        if width and width_max and width < width_max:
            warnings.append("GPU %s runs its PCIe link at x%d of x%d (degraded width: reseat the card or check the "
                            "slot)" % (d["pci_address"], width, width_max))
        elif width_max and guide and width_max < guide["pcie_width"]:
            warnings.append("GPU %s sits in an x%d slot; the guides recommend a full x%d link" % (
                d["pci_address"], width_max, guide["pcie_width"]))
        gen, gen_max, device_max = d.get("pcie_link_gen"), d.get("pcie_link_gen_max"), d.get("pcie_link_gen_device_max")
        if gen_max and device_max and gen_max < device_max:
            warnings.append("GPU %s: the host limits its PCIe link to gen %d (the GPU supports gen %d)" % (
                d["pci_address"], gen_max, device_max))
        if gen and gen_max and gen < gen_max:
            notes.append("GPU %s runs PCIe gen %d of %d now (idle GPUs lower the link speed; if it stays low under "
                         "load, check the slot)" % (d["pci_address"], gen, gen_max))
    if ram_mib and guide and ram_mib < guide["min_ram_mib"]:
        warnings.append("host RAM %d MiB is below the guides' %d-%d MiB for %s" % (
            ram_mib, guide["min_ram_mib"], guide["rec_ram_mib"], model))
    if disk and guide and disk.get("type") not in (None, "unknown", guide["disk"]):
        warnings.append("HF_HOME %s is on %s (%s); the guides recommend NVMe for the weights" % (
            disk.get("path"), disk.get("device") or "?", disk.get("type")))
    return {"model": model, "ram_mib": ram_mib, "hf_home": disk, "pcie": links, "warnings": warnings, "notes": notes}


def detection_lines(gpus):
    """Lines for the plan table: sources that disagree and readiness warnings."""
    gpus = gpus or {}
    return (["detect    : %s" % n for n in gpus.get("notes", []) if n.startswith("sources disagree")]
            + ["readiness : %s" % w for w in (gpus.get("readiness") or {}).get("warnings", [])])
