# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
"""Controller side of the host_lock module (library/host_lock.py): who this run is, and whether a holder still runs.

This code runs in Ansible's worker process on the controller. Its parent, os.getppid(), is the ansible-playbook (or
ansible) main process: the lock names that PID and its start time. A lock left by a dead run of this same controller
is taken over; a live one, or one from another controller (which this controller cannot check), is waited for up to
`wait` seconds, then the task fails naming the host, the holder and the fix. The host only ever runs the module.
"""
from __future__ import annotations

import getpass
import os
import socket
import time

from ansible import context
from ansible.plugins.action import ActionBase

try:
    from ansible.module_utils import host_lock as lock
except ImportError:
    # the project's module_utils are packaged into modules for the host, not importable on the controller:
    # load them from the configured module_utils paths (ansible.cfg, Molecule) or next to this directory
    import ansible.module_utils
    from ansible.plugins.loader import module_utils_loader

    ansible.module_utils.__path__.extend(
        [p for p in module_utils_loader._get_paths(subdirs=False) if os.path.isdir(p)]
        + [os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils")])
    from ansible.module_utils import host_lock as lock

POLL = 2


def run_playbooks():
    """The playbook file(s) of this run, from the command line ('ad-hoc' for the ansible command)."""
    args = context.CLIARGS.get("args") or ()
    books = [os.path.basename(a) for a in args if str(a).endswith((".yml", ".yaml"))]
    return ", ".join(books) or "ad-hoc"


def controller_holder(playbook=None):
    user = os.environ.get("USER")
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        pass
    return lock.make_holder(socket.gethostname(), os.getppid(), playbook or run_playbooks(), user or "?")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("state", "path", "wait", "playbook", "holder", "host_name"))

    def _call(self, task_vars, **args):
        return self._execute_module(module_name="host_lock", module_args=args, task_vars=task_vars)

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        args = self._task.args
        state = args.get("state", "acquired")
        path = args.get("path") or lock.LOCK_PATH
        host = args.get("host_name") or task_vars.get("inventory_hostname") or "?"
        try:
            wait = int(args.get("wait", 0))
        except (TypeError, ValueError):
            wait = -1
        if state not in ("acquired", "released"):
            result.update(failed=True, msg="%s: state=%r must be acquired or released" % (host, state))
            return result
        if wait < 0:
            result.update(failed=True, msg="%s: wait=%r must be a number of seconds >= 0" % (host, args.get("wait")))
            return result
        me = dict(args.get("holder") or controller_holder(args.get("playbook")))
        common = dict(path=path, holder=me, host_name=host, wait=0)

        if state == "released":
            result.update(self._call(task_vars, state="released", **common))
            return result

        started, slept = time.monotonic(), 0.0
        while True:
            outcome = self._call(task_vars, state="acquired", **common)
            waited = int(round(slept))
            if outcome.get("acquired") is not False or "holder" not in outcome:
                result.update(outcome)  # taken, already ours, or an error that is not another holder
                result["waited"] = waited
                return result
            holder = outcome["holder"]
            verdict = lock.judge(holder, me)
            if verdict == "stale":
                outcome = self._call(task_vars, state="acquired", takeover=holder, **common)
                if outcome.get("acquired"):
                    stale = outcome.get("took_over") or holder
                    result.update(outcome)
                    result.update(waited=waited, msg=lock.takeover_message(stale, self._play_context.check_mode))
                    self._display.warning("%s: %s" % (host, result["msg"]))
                    return result
                if "holder" not in outcome:  # an error, not another holder
                    result.update(outcome)
                    return result
                continue  # another run took it first: judge the new holder
            left = wait - (time.monotonic() - started)
            if left <= 0:
                outcome.update(failed=True, waited=waited, msg=lock.held_message(host, path, holder, verdict, waited))
                result.update(outcome)
                return result
            time.sleep(min(POLL, left))
            slept += min(POLL, left)
