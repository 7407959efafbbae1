# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
"""The shared libraries an ELF object links (its DT_NEEDED entries), read with the standard library.

Used twice, on the same question: the tests ask it of the .so files inside the real release wheels (which CUDA
runtime does vLLM X link?), and the engine gate asks it of what was installed on a host (does this llama.cpp link
Vulkan, or is it the CPU-only build?). `readelf -d` gives the same answer; it is not installed everywhere.
"""
from __future__ import annotations

import struct

PT_LOAD, PT_DYNAMIC = 1, 2
DT_NULL, DT_NEEDED, DT_STRTAB = 0, 1, 5


class ElfError(ValueError):
    """Not an ELF object this reader understands."""


def needed_libraries(data):
    """DT_NEEDED names of an ELF object given as bytes (32/64-bit, either byte order)."""
    if data[:4] != b"\x7fELF":
        raise ElfError("not an ELF file")
    is64, order = data[4] == 2, "<" if data[5] == 1 else ">"
    if is64:
        phoff, = struct.unpack_from(order + "Q", data, 0x20)
        phentsize, phnum = struct.unpack_from(order + "HH", data, 0x36)
        ph_fmt, dyn_fmt = order + "IIQQQQQQ", order + "qQ"
    else:
        phoff, = struct.unpack_from(order + "I", data, 0x1C)
        phentsize, phnum = struct.unpack_from(order + "HH", data, 0x2A)
        ph_fmt, dyn_fmt = order + "IIIIIIII", order + "iI"
    loads, dynamic = [], None
    for index in range(phnum):
        fields = struct.unpack_from(ph_fmt, data, phoff + index * phentsize)
        if is64:
            p_type, _flags, offset, vaddr, _paddr, filesz = fields[:6]
        else:
            p_type, offset, vaddr, _paddr, filesz = fields[:5]
        if p_type == PT_LOAD:
            loads.append((vaddr, offset, filesz))
        elif p_type == PT_DYNAMIC:
            dynamic = (offset, filesz)
    if dynamic is None:
        return []  # statically linked
    entries, strtab = [], None
    size = struct.calcsize(dyn_fmt)
    for position in range(dynamic[0], dynamic[0] + dynamic[1], size):
        tag, value = struct.unpack_from(dyn_fmt, data, position)
        if tag == DT_NULL:
            break
        if tag == DT_NEEDED:
            entries.append(value)
        elif tag == DT_STRTAB:
            strtab = value
    if strtab is None:
        raise ElfError("dynamic section without a string table")
    base = next((offset + strtab - vaddr for vaddr, offset, filesz in loads if vaddr <= strtab < vaddr + filesz), None)
    if base is None:
        raise ElfError("string table outside every loaded segment")
    return [data[base + entry:data.index(b"\0", base + entry)].decode() for entry in entries]


def needed_libraries_of_file(path):
    with open(path, "rb") as handle:
        return needed_libraries(handle.read())
