# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
"""How a module whose work is a run(params) -> result function ends on a host. The same run() is called in-process on
the controller by its action plugin (action_plugins/_in_process.py), which returns the result as it is."""
from __future__ import annotations


def finish(module, result):
    """Exit the AnsibleModule with run()'s result: `failed` -> fail_json, `warnings` -> module.warn (as Ansible shows
    a module's own warnings)."""
    result = dict(result)
    for warning in result.pop("warnings", None) or []:
        module.warn(warning)
    if result.get("failed"):
        module.fail_json(**result)
    module.exit_json(**result)
