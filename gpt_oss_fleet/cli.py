"""gpt-oss-fleet: one command per job, on ansible-runner's Python API.

  gpt-oss-fleet plan     the per-host serving plan (plan.yml; changes nothing)
  gpt-oss-fleet up       converge (site.yml)
  gpt-oss-fleet rollout  upgrade in batches behind the gateway (rollout.yml)
  gpt-oss-fleet status   what each host serves, its health, its last acceptance and benchmark (status.yml)
  gpt-oss-fleet bench    the acceptance checks and the benchmark, now (site.yml --tags server_acceptance)
  gpt-oss-fleet history  past runs, newest first
  gpt-oss-fleet report   one run in full

Every run keeps ansible-runner's artifacts (stdout, events, rc) in the runs directory with a summary.json;
--json prints that summary instead of the text view."""
import argparse
import datetime
import getpass
import json
import os
import shlex
import shutil
import sys
import tempfile
import threading

from gpt_oss_fleet import runs
from gpt_oss_fleet.live import LiveView, progress_text

# The checkout the package is installed from (pip install -e .): its playbooks, roles and ansible.cfg.
PROJECT_DIR = os.environ.get("GPT_OSS_FLEET_PROJECT") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS_DIR = os.environ.get("GPT_OSS_FLEET_RUNS") or os.path.join(
    os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state"), "gpt-oss-fleet", "runs")
# How many runs the runs directory keeps (the oldest go first); 0 keeps every run.
KEEP_RUNS = int(os.environ.get("GPT_OSS_FLEET_KEEP_RUNS") or 200)
# command -> (playbook, the arguments it always adds, what it is)
PLAYBOOKS = {
    "plan": ("plan.yml", [], "print each host's serving plan; changes nothing"),
    "up": ("site.yml", [], "converge the hosts (site.yml)"),
    "rollout": ("rollout.yml", [], "upgrade the fleet in batches behind the gateway (rollout.yml)"),
    "status": ("status.yml", [], "what each host serves, its health and its last acceptance and benchmark"),
    "bench": ("site.yml", ["--tags", "server_acceptance,server_summary", "-e", "inference_server_benchmark=always"],
              "run the acceptance checks and the benchmark now"),
}
VAULT_PROMPT = r"Vault password[^:]*:\s*?$"


def add_run_options(parser):
    parser.add_argument("-i", "--inventory", action="append", default=[],
                        help="inventory file or directory (repeatable; default: ansible.cfg's)")
    parser.add_argument("-e", "--extra-vars", action="append", default=[], metavar="VARS",
                        help="extra variables, key=value or @file (repeatable); put secrets in a file or a vault")
    parser.add_argument("-l", "--limit", help="only these hosts (Ansible's host pattern)")
    parser.add_argument("-t", "--tags", help="only tasks with these tags")
    parser.add_argument("--skip-tags", help="skip tasks with these tags")
    parser.add_argument("-C", "--check", action="store_true", help="change nothing, say what would change")
    parser.add_argument("-D", "--diff", action="store_true", help="show the changes of templated files")
    parser.add_argument("--ask-vault-pass", action="store_true", help="prompt for the vault password")
    parser.add_argument("--vault-password-file", help="the vault password file")
    parser.add_argument("--vault-id", action="append", default=[], help="a vault id (repeatable)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="Ansible's verbosity (-v to -vvvv)")
    parser.add_argument("--json", action="store_true", help="print the run's summary as JSON instead of text")


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="gpt-oss-fleet", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs-dir", default=RUNS_DIR,
                        help="where runs are kept (default: %(default)s, or $GPT_OSS_FLEET_RUNS); the newest "
                             "$GPT_OSS_FLEET_KEEP_RUNS (200) are kept")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, _, text) in PLAYBOOKS.items():
        add_run_options(sub.add_parser(name, help=text, description=text))
    history = sub.add_parser("history", help="past runs, newest first")
    history.add_argument("-n", "--count", type=int, default=20, help="how many (default: %(default)s)")
    history.add_argument("--json", action="store_true")
    report = sub.add_parser("report", help="one run in full")
    report.add_argument("run", nargs="?", default="last", help="the run's id (or a prefix of it; default: last)")
    report.add_argument("--json", action="store_true")
    return parser.parse_args(argv)


def ansible_args(args):
    """The ansible-playbook options of a run command, in ansible-playbook's spelling."""
    out = []
    # ansible-playbook runs in the project's directory: files named relative to the caller's are made absolute
    for value in args.extra_vars:
        out += ["-e", "@" + os.path.abspath(value[1:]) if value.startswith("@") else value]
    for flag, value in (("--limit", args.limit), ("--tags", args.tags), ("--skip-tags", args.skip_tags),
                        ("--vault-password-file", args.vault_password_file and
                         os.path.abspath(args.vault_password_file))):
        if value:
            out += [flag, value]
    for value in args.vault_id:
        label, _, source = value.rpartition("@")
        if source != "prompt":
            source = os.path.abspath(source)
        out += ["--vault-id", "%s@%s" % (label, source) if label else source]
    if args.check:
        out.append("--check")
    if args.diff:
        out.append("--diff")
    if args.ask_vault_pass:
        out.append("--ask-vault-pass")
    if args.verbose:
        out.append("-" + "v" * min(args.verbose, 4))
    return out


def run_env():
    """The project's ansible.cfg, and this venv's ansible-playbook first on PATH (the console script may be run by
    its full path, without the venv activated)."""
    return {"ANSIBLE_CONFIG": os.path.join(PROJECT_DIR, "ansible.cfg"), "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1",
            "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "/usr/bin:/bin")])}


def now_iso():
    return datetime.datetime.now().isoformat()


def new_run_id(command):
    return "%s-%s-%d" % (datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ"), command,
                         os.getpid())


def poll_downloads(view, inventory, stop):
    """While a host waits on its weights download, read the last line of its progress file every 5 s."""
    import ansible_runner
    while not stop.wait(5.0):
        for host, path in view.download_hosts().items():
            private = tempfile.mkdtemp(prefix="gpt-oss-fleet-progress-")
            try:
                result = ansible_runner.run(private_data_dir=private, host_pattern=host, inventory=inventory or None,
                                            module="ansible.builtin.command", module_args="tail -n 1 %s" % path,
                                            cmdline="--become", quiet=True, project_dir=PROJECT_DIR,
                                            envvars=run_env())
                for event in result.events:
                    res = (event.get("event_data") or {}).get("res") or {}
                    text = progress_text(res.get("stdout") or "") if event.get("event") == "runner_on_ok" else None
                    if text:
                        view.set_progress(host, text)
            except Exception:  # progress is a courtesy: the run itself reports any real problem
                pass
            finally:
                shutil.rmtree(private, ignore_errors=True)


def run_playbook(args, argv, out=sys.stdout):
    import ansible_runner
    playbook, fixed, _ = PLAYBOOKS[args.command]
    run_id = new_run_id(args.command)
    os.makedirs(args.runs_dir, exist_ok=True)
    inventory = [os.path.abspath(path) for path in args.inventory]
    cmdline = fixed + ansible_args(args)
    passwords = {}
    if args.ask_vault_pass:
        passwords[VAULT_PROMPT] = getpass.getpass("Vault password: ")
    meta = {"id": run_id, "command": args.command, "argv": runs.redact_args(["gpt-oss-fleet"] + argv),
            "playbook": playbook, "inventory": inventory, "limit": args.limit, "tags": args.tags,
            "check": args.check, "started": now_iso(),
            "artifacts": os.path.join(os.path.abspath(args.runs_dir), run_id)}
    hosts = {}
    collected = {}  # runs.RESULTS: plan tables, server summaries, status records per host
    tty = out.isatty() and not args.json
    view = LiveView(sys.stderr if args.json else out, tty=tty)

    # called on the runner's thread only; the main thread reads hosts and collected after it has ended
    def on_event(event):
        runs.apply_event(hosts, event)
        runs.collect_result(collected, event)
        view.event(event)
        res = (event.get("event_data") or {}).get("res") or {}
        if args.diff and event.get("event") == "runner_on_ok" and res.get("changed"):
            text = runs.diff_text(res)
            if text:
                view.message("--- %s: %s\n%s" % (event["event_data"].get("host"), event["event_data"].get("task"), text))
        return True

    # ansible-runner writes its private data (the command line, extra vars files) here; the runs dir keeps only
    # its artifacts, so nothing passed to a run is left behind beside them
    private = tempfile.mkdtemp(prefix="gpt-oss-fleet-")
    cancelled = threading.Event()
    stop = threading.Event()
    try:
        thread, runner = ansible_runner.run_async(
            private_data_dir=private, project_dir=PROJECT_DIR, playbook=playbook, inventory=inventory or None,
            cmdline=" ".join(shlex.quote(arg) for arg in cmdline), passwords=passwords or None,
            artifact_dir=os.path.abspath(args.runs_dir), ident=run_id, quiet=True, event_handler=on_event,
            cancel_callback=cancelled.is_set, rotate_artifacts=0,
            envvars=run_env())
        poller = threading.Thread(target=poll_downloads, args=(view, inventory, stop), daemon=True)
        poller.start()
        try:
            while thread.is_alive():
                thread.join(1.0)
                view.tick()
        except KeyboardInterrupt:
            cancelled.set()
            out.write("\ncancelling: ansible-playbook is stopped, the hosts keep what it did so far\n")
            thread.join()
    finally:
        stop.set()
        shutil.rmtree(private, ignore_errors=True)
    meta["ended"] = now_iso()
    rc = runner.rc if runner.rc is not None else 1
    if runner.status == "canceled":
        rc = rc or 130
    summary = runs.summarize(meta, hosts, rc, runner.status)
    summary.update(collected)
    redact_command_artifact(summary["artifacts"])
    runs.write_summary(summary["artifacts"], summary)
    runs.prune(args.runs_dir, KEEP_RUNS)
    print_summary(summary, out, args.json)
    return rc if rc else (0 if runner.status == "successful" else 1)


def redact_command_artifact(run_dir):
    """ansible-runner keeps the command line in the artifacts: secret-named -e key=value values are redacted."""
    path = os.path.join(run_dir, "command")
    try:
        with open(path) as handle:
            record = json.load(handle)
        record["command"] = runs.redact_args(record.get("command") or [])
        with open(path, "w") as handle:
            json.dump(record, handle)
    except (OSError, ValueError):
        pass


def status_lines(status):
    lines = ["%-20s %-30s %-14s %-8s %-29s %s" % ("HOST", "ENGINE", "MODEL", "HEALTH", "LAST BENCHMARKED ACCEPTANCE",
                                                  "TOKENS/S")]
    for host in sorted(status):
        record = status[host] or {}
        server = record.get("server") or {}
        acceptance = record.get("acceptance") or {}
        health = record.get("health") or {}
        healthy = sum(1 for code in health.values() if code == 200)
        lines.append("%-20s %-30s %-14s %-8s %-29s %s" % (
            host, "%s %s (%s)" % (server.get("engine"), server.get("engine_version"), server.get("backend"))
            if server else "(not converged)", server.get("served_model_name") or "-",
            "%d/%d up" % (healthy, len(health)) if health else "-",
            "%s %s" % (acceptance.get("time"), "passed" if acceptance.get("passed") else "FAILED")
            if acceptance else "(none yet)",
            acceptance.get("tokens_per_s") if acceptance else "-"))
    return lines


def print_summary(summary, out, as_json):
    if as_json:
        out.write(json.dumps(summary, indent=2, sort_keys=True) + "\n")
        return
    out.write("\n")
    if summary["rc"] != 0 and not summary["hosts"]:  # ansible-playbook failed before any host: its own words
        try:
            with open(os.path.join(summary["artifacts"], "stdout")) as handle:
                out.write("FAILED before any host ran:\n%s\n" % handle.read()[-3000:].strip())
        except OSError:
            out.write("FAILED before any host ran (rc %s), and ansible-playbook wrote nothing\n" % summary["rc"])
    # a failure comes first: the failed hosts and their messages, then everything else
    for host in summary["hosts"]:
        if host["failed"]:
            out.write("FAILED %s at %s:\n  %s\n" % (host["host"], host["failed_task"],
                                                    "\n  ".join((host["message"] or "").splitlines()[:20])))
    for host, table in sorted((summary.get("plan_tables") or {}).items()):
        if summary["command"] == "plan":
            out.write("%s\n%s\n" % (host, table if isinstance(table, str) else "\n".join(table)))
    for host, lines in sorted((summary.get("server_summaries") or {}).items()):
        out.write("\n".join(lines) + "\n\n")
    if summary.get("host_status"):
        out.write("\n".join(status_lines(summary["host_status"])) + "\n")
    out.write("\n".join(runs.host_lines(summary, details=False)) + "\n")
    out.write("%s in %s s: %d hosts, %d changed, %d failed. Record: gpt-oss-fleet report %s\n" % (
        "ok" if summary["rc"] == 0 else "FAILED (rc %s)" % summary["rc"], summary.get("seconds"),
        len(summary["hosts"]), len(summary["changed_hosts"]), len(summary["failed_hosts"]), summary["id"]))


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.command == "history":
        rows = runs.history(args.runs_dir, args.count)
        if args.json:
            print(json.dumps(rows, indent=2, sort_keys=True))
        elif not rows:
            print("no runs yet in %s" % args.runs_dir)
        else:
            print("\n".join(runs.history_line(row) for row in rows))
        return 0
    if args.command == "report":
        try:
            summary = runs.read_summary(args.runs_dir, args.run)
        except LookupError as error:
            print("gpt-oss-fleet report: %s" % error, file=sys.stderr)
            return 2
        lines = runs.report_lines(summary) + (status_lines(summary["host_status"]) if summary.get("host_status") else [])
        print(json.dumps(summary, indent=2, sort_keys=True) if args.json else "\n".join(lines))
        return 0
    return run_playbook(args, argv)


if __name__ == "__main__":
    sys.exit(main())
