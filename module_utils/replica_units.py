# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
"""Which replica units a host has that its record no longer wants (reconcile), as pure functions.

A replica is a systemd unit `<name>.service` plus its environment file `<name>.env`; the planner names replicas
`gpt-oss-<n>`. Anything of that shape the record does not list is stale: left by a plan with more replicas (20b on
4 GPUs -> 120b on 4 GPUs: four replicas become one) or by a rolled-back upgrade, and it would hold GPUs, ports and
a copy of the API key that the new replicas need.
"""
from __future__ import annotations

import os
import re

from ansible.module_utils.host_probe import systemctl_show

# what the planner names replicas (module_utils/serving_planner.py: gpt-oss-0, gpt-oss-1, ...); other gpt-oss-*
# units (gpt-oss-firewall, gpt-oss-mirror) are not replicas
REPLICA_NAME = re.compile(r"^gpt-oss-[0-9]+$")


def replica_files(unit_names, env_names, pattern=REPLICA_NAME):
    """{replica name: [file kinds]} for the unit and env file names found on the host that look like replicas."""
    found = {}
    for kind, names, suffix in (("unit", unit_names, ".service"), ("env", env_names, ".env")):
        for file_name in names:
            if file_name.endswith(suffix) and pattern.match(file_name[:-len(suffix)]):
                found.setdefault(file_name[:-len(suffix)], []).append(kind)
    return found


def stale_replicas(found, keep):
    """The replica names present on the host (from replica_files) that the record does not keep, sorted by number."""
    bad = [name for name in keep if not REPLICA_NAME.match(name)]
    if bad:
        raise ValueError("keep lists %s, which are not replica names (gpt-oss-N)" % ", ".join(bad))
    return sorted((name for name in found if name not in set(keep)), key=lambda name: int(name.rsplit("-", 1)[1]))


def units_needing_reload(show_output):
    """The units whose file changed since systemd last loaded it, from `systemctl show -p Id -p NeedDaemonReload`
    (blocks of KEY=value lines separated by blank lines). A unit written by a run that failed before its daemon-reload
    is one: starting it would run the old definition."""
    return [unit for unit, props in systemctl_show(show_output).items() if props.get("NeedDaemonReload") == "yes"]


def units_running(show_output):
    """The units active and enabled with no daemon-reload pending, from `systemctl show -p Id -p NeedDaemonReload
    -p ActiveState -p UnitFileState`: what a start with enable would leave as it is."""
    return [unit for unit, props in systemctl_show(show_output).items()
            if (props.get("ActiveState"), props.get("UnitFileState"), props.get("NeedDaemonReload"))
            == ("active", "enabled", "no")]


def listing(directory):
    """File names in a directory; none when it does not exist (a host never converged)."""
    try:
        return sorted(os.listdir(directory))
    except FileNotFoundError:
        return []
