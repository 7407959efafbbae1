# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
"""What the preflight's controller-side checks and plan need to know of a host, read in one module run
(library/host_probe.py): the owner, group and mode of paths, the group names, and an interpreter's version."""
from __future__ import annotations

import grp
import os
import pwd
import subprocess

PYTHON_VERSION = "import sys; print('%d.%d.%d' % sys.version_info[:3])"


def _name(lookup, number, attribute):
    try:
        return getattr(lookup(number), attribute)
    except KeyError:
        return str(number)


def path_record(path, stat=os.stat, getpwuid=pwd.getpwuid, getgrgid=grp.getgrgid):
    """{uid, gid, user, group, st_mode, size, mtime} of path (following links, as the roles judge their paths), or
    None when nothing is there. Names fall back to the number, as `ls -l` shows an id without a name; mtime is whole
    seconds since the epoch."""
    try:
        info = stat(path)
    except FileNotFoundError:
        return None
    return {"uid": info.st_uid, "gid": info.st_gid, "user": _name(getpwuid, info.st_uid, "pw_name"),
            "group": _name(getgrgid, info.st_gid, "gr_name"), "st_mode": info.st_mode, "size": info.st_size,
            "mtime": int(info.st_mtime)}


def group_names(getgrall=grp.getgrall):
    """Every group name the host's group database (NSS, as `getent group`) has, sorted."""
    return sorted({group.gr_name for group in getgrall()})


def user_record(name, getpwnam=pwd.getpwnam, getgrgid=grp.getgrgid, getgrall=grp.getgrall):
    """{uid, gid, group (the primary group's name), comment, home, shell, groups (every group it is in, primary
    included, as `id -nG`)} of a user in the host's user database, or None when there is none."""
    try:
        entry = getpwnam(name)
    except KeyError:
        return None
    primary = _name(getgrgid, entry.pw_gid, "gr_name")
    groups = {primary} | {group.gr_name for group in getgrall() if name in group.gr_mem}
    return {"uid": entry.pw_uid, "gid": entry.pw_gid, "group": primary, "comment": entry.pw_gecos,
            "home": entry.pw_dir, "shell": entry.pw_shell, "groups": sorted(groups)}


def python_version(python_path, run=subprocess.run):
    """'3.11.2' from running python_path; None when it cannot be run or says nothing (the plan then assumes the
    host's Python is usable, as serving_plan's read_host did)."""
    try:
        done = run([python_path, "-c", PYTHON_VERSION], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    out = done.stdout.strip()
    return out if done.returncode == 0 and out else None


UNIT_PROPERTIES = ("ActiveState", "UnitFileState", "NeedDaemonReload")


def systemctl_show(show_output):
    """{unit: {property: value}} from `systemctl show -p Id -p ...` (blocks of KEY=value lines, one per unit)."""
    units, unit = {}, None
    for line in show_output.splitlines():
        key, _, value = line.partition("=")
        if key == "Id":
            unit = units.setdefault(value, {})
        elif key and unit is not None:
            unit[key] = value
    return units


def unit_states(units, run=subprocess.run):
    """{unit: {ActiveState, UnitFileState, NeedDaemonReload}} as systemd has them now (a unit with no file:
    inactive, UnitFileState empty). None when systemctl cannot answer: the caller must then act as if every unit
    needed its start and reload, never as if all were fine."""
    if not units:
        return {}
    try:
        done = run(["systemctl", "show", "-p", "Id"] + ["-p%s" % p for p in UNIT_PROPERTIES] + list(units),
                   capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    shown = systemctl_show(done.stdout) if done.returncode == 0 else {}
    return {unit: shown[unit] for unit in units} if set(units) <= set(shown) else None


def package_states(packages, run=subprocess.run):
    """{package: True when dpkg has it installed}; a package dpkg does not know is not installed. None when dpkg-query
    cannot be run (the caller then installs, as apt would decide)."""
    if not packages:
        return {}
    try:
        done = run(["dpkg-query", "-W", "-f=${Package}\t${db:Status-Status}\n"] + list(packages),
                   capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode > 1:  # 1: some package unknown to dpkg (not installed); more: dpkg's database unreadable
        return None
    installed = {line.split("\t")[0] for line in done.stdout.splitlines() if line.endswith("\tinstalled")}
    return {package: package in installed for package in packages}


class RecordedStat:
    """An os.stat_result stand-in built from a path_record, for checks written against os.stat (input_rules)."""

    def __init__(self, record):
        self.st_uid, self.st_gid, self.st_mode = record["uid"], record["gid"], record["st_mode"]


def recorded_lookups(records):
    """stat(path), user(uid), group(gid) answering from path_records read on a host, for input_rules'
    check_owned_dirs on the controller. A path not in records was not read: KeyError, never a guess."""
    users = {r["uid"]: r["user"] for r in records.values() if r}
    groups = {r["gid"]: r["group"] for r in records.values() if r}

    def stat(path):
        record = records[path]
        return RecordedStat(record) if record else None

    return stat, lambda uid: users.get(uid, str(uid)), lambda gid: groups.get(gid, str(gid))
