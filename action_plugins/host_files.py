# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
"""Controller side of host_files (library/host_files.py). A task that runs on the controller itself - delegated to
localhost over the local connection, without become, such as the acceptance history the server role appends to -
has its files written by the module's own code in the worker process (action_plugins/_in_process.py): the same
writes, validation and check mode, without starting a Python for them (0.4 s of every converge). Every other task
runs the module on its host.
"""
from __future__ import annotations

import importlib.util
import os

_spec = importlib.util.spec_from_file_location(
    "gpt_oss_fleet_in_process", os.path.join(os.path.dirname(os.path.abspath(__file__)), "_in_process.py"))
_in_process = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_in_process)


class ActionModule(_in_process.InProcessAction):
    MODULE = "host_files"

    def needs_host(self, params):
        return self._connection.transport != "local" or bool(self._play_context.become)

    def compute(self, module, params):
        return module.run(params, check_mode=bool(self._task.check_mode))
