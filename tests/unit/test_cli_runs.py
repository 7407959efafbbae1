"""gpt_oss_fleet's run record and live view, from events shaped as ansible-runner 2.4 emits them (its
docs' event schema: event, created, event_data.host/task/role/res/ignore_errors; playbook_on_stats' per-host dicts).
The real runner's events are exercised end to end in tests/integration/test_cli.py."""
import io
import os
import json

import pytest

from gpt_oss_fleet import cli, live, runs


def event(kind, host=None, task=None, role=None, res=None, created="2026-12-05T05:00:00", **data):
    event_data = dict(data, host=host, task=task, role=role, res=res or {})
    return {"event": kind, "created": created, "event_data": event_data}


def stats(**per_key):
    data = {key: per_key.get(key, {}) for key in ("ok", "changed", "failures", "dark", "skipped")}
    return {"event": "playbook_on_stats", "event_data": data}


def fold(events):
    hosts = {}
    for item in events:
        runs.apply_event(hosts, item)
    return hosts


def test_a_failed_host_comes_first_with_its_first_failure_and_message():
    hosts = fold([
        event("runner_on_ok", "b-ok", "Gather", created="2026-12-05T05:00:00"),
        event("runner_on_ok", "a-changed", "Gather", created="2026-12-05T05:00:01"),
        event("runner_on_failed", "c-bad", "Check the inputs", "preflight",
              {"msg": "gpt_oss_port: 99999 is out of range 1-65535"}, created="2026-12-05T05:00:02"),
        # a consequence of the first failure must not replace it
        event("runner_on_failed", "c-bad", "Release the lock", None, {"msg": "later"}, created="2026-12-05T05:00:09"),
        # ignore_errors: not a failure of the host
        event("runner_on_failed", "b-ok", "Probe", None, {"msg": "ignored"}, ignore_errors=True,
              created="2026-12-05T05:00:04"),
        stats(ok={"a-changed": 5, "b-ok": 3, "c-bad": 1}, changed={"a-changed": 2}, failures={"c-bad": 1}),
    ])
    summary = runs.summarize({"started": "2026-12-05T05:00:00", "ended": "2026-12-05T05:00:30.5"}, hosts, 2, "failed")
    assert [h["host"] for h in summary["hosts"]] == ["c-bad", "a-changed", "b-ok"]
    bad = summary["hosts"][0]
    assert bad["failed_task"] == "preflight : Check the inputs"
    assert "99999" in bad["message"]
    assert bad["seconds"] == 7.0
    assert summary["failed_hosts"] == ["c-bad"] and summary["changed_hosts"] == ["a-changed"]
    assert summary["seconds"] == 30.5
    assert summary["hosts"][2]["result"] == "ok" and summary["hosts"][2]["failed_task"] is None


def test_unreachable_host_is_failed():
    hosts = fold([event("runner_on_unreachable", "gone", "Gathering Facts", None, {"msg": "ssh: connect refused"}),
                  stats(dark={"gone": 1})])
    (host,) = runs.summarize({}, hosts, 4, "failed")["hosts"]
    assert host["result"] == "unreachable" and host["failed"] and "refused" in host["message"]


def test_the_plan_task_gives_the_hosts_key_facts():
    plan = {"engine": "llamacpp", "engine_version": "2026.10", "backend": "cpu", "model": "openai/gpt-oss-20b",
            "served_model_name": "gpt-oss-20b", "replicas": [{"name": "gpt-oss-0"}, {"name": "gpt-oss-1"}],
            "argv": ["long"]}
    hosts = fold([event("runner_on_ok", "h", runs.PLAN_TASK, "preflight", {"plan": plan, "table": "t"})])
    assert hosts["h"]["plan"] == {"engine": "llamacpp", "engine_version": "2026.10", "backend": "cpu",
                                  "model": "openai/gpt-oss-20b", "served_model_name": "gpt-oss-20b", "replicas": 2}


@pytest.mark.parametrize("res, expected", [
    ({"msg": "boom"}, "boom"),
    ({"stderr": "  trace\n", "rc": 1}, "trace"),
    ({"results": [{"failed": False, "msg": "fine"}, {"failed": True, "msg": "item 2 broke"}]}, "item 2 broke"),
    ({}, "failed (no message)"),
    ({"msg": "The following modules failed to execute: ansible.legacy.setup.",
      "failed_modules": {"ansible.legacy.setup": {"msg": "docker: no such container"}}},
     "ansible.legacy.setup: docker: no such container"),
])
def test_failure_message(res, expected):
    assert runs.failure_message(res) == expected


def test_secret_named_extra_vars_are_redacted_and_files_kept():
    args = ["gpt-oss-fleet", "up", "-e", "gpt_oss_api_key=sk-123 gpt_oss_port=8000", "-e", "@secrets.yml",
            "-e", "model_weights_hf_token=hf_abc", "-e", "gpt_oss_model=openai/gpt-oss-20b"]
    out = runs.redact_args(args)
    joined = " ".join(out)
    assert "sk-123" not in joined and "hf_abc" not in joined
    assert "gpt_oss_api_key=<redacted> gpt_oss_port=8000" in out
    assert "@secrets.yml" in out and "gpt_oss_model=openai/gpt-oss-20b" in out


def test_history_is_newest_first_and_report_finds_a_prefix(tmp_path):
    for run_id, rc in (("20261205T050000Z-up-1", 0), ("20261205T060000Z-plan-2", 2)):
        runs.write_summary(str(tmp_path / run_id), {"id": run_id, "command": run_id.split("-")[1], "rc": rc,
                                                     "seconds": 3.0, "hosts": [], "changed_hosts": [],
                                                     "failed_hosts": []})
    (tmp_path / "not-a-run").mkdir()
    assert [row["id"] for row in runs.history(str(tmp_path))] == ["20261205T060000Z-plan-2", "20261205T050000Z-up-1"]
    assert runs.read_summary(str(tmp_path), "20261205T05")["command"] == "up"
    assert runs.read_summary(str(tmp_path), "last")["command"] == "plan"
    with pytest.raises(LookupError, match="ambiguous"):
        runs.read_summary(str(tmp_path), "2026")
    assert "FAILED" in runs.history_line(runs.read_summary(str(tmp_path), "last"))


def test_prune_keeps_the_newest_runs(tmp_path):
    for hour in range(5):
        runs.write_summary(str(tmp_path / ("20261205T0%d0000Z-up-1" % hour)), {"id": hour})
    (tmp_path / "20261205T000000Z-up-running").mkdir()  # no summary yet: a run in progress is never pruned
    assert runs.prune(str(tmp_path), 2) == ["20261205T020000Z-up-1", "20261205T010000Z-up-1", "20261205T000000Z-up-1"]
    assert sorted(os.listdir(tmp_path)) == ["20261205T000000Z-up-running", "20261205T030000Z-up-1",
                                            "20261205T040000Z-up-1"]
    assert runs.prune(str(tmp_path), 0) == []


def test_ansible_args_pass_every_option_through():
    args = cli.parse_args(["up", "-i", "inv.yml", "-e", "a=1", "-e", "@f.yml", "-l", "h1", "-t", "weights",
                           "--skip-tags", "driver", "-C", "-D", "--vault-id", "prod@prompt", "-vv"])
    assert cli.ansible_args(args) == ["-e", "a=1", "-e", "@" + os.path.abspath("f.yml"), "--limit", "h1", "--tags", "weights",
                                      "--skip-tags", "driver", "--vault-id", "prod@prompt", "--check", "--diff",
                                      "-vv"]
    assert args.inventory == ["inv.yml"]


def test_live_view_prints_role_changes_and_failures_without_a_terminal():
    clock = iter(range(0, 1000, 1)).__next__
    stream = io.StringIO()
    view = live.LiveView(stream, tty=False, quiet_s=30, clock=clock)
    view.event(event("runner_on_start", "h1", "Install packages", "gpu_driver"))
    view.event(event("runner_on_start", "h1", "Another step", "gpu_driver"))  # same role: no new line
    view.event(event("runner_on_start", "h1", "Fetch weights", "model_weights"))
    view.event(event("runner_on_failed", "h1", "Fetch weights", "model_weights", {"msg": "404 from the mirror"}))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    assert "gpu_driver" in lines[0] and "model_weights" in lines[1]
    assert lines[2].startswith("!! h1 failed at Fetch weights: 404 from the mirror")
    assert view.failures == [("h1", "Fetch weights", "404 from the mirror")]


def test_live_view_redraws_in_place_on_a_terminal():
    stream = io.StringIO()
    view = live.LiveView(stream, tty=True, clock=lambda: 5.0)
    view.event(event("runner_on_start", "h1", "Wait for /health", "inference_server"))
    view.event(event("runner_on_start", "h2", "Wait for /health", "inference_server"))
    view.tick()
    view.tick()
    text = stream.getvalue()
    assert "\x1b[3A\x1b[J" in text  # two hosts and the elapsed line, drawn over
    assert text.count("h2 ") >= 2


def test_download_progress_from_the_weights_task_and_progress_file():
    task = "Wait for the download (progress, bytes and rate in /var/lib/gpt-oss/weights-progress.jsonl)"
    assert live.download_path(task) == "/var/lib/gpt-oss/weights-progress.jsonl"
    assert live.download_path("Wait for /health") is None
    line = json.dumps({"time": 1, "file": "model.gguf", "done_bytes": 432013312, "total_bytes": 1073741824,
                       "percent": 40.2, "rate_mib_s": 85.3})
    assert live.progress_text(line) == "412.0/1024.0 MiB (40.2 %), 85.3 MiB/s"
    assert live.progress_text("not json") is None
    view = live.LiveView(io.StringIO(), tty=False, clock=lambda: 0.0)
    view.event(event("runner_on_start", "h1", task, "model_weights"))
    assert view.download_hosts() == {"h1": "/var/lib/gpt-oss/weights-progress.jsonl"}
    view.set_progress("h1", "1/2 MiB")
    assert "downloading weights: 1/2 MiB" in view.line("h1")


def test_status_lines_show_health_and_last_acceptance():
    status = {"h1": {"server": {"engine": "llamacpp", "engine_version": "2026.10", "backend": "cpu",
                                "served_model_name": "gpt-oss-20b"},
                     "acceptance": {"time": "2026-12-05T05:00:00Z", "passed": True, "tokens_per_s": 812.5},
                     "health": {"http://10.0.0.2:8000/health": 200, "http://10.0.0.2:8001/health": 0}},
              "h2": {"server": {}, "acceptance": {}, "health": {}}}
    lines = cli.status_lines(status)
    assert "1/2 up" in lines[1] and "passed" in lines[1] and "812.5" in lines[1]
    assert "(not converged)" in lines[2] and "(none yet)" in lines[2]


def test_diff_text_from_ansibles_diff_results():
    res = {"changed": True, "diff": [{"before": "port=8000\nkey=x\n", "after": "port=8010\nkey=x\n",
                                      "before_header": "/etc/gpt-oss/gpt-oss-0.env", "after_header": "rendered"}]}
    text = runs.diff_text(res)
    assert "--- /etc/gpt-oss/gpt-oss-0.env" in text and "-port=8000" in text and "+port=8010" in text
    assert " key=x" in text
    assert runs.diff_text({"diff": {"prepared": "+ new unit"}}) == "+ new unit"
    assert "directory" in runs.diff_text({"diff": {"before": {"state": "absent"}, "after": {"state": "directory"}}})
    assert runs.diff_text({"diff": {"before": "same", "after": "same"}}) == ""
    assert runs.diff_text({}) == ""
    # a loop's changed items (the unit files); an unchanged item says nothing
    loop = {"changed": True, "results": [{"changed": True, "diff": res["diff"]},
                                         {"changed": False, "diff": {"before": "a", "after": "b"}}]}
    assert runs.diff_text(loop) == text


def test_collect_result_keeps_the_plan_table_summary_and_status_of_their_tasks_only():
    collected = {}
    runs.collect_result(collected, event("runner_on_ok", "h", runs.PLAN_TASK, "preflight", {"table": ["t"]}))
    runs.collect_result(collected, event("runner_on_ok", "h", "Summary", "inference_server", {"msg": ["host : h"]}))
    runs.collect_result(collected, event("runner_on_ok", "h", "Summary", "load_balancer", {"msg": ["other role"]}))
    runs.collect_result(collected, event("runner_on_failed", "g", runs.STATUS_TASK, None, {"status_report": {"x": 1}}))
    runs.collect_result(collected, event("runner_on_ok", "h", runs.STATUS_TASK, None, {"status_report": {"x": 1}}))
    assert collected == {"plan_tables": {"h": ["t"]}, "server_summaries": {"h": ["host : h"]},
                         "host_status": {"h": {"x": 1}}}
