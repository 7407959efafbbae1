#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
---
module: host_lock
short_description: Take or release this host's run lock so that two playbook runs cannot interleave
description:
  - Keeps one lock file per host (default C(/run/lock/gpt-oss-fleet.lock); C(/run) is a tmpfs, so a reboot clears it)
    naming the run that holds it - the controller's hostname and id, the PID of the controller's
    C(ansible-playbook) process and that PID's start time, the playbook, the user and since when (UTC).
  - C(state=acquired) creates the lock atomically (the whole content is linked into place, so the file never exists
    half written). If this very run already holds it, nothing changes. Create, takeover and release run under an
    flock of the lock's directory, so that they never interleave on one host.
  - C(state=released) removes the lock only if this run holds it; a lock held by another run is refused (failed)
    with a message naming that run. No lock at all is fine (not changed).
  - Whether a holder is still running can only be checked on the controller that started it. The C(host_lock)
    action plugin (C(action_plugins/host_lock.py)) does that - it computes C(holder) for the current run, takes over
    a lock left by a dead run of the same controller (passing it as C(takeover)), and waits up to C(wait) seconds
    for a live or foreign holder before failing with a message naming the host, the holder and the fix. Run this
    module through that action plugin, as a task named C(host_lock) does when the plugin is on the action plugin
    path (C(action_plugins = ./action_plugins) in C(ansible.cfg); Ansible also loads C(action_plugins/) next to
    the playbook).
version_added: "0.3.0"
author: gpt-oss-fleet contributors
options:
  state:
    description: C(acquired) to take the lock, C(released) to give it back.
    type: str
    choices: [acquired, released]
    default: acquired
  path:
    description: The lock file on the host. Its directory must exist; a tmpfs is best (a reboot clears stale locks).
    type: path
    default: /run/lock/gpt-oss-fleet.lock
  wait:
    description:
      - Seconds to wait for another run's lock to go away before failing (polling every 2 s). C(0) fails at once.
      - The action plugin does the waiting itself (it calls the module with C(0)) so that a holder of the same
        controller that dies meanwhile is taken over; run alone, the module waits for the file to disappear.
    type: int
    default: 0
  playbook:
    description: The playbook named in the lock. The action plugin defaults it to the playbook file(s) of the run.
    type: str
  holder:
    description:
      - The run taking or releasing the lock (C(controller), C(controller_id), C(pid), C(pid_start), C(playbook),
        C(user), C(since)). Filled in by the action plugin; required by the module.
    type: dict
  takeover:
    description:
      - A holder the controller judged stale (its C(ansible-playbook) process is gone). The lock is replaced only if
        this holder still holds it. Set by the action plugin.
    type: dict
  host_name:
    description: The host's name in messages (the action plugin passes C(inventory_hostname)).
    type: str
attributes:
  check_mode:
    support: full
    details: Nothing is written. Reports whether the lock would be taken (C(changed)) and fails as a real run would
      when another live run holds it; a stale lock is reported as one that would be taken over.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - The decisions and file operations are in C(module_utils/host_lock.py).
  - A failed run leaves its lock. The next run from the same controller takes it over (its PID is gone); a run from
    another controller waits for it, then fails naming it - remove the file on the host if that run is gone.
seealso:
  - module: ansible.builtin.wait_for
    description: Waits for a file to be absent, with no notion of who holds it.
  - name: flock(2)
    description: The advisory lock that serializes the lock operations on one host.
    link: https://man7.org/linux/man-pages/man2/flock.2.html
"""

EXAMPLES = r"""
- name: Take this host's run lock before any change
  host_lock:
    state: acquired
    wait: 300

- name: Give the lock back at the end of the play
  host_lock:
    state: released

- name: A lock elsewhere, named after the playbook
  host_lock:
    path: /var/lock/my-fleet.lock
    playbook: maintenance.yml
"""

RETURN = r"""
lock_path:
  description: The lock file.
  type: str
  returned: always
  sample: /run/lock/gpt-oss-fleet.lock
acquired:
  description: Whether this run holds the lock now (or would, in check mode).
  type: bool
  returned: state is acquired
released:
  description: Whether the lock was (or would be) removed.
  type: bool
  returned: state is released
holder:
  description: Who holds the lock after the task (this run, or the other run when it was not taken or released).
  type: dict
  returned: always
  sample: {"controller": "ops-1", "controller_id": "464524c5-7ac5-45d8-b019-0eaec502a9a3/pid:[4026531836]",
           "pid": 4242, "pid_start": 123456, "playbook": "site.yml", "user": "alice", "since": "2026-12-03T10:00:00Z",
           "format": 1}
took_over:
  description: The stale holder that was replaced.
  type: dict
  returned: when a stale lock was taken over
waited:
  description: Seconds spent waiting for another run.
  type: int
  returned: state is acquired
"""

import socket
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.host_lock import (
    LOCK_PATH, LockError, acquire, held_message, not_ours_message, release,
)

POLL = 2


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", choices=["acquired", "released"], default="acquired"),
            path=dict(type="path", default=LOCK_PATH),
            wait=dict(type="int", default=0),
            playbook=dict(type="str"),
            holder=dict(type="dict"),
            takeover=dict(type="dict"),
            host_name=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    host = params["host_name"] or socket.gethostname()
    path = params["path"]
    if params["wait"] < 0:
        module.fail_json(msg="wait=%d must be a number of seconds >= 0" % params["wait"], lock_path=path)
    if not params["holder"]:
        module.fail_json(msg="host_lock needs holder, the run taking the lock: run it through the host_lock action "
                             "plugin (action_plugins/host_lock.py; action_plugins = ./action_plugins in ansible.cfg)",
                         lock_path=path)
    holder = dict(params["holder"])
    if params["playbook"]:
        holder["playbook"] = params["playbook"]
    try:
        if params["state"] == "released":
            result = release(path, holder, check_mode=module.check_mode)
            if result["holder"] is not None and not result["released"] and not module.check_mode:
                module.fail_json(msg=not_ours_message(host, path, result["holder"]), lock_path=path, **result)
            module.exit_json(lock_path=path, **result)
        started, slept = time.monotonic(), 0.0
        while True:
            result = acquire(path, holder, takeover=params["takeover"], check_mode=module.check_mode)
            waited = int(round(slept))
            left = params["wait"] - (time.monotonic() - started)
            if result["acquired"] or left <= 0:
                break
            time.sleep(min(POLL, left))
            slept += min(POLL, left)
    except LockError as exc:
        module.fail_json(msg="%s: %s" % (host, exc), lock_path=path)
    if not result["acquired"]:
        module.fail_json(msg=held_message(host, path, result["holder"], "", waited), lock_path=path, waited=waited,
                         **result)
    module.exit_json(lock_path=path, waited=waited, **result)


if __name__ == "__main__":
    main()
