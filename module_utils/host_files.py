# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
"""Directories, small files and symbolic links on a host, many in one module run (library/host_files.py).

Why: over any connection each module run costs a round trip and a fresh Python on the host (about 0.25 s here), and
`template`/`copy` cost five (a temporary directory made and removed, a stat, then `file`). A role that keeps five
directories and two files paid seven module runs and a dozen round trips on every converge, changed or not; this does
the same comparison - content byte for byte, owner, group, mode - in one.

The decisions are pure functions of what is on the host and what is wanted (`directory_changes`, `file_changes`,
`link_changes`); `apply` does what they decide, atomically for files (a temporary file in the same directory,
validated, then renamed over the old one) and links (a temporary link renamed over the old one, as `ln -sfn` then
`mv -T` would: a reader of the path sees the old target or the new one, never no link).
"""
from __future__ import annotations

import grp
import os
import pwd
import secrets
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
    (name, before, after), empty when nothing does. An owner, group or mode of None is not managed (a link has no
    mode of its own on Linux)."""
    changes = []
    if uid is not None and current.st_uid != uid:
        changes.append(("owner", current.st_uid, uid))
    if gid is not None and current.st_gid != gid:
        changes.append(("group", current.st_gid, gid))
    if mode is not None and stat.S_IMODE(current.st_mode) != mode:
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


def link_changes(current, current_target, target, uid, gid, where):
    """None when the link is as wanted; 'create' (absent), 'replace' (a link to another target, or a regular file in
    its place: replaced as `ln -sfn` and ansible.builtin.file's force do) or the link's own owner/group changes.
    current: the path's lstat or None; current_target: what the link points to (os.readlink), None for a non-link.
    Targets are compared as written, not resolved: `ln -sfn` keeps a relative target relative, and so does this."""
    if current is None:
        return "create"
    if stat.S_ISLNK(current.st_mode):
        if current_target != target:
            return "replace"
        return attribute_changes(current, uid, gid, None) or None
    if stat.S_ISREG(current.st_mode):
        return "replace"
    raise HostFilesError("%s exists and is neither a link nor a file (a directory?): remove it or fix the path" % where)


def _lstat(path):
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def _chown(path, uid, gid):
    """chown a path or an open file descriptor; an id of None is left as it is."""
    if uid is not None or gid is not None:
        os.chown(path, -1 if uid is None else uid, -1 if gid is None else gid)


def _lchown(path, uid, gid):
    """chown a link itself, not what it points to; an id of None is left as it is."""
    if uid is not None or gid is not None:
        os.lchown(path, -1 if uid is None else uid, -1 if gid is None else gid)


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


def ensure_link(entry, check_mode):
    """Point the link at its target (created, or replaced atomically: a temporary link in the same directory renamed
    over the old path) or fix the link's own owner and group. Returns (changed, diff or None)."""
    path, target = entry["path"], entry["target"]
    uid, gid = resolve_ids(entry.get("owner"), entry.get("group"), path, check_mode)
    current = _lstat(path)
    current_target = os.readlink(path) if current is not None and stat.S_ISLNK(current.st_mode) else None
    decision = link_changes(current, current_target, target, uid, gid, path)
    if decision is None:
        return False, None
    if decision not in ("create", "replace"):
        if not check_mode:
            _lchown(path, uid, gid)
        return True, _attribute_diff(path, decision)
    before = ("state: absent\n" if current is None else
              "target: %s\n" % current_target if current_target is not None else "state: file\n")
    # a new link shows the owner and group it gets, as a new directory does; a replaced one only its new target
    owned = "" if current is not None else _describe((name, entry[name]) for name in ("owner", "group")
                                                      if entry.get(name))
    diff = {"before_header": path, "after_header": path, "before": before, "after": "target: %s\n%s" % (target, owned)}
    if check_mode:
        return True, diff
    directory = os.path.dirname(path)
    if _lstat(directory) is None:
        raise HostFilesError("%s: its directory %s does not exist (list it under directories)" % (path, directory))
    # os.symlink has no mkstemp: a random name, tried again in the unlikely case that it is taken
    while True:
        temporary = os.path.join(directory, ".host-files-%s-%s" % (secrets.token_hex(4), os.path.basename(path)))
        try:
            os.symlink(target, temporary)
            break
        except FileExistsError:
            continue
    try:
        _lchown(temporary, uid, gid)
        # rename(2) replaces the old link itself, never the directory it points to (mv -T)
        os.replace(temporary, path)
    finally:
        if os.path.lexists(temporary):
            os.unlink(temporary)
    return True, diff


def apply(directories, files, check_mode, run_validate, links=()):
    """Directories first (in the order given, parents before children), then files, then links (so that a link may
    point at what the same run wrote, and is switched only once that succeeded). Returns (changed paths, diffs)."""
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
    for entry in links:
        did, diff = ensure_link(entry, check_mode)
        if did:
            changed.append(entry["path"])
            diffs.append(diff)
    return changed, diffs
