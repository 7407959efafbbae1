"""host_files: many directories, files and links in one module run. The pure decisions against real lstat results,
and the real module through `ansible localhost -m host_files` (its argument spec, check mode and diff as Ansible runs
them) on files in a temporary directory: what a converge, a re-run, drift and a refused validate do."""
import grp
import json
import os
import pathlib
import pwd
import stat
import subprocess
import sys

import pytest

from ansible.module_utils.host_files import (
    HostFilesError, apply, directory_changes, file_changes, link_changes, parse_mode, resolve_ids,
)

ROOT = pathlib.Path(__file__).resolve().parents[2]
ANSIBLE = pathlib.Path(sys.executable).parent / "ansible"
ME = pwd.getpwuid(os.getuid()).pw_name
MY_GROUP = grp.getgrgid(os.getgid()).gr_name


def run(args, *flags):
    """The module as Ansible runs it on localhost: (result, diffs printed by --diff)."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    argv = [str(ANSIBLE), "localhost", "-m", "host_files", "-a", json.dumps(args), *flags]
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    return json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]


def entries(tmp_path):
    return {
        "directories": [{"path": str(tmp_path / "opt"), "owner": ME, "group": MY_GROUP, "mode": "0755"},
                        {"path": str(tmp_path / "opt/a/b"), "owner": ME, "group": MY_GROUP, "mode": "0750"}],
        "files": [{"dest": str(tmp_path / "opt/a/b/unit"), "content": "[Unit]\nDescription=x\n", "owner": ME,
                   "group": MY_GROUP, "mode": "0644"}],
    }


def test_parse_mode_takes_octal_strings_only():
    assert parse_mode("0644", "x") == 0o644 and parse_mode("750", "x") == 0o750
    for bad in ("644a", "u+rw", "0o644", "99999", "8"):
        with pytest.raises(HostFilesError, match="not an octal mode"):
            parse_mode(bad, "/etc/x")


def test_resolve_ids_names_the_missing_user_and_forgives_it_in_check_mode():
    with pytest.raises(HostFilesError, match="owner 'no-such-user-xyz' does not exist"):
        resolve_ids("no-such-user-xyz", "root", "/etc/x")
    with pytest.raises(HostFilesError, match="group 'no-such-group-xyz' does not exist"):
        resolve_ids("root", "no-such-group-xyz", "/etc/x")
    assert resolve_ids("no-such-user-xyz", "root", "/etc/x", check_mode=True) == (-1, 0)
    assert resolve_ids(None, None, "/etc/x") == (None, None)


def test_decisions_against_real_paths(tmp_path):
    (tmp_path / "d").mkdir(mode=0o700)
    (tmp_path / "f").write_text("old")
    (tmp_path / "link").symlink_to(tmp_path / "f")
    d, f = os.lstat(tmp_path / "d"), os.lstat(tmp_path / "f")
    uid, gid = os.getuid(), os.getgid()
    assert directory_changes(None, uid, gid, 0o755, "d") == "create"
    assert directory_changes(d, uid, gid, stat.S_IMODE(d.st_mode), "d") is None
    assert directory_changes(d, uid, gid, 0o755, "d") == [("mode", "0700", "0755")]
    assert directory_changes(d, uid + 1, gid, stat.S_IMODE(d.st_mode), "d") == [("owner", uid, uid + 1)]
    with pytest.raises(HostFilesError, match="not a directory"):
        directory_changes(f, uid, gid, 0o755, "f")
    assert file_changes(None, None, b"x", uid, gid, 0o644, "f") == (True, [])
    assert file_changes(f, b"old", b"old", uid, gid, stat.S_IMODE(f.st_mode), "f") == (False, [])
    assert file_changes(f, b"old", b"new", uid, gid, stat.S_IMODE(f.st_mode), "f") == (True, [])
    with pytest.raises(HostFilesError, match="not a regular file"):
        file_changes(os.lstat(tmp_path / "link"), None, b"x", uid, gid, 0o644, "link")


def test_apply_checks_every_mode_before_touching_anything(tmp_path):
    wanted = entries(tmp_path)
    wanted["files"][0]["mode"] = "rw-r--r--"
    with pytest.raises(HostFilesError, match="unit: mode 'rw-r--r--'"):
        apply(wanted["directories"], wanted["files"], False, None)
    assert not (tmp_path / "opt").exists()


def test_converge_rerun_and_drift_through_ansible(tmp_path):
    wanted = entries(tmp_path)
    # check mode on a bare host: everything would be created, nothing is
    result = run(wanted, "--check", "--diff")
    assert result["changed"] and result["changed_paths"] == [str(tmp_path / "opt"), str(tmp_path / "opt/a/b"),
                                                              str(tmp_path / "opt/a/b/unit")]
    assert not (tmp_path / "opt").exists()
    result = run(wanted)
    assert result["changed"], result
    unit = tmp_path / "opt/a/b/unit"
    assert unit.read_text() == "[Unit]\nDescription=x\n" and stat.S_IMODE(unit.stat().st_mode) == 0o644
    # the missing parent a/ was created with b's mode, as ansible.builtin.file does
    assert stat.S_IMODE((tmp_path / "opt/a").stat().st_mode) == 0o750
    assert run(wanted) == {**run(wanted), "changed": False, "changed_paths": []}
    # drift: a mode changed by hand and an edited file are both found and put back
    os.chmod(tmp_path / "opt", 0o700)
    unit.write_text("edited by hand\n")
    result = run(wanted, "--diff")
    assert result["changed_paths"] == [str(tmp_path / "opt"), str(unit)]
    assert {"before": "mode: 0700\n", "after": "mode: 0755\n"}.items() <= result["diff"][0].items()
    assert result["diff"][1]["before"] == "edited by hand\n" and unit.read_text() == "[Unit]\nDescription=x\n"
    # mode only: the file is not rewritten (same inode)
    inode = unit.stat().st_ino
    os.chmod(unit, 0o600)
    assert run(wanted)["changed_paths"] == [str(unit)]
    assert unit.stat().st_ino == inode and stat.S_IMODE(unit.stat().st_mode) == 0o644


def test_secret_content_is_not_shown_in_the_diff(tmp_path):
    wanted = {"files": [{"dest": str(tmp_path / "env"), "content": "KEY=sk-secret-value\n", "mode": "0600",
                         "owner": ME, "group": MY_GROUP, "diff": False}]}
    result = run(wanted, "--check", "--diff")
    assert result["changed"] and "sk-secret-value" not in json.dumps(result)
    run(wanted)
    wanted["files"][0]["content"] = "KEY=sk-other-secret\n"
    result = run(wanted, "--diff")
    assert result["changed"] and "sk-secret-value" not in json.dumps(result) and "sk-other" not in json.dumps(result)


def test_a_refused_validate_leaves_the_old_file_and_no_temporary(tmp_path):
    unit = tmp_path / "unit"
    unit.write_text("good\n")
    wanted = {"files": [{"dest": str(unit), "content": "bad\n", "mode": "0644", "owner": ME, "group": MY_GROUP,
                         "validate": "/bin/grep -q good %s"}]}
    result = run(wanted)
    assert result.get("failed") and "refused it (rc 1)" in result["msg"] and str(unit) in result["msg"]
    assert unit.read_text() == "good\n" and sorted(os.listdir(tmp_path)) == ["unit"]
    wanted["files"][0]["validate"] = "/bin/grep -q bad %s"
    assert run(wanted)["changed"] and unit.read_text() == "bad\n"


def test_a_missing_owner_fails_naming_it_and_changes_nothing(tmp_path):
    wanted = {"directories": [{"path": str(tmp_path / "d"), "owner": "no-such-user-xyz", "mode": "0755"}]}
    result = run(wanted)
    assert result.get("failed") and "owner 'no-such-user-xyz' does not exist" in result["msg"]
    assert not (tmp_path / "d").exists()
    assert run(wanted, "--check")["changed"]


def test_link_decisions_against_real_paths(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "f").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "d")
    link, uid, gid = os.lstat(tmp_path / "link"), os.getuid(), os.getgid()
    target = str(tmp_path / "d")
    assert link_changes(None, None, target, uid, gid, "link") == "create"
    assert link_changes(link, target, target, uid, gid, "link") is None
    assert link_changes(link, target, target, None, None, "link") is None
    # compared as written: the same directory named another way is another target, as `ln -sfn` would write it
    assert link_changes(link, target, target + "/", uid, gid, "link") == "replace"
    assert link_changes(link, target, str(tmp_path / "other"), uid, gid, "link") == "replace"
    assert link_changes(link, target, target, uid + 1, gid, "link") == [("owner", uid, uid + 1)]
    # a regular file where the link belongs is replaced (file's force: true); a directory is refused
    assert link_changes(os.lstat(tmp_path / "f"), None, target, uid, gid, "f") == "replace"
    with pytest.raises(HostFilesError, match="neither a link nor a file"):
        link_changes(os.lstat(tmp_path / "d"), None, target, uid, gid, "d")


def test_a_link_converges_after_the_files_of_its_run(tmp_path):
    """The launcher and the `current` link of the runtime role: the file is written into the new build, then the link
    is switched to it, in one run; check mode writes nothing; drift of either is put back; a switch leaves no
    temporary link behind."""
    build, current = tmp_path / "venvs/build-2", tmp_path / "venvs/current"
    wanted = {"directories": [{"path": str(tmp_path / "venvs"), "owner": ME, "group": MY_GROUP, "mode": "0755"},
                              {"path": str(build / "bin"), "owner": ME, "group": MY_GROUP, "mode": "0755"}],
              "files": [{"dest": str(build / "bin/launcher"), "content": "#!/bin/sh\n", "owner": ME,
                         "group": MY_GROUP, "mode": "0755"}],
              "links": [{"path": str(current), "target": str(build), "owner": ME, "group": MY_GROUP}]}
    result = run(wanted, "--check", "--diff")
    assert result["changed"] and result["changed_paths"][-2:] == [str(build / "bin/launcher"), str(current)]
    assert {"before": "state: absent\n", "after": "target: %s\nowner: %s\ngroup: %s\n" % (build, ME, MY_GROUP)
            }.items() <= result["diff"][-1].items()
    assert not (tmp_path / "venvs").exists()
    assert run(wanted)["changed"]
    assert os.readlink(current) == str(build) and (current / "bin/launcher").read_text() == "#!/bin/sh\n"
    assert run(wanted) == {**run(wanted), "changed": False, "changed_paths": []}
    # drift: the link pointed back at an older build by hand, then removed, then a file in its place
    (tmp_path / "venvs/build-1").mkdir()
    os.unlink(current)
    current.symlink_to(tmp_path / "venvs/build-1")
    result = run(wanted, "--check", "--diff")
    assert result["changed_paths"] == [str(current)] and os.readlink(current) == str(tmp_path / "venvs/build-1")
    assert {"before": "target: %s\n" % (tmp_path / "venvs/build-1"), "after": "target: %s\n" % build
            }.items() <= result["diff"][0].items()
    assert run(wanted, "--diff")["changed_paths"] == [str(current)] and os.readlink(current) == str(build)
    os.unlink(current)
    assert run(wanted)["changed_paths"] == [str(current)] and os.readlink(current) == str(build)
    os.unlink(current)
    current.write_text("not a link\n")
    assert run(wanted)["changed_paths"] == [str(current)] and os.readlink(current) == str(build)
    assert sorted(os.listdir(tmp_path / "venvs")) == ["build-1", "build-2", "current"]
    assert run(wanted)["changed"] is False


def test_a_directory_where_a_link_belongs_fails_and_stays(tmp_path):
    (tmp_path / "current").mkdir()
    wanted = {"links": [{"path": str(tmp_path / "current"), "target": str(tmp_path / "build")}]}
    for flags in ((), ("--check",)):
        result = run(wanted, *flags)
        assert result.get("failed") and "neither a link nor a file" in result["msg"], result
    assert (tmp_path / "current").is_dir() and not (tmp_path / "current").is_symlink()


def test_on_the_controller_files_are_written_in_process_with_check_mode(tmp_path):
    # `ansible localhost` runs over the local connection without become, as the history file's delegated task does:
    # the action plugin writes in the worker process. A host Python that does not exist proves no module started.
    dest = tmp_path / "history" / "box-1.json"
    args = {"directories": [{"path": str(dest.parent), "mode": "0755"}],
            "files": [{"dest": str(dest), "content": "[]\n", "mode": "0644"}]}
    no_python = ("-e", "ansible_python_interpreter=/nonexistent/python3")
    checked = run(args, *no_python, "--check")
    assert not checked.get("failed"), checked.get("msg")
    assert checked["changed"] and not dest.parent.exists()  # check mode: reported, nothing written
    written = run(args, *no_python)
    assert not written.get("failed"), written.get("msg")
    assert written["changed"] and dest.read_text() == "[]\n" and oct(dest.stat().st_mode & 0o777) == "0o644"
    again = run(args, *no_python)
    assert not again["changed"]
