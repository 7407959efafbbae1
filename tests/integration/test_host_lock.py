"""Two runs against one host cannot interleave: site.yml takes the host's run lock first (every --tags) and gives it
back at the end. Each case runs the real `site.yml --tags plan` against the lab host container.
"""
import json
import os
import signal
import socket
import subprocess
import threading
import time

from ansible.module_utils.host_lock import make_holder
from lab_host import docker
from test_guardrails import first_failure, run_site, snapshot

LOCK = "/run/lock/gpt-oss-fleet.lock"
LOCK_TASK = "Take this host's run lock"


def put_lock(host, holder):
    subprocess.run(["docker", "exec", "-i", host, "sh", "-c", "cat > %s" % LOCK], input=json.dumps(holder),
                   text=True, check=True, capture_output=True)


def get_lock(host):
    result = docker("exec", host, "cat", LOCK, check=False)
    return json.loads(result.stdout) if result.returncode == 0 and result.stdout.strip() else None


def results_of(output, host, name):
    return [task["hosts"][host] for play in output["plays"] for task in play["tasks"]
            if task["task"]["name"].endswith(name) and host in task["hosts"]]


def plan(host, tmp_path, variables=None):
    tmp_path.mkdir(parents=True, exist_ok=True)
    return run_site(host, variables or {}, tmp_path, "--tags", "plan")


def dead_pid():
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_a_lock_from_another_controller_stops_the_run_before_any_change(lab_host, tmp_path):
    holder = make_holder("ops-laptop", 4242, "rollout.yml", "alice", since="2026-12-03T10:00:00Z",
                         ctl_id="another-boot/pid:[1]", pid_start=777)
    put_lock(lab_host, holder)
    try:
        before = snapshot(lab_host)
        result = plan(lab_host, tmp_path)
        after = snapshot(lab_host)
        assert result.returncode != 0, result.stdout[-3000:]
        output = json.loads(result.stdout)
        task, message = first_failure(output, lab_host)
        assert task.endswith(LOCK_TASK), (task, message)
        assert message.startswith(
            "%s: another run holds the lock %s: rollout.yml by alice on controller ops-laptop (ansible-playbook pid "
            "4242), since 2026-12-03T10:00:00Z" % (lab_host, LOCK)), message
        assert message.endswith("Wait for that run to finish; if it is gone, remove %s on %s." % (LOCK, lab_host))
        assert output["stats"][lab_host]["changed"] == 0
        assert not results_of(output, lab_host, "Check the API key is set"), "inputs ran after the lock failed"
        assert before == after
        assert get_lock(lab_host) == holder
    finally:
        docker("exec", lab_host, "rm", "-f", LOCK)


def test_a_lock_left_by_a_dead_run_of_this_controller_is_taken_over_and_released(lab_host, tmp_path):
    stale = make_holder(socket.gethostname(), dead_pid(), "site.yml", "bob", since="2026-12-03T09:00:00Z")
    put_lock(lab_host, stale)
    result = plan(lab_host, tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    output = json.loads(result.stdout)
    (taken,) = results_of(output, lab_host, LOCK_TASK)
    assert taken["took_over"]["pid"] == stale["pid"], taken
    assert taken["msg"].startswith("took over a stale lock left by run site.yml by bob on controller %s "
                                   "(ansible-playbook pid %d)" % (socket.gethostname(), stale["pid"])), taken["msg"]
    (released,) = results_of(output, lab_host, "Release this host's run lock")
    assert released["released"] and released["holder"]["pid"] == taken["holder"]["pid"], released
    assert output["stats"][lab_host]["changed"] == 0
    assert get_lock(lab_host) is None


def test_a_second_run_fails_naming_the_first_while_it_runs(lab_host, tmp_path):
    """Run A takes the lock and is frozen (SIGSTOP) inside the play; run B, started then, fails naming A."""
    docker("exec", lab_host, "rm", "-f", LOCK)
    first = {}
    runner = threading.Thread(target=lambda: first.update(result=plan(lab_host, tmp_path / "a")))
    runner.start()
    pid = None
    try:
        for _ in range(300):
            holder = get_lock(lab_host)
            if holder and holder["controller"] == socket.gethostname():
                pid = holder["pid"]
                os.kill(pid, signal.SIGSTOP)
                break
            time.sleep(0.1)
        assert pid, "run A never took the lock"
        second = plan(lab_host, tmp_path / "b")
        assert second.returncode != 0, second.stdout[-3000:]
        output = json.loads(second.stdout)
        task, message = first_failure(output, lab_host)
        assert task.endswith(LOCK_TASK), (task, message)
        assert ("site.yml by %s on controller %s (ansible-playbook pid %d)" % (holder["user"], holder["controller"], pid)
                in message), message
        assert "that run is still going on this controller" in message, message
        assert get_lock(lab_host) == holder
    finally:
        if pid:
            os.kill(pid, signal.SIGCONT)
        runner.join(timeout=300)
    assert first["result"].returncode == 0, first["result"].stdout[-3000:]
    assert get_lock(lab_host) is None, "run A did not give the lock back"
