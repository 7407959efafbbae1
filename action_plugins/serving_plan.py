# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
"""Controller side of serving_plan (library/serving_plan.py): the plan is computed in the worker process from the
task's arguments, without a round trip to the host (action_plugins/_in_process.py says why and how).

read_host with host_groups or host_python left to read runs the module on the host, which reads them; the preflight
passes both from host_probe, so its plan is computed here.
"""
from __future__ import annotations

import importlib.util
import os

_spec = importlib.util.spec_from_file_location(
    "gpt_oss_fleet_in_process", os.path.join(os.path.dirname(os.path.abspath(__file__)), "_in_process.py"))
_in_process = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_in_process)


class ActionModule(_in_process.InProcessAction):
    MODULE = "serving_plan"

    def needs_host(self, params):
        return params["read_host"] and (params["host_groups"] is None or params["host_python"] is None)
