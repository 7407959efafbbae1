"""The per-host run lock: pure decisions, the file operations, and the real module + action plugin run by
ansible-playbook against localhost with a lock in a temporary directory.

A "live" holder is a real `sleep` process of this machine; a "dead" one is a process that has exited and been
reaped; another controller is a made-up hostname.
"""
import json
import os
import pathlib
import socket
import subprocess
import sys
import threading
import time

import pytest
import yaml

from ansible.module_utils.host_lock import (
    acquire, describe, judge, make_holder, parse_lock, parse_stat, pid_alive, process_start_time, read_lock,
    release, same_controller,
)

ROOT = pathlib.Path(__file__).resolve().parents[2]
PLAYBOOK = pathlib.Path(sys.executable).parent / "ansible-playbook"
HOST = socket.gethostname()


@pytest.fixture
def live_pid():
    proc = subprocess.Popen(["sleep", "60"])
    yield proc.pid
    proc.kill()
    proc.wait()


def dead_pid():
    proc = subprocess.Popen(["true"])
    proc.wait()  # exited and reaped: the PID names no process
    return proc.pid


def holder(pid, controller=HOST, **extra):
    return dict(make_holder(controller, pid, "site.yml", "alice", since="2026-12-03T10:00:00Z"), **extra)


# ------------------------------------------------------------------ pure decisions

def test_stat_start_time_survives_odd_command_names():
    line = "4242 (evil) name (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10"
    assert parse_stat(line)[1] == 987654
    assert parse_stat("garbage") == (None, None)
    assert process_start_time(os.getpid()) == parse_stat(pathlib.Path("/proc/self/stat").read_text())[1]


def test_liveness_sees_a_dead_pid_and_a_reused_one(live_pid):
    start = process_start_time(live_pid)
    assert pid_alive(live_pid, start)
    assert not pid_alive(live_pid, start + 1), "a PID with another start time is another process"
    assert not pid_alive(dead_pid(), None)
    assert not pid_alive(None) and not pid_alive(0)
    zombie = subprocess.Popen(["true"])
    try:
        for _ in range(100):  # exited, not reaped yet
            if pathlib.Path("/proc/%d/stat" % zombie.pid).read_text().split(") ")[1].startswith("Z"):
                break
            time.sleep(0.05)
        assert not pid_alive(zombie.pid, process_start_time(zombie.pid)), "an exited run waiting to be reaped is gone"
    finally:
        zombie.wait()


def test_judge(live_pid):
    me = holder(os.getpid())
    assert judge(None, me) == "free"
    assert judge(dict(me, since="later", playbook="rollout.yml"), me) == "ours"
    assert judge(holder(live_pid), me) == "live"
    assert judge(holder(dead_pid()), me) == "stale"
    assert judge(holder(live_pid, pid_start=1), me) == "stale"
    assert judge(holder(live_pid, controller="ops-laptop"), me) == "foreign"
    # same hostname, another boot or PID namespace (a container): its PIDs mean nothing here
    assert judge(holder(dead_pid(), controller_id="other-boot/pid:[1]"), me) == "foreign"
    assert judge(parse_lock("not json"), me) == "foreign"


def test_same_controller_needs_both_ids_to_agree():
    a = {"controller": "c1", "controller_id": "b/ns"}
    assert same_controller(a, dict(a))
    assert not same_controller(a, {"controller": "c1", "controller_id": "b/other"})
    assert not same_controller(a, {"controller": "c1", "controller_id": ""})
    assert same_controller({"controller": "c1"}, {"controller": "c1", "controller_id": ""})


def test_describe_names_the_run():
    text = describe(holder(4242, controller="ops-laptop"))
    assert text == "site.yml by alice on controller ops-laptop (ansible-playbook pid 4242), since 2026-12-03T10:00:00Z"
    assert "unreadable" in describe(parse_lock(""))


# ------------------------------------------------------------------ file operations

def test_acquire_release_and_compare_and_swap(tmp_path, live_pid):
    path = str(tmp_path / "lock")
    me, other, stale = holder(os.getpid()), holder(live_pid), holder(dead_pid())
    assert acquire(path, me, check_mode=True) == {"acquired": True, "changed": True, "holder": me}
    assert not os.path.exists(path)
    assert acquire(path, me)["changed"] and read_lock(path) == me
    assert acquire(path, me) == {"acquired": True, "changed": False, "holder": me}
    assert acquire(path, other) == {"acquired": False, "changed": False, "holder": me}
    assert release(path, other) == {"released": False, "changed": False, "holder": me}
    assert release(path, me)["released"] and not os.path.exists(path)
    assert release(path, me) == {"released": False, "changed": False, "holder": None}
    # takeover replaces only the holder the controller judged stale
    acquire(path, stale)
    assert not acquire(path, me, takeover=other)["acquired"]
    assert acquire(path, me, takeover=stale, check_mode=True)["took_over"] == stale and read_lock(path) == stale
    result = acquire(path, me, takeover=stale)
    assert result["took_over"] == stale and read_lock(path) == me
    assert sorted(os.listdir(tmp_path)) == ["lock"], "no temporary file left behind"


# ------------------------------------------------------------------ the module and its action plugin, through ansible

def run_lock(tmp_path, args, *extra, env=None, tasks=None):
    """One play against localhost; returns (ansible-playbook's pid, [task results])."""
    tasks = tasks or [{"name": "lock", "host_lock": args}]
    play = [{"name": "lock test", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    (tmp_path / "lock-test.yml").write_text(yaml.safe_dump(play))
    run_env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
                   ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_LOCALHOST_WARNING="0",
                   ANSIBLE_INVENTORY_UNPARSED_WARNING="0", **(env or {}))
    proc = subprocess.Popen([str(PLAYBOOK), "-i", "localhost,", "-c", "local", "-e",
                             "ansible_python_interpreter=%s" % sys.executable, str(tmp_path / "lock-test.yml"), *extra],
                            cwd=ROOT, env=run_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = proc.communicate(timeout=120)
    try:
        output = json.loads(stdout)
    except ValueError:
        raise AssertionError(stdout[-3000:] + stderr[-3000:])
    return proc.pid, [task["hosts"]["localhost"] for task in output["plays"][0]["tasks"]]


def write_lock(path, content):
    path.write_text(json.dumps(content))
    return path.read_bytes()


def test_acquire_names_this_run_and_a_second_run_takes_over_when_it_is_gone(tmp_path):
    lock = tmp_path / "lock"
    pid, (result,) = run_lock(tmp_path, {"path": str(lock)})
    assert result["acquired"] and not result.get("failed"), result
    held = json.loads(lock.read_text())
    # the action plugin's parent is the ansible-playbook process itself
    assert held["pid"] == pid and held["controller"] == HOST and held["playbook"] == "lock-test.yml"
    assert held["pid_start"] is not None and held["since"].endswith("Z")
    # that run has exited: the next one from this controller takes its lock over and says so
    pid2, (result,) = run_lock(tmp_path, {"path": str(lock)})
    assert result["acquired"] and result["took_over"]["pid"] == pid, result
    assert result["msg"].startswith("took over a stale lock left by run lock-test.yml by ")
    assert json.loads(lock.read_text())["pid"] == pid2


def test_a_live_run_of_this_controller_is_not_taken_over(tmp_path, live_pid):
    lock = tmp_path / "lock"
    before = write_lock(lock, holder(live_pid))
    _, (result,) = run_lock(tmp_path, {"path": str(lock)})
    assert result["failed"], result
    msg = result["msg"]
    assert msg.startswith("localhost: another run holds the lock %s: site.yml by alice on controller %s "
                          "(ansible-playbook pid %d), since 2026-12-03T10:00:00Z" % (lock, HOST, live_pid)), msg
    assert "still going on this controller" in msg and "Waited 0 s" in msg
    assert msg.endswith("Wait for that run to finish; if it is gone, remove %s on localhost." % lock)
    assert lock.read_bytes() == before


def test_a_reused_pid_is_a_dead_run(tmp_path, live_pid):
    lock = tmp_path / "lock"
    write_lock(lock, holder(live_pid, pid_start=1))
    pid, (result,) = run_lock(tmp_path, {"path": str(lock)})
    assert result["acquired"] and result["took_over"]["pid"] == live_pid, result
    assert json.loads(lock.read_text())["pid"] == pid


def test_another_controller_is_waited_for_then_named(tmp_path):
    lock = tmp_path / "lock"
    write_lock(lock, holder(4242, controller="ops-laptop"))
    started = time.monotonic()
    _, (result,) = run_lock(tmp_path, {"path": str(lock), "wait": 3})
    overhead = time.monotonic() - started - 3  # ansible-playbook's start and end around the wait (more when busy)
    assert overhead >= 0
    assert result["failed"] and result["waited"] >= 2, result
    assert "on controller ops-laptop (ansible-playbook pid 4242)" in result["msg"]
    assert "another controller's run, which this controller cannot check" in result["msg"]
    # the other run finishes while this one waits: it gets the lock (removed once the module surely waits, however
    # slow ansible-playbook starts on this machine just now)
    threading.Timer(min(25, max(6, 2 * overhead + 2)), lock.unlink).start()  # within the wait of 30 s
    pid, (result,) = run_lock(tmp_path, {"path": str(lock), "wait": 30})
    assert result["acquired"] and 1 <= result["waited"] < 30, result
    assert json.loads(lock.read_text())["pid"] == pid


def test_release_only_what_this_run_holds(tmp_path, live_pid):
    lock = tmp_path / "lock"
    _, results = run_lock(tmp_path, None, tasks=[
        {"name": "take", "host_lock": {"path": str(lock)}},
        {"name": "again", "host_lock": {"path": str(lock)}},
        {"name": "give back", "host_lock": {"path": str(lock), "state": "released"}},
        {"name": "nothing to give back", "host_lock": {"path": str(lock), "state": "released"}}])
    assert [r["changed"] for r in results] == [True, False, True, False], results
    assert not lock.exists()
    before = write_lock(lock, holder(live_pid, controller="ops-laptop"))
    _, (result,) = run_lock(tmp_path, {"path": str(lock), "state": "released"})
    assert result["failed"] and result["msg"].startswith("localhost: refusing to release %s: it is held by another "
                                                         "run, site.yml by alice on controller ops-laptop" % lock)
    assert lock.read_bytes() == before


def test_check_mode_writes_nothing(tmp_path, live_pid):
    lock = tmp_path / "lock"
    _, (result,) = run_lock(tmp_path, {"path": str(lock)}, "--check")
    assert result["acquired"] and result["changed"] and not lock.exists(), result
    stale = write_lock(lock, holder(dead_pid()))
    _, (result,) = run_lock(tmp_path, {"path": str(lock)}, "--check")
    assert result["acquired"] and result["msg"].startswith("would take over a stale lock left by run"), result
    _, (result,) = run_lock(tmp_path, {"path": str(lock), "state": "released"}, "--check")
    assert not result.get("failed") and not result["released"], result
    assert lock.read_bytes() == stale
    write_lock(lock, holder(live_pid))
    _, (result,) = run_lock(tmp_path, {"path": str(lock)}, "--check")
    assert result["failed"] and "another run holds the lock" in result["msg"], result
    assert sorted(os.listdir(tmp_path)) == ["lock", "lock-test.yml"]


def test_bad_wait_and_a_missing_action_plugin_fail_clearly(tmp_path):
    _, (result,) = run_lock(tmp_path, {"path": str(tmp_path / "lock"), "wait": -1})
    assert result["failed"] and "wait=-1 must be a number of seconds >= 0" in result["msg"], result
    _, (result,) = run_lock(tmp_path, {"path": str(tmp_path / "lock")}, env={"ANSIBLE_ACTION_PLUGINS": "/nonexistent"})
    assert result["failed"] and "run it through the host_lock action plugin" in result["msg"], result
    assert not (tmp_path / "lock").exists()
