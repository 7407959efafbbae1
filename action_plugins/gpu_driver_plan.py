# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
"""Controller side of gpu_driver_plan (library/gpu_driver_plan.py): the plan is computed in the worker process from
the task's arguments, without a round trip to the host (action_plugins/_in_process.py says why and how).

The one thing the host can tell is whether it is a container, and it matters only to a plan that builds a kernel
module (DKMS: kernel headers are skipped in a container). Such a plan with in_container unset runs the module on the
host, which reads it as gpu_driver_state does; every other plan is the same either way and is computed here.
"""
from __future__ import annotations

import importlib.util
import os

_spec = importlib.util.spec_from_file_location(
    "gpt_oss_fleet_in_process", os.path.join(os.path.dirname(os.path.abspath(__file__)), "_in_process.py"))
_in_process = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_in_process)


class ActionModule(_in_process.InProcessAction):
    MODULE = "gpu_driver_plan"

    def needs_host(self, params):
        if params["in_container"] is not None:
            return False
        outside = _in_process.library(self.MODULE).run(params, container_probe=lambda: False)
        return bool(outside.get("install", {}).get("dkms"))
