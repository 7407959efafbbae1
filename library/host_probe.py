#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
---
module: host_probe
short_description: Read in one round trip what a role's checks, plans and skips need from a host
description:
  - Reads the owner, group and mode of I(paths), the host's group names, I(users), the version of an interpreter,
    the state of systemd I(units) and whether dpkg has I(packages) installed, and changes nothing.
  - The preflight hands these to M(fleet_inputs) (I(dir_stats)) and M(serving_plan) (I(host_groups),
    I(host_python)), which then compute on the controller; each of them used to read its part on the host in a
    module run of its own.
  - The runtime role reads its install steps' markers, the engine's OS packages and the service account in one
    run; the server role reads what decides its skips in one run - the acceptance client, the firewall's files, unit and
    package - where a C(stat), a C(find), C(apt) and C(systemd_service) each cost a run on every converge.
version_added: "0.10.0"
author: gpt-oss-fleet contributors
options:
  paths:
    description: Paths whose owner, group and mode to read (links followed, as the roles judge their directories), as
      given - no C(~) or variable expansion, so that the result's keys are the caller's paths.
    type: list
    elements: str
    default: []
  groups:
    description: Read the group names of the host's group database (NSS, as C(getent group)).
    type: bool
    default: false
  python_path:
    description: An interpreter to run for its version (the one engine venvs are made from); not run when unset.
    type: str
  units:
    description: systemd units whose C(ActiveState), C(UnitFileState) and C(NeedDaemonReload) to read.
    type: list
    elements: str
    default: []
  users:
    description: Users to look up in the host's user database (NSS, as C(getent passwd) and C(id -nG)).
    type: list
    elements: str
    default: []
  packages:
    description: Debian packages to look up in dpkg's database (installed or not).
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
    details: Reads only; runs the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: fleet_inputs
  - module: serving_plan
  - module: ansible.builtin.stat
  - module: ansible.builtin.getent
"""

EXAMPLES = r"""
- name: Read the directories, groups and Python the preflight judges
  host_probe:
    paths: [/opt/gpt-oss, /var/lib/gpt-oss]
    groups: true
    python_path: python3
  register: probe

- name: Check the owned directories on the controller
  fleet_inputs:
    values: {}
    specs: {}
    owned_dirs: {gpt_oss_root: /opt/gpt-oss, gpt_oss_state_dir: /var/lib/gpt-oss}
    dir_stats: "{{ probe.paths }}"
    host_name: "{{ inventory_hostname }}"
"""

RETURN = r"""
paths:
  description: Each path to its C(uid), C(gid), C(user), C(group) (the number when the id has no name),
    C(st_mode) (type and permission bits, as C(os.stat)), C(size) (bytes) and C(mtime) (whole seconds since the
    epoch); null when nothing is there.
  type: dict
  returned: always
  sample: {"/opt/gpt-oss": {"uid": 0, "gid": 0, "user": "root", "group": "root", "st_mode": 16877, "size": 4096,
                            "mtime": 1796480391},
           "/var/lib/gpt-oss": null}
groups:
  description: The host's group names, sorted; null unless I(groups).
  type: list
  elements: str
  returned: always
  sample: [adm, render, root, video]
units:
  description: Each unit to its C(ActiveState), C(UnitFileState) (empty for a unit with no file) and
    C(NeedDaemonReload); null when systemctl could not answer (act as if every unit needed its start).
  type: dict
  returned: always
  sample: {"gpt-oss-0.service": {"ActiveState": "active", "UnitFileState": "enabled", "NeedDaemonReload": "no"}}
users:
  description: Each user to its C(uid), C(gid), C(group) (the primary group's name), C(comment), C(home), C(shell)
    and C(groups) (every group it is in, the primary one included); null for a user the host does not have.
  type: dict
  returned: always
  sample: {"gpt-oss": {"uid": 998, "gid": 998, "group": "gpt-oss", "comment": "gpt-oss inference server",
                       "home": "/var/lib/gpt-oss", "shell": "/usr/sbin/nologin", "groups": ["gpt-oss", "render"]}}
packages:
  description: Each package to whether dpkg has it installed; null when dpkg-query could not run or read its
    database.
  type: dict
  returned: always
  sample: {"nftables": true}
python_version:
  description: What I(python_path) reports as its version; null when unset, missing or failing.
  type: str
  returned: always
  sample: 3.11.2
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.host_probe import (
    group_names, package_states, path_record, python_version, unit_states, user_record)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            paths=dict(type="list", elements="str", default=[]),
            groups=dict(type="bool", default=False),
            python_path=dict(type="str"),
            units=dict(type="list", elements="str", default=[]),
            users=dict(type="list", elements="str", default=[]),
            packages=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    p = module.params
    module.exit_json(changed=False,
                     paths={path: path_record(path) for path in p["paths"]},
                     groups=group_names() if p["groups"] else None,
                     users={name: user_record(name) for name in p["users"]},
                     units=unit_states(p["units"]), packages=package_states(p["packages"]),
                     python_version=python_version(p["python_path"]) if p["python_path"] else None)


if __name__ == "__main__":
    main()
