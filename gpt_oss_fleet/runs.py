"""The record of a run, from ansible-runner's events: pure functions, no runner, no terminal.

A run's summary (summary.json beside ansible-runner's artifacts in the runs directory) says what was asked (command,
playbook, inventory, limit, tags, check mode), when, and per host: changed or failed, the failing task and its
message, how long the host took and the plan's key facts. `history` reads the summaries back, newest first."""
import difflib
import json
import os
import re
import shutil
from datetime import datetime

# The serving plan's task (roles/preflight/tasks/plan.yml): its result holds the plan and its table.
PLAN_TASK = "Plan the serving stack"
# The server role's end-of-run summary (roles/inference_server/tasks/summary.yml): a list of lines per host.
SERVER_SUMMARY_TASK = "Summary"
# status.yml's last task: its result is the host's status record.
STATUS_TASK = "Report the host's status"
# The plan's facts a summary keeps per host: enough to tell what a host was set to serve.
PLAN_FACTS = ("engine", "engine_version", "backend", "model", "served_model_name")
# -e key=value pairs whose value must never land in a run's record (the names the project's secrets use).
SECRET_NAME = re.compile(r"(key|token|password|secret|passphrase)", re.IGNORECASE)
SUMMARY = "summary.json"
# What a run keeps of particular tasks' results, per host: summary key -> (task name, role or None, result field).
RESULTS = {
    "plan_tables": (PLAN_TASK, None, "table"),
    "server_summaries": (SERVER_SUMMARY_TASK, "inference_server", "msg"),
    "host_status": (STATUS_TASK, None, "status_report"),
}


def collect_result(collected, event):
    """Keep the RESULTS fields of a task that ended ok (collected: summary key -> {host: value})."""
    if event.get("event") != "runner_on_ok":
        return
    data = event.get("event_data") or {}
    res = data.get("res") or {}
    for key, (task, role, field) in RESULTS.items():
        if data.get("task") == task and role in (None, data.get("role")) and res.get(field):
            collected.setdefault(key, {})[data.get("host")] = res[field]


def new_host():
    return {"ok": 0, "changed": 0, "failed": 0, "unreachable": 0, "skipped": 0, "result": "ok",
            "failed_task": None, "message": None, "first_event": None, "last_event": None, "plan": None}


def failure_message(res):
    """The few words that say why a task failed, from its result (msg, stderr, an assertion's message)."""
    if not isinstance(res, dict):
        return str(res)
    modules = res.get("failed_modules")
    if isinstance(modules, dict) and modules:  # fact gathering: "The following modules failed" says nothing more
        return "; ".join("%s: %s" % (name, failure_message(result)) for name, result in modules.items())
    for key in ("msg", "message", "stderr", "module_stderr", "stdout"):
        value = res.get(key)
        if value:
            text = value if isinstance(value, str) else json.dumps(value)
            return text.strip()[:2000]
    results = res.get("results")
    if isinstance(results, list):  # a loop: the first failed item's message
        for item in results:
            if isinstance(item, dict) and item.get("failed"):
                return failure_message(item)
    return "failed (no message)"


def diff_text(res):
    """A changed task's --diff as unified diff text (Ansible's diff dicts: before/after with headers, or prepared)."""
    if not isinstance(res, dict):
        return ""
    if isinstance(res.get("results"), list):  # a loop: each changed item's diff
        return "\n".join(text for text in (diff_text(item) for item in res["results"]
                                            if isinstance(item, dict) and item.get("changed")) if text)
    diffs = res.get("diff")
    if isinstance(diffs, dict):
        diffs = [diffs]
    out = []
    for diff in diffs or []:
        if not isinstance(diff, dict):
            continue
        if diff.get("prepared"):
            out.append(str(diff["prepared"]).rstrip("\n"))
            continue
        before, after = diff.get("before", ""), diff.get("after", "")
        if isinstance(before, dict) or isinstance(after, dict):  # a state change (file: absent -> directory)
            before = json.dumps(before, indent=1, sort_keys=True) + "\n" if before else ""
            after = json.dumps(after, indent=1, sort_keys=True) + "\n" if after else ""
        if before == after:
            continue
        out.extend(line.rstrip("\n") for line in difflib.unified_diff(
            str(before).splitlines(True), str(after).splitlines(True),
            diff.get("before_header", "before"), diff.get("after_header", "after")))
    return "\n".join(out)


def plan_facts(plan):
    """The key facts of a serving plan (the preflight module's `plan`)."""
    facts = {key: plan.get(key) for key in PLAN_FACTS if key in plan}
    facts["replicas"] = len(plan.get("replicas") or [])
    return facts


def apply_event(hosts, event):
    """Fold one ansible-runner event into the per-host record (hosts: name -> new_host())."""
    kind = event.get("event", "")
    data = event.get("event_data") or {}
    host = data.get("host")
    if kind == "playbook_on_stats":
        for name in set().union(*(data.get(key) or {} for key in ("ok", "changed", "failures", "dark", "skipped"))):
            record = hosts.setdefault(name, new_host())
            record["ok"] = (data.get("ok") or {}).get(name, 0)
            record["changed"] = (data.get("changed") or {}).get(name, 0)
            record["failed"] = (data.get("failures") or {}).get(name, 0)
            record["unreachable"] = (data.get("dark") or {}).get(name, 0)
            record["skipped"] = (data.get("skipped") or {}).get(name, 0)
        return
    if not host or not kind.startswith("runner_on_"):
        return
    record = hosts.setdefault(host, new_host())
    created = event.get("created")
    if created:
        record["first_event"] = record["first_event"] or created
        record["last_event"] = created
    res = data.get("res") or {}
    if kind == "runner_on_ok" and data.get("task") == PLAN_TASK and isinstance(res.get("plan"), dict):
        record["plan"] = plan_facts(res["plan"])
    if kind in ("runner_on_failed", "runner_on_unreachable") and not data.get("ignore_errors"):
        if record["failed_task"] is None:  # the first failure is the cause; later ones are its consequences
            record["failed_task"] = "%s%s" % (data.get("role") + " : " if data.get("role") else "", data.get("task"))
            record["message"] = failure_message(res)
        record["result"] = "unreachable" if kind == "runner_on_unreachable" else "failed"


def seconds_between(first, last):
    """Seconds between two of ansible-runner's ISO timestamps (2026-12-05T05:10:27.123456)."""
    try:
        return round((datetime.fromisoformat(last) - datetime.fromisoformat(first)).total_seconds(), 1)
    except (TypeError, ValueError):
        return None


def finish_hosts(hosts):
    """Per host, in the order an operator reads them: failed and unreachable first, then changed, then the rest."""
    out = []
    for name, record in hosts.items():
        result = record["result"]
        if result == "ok" and (record["failed"] or record["unreachable"]):
            result = "unreachable" if record["unreachable"] else "failed"
        if result == "ok" and record["changed"]:
            result = "changed"
        out.append({"host": name, "result": result, "changed": record["changed"] > 0,
                    "failed": result in ("failed", "unreachable"),
                    "tasks": {key: record[key] for key in ("ok", "changed", "failed", "unreachable", "skipped")},
                    "failed_task": record["failed_task"], "message": record["message"],
                    "seconds": seconds_between(record["first_event"], record["last_event"]),
                    "plan": record["plan"]})
    rank = {"failed": 0, "unreachable": 0, "changed": 1, "ok": 2}
    return sorted(out, key=lambda item: (rank[item["result"]], item["host"]))


def redact_args(args):
    """A command line with the value of every secret-named -e key=value replaced (files, -e @vars.yml, stay)."""
    out = []
    for arg in args:
        out.append(re.sub(r"(^|\s)([A-Za-z_][A-Za-z0-9_]*)=(\S+)",
                          lambda m: m.group(0) if not SECRET_NAME.search(m.group(2))
                          else "%s%s=<redacted>" % (m.group(1), m.group(2)), arg))
    return out


def summarize(meta, hosts, rc, status):
    """The run's summary: what was asked (meta), how it ended, and each host's record."""
    summary = dict(meta)
    summary.update({"rc": rc, "status": status, "hosts": finish_hosts(hosts)})
    summary["seconds"] = seconds_between(meta.get("started"), meta.get("ended"))
    summary["failed_hosts"] = [h["host"] for h in summary["hosts"] if h["failed"]]
    summary["changed_hosts"] = [h["host"] for h in summary["hosts"] if h["changed"]]
    return summary


def write_summary(run_dir, summary):
    os.makedirs(run_dir, exist_ok=True)
    path = os.path.join(run_dir, SUMMARY)
    with open(path + ".tmp", "w") as handle:
        json.dump(summary, handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.replace(path + ".tmp", path)
    return path


def read_summary(runs_dir, run_id):
    """One run's summary by its id (or a unique prefix of it, or 'last')."""
    ids = run_ids(runs_dir)
    if run_id == "last" and ids:
        run_id = ids[0]
    matches = [i for i in ids if i == run_id] or [i for i in ids if i.startswith(run_id)]
    if len(matches) != 1:
        raise LookupError("no run %r in %s (%s)" % (run_id, runs_dir, "ambiguous: " + ", ".join(matches)
                                                     if matches else "see `gpt-oss-fleet history`"))
    with open(os.path.join(runs_dir, matches[0], SUMMARY)) as handle:
        return json.load(handle)


def run_ids(runs_dir):
    """The ids of the runs that have a summary, newest first (ids start with their UTC start time)."""
    if not os.path.isdir(runs_dir):
        return []
    ids = [name for name in os.listdir(runs_dir) if os.path.isfile(os.path.join(runs_dir, name, SUMMARY))]
    return sorted(ids, reverse=True)


def prune(runs_dir, keep):
    """Remove the oldest runs beyond the newest `keep` (a converge's artifacts are about 2 MB); returns their ids."""
    removed = run_ids(runs_dir)[keep:] if keep > 0 else []
    for run_id in removed:
        shutil.rmtree(os.path.join(runs_dir, run_id), ignore_errors=True)
    return removed


def history(runs_dir, limit=None):
    rows = []
    for run_id in run_ids(runs_dir)[:limit]:
        try:
            rows.append(read_summary(runs_dir, run_id))
        except (OSError, ValueError, LookupError):
            continue  # a summary being written or damaged: history lists the rest
    return rows


def history_line(summary):
    hosts = summary.get("hosts") or []
    return "%-30s %-8s %-6s %7s  %d hosts, %d changed, %d failed%s" % (
        summary.get("id"), summary.get("command"), "ok" if summary.get("rc") == 0 else "FAILED",
        "%.0fs" % summary["seconds"] if summary.get("seconds") is not None else "?",
        len(hosts), len(summary.get("changed_hosts") or []), len(summary.get("failed_hosts") or []),
        "  [check]" if summary.get("check") else "")


def report_lines(summary):
    """A run in full, for people: what was asked, then each host, failed hosts first with their message."""
    lines = ["run      : %s" % summary.get("id"),
             "command  : %s" % " ".join(summary.get("argv") or []),
             "playbook : %s%s" % (summary.get("playbook"), " (check mode)" if summary.get("check") else ""),
             "inventory: %s" % ", ".join(summary.get("inventory") or ["(ansible.cfg's)"]),
             "limit    : %s   tags: %s" % (summary.get("limit") or "all", summary.get("tags") or "all"),
             "started  : %s   ended: %s   (%s s)" % (summary.get("started"), summary.get("ended"), summary.get("seconds")),
             "result   : %s (rc %s)" % ("ok" if summary.get("rc") == 0 else "FAILED", summary.get("rc")),
             "artifacts: %s" % summary.get("artifacts"), ""]
    return lines + host_lines(summary, details=True)


def host_lines(summary, details):
    """A line per host (failed first); with details, its plan and the failing task's message under it."""
    lines = []
    for host in summary.get("hosts") or []:
        tasks = host["tasks"]
        lines.append("%-20s %-11s %6s s  ok %d, changed %d, failed %d, unreachable %d, skipped %d" % (
            host["host"], host["result"].upper() if host["failed"] else host["result"],
            host["seconds"] if host["seconds"] is not None else "?", tasks["ok"], tasks["changed"], tasks["failed"],
            tasks["unreachable"], tasks["skipped"]))
        if details and host.get("plan"):
            plan = host["plan"]
            lines.append("    plan: %s %s (%s), %s as %s, %s replica(s)" % (
                plan.get("engine"), plan.get("engine_version"), plan.get("backend"), plan.get("model"),
                plan.get("served_model_name"), plan.get("replicas")))
        if details and host["failed_task"]:
            lines.append("    failed at: %s" % host["failed_task"])
            lines.extend("    " + line for line in (host["message"] or "").splitlines()[:20])
    return lines
