#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
---
module: haproxy_server
short_description: Drain, disable or enable one HAProxy server through the runtime API, and wait for it
description:
  - Talks to HAProxy's admin stats socket (C(stats socket ... level admin)).
  - C(drain) stops new requests to the server and waits, at most I(timeout) seconds, for its in-flight
    requests (current sessions) to finish. C(maint) does the same and also stops health checks.
  - C(ready) puts the server back and waits until HAProxy's own health check reports it UP, so that a
    rollout never moves on while a replica that just restarted is not taking traffic.
  - Idempotent; in check mode it reports the change without sending it.
version_added: "0.3.0"
author: gpt-oss-fleet contributors
options:
  socket:
    description: Path of HAProxy's admin socket.
    type: path
    default: /run/haproxy/admin.sock
  backend:
    description: Backend (proxy) name.
    type: str
    required: true
  server:
    description: Server name inside the backend.
    type: str
    required: true
  state:
    description: Administrative state wanted.
    type: str
    required: true
    choices: [ready, drain, maint]
  wait:
    description: Wait for in-flight requests to finish (drain, maint) or for the health check to pass (ready).
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait. A drain that times out is reported (C(drained=false)) with a warning, not failed; a server
        that is not UP within the timeout after C(ready) fails the task.
    type: int
    default: 60
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Drain the replica on every gateway
  haproxy_server:
    backend: gpt_oss_gpt-oss-20b
    server: gpu-01_gpt-oss-0
    state: drain
    timeout: 120
  delegate_to: "{{ item }}"
  loop: "{{ groups['gateway'] }}"

- name: Put it back once HAProxy's health check passes
  haproxy_server:
    backend: gpt_oss_gpt-oss-20b
    server: gpu-01_gpt-oss-0
    state: ready
"""

RETURN = r"""
previous_state:
  description: Administrative state before the task (ready, drain or maint).
  returned: success
  type: str
state:
  description: Administrative state after the task.
  returned: success
  type: str
status:
  description: HAProxy's status column after the task (UP, DOWN, DRAIN, MAINT, ...).
  returned: success
  type: str
sessions:
  description: Current sessions (in-flight requests) on the server after the task.
  returned: success
  type: int
drained:
  description: For drain/maint, whether the sessions reached 0 within the timeout.
  returned: when state is drain or maint
  type: bool
waited_s:
  description: Seconds spent waiting.
  returned: success
  type: float
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.haproxy_runtime import (
    HAProxyRuntimeError, is_up, read_admin_state, read_server, sessions, set_state, wait_for,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            socket=dict(type="path", default="/run/haproxy/admin.sock"),
            backend=dict(type="str", required=True),
            server=dict(type="str", required=True),
            state=dict(type="str", required=True, choices=["ready", "drain", "maint"]),
            wait=dict(type="bool", default=True),
            timeout=dict(type="int", default=60),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        row = read_server(p["socket"], p["backend"], p["server"])
        previous = read_admin_state(p["socket"], p["backend"], p["server"])
        changed = previous != p["state"]
        if changed and not module.check_mode:
            set_state(p["socket"], p["backend"], p["server"], p["state"])
        result = dict(changed=changed, previous_state=previous, state=p["state"], waited_s=0.0)
        if module.check_mode or not p["wait"]:
            module.exit_json(status=row["status"], sessions=sessions(row), **result)
        if p["state"] == "ready":
            row, met, result["waited_s"] = wait_for(p["socket"], p["backend"], p["server"], is_up, p["timeout"])
            if not met:
                module.fail_json(msg="%s/%s is ready in HAProxy but its health check has not passed within %d s "
                                 "(status %s)" % (p["backend"], p["server"], p["timeout"], row["status"]),
                                 status=row["status"], sessions=sessions(row), **result)
        else:
            row, met, result["waited_s"] = wait_for(p["socket"], p["backend"], p["server"],
                                                    lambda r: sessions(r) == 0, p["timeout"])
            result["drained"] = met
            if not met:
                module.warn("%s/%s still has %d request(s) in flight after %d s; going on (timeout)"
                            % (p["backend"], p["server"], sessions(row), p["timeout"]))
        module.exit_json(status=row["status"], sessions=sessions(row), **result)
    except HAProxyRuntimeError as error:
        module.fail_json(msg=str(error))


if __name__ == "__main__":
    main()
