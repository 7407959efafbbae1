#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
---
module: haproxy_backend_info
short_description: Read the servers of HAProxy backends from the runtime API
description:
  - Returns each server's status (UP, DOWN, DRAIN, MAINT, ...), administrative state, in-flight requests and
    totals from C(show stat) on HAProxy's admin socket. Changes nothing.
version_added: "0.3.0"
author: gpt-oss-fleet contributors
options:
  socket:
    description: Path of HAProxy's admin socket.
    type: path
    default: /run/haproxy/admin.sock
  backend:
    description: Backend (proxy) names; the gateway has one backend per served model.
    type: list
    elements: str
    required: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Read the gateway's view of the replicas
  haproxy_backend_info:
    backend: [gpt_oss_gpt-oss-20b, gpt_oss_gpt-oss-120b]
  register: gateway_view
"""

RETURN = r"""
servers:
  description: One entry per server of the backends, in the order of I(backend).
  returned: success
  type: list
  elements: dict
  contains:
    name: {description: Server name, type: str, returned: always}
    backend: {description: The backend the server is in, type: str, returned: always}
    status: {description: "HAProxy's status column (UP, DOWN, DRAIN, MAINT, ...)", type: str, returned: always}
    state: {description: Administrative state (ready, drain or maint), type: str, returned: always}
    up: {description: Whether the health check passes, type: bool, returned: always}
    sessions: {description: Requests in flight, type: int, returned: always}
    total: {description: Requests sent to the server since HAProxy started, type: int, returned: always}
    check: {description: Last health check result, type: str, returned: always}
    downs: {description: "Times the health check took the server from UP to DOWN since HAProxy started", type: int,
            returned: always}
    queued: {description: Requests waiting in HAProxy for a free slot of this server, type: int, returned: always}
    limit: {description: "The server's maxconn (0: none)", type: int, returned: always}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.haproxy_runtime import (
    HAProxyRuntimeError, backend_servers, parse_stat, read_admin_states, send,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            socket=dict(type="path", default="/run/haproxy/admin.sock"),
            backend=dict(type="list", elements="str", required=True),
        ),
        supports_check_mode=True,
    )
    try:
        rows = parse_stat(send(module.params["socket"], "show stat"))
        servers = [server for backend in module.params["backend"]
                   for server in backend_servers(rows, backend, read_admin_states(module.params["socket"], backend))]
    except HAProxyRuntimeError as error:
        module.fail_json(msg=str(error))
    module.exit_json(changed=False, servers=servers)


if __name__ == "__main__":
    main()
