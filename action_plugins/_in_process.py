# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
"""Run a planning module's own code in the controller's worker process instead of on the host.

A module run on a host costs a round trip and a fresh Python there that imports Ansible's module code: about 0.25 s
of wall time and 0.16 s of the host's CPU, most of a no-op converge (issue 19). The planning modules compute from
their arguments alone. Their action plugins (this file's InProcessAction) validate the task's arguments against the
module's own ARGUMENT_SPEC with the validator AnsibleModule uses (same rules, defaults and messages; no_log values
masked the same way) and call the module's own run(params), the function its main() calls on a host. Nothing is
copied: the library file is the one source of the spec and the logic.

Where a plan needs something only the host can tell (needs_host), the plugin runs the module on the host instead, as
before. `ansible HOST -m NAME` goes through the plugin too.
"""
from __future__ import annotations

import importlib.util
import os

import ansible.module_utils
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError
from ansible.module_utils.common.parameters import remove_values
from ansible.plugins.action import ActionBase
from ansible.plugins.loader import module_loader, module_utils_loader

_PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_LOADED = {}


def _module_utils_importable():
    """The project's module_utils are packaged into modules for the host, not importable on the controller: add the
    configured module_utils paths (ansible.cfg, Molecule) and the project's own to ansible.module_utils' path."""
    paths = [p for p in module_utils_loader._get_paths(subdirs=False) if os.path.isdir(p)]
    paths.append(os.path.join(_PROJECT, "module_utils"))
    for path in paths:
        if path not in ansible.module_utils.__path__:
            ansible.module_utils.__path__.append(path)


def library(name):
    """The module file `name` Ansible would send to a host (library/NAME.py), imported once per worker."""
    if name not in _LOADED:
        _module_utils_importable()
        path = module_loader.find_plugin(name) or os.path.join(_PROJECT, "library", name + ".py")
        spec = importlib.util.spec_from_file_location("gpt_oss_fleet_library_" + name, path)
        loaded = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loaded)
        _LOADED[name] = loaded
    return _LOADED[name]


class InProcessAction(ActionBase):
    """Subclasses set MODULE (the library module's name) and may override needs_host(params) and compute()."""

    TRANSFERS_FILES = False
    MODULE = ""

    def needs_host(self, params):
        """True when this call needs a read only the host can make: the module then runs there."""
        return False

    def compute(self, module, params):
        """The module's run() for validated params; planning modules need nothing else."""
        return module.run(params)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        module = library(self.MODULE)
        checked = ArgumentSpecValidator(module.ARGUMENT_SPEC).validate(self._task.args)
        if checked.error_messages:
            # the text AnsibleModule fails with for the same arguments: the first error, unsupported ones prefixed
            msg = checked.errors.msg
            if isinstance(checked.errors[0], UnsupportedError):
                msg = "Unsupported parameters for (%s) module: %s" % (self.MODULE, msg)
            result.update(failed=True, msg=remove_values(msg, checked._no_log_values))
            return result
        params = checked.validated_parameters
        if self.needs_host(params):
            result.update(self._execute_module(module_name=self.MODULE, module_args=self._task.args,
                                               task_vars=task_vars))
            return result
        outcome = remove_values(self.compute(module, params), checked._no_log_values)
        for warning in outcome.pop("warnings", None) or []:
            self._display.warning(warning)  # as a module's module.warn() reaches the output
        result.update(outcome)
        return result
