#!/usr/bin/env python3
"""Unpack the OpenAI SDK's wheels (carried, the device has no index) that fit this Python into TARGET, so that
acceptance.py runs with `PYTHONPATH=TARGET`. Wheels are zip files; per project the newest wheel that is pure Python
or built for this interpreter, and whose Requires-Python (a plain ">=3.X" here) admits it, is all it needs.
Usage: sdk.py WHEEL_DIR TARGET"""
import pathlib
import re
import sys
import zipfile

wheels, target = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
tag = "cp%d%d" % sys.version_info[:2]


def fits(wheel):
    if not (wheel.name.endswith("-none-any.whl") or "-%s-" % tag in wheel.name):
        return False
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        wanted = re.search(r"^Requires-Python: *>= *3\.(\d+)", archive.read(metadata).decode(), re.M)
    return not wanted or sys.version_info[1] >= int(wanted.group(1))


def version(wheel):
    return tuple(int(part) for part in re.findall(r"\d+", wheel.name.split("-")[1]))


chosen = {}
for wheel in sorted(wheels.glob("*.whl"), key=version, reverse=True):
    project = wheel.name.split("-")[0].lower()
    if project not in chosen and fits(wheel):
        chosen[project] = wheel
for wheel in chosen.values():
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
print("unpacked for %s into %s: %s" % (tag, target, " ".join(sorted(w.name.split("-")[0] + "-" + w.name.split("-")[1]
                                                                   for w in chosen.values()))))
