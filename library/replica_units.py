#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
---
module: replica_units
short_description: Stop and remove the replica units and environment files the host record no longer wants
description:
  - Lists the replica units (C(gpt-oss-N.service) in I(unit_dir)) and their environment files (C(gpt-oss-N.env) in
    I(env_dir)) present on the host and removes every replica not named in I(keep) - it is stopped and disabled,
    its unit, its C(.wants) link and its environment file (which holds the API key) are deleted, and systemd reloads
    once.
  - This is how a converge reconciles - four replicas becoming two (a larger model on the same GPUs) leave no
    replica holding GPUs and ports the new plan needs - and how a rollback restores exactly the previous set.
  - Other units (C(gpt-oss-firewall.service), C(gpt-oss-mirror.service)) never match; neither does anything
    outside the two directories.
version_added: "0.4.0"
author: gpt-oss-fleet contributors
options:
  keep:
    description: Names of the replicas the record wants (C(gpt-oss-0), ...). Everything else of that shape goes.
    type: list
    elements: str
    required: true
  unit_dir:
    description: Where the replica units are.
    type: path
    default: /etc/systemd/system
  env_dir:
    description: Where the replicas' environment files are (C(gpt_oss_config_dir)).
    type: path
    required: true
attributes:
  check_mode:
    support: full
    details: Nothing is stopped or removed; C(removed) and the diff say what would be.
  diff_mode:
    support: full
    details: The replica names present before and after.
  platform:
    platforms: posix
notes:
  - The decisions are pure functions in C(module_utils/replica_units.py).
seealso:
  - module: ansible.builtin.systemd_service
    description: Stops and disables one unit; this module finds which ones are stale.
  - module: ansible.builtin.file
    description: Removes one path.
"""

EXAMPLES = r"""
- name: Remove the replicas the plan no longer has
  replica_units:
    keep: "{{ gpt_oss_plan.replicas | map(attribute='name') }}"
    env_dir: /etc/gpt-oss
"""

RETURN = r"""
removed:
  description: The replicas stopped and removed (or that would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [gpt-oss-2, gpt-oss-3]
present:
  description: The replicas found before, with the kinds of file each had (C(unit), C(env)).
  returned: always
  type: dict
  sample: {gpt-oss-0: [unit, env], gpt-oss-2: [unit, env]}
needs_daemon_reload:
  description:
    - The kept replicas' units whose file changed on disk since systemd loaded it (C(NeedDaemonReload)), e.g. written
      by a run that failed before its daemon-reload. A later start needs a daemon-reload first; with none listed it
      does not, and a no-op converge spares one.
  returned: always
  type: list
  elements: str
  sample: [gpt-oss-0.service]
kept_running:
  description:
    - The kept replicas' units that were active and enabled, with no daemon-reload pending, when read (the same
      C(systemctl show)). When every planned replica is one and no unit file changed, starting them is a no-op the
      role skips; a unit that is failed, stopped, disabled or new is not listed and is started.
  returned: always
  type: list
  elements: str
  sample: [gpt-oss-0.service]
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.replica_units import (
    listing, replica_files, stale_replicas, units_needing_reload, units_running)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            keep=dict(type="list", elements="str", required=True),
            unit_dir=dict(type="path", default="/etc/systemd/system"),
            env_dir=dict(type="path", required=True),
        ),
        supports_check_mode=True,
    )
    params = module.params
    present = replica_files(listing(params["unit_dir"]), listing(params["env_dir"]))
    try:
        removed = stale_replicas(present, params["keep"])
    except ValueError as error:
        module.fail_json(msg="replica_units: %s" % error)
    result = dict(changed=bool(removed), removed=removed, present=present,
                  diff=dict(before="\n".join(sorted(present)) + "\n",
                            after="\n".join(sorted(set(present) - set(removed))) + "\n"))
    if removed and not module.check_mode:
        systemctl = module.get_bin_path("systemctl", required=True)
        for name in removed:
            if "unit" in present[name]:
                # stop and disable together; a unit already stopped or never enabled is fine
                rc, _, err = module.run_command([systemctl, "disable", "--now", "%s.service" % name])
                if rc != 0 and "not loaded" not in err and "does not exist" not in err:
                    module.fail_json(msg="replica_units: could not stop %s.service: %s" % (name, err.strip()),
                                     **result)
            for path in (os.path.join(params["unit_dir"], "%s.service" % name),
                         os.path.join(params["env_dir"], "%s.env" % name)):
                if os.path.lexists(path):
                    os.unlink(path)
        for name in removed:
            # a stale replica that had failed stays listed as failed until this; nothing else to undo
            module.run_command([systemctl, "reset-failed", "%s.service" % name])
        rc, _, err = module.run_command([systemctl, "daemon-reload"])
        if rc != 0:
            module.fail_json(msg="replica_units: systemctl daemon-reload failed: %s" % err.strip(), **result)
    kept = ["%s.service" % name for name in sorted(present) if name not in removed and "unit" in present[name]]
    result["needs_daemon_reload"], result["kept_running"] = [], []
    if kept:
        rc, out, err = module.run_command([module.get_bin_path("systemctl", required=True), "show", "-p", "Id",
                                           "-p", "NeedDaemonReload", "-p", "ActiveState", "-p", "UnitFileState"]
                                          + kept)
        # unreadable: say every kept unit needs a reload and a start (a reload too many costs half a second; one too
        # few, a replica started on its old definition)
        result["needs_daemon_reload"] = units_needing_reload(out) if rc == 0 else kept
        result["kept_running"] = units_running(out) if rc == 0 else []
    module.exit_json(**result)


if __name__ == "__main__":
    main()
