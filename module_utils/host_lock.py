# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
"""One run at a time per host: a lock file on the host naming the run (controller, ansible-playbook PID) that holds it.

The lock is a small JSON file at a fixed path (default /run/lock/gpt-oss-fleet.lock: /run is a tmpfs, a reboot clears
it). A holder is identified by the controller's hostname and a controller id (the kernel boot id plus the PID
namespace, so that PIDs are comparable), the PID of the controller's ansible-playbook process and that PID's start time
(/proc/<pid>/stat field 22, so a reused PID is not taken for the old run).

Staleness is decided on the controller, never on the host: a holder from this same controller whose ansible-playbook
process is gone (or whose PID now belongs to another process) is stale and may be taken over. A holder from another
controller cannot be checked from here; the run waits for it, then fails naming it.

Used by library/host_lock.py (on the host: the file operations, under an flock of the lock's directory so that a
create, a takeover and a release never interleave) and by action_plugins/host_lock.py (on the controller: identity and
liveness).
"""
from __future__ import annotations

import contextlib
import datetime
import errno
import fcntl
import json
import os
import tempfile

LOCK_PATH = "/run/lock/gpt-oss-fleet.lock"
FORMAT = 1
# the keys that make one run: two holders are the same run when these are equal
RUN_KEYS = ("controller", "controller_id", "pid", "pid_start")


class LockError(Exception):
    """A lock file that cannot be read, written or removed."""


# ---------------------------------------------------------------- identity and liveness (controller side, pure-ish)

def _read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return None


def process_start_time(pid, proc="/proc"):
    """Start time of PID in clock ticks after boot (/proc/<pid>/stat field 22), or None (no such process, no /proc)."""
    return parse_stat(_read(os.path.join(proc, str(pid), "stat")))[1]


def parse_stat(text):
    """(state, start time) from a /proc/<pid>/stat line: fields 3 and 22, or (None, None). The command name
    (field 2) may hold spaces and parentheses: split after the last ')'."""
    try:
        fields = text[text.rindex(")") + 2:].split()
        return fields[0], int(fields[19])  # fields[0] is field 3
    except (AttributeError, ValueError, IndexError):
        return None, None


def controller_id(proc="/proc"):
    """Where PIDs of this controller mean something: the kernel's boot id and this process's PID namespace.

    Empty when /proc is missing (not Linux): then the hostname alone names the controller."""
    boot_id = (_read(os.path.join(proc, "sys/kernel/random/boot_id")) or "").strip()
    try:
        pid_ns = os.readlink(os.path.join(proc, "self/ns/pid"))
    except OSError:
        pid_ns = ""
    return "%s/%s" % (boot_id, pid_ns) if boot_id or pid_ns else ""


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_holder(controller, pid, playbook, user, since=None, ctl_id=None, pid_start=None, proc="/proc"):
    """The lock content naming one run. pid is the controller's ansible-playbook process."""
    return {
        "format": FORMAT,
        "controller": controller,
        "controller_id": controller_id(proc) if ctl_id is None else ctl_id,
        "pid": int(pid),
        "pid_start": process_start_time(pid, proc) if pid_start is None else pid_start,
        "playbook": playbook,
        "user": user,
        "since": since or utc_now(),
    }


def same_run(a, b):
    return bool(a) and bool(b) and all(a.get(key) == b.get(key) for key in RUN_KEYS)


def same_controller(holder, me):
    if not holder or holder.get("controller") != me.get("controller"):
        return False
    # both sides know their controller id: it must match (two containers may share a hostname, not a PID namespace)
    if holder.get("controller_id") and me.get("controller_id"):
        return holder["controller_id"] == me["controller_id"]
    return not holder.get("controller_id") and not me.get("controller_id")


def pid_alive(pid, start=None, proc="/proc"):
    """Is PID running, and is it still the process that started at `start` (when known)?"""
    try:
        pid = int(pid)
    except (TypeError, ValueError):
        return False
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    if os.path.isdir(proc):
        state, now = parse_stat(_read(os.path.join(proc, str(pid), "stat")))
        if now is None or state in ("Z", "X"):
            return False  # exited between the two checks, or exited and not yet reaped (a zombie)
        if start is not None:
            return now == start
    return True


def judge(holder, me, alive=pid_alive):
    """What the controller makes of the lock's holder.

    free    - no lock
    ours    - this very run holds it (a second acquire in the same run)
    stale   - same controller, its ansible-playbook process is gone: may be taken over
    live    - same controller, still running
    foreign - another controller (or an unreadable lock): cannot be checked from here
    """
    if not holder:
        return "free"
    if same_run(holder, me):
        return "ours"
    if holder.get("corrupt") is None and same_controller(holder, me):
        return "live" if alive(holder.get("pid"), holder.get("pid_start")) else "stale"
    return "foreign"


def describe(holder):
    """One line naming a run: 'site.yml by alice on controller ops-1 (pid 4242), since 2026-12-03T10:00:00Z'."""
    if not holder:
        return "nobody"
    if holder.get("corrupt") is not None:
        return "an unreadable lock (content %r)" % holder["corrupt"][:200]
    return "%s by %s on controller %s (ansible-playbook pid %s), since %s" % (
        holder.get("playbook") or "a playbook", holder.get("user") or "an unknown user",
        holder.get("controller") or "?", holder.get("pid", "?"), holder.get("since") or "an unknown time")


def takeover_message(holder, check_mode=False):
    return ("%s a stale lock left by run %s: its ansible-playbook process is gone from this controller"
            % ("would take over" if check_mode else "took over", describe(holder)))


def held_message(host, path, holder, verdict, waited, wait_variable="preflight_lock_wait"):
    """The failure when another run holds the lock: names the host, the holder, and the fix."""
    why = {
        "live": "that run is still going on this controller",
        "foreign": "it is another controller's run, which this controller cannot check",
    }.get(verdict, "")
    if holder and holder.get("corrupt") is not None:
        why = "the lock file cannot be read"
    return ("%s: another run holds the lock %s: %s%s. Waited %d s (%s). Wait for that run to finish; "
            "if it is gone, remove %s on %s." % (host, path, describe(holder), " (%s)" % why if why else "",
                                                  waited, wait_variable, path, host))


def not_ours_message(host, path, holder):
    return ("%s: refusing to release %s: it is held by another run, %s. Releasing it would let two runs interleave; "
            "if that run is gone, remove %s on %s." % (host, path, describe(holder), path, host))


# ---------------------------------------------------------------- the lock file (host side)

def parse_lock(text):
    """The holder in a lock file's text; an unreadable one is {'corrupt': text} (never taken as free)."""
    try:
        holder = json.loads(text)
    except ValueError:
        return {"corrupt": text}
    if not isinstance(holder, dict) or "pid" not in holder:
        return {"corrupt": text}
    return holder


def read_lock(path):
    """The holder, or None when there is no lock."""
    try:
        with open(path) as handle:
            text = handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise LockError("cannot read %s: %s" % (path, exc.strerror))
    return parse_lock(text)


@contextlib.contextmanager
def guarded(path, exclusive=True):
    """Serialize lock operations on this host: an flock of the lock's directory (nothing is written to take it)."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError as exc:
        raise LockError("cannot open the lock's directory %s: %s" % (directory, exc.strerror))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


def _write_temp(path, holder):
    directory = os.path.dirname(os.path.abspath(path))
    fd, temp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(holder, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o644)
    except BaseException:
        os.unlink(temp)
        raise
    return temp


def create_lock(path, holder):
    """Create the lock atomically with its whole content; False when it already exists."""
    try:
        temp = _write_temp(path, holder)
    except OSError as exc:
        raise LockError("cannot write %s: %s" % (path, exc.strerror))
    try:
        os.link(temp, path)  # atomic, and fails if the lock exists
        return True
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise LockError("cannot create %s: %s" % (path, exc.strerror))
        # a filesystem without hard links: O_EXCL create (the content is written under the directory flock)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(holder, sort_keys=True) + "\n")
        return True
    finally:
        os.unlink(temp)


def replace_lock(path, holder):
    try:
        os.replace(_write_temp(path, holder), path)
    except OSError as exc:
        raise LockError("cannot replace %s: %s" % (path, exc.strerror))


def acquire(path, holder, takeover=None, check_mode=False):
    """Take the lock for `holder`. `takeover`: the holder the controller judged stale, replaced only if it still holds
    the lock (compare and swap under the directory flock). Returns a dict:

    acquired  - whether `holder` holds the lock now (or would, in check mode)
    changed   - whether the file was (or would be) written
    holder    - who holds the lock now (the other run when not acquired)
    took_over - the stale holder replaced, when one was
    """
    with guarded(path, exclusive=not check_mode):
        current = read_lock(path)
        if current is None:
            if check_mode or create_lock(path, holder):
                return {"acquired": True, "changed": True, "holder": holder}
            current = read_lock(path)  # lost a race with a writer outside the flock
        if same_run(current, holder):
            return {"acquired": True, "changed": False, "holder": current}
        if takeover and current.get("corrupt") is None and same_run(current, takeover):
            if not check_mode:
                replace_lock(path, holder)
            return {"acquired": True, "changed": True, "holder": holder, "took_over": current}
        return {"acquired": False, "changed": False, "holder": current}


def release(path, holder, check_mode=False):
    """Remove the lock if `holder` holds it. Returns released (bool), changed, holder (the lock's holder, or None)."""
    with guarded(path, exclusive=not check_mode):
        current = read_lock(path)
        if current is None:
            return {"released": False, "changed": False, "holder": None}
        if not same_run(current, holder):
            return {"released": False, "changed": False, "holder": current}
        if not check_mode:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise LockError("cannot remove %s: %s" % (path, exc.strerror))
        return {"released": True, "changed": True, "holder": current}
