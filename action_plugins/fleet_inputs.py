# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
"""Controller side of fleet_inputs (library/fleet_inputs.py): the inputs are checked in the worker process, without a
round trip to the host (action_plugins/_in_process.py says why and how). The preflight checks every gateway's and
monitoring host's inputs from each server: in the fleet that was a module run per gateway on every server.

Only the owned directories' owner, group and mode are on the host: with dir_stats (what host_probe read there) the
check runs here too; owned_dirs without dir_stats runs the module on the host, which reads them itself.
"""
from __future__ import annotations

import importlib.util
import os

_spec = importlib.util.spec_from_file_location(
    "gpt_oss_fleet_in_process", os.path.join(os.path.dirname(os.path.abspath(__file__)), "_in_process.py"))
_in_process = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_in_process)


class ActionModule(_in_process.InProcessAction):
    MODULE = "fleet_inputs"

    def needs_host(self, params):
        return bool(params["owned_dirs"]) and params["dir_stats"] is None
