#!/usr/bin/env python3
"""The project's own engine-gate functions (module_utils/engine_gate.py, module_utils/elf_deps.py) applied to
real outputs, the way library/engine_gate.py applies them, without Ansible (through the shim beside this file).

Each check has an expectation; the script prints one verdict line per check ("PASS"/"FAIL"/"SKIP"), writes them all
as JSON to --out, and exits 0 only when every check that ran met its expectation.

  --plan      the plan JSON (make_plan.py); its build.gate is what the gate compares with
  --binary    the built llama-server: its DT_NEEDED entries (elf_deps) must contain the gate's library
  --devices   `llama-server --list-devices` stdout with the replica's device selection: must list a device
  --hidden    the same with no device visible: the install gate must refuse it
  --serving   a replica log with every layer requested on the GPU: the serving gate must accept it
  --cpu-log   a replica log with -ngl 0: the serving gate must refuse it
  --no-offload-log  a log with no 'offloaded' line: the serving gate must refuse it (optional)
  --smi       `nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits`: parsed; with
              --server-pid, reports whether that pid holds GPU memory (informational, the llama.cpp gate reads
              the log instead)
"""
import argparse
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "shim"))

from ansible.module_utils.elf_deps import ElfError, needed_libraries_of_file  # noqa: E402
from ansible.module_utils.engine_gate import (  # noqa: E402
    GateError, failure_message, install_problems, parse_list_devices, parse_nvidia_compute_apps, parse_offload,
    serving_problems,
)

results = []


def record(name, expect, problems, detail=None, error=None):
    """expect 'accept' (no problems) or 'refuse' (problems) or 'info'."""
    if expect == "info":
        verdict = "INFO"
    elif error is not None:
        verdict = "FAIL"
    else:
        verdict = "PASS" if (not problems) == (expect == "accept") else "FAIL"
    entry = {"check": name, "expect": expect, "verdict": verdict, "problems": problems, "detail": detail,
             "error": error}
    results.append(entry)
    print("%-4s %-34s expect=%-6s problems=%s%s%s" % (
        verdict, name, expect, json.dumps(problems), "" if detail is None else " detail=%s" % json.dumps(detail),
        "" if error is None else " ERROR=%s" % error))


def text(path):
    with open(path, errors="replace") as handle:
        return handle.read()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--plan", required=True)
    for name in ("binary", "devices", "hidden", "serving", "cpu_log", "no_offload_log", "smi", "out"):
        p.add_argument("--" + name.replace("_", "-"))
    p.add_argument("--server-pid", type=int)
    p.add_argument("--label", default="")
    a = p.parse_args()

    plan = json.loads(text(a.plan))
    gate = plan["build"]["gate"]
    print("gate (plan.build.gate): %s" % json.dumps(gate, sort_keys=True))
    summary = "llama.cpp %s on %s" % (plan["build"].get("source", {}).get("build", "?"), gate["backend"])
    replica = plan["replicas"][0]["name"] if plan.get("replicas") else "gpt-oss-0"
    host = plan.get("host") or "host"

    libraries = None
    if a.binary:
        try:
            libraries = needed_libraries_of_file(a.binary)
            problems = install_problems(gate, {"libraries": libraries, "what": "llama-server", "devices": None})
            record("install: binary links %s" % gate["library"], "accept", problems, {"needed": libraries})
        except (OSError, ElfError) as error:
            record("install: binary links %s" % gate["library"], "accept", [], error=str(error))

    devices = None
    if a.devices:
        try:
            devices = parse_list_devices(text(a.devices))
            problems = install_problems(gate, {"libraries": libraries or [gate["library"]], "devices": devices,
                                               "what": "llama-server", "check_devices": True})
            record("install: --list-devices (visible)", "accept", problems,
                   {"devices": ["%s%d: %s" % d for d in devices],
                    "libraries_from": "binary" if libraries is not None else "assumed (no --binary)"})
            if problems:
                print("     would fail the host: " + failure_message(host, summary, problems, "(fix)"))
        except GateError as error:
            record("install: --list-devices (visible)", "accept", [], error=str(error))

    if a.hidden:
        try:
            hidden = parse_list_devices(text(a.hidden))
            # the library is taken as found here, so that only the device list decides this check
            problems = install_problems(gate, {"libraries": [gate["library"]], "devices": hidden,
                                               "what": "llama-server", "check_devices": True})
            record("install: --list-devices (none)", "refuse", problems, {"devices": ["%s%d: %s" % d for d in hidden]})
            if problems:
                print("     would fail the host: " + failure_message(host, summary, problems, "(fix)"))
        except GateError as error:
            record("install: --list-devices (none)", "refuse", [], error=str(error))

    for flag, name, expect in ((a.serving, "serving: -ngl 999 log", "accept"),
                               (a.cpu_log, "serving: -ngl 0 log", "refuse"),
                               (a.no_offload_log, "serving: log without offload line", "refuse")):
        if not flag:
            continue
        offload = parse_offload(text(flag))
        problems = serving_problems(gate, replica, {"offload": offload})
        record(name + a.label, expect, problems, {"offload": offload})
        if problems:
            print("     would fail the host: " + failure_message(host, summary, problems, "(fix)"))

    if a.smi:
        try:
            held = parse_nvidia_compute_apps(text(a.smi))
            detail = {"held_mib_by_pid": {str(k): v for k, v in sorted(held.items())}, "server_pid": a.server_pid,
                      "server_pid_holds_gpu_memory": bool(a.server_pid and held.get(a.server_pid))}
            record("nvidia-smi compute apps", "info", [], detail)
        except GateError as error:
            record("nvidia-smi compute apps", "info", [], error=str(error))

    if a.out:
        with open(a.out, "w") as handle:
            json.dump({"gate": gate, "results": results}, handle, indent=1, sort_keys=True)
    failed = [r for r in results if r["verdict"] == "FAIL"]
    print("gate checks: %d run, %d failed" % (len(results), len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
