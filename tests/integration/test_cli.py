"""The `gpt-oss-fleet` command through the real ansible-runner against a systemd container host: a run that
succeeds, one with a failing host and an unreachable one (the failures first, a non-zero exit), --json, the runs
directory (artifacts + summary.json, no secret in either), history and report. The demo (tests/demo.sh) runs
`up` and `status` against a converged host."""
import json
import os
import pathlib
import subprocess
import sys

import pytest

from lab_host import ROOT
from test_guardrails import BASE

CLI = str(pathlib.Path(sys.executable).parent / "gpt-oss-fleet")
KEY = BASE["gpt_oss_api_key"]


@pytest.fixture(scope="module")
def fleet(lab_host, tmp_path_factory):
    """An inventory with the container twice: `good`, and `bad` with a port that is not a number; plus `gone`, a
    host nothing answers for. The API key is in a vars file, as the README tells operators to pass it."""
    tmp = tmp_path_factory.mktemp("cli")
    connection = {"ansible_connection": "community.docker.docker", "ansible_host": lab_host}
    inventory = {"all": {"children": {"gpt_oss_servers": {"hosts": {
        "good": connection, "bad": dict(connection, gpt_oss_port="eighty"),
        # nothing listens on port 1: ssh is refused, the host is unreachable
        "gone": {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 1}}}}}}
    (tmp / "hosts.json").write_text(json.dumps(inventory))
    (tmp / "vars.json").write_text(json.dumps(BASE))
    return tmp


def cli(fleet, *args):
    env = dict(os.environ, GPT_OSS_FLEET_RUNS=str(fleet / "runs"))
    return subprocess.run([CLI, *args], cwd=fleet, env=env, capture_output=True, text=True, timeout=600)


def run_files(fleet, summary):
    run_dir = pathlib.Path(summary["artifacts"])
    assert run_dir.parent == fleet / "runs"
    return [path for path in run_dir.rglob("*") if path.is_file()]


def test_plan_succeeds_with_json_summary_and_artifacts(fleet):
    result = cli(fleet, "plan", "-i", "hosts.json", "-e", "@vars.json", "-l", "good", "--json")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads(result.stdout)
    assert summary["command"] == "plan" and summary["limit"] == "good" and summary["rc"] == 0
    (host,) = summary["hosts"]
    assert host["host"] == "good" and host["result"] == "ok" and not host["failed"]
    # the plan's key facts come from the real preflight module's result
    assert host["plan"]["engine"] == "llamacpp" and host["plan"]["backend"] == "cpu" and host["plan"]["replicas"] >= 1
    assert host["tasks"]["ok"] > 0 and host["seconds"] > 0
    assert "good" in summary["plan_tables"]
    files = run_files(fleet, summary)
    names = {path.name for path in files}
    assert {"summary.json", "stdout", "rc", "status"} <= names, names
    assert any(path.parent.name == "job_events" for path in files)
    for path in files:
        assert KEY not in path.read_text(errors="replace"), "the API key is in %s" % path


def test_a_failing_and_an_unreachable_host_come_first_and_the_exit_is_non_zero(fleet):
    result = cli(fleet, "plan", "-i", "hosts.json", "-e", "@vars.json",
                 "-e", "gpt_oss_api_key=inline-secret-0123456789abcdef")
    assert result.returncode != 0, result.stdout[-3000:]
    out = result.stdout
    # the live view names the failing host as it happens, and the end puts failures before everything else
    assert "!! bad failed at" in out
    tail = out[out.index("\nFAILED "):]
    assert tail.index("FAILED bad") < tail.index("good")
    assert "gpt_oss_port" in tail
    assert "FAILED (rc" in out.splitlines()[-1]
    run_id = out.splitlines()[-1].split("gpt-oss-fleet report ")[1].strip()
    report = cli(fleet, "report", run_id, "--json")
    summary = json.loads(report.stdout)
    by_host = {host["host"]: host for host in summary["hosts"]}
    assert by_host["bad"]["result"] == "failed" and "gpt_oss_port" in by_host["bad"]["message"]
    assert by_host["gone"]["result"] == "unreachable"
    assert by_host["good"]["result"] == "ok"
    assert [host["host"] for host in summary["hosts"]][-1] == "good"
    assert set(summary["failed_hosts"]) == {"bad", "gone"}
    # an inline secret is kept out of the record
    for path in run_files(fleet, summary):
        assert "inline-secret-0123456789abcdef" not in path.read_text(errors="replace"), path


def test_history_lists_runs_newest_first_and_report_prints_one(fleet):
    result = cli(fleet, "history", "--json")
    assert result.returncode == 0
    rows = json.loads(result.stdout)
    assert [row["command"] for row in rows] == ["plan", "plan"]
    assert rows[0]["rc"] != 0 and rows[1]["rc"] == 0
    text = cli(fleet, "history").stdout.splitlines()
    assert "FAILED" in text[0] and " ok " in text[1]
    report = cli(fleet, "report")  # the last run
    assert report.returncode == 0
    assert "failed at:" in report.stdout and "gpt_oss_port" in report.stdout
    assert cli(fleet, "report", "no-such-run").returncode == 2


def test_status_of_a_host_that_serves_nothing_yet(fleet):
    result = cli(fleet, "status", "-i", "hosts.json", "-l", "good")
    assert result.returncode == 0, result.stdout[-3000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("good "))
    assert "(not converged)" in line and "(none yet)" in line


def test_vault_prompt_is_answered_through_the_runner(fleet):
    """--ask-vault-pass: the command asks once, ansible-runner answers ansible-playbook's prompt (pexpect). The API key
    comes from a vault-encrypted vars file, as the README's quick start keeps it."""
    vault = fleet / "vault.yml"
    vault.write_text("gpt_oss_api_key: %s\n" % KEY)
    password = fleet / "vault-pass.txt"
    password.write_text("fleet-vault-test\n")
    subprocess.run([str(pathlib.Path(sys.executable).parent / "ansible-vault"), "encrypt", "--vault-password-file",
                    str(password), str(vault)], check=True, capture_output=True)
    assert KEY not in vault.read_text()
    base = dict(BASE)
    del base["gpt_oss_api_key"]
    (fleet / "vars-no-key.json").write_text(json.dumps(base))
    env = dict(os.environ, GPT_OSS_FLEET_RUNS=str(fleet / "runs-vault"))
    result = subprocess.run([CLI, "plan", "-i", "hosts.json", "-e", "@vars-no-key.json", "-e", "@vault.yml",
                             "-l", "good", "--ask-vault-pass", "--json"], cwd=fleet, env=env, input="fleet-vault-test\n",
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert json.loads(result.stdout)["hosts"][0]["result"] == "ok"
    # a wrong password: ansible-playbook's own error, a non-zero exit
    wrong = subprocess.run([CLI, "plan", "-i", "hosts.json", "-e", "@vars-no-key.json", "-e", "@vault.yml",
                            "-l", "good", "--ask-vault-pass"], cwd=fleet, env=env, input="not-the-password\n",
                           capture_output=True, text=True, timeout=600)
    assert wrong.returncode != 0
    assert "Decryption failed" in wrong.stdout or "decrypt" in wrong.stdout.lower(), wrong.stdout[-2000:]
