#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
---
module: fleet_inputs
short_description: Check every gpt-oss-fleet input against its declared rule before any change
description:
  - Checks each variable against the rule C(module_utils/input_rules.py) declares for it, given where the value
    lands (a path, a systemd unit or environment file, a URL, a command line) - its type (a boolean must be a
    boolean, not the string C("false")), its range, and the characters it may hold.
  - Refuses credentials in URLs (they would show in task names, command lines and logs), naming what to use
    instead.
  - With I(owned_dirs), refuses system directories and existing directories whose owner or mode the toolkit would
    change (a directory it did not create), unless the operator lists them in C(gpt_oss_dedicated_dirs).
  - With I(rollout), refuses batch sizes that drain every server behind a gateway at once, batches that drain every
    host serving one model (the gateway routes each model to its own backend), and malformed failure percentages.
  - Reads only; every problem found is reported in one failure, each line naming the variable and the fix.
version_added: "0.3.0"
author: gpt-oss-fleet contributors
options:
  values:
    description: The inputs to check, variable name to raw value (as the inventory and extra vars give them).
    type: dict
    required: true
  sensitive:
    description: Inputs that are or may hold credentials (options whose spec says C(no_log), such as API keys, tokens
      and URLs), checked like I(values) but never echoed - not in messages, not in C(-vvv) output.
    type: dict
    default: {}
  specs:
    description: The merged C(meta/argument_specs.yml) options of the roles that read I(values) (name to spec);
      a variable not in I(specs) is not checked.
    type: dict
    required: true
  owned_dirs:
    description: The directories the server roles create on this host, variable to path; the owner, group and mode
      each gets is C(OWNED_DIRS) in C(module_utils/input_rules.py). Existing ones are compared on this host, or
      with I(dir_stats) as read there.
    type: dict
    default: {}
  dir_stats:
    description:
      - What M(host_probe) read of the I(owned_dirs) paths on the host (its C(paths) result). Given, the whole
        check runs on the controller, without a round trip; a path of I(owned_dirs) it lacks fails the check
        instead of being guessed.
      - Unset with I(owned_dirs), the module runs on the host and reads them itself.
    type: dict
  service_user:
    description: The service user (C(gpt_oss_service_user)) that owns the state and cache directories.
    type: str
    default: gpt-oss
  dedicated_dirs:
    description: Directories the operator declares are only for gpt-oss-fleet (C(gpt_oss_dedicated_dirs)).
    type: list
    elements: str
    default: []
  rollout:
    description: C(serial), C(max_fail), C(allow_all_at_once), C(gateway_members) (gateway to server count),
      C(play_hosts) (the rollout's hosts in play order) and C(model_hosts) (served model to the hosts serving it)
      of a rollout, checked as a batch plan.
    type: dict
  host_name:
    description: The inventory name used in the failure message.
    type: str
    required: true
attributes:
  action:
    support: full
    details: An action plugin (action_plugins/fleet_inputs.py) runs the module's own code in the controller's worker
      process, without a round trip to the host, unless the call needs a read only the host can make.
  check_mode:
    support: full
    details: Reads only; runs the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - The rules are data in C(module_utils/input_rules.py) (C(RULES), C(RANGES), C(SYSTEM_DIRS)); unit tests check
    every option of every role has one.
seealso:
  - module: host_probe
  - module: ansible.builtin.validate_argument_spec
  - name: systemd.exec, EnvironmentFile= quoting
    description: Why API keys are written double-quoted with backslash escapes.
    link: https://www.freedesktop.org/software/systemd/man/latest/systemd.exec.html#EnvironmentFile=
"""

EXAMPLES = r"""
- name: Check this host's inputs
  fleet_inputs:
    values:
      gpt_oss_hf_home: /data
      gpt_oss_model_revision: main
    specs: "{{ merged_argument_specs }}"
    owned_dirs:
      gpt_oss_hf_home: /data
    host_name: "{{ inventory_hostname }}"

- name: Check the rollout's batches
  fleet_inputs:
    values: {}
    specs: {}
    rollout:
      serial: 2
      max_fail: 0
      allow_all_at_once: false
      gateway_members: {gw1: 4}
      play_hosts: [box-1, box-2, box-3, box-4]
      model_hosts: {gpt-oss-120b: [box-1, box-2], gpt-oss-20b: [box-3, box-4]}  # refused: batch 1 drains all of 120b
    host_name: "{{ inventory_hostname }}"
"""

RETURN = r"""
checked:
  description: How many variables and directories were checked.
  type: dict
  returned: always
  sample: {"variables": 71, "directories": 5}
"""

import grp
import os
import pwd

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.module_exit import finish
from ansible.module_utils.host_probe import recorded_lookups
from ansible.module_utils.input_rules import check_inputs, check_owned_dirs, check_rollout, owned_dir_wants


def _stat(path):
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def _user(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group(gid):
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


ARGUMENT_SPEC = dict(
    values=dict(type="dict", required=True),
    sensitive=dict(type="dict", default={}, no_log=True),
    specs=dict(type="dict", required=True),
    owned_dirs=dict(type="dict", default={}),
    dir_stats=dict(type="dict"),
    service_user=dict(type="str", default="gpt-oss"),
    dedicated_dirs=dict(type="list", elements="str", default=[]),
    rollout=dict(type="dict"),
    host_name=dict(type="str", required=True),
)


def run(p):
    """The module's result for validated params: on the host (main) or, with dir_stats or no owned_dirs, in-process on
    the controller (action_plugins/fleet_inputs.py)."""
    errors = check_inputs(dict(p["values"], **p["sensitive"]), p["specs"])
    wants = owned_dir_wants(p["owned_dirs"], p["service_user"])
    if p["dir_stats"] is None:
        lookups, missing = (_stat, _user, _group), []
    else:
        lookups = recorded_lookups(p["dir_stats"])
        missing = sorted({w["path"] for w in wants} - set(p["dir_stats"]))
    if missing:
        errors.append("dir_stats has no record of %s: pass host_probe's paths for every owned_dirs path"
                      % ", ".join(missing))
    else:
        errors += check_owned_dirs(wants, set(p["dedicated_dirs"]), *lookups)
    if p["rollout"] is not None:
        rollout = p["rollout"]
        errors += check_rollout(rollout.get("serial"), rollout.get("max_fail"), rollout.get("gateway_members") or {},
                                bool(rollout.get("allow_all_at_once")), rollout.get("play_hosts"),
                                rollout.get("model_hosts"))
    checked = {"variables": len(p["values"]) + len(p["sensitive"]), "directories": len(wants)}
    if errors:
        return dict(failed=True, errors=errors, checked=checked,
                    msg="%s: %d input(s) cannot be used as given (nothing was changed):\n%s"
                        % (p["host_name"], len(errors), "\n".join("- " + e for e in errors)))
    return dict(changed=False, checked=checked)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    finish(module, run(module.params))


if __name__ == "__main__":
    main()
