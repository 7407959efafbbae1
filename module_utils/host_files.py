# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
"""Directories and small files on a host, many in one module run (library/host_files.py).

Why: over any connection each module run costs a round trip and a fresh Python on the host (about 0.25 s here), and
`template`/`copy` cost five (a temporary directory made and removed, a stat, then `file`). A role that keeps five
directories and two files paid seven module runs and a dozen round trips on every converge, changed or not; this does
the same comparison - content byte for byte, owner, group, mode - in one.

The decisions are pure functions of what is on the host and what is wanted (`directory_changes`, `file_changes`);
`apply` does what they decide, atomically for files (a temporary file in the same directory, validated, then renamed
over the old one).
"""
from __future__ import annotations

import grp
import os
import pwd
import stat
import tempfile

MODE_DIGITS = frozenset("01234567")


class HostFilesError(Exception):
    """A wanted entry that cannot be applied (an unknown user, a bad mode, a path that is not a directory)."""


def parse_mode(text, where):
    """'0644' -> 0o644. Only the octal form: a symbolic or decimal mode in a list of many is a mistake to refuse."""
    text = str(text)
    if not (3 <= len(text) <= 4 and set(text) <= MODE_DIGITS):
        raise HostFilesError("%s: mode %r is not an octal mode such as '0644' (quote it in YAML)" % (where, text))
    return int(text, 8)


def resolve_ids(owner, group, where, check_mode=False, getpwnam=pwd.getpwnam, getgrnam=grp.getgrnam):
    """User and group names -> (uid, gid), naming the missing one; None (not managed) for a name not given. In check
    mode a missing one is -1 (it differs from every real id, so the path is reported as changed): an earlier task of
    the same run would have created it."""
    ids = []
    for kind, name, lookup in (("owner", owner, lambda n: getpwnam(n).pw_uid),
                               ("group", group, lambda n: getgrnam(n).gr_gid)):
        if name is None:
            ids.append(None)
            continue
        try:
            ids.append(lookup(name))
        except KeyError:
            if not check_mode:
                raise HostFilesError("%s: %s %r does not exist on this host" % (where, kind, name)) from None
            ids.append(-1)
    return tuple(ids)


def attribute_changes(current, uid, gid, mode):
    """What differs between an existing path's lstat and the wanted owner, group and mode: a list of
    (name, before, after), empty when nothing does. An owner or group of None is not managed."""
    changes = []
    if uid is not None and current.st_uid != uid:
        changes.append(("owner", current.st_uid, uid))
    if gid is not None and current.st_gid != gid:
        changes.append(("group", current.st_gid, gid))
    if stat.S_IMODE(current.st_mode) != mode:
        changes.append(("mode", "%04o" % stat.S_IMODE(current.st_mode), "%04o" % mode))
    return changes


def directory_changes(current, uid, gid, mode, where):
    """None when the directory is as wanted; otherwise 'create' or the attribute changes.
    current: the path's lstat, or None when it does not exist."""
    if current is None:
        return "create"
    if not stat.S_ISDIR(current.st_mode):
        raise HostFilesError("%s exists and is not a directory: move it away or fix the path" % where)
    return attribute_changes(current, uid, gid, mode) or None


def file_changes(current, current_bytes, wanted_bytes, uid, gid, mode, where):
    """(content_differs, attribute changes) for a file; current is its lstat or None when absent."""
    if current is None:
        return True, []
    if not stat.S_ISREG(current.st_mode):
        raise HostFilesError("%s exists and is not a regular file (a link or a directory): remove it or fix the "
                             "path" % where)
    return current_bytes != wanted_bytes, attribute_changes(current, uid, gid, mode)


def _lstat(path):
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def _chown(path, uid, gid):
    """chown a path or an open file descriptor; an id of None is left as it is."""
    if uid is not None or gid is not None:
        os.chown(path, -1 if uid is None else uid, -1 if gid is None else gid)


def _describe(changes):
    return "".join("%s: %s\n" % (name, value) for name, value in changes)


def _attribute_diff(path, changes):
    """The diff of an owner, group or mode change: (name, before, after) as lines."""
    return {"before_header": path, "after_header": path,
            "before": _describe((name, before) for name, before, _ in changes),
            "after": _describe((name, after) for name, _, after in changes)}


def ensure_directory(entry, check_mode):
    """Create the directory (and any missing parent, with the same owner, group and mode, as `file` does) or fix its
    attributes. Returns (changed, diff or None)."""
    path = entry["path"]
    uid, gid = resolve_ids(entry["owner"], entry["group"], path, check_mode)
    mode = parse_mode(entry["mode"], path)
    decision = directory_changes(_lstat(path), uid, gid, mode, path)
    if decision is None:
        return False, None
    if decision == "create":
        diff = {"before_header": path, "after_header": path, "before": "state: absent\n",
                "after": "state: directory\n%smode: %04o\n" % (
                    _describe((name, entry[name]) for name in ("owner", "group") if entry.get(name)), mode)}
        if not check_mode:
            missing = []
            walk = path
            while _lstat(walk) is None:
                missing.append(walk)
                walk = os.path.dirname(walk)
            for created in reversed(missing):
                os.mkdir(created, mode)
                _chown(created, uid, gid)
                os.chmod(created, mode)  # mkdir's mode is filtered by the umask
        return True, diff
    diff = _attribute_diff(path, decision)
    if not check_mode:
        _chown(path, uid, gid)
        os.chmod(path, mode)
    return True, diff


def ensure_file(entry, check_mode, run_validate):
    """Write the file when its content differs (atomically, validated first), or fix its attributes.
    run_validate(command) -> (rc, output) runs a validate command with the temporary file in place of %s.
    Returns (changed, diff or None)."""
    path = entry["dest"]
    uid, gid = resolve_ids(entry["owner"], entry["group"], path, check_mode)
    mode = parse_mode(entry["mode"], path)
    wanted = entry["content"].encode("utf-8")
    current = _lstat(path)
    current_bytes = None
    if current is not None and stat.S_ISREG(current.st_mode):
        with open(path, "rb") as handle:
            current_bytes = handle.read()
    content_differs, attributes = file_changes(current, current_bytes, wanted, uid, gid, mode, path)
    if not content_differs and not attributes:
        return False, None
    if content_differs:
        show = entry.get("diff", True)
        before = "" if current_bytes is None else current_bytes.decode("utf-8", "replace")
        diff = {"before_header": path if current is not None else "%s (absent)" % path, "after_header": path,
                "before": before if show else "(content not shown)\n",
                "after": entry["content"] if show else "(content changed, not shown)\n"}
    else:
        diff = _attribute_diff(path, attributes)
    if check_mode:
        return True, diff
    if not content_differs:
        _chown(path, uid, gid)
        os.chmod(path, mode)
        return True, diff
    directory = os.path.dirname(path)
    if _lstat(directory) is None:
        raise HostFilesError("%s: its directory %s does not exist (list it under directories)" % (path, directory))
    # hidden, and ending in the file's own name: validate commands such as `systemd-analyze verify` judge the name
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".host-files-", suffix="-" + os.path.basename(path))
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(wanted)
            out.flush()
            _chown(out.fileno(), uid, gid)
            os.fchmod(out.fileno(), mode)
            os.fsync(out.fileno())
        if entry.get("validate"):
            command = entry["validate"]
            if "%s" not in command:
                raise HostFilesError("%s: validate %r has no %%s for the file to check" % (path, command))
            rc, output = run_validate(command.replace("%s", temporary))
            if rc != 0:
                raise HostFilesError("%s: not written, %r refused it (rc %d): %s" % (path, command, rc,
                                                                                    output.strip()[-2000:]))
        os.replace(temporary, path)
    finally:
        if os.path.lexists(temporary):
            os.unlink(temporary)
    return True, diff


def apply(directories, files, check_mode, run_validate):
    """Directories first (in the order given, parents before children), then files. Returns (changed paths, diffs)."""
    # every mode is checked before anything is touched: a typo in the last entry must not leave the first ones applied
    for entry in directories:
        parse_mode(entry["mode"], entry["path"])
    for entry in files:
        parse_mode(entry["mode"], entry["dest"])
    changed, diffs = [], []
    for entry in directories:
        did, diff = ensure_directory(entry, check_mode)
        if did:
            changed.append(entry["path"])
            diffs.append(diff)
    for entry in files:
        # in check mode a file whose directory is not there yet is simply absent (_lstat): reported as written
        did, diff = ensure_file(entry, check_mode, run_validate)
        if did:
            changed.append(entry["dest"])
            diffs.append(diff)
    return changed, diffs
