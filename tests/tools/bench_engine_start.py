#!/usr/bin/env python3
"""Time an engine's start to a healthy /health with and without its modules' bytecode, in one run.

The replicas run as a user that cannot write __pycache__ into the root-owned venv, so without bytecode from the
install every start compiles the engine's modules again. The same venv serves both cases: "without" points Python's
bytecode cache at an empty directory it may not write (PYTHONPYCACHEPREFIX + PYTHONDONTWRITEBYTECODE), which is
what the replicas' user sees in a venv installed without --compile-bytecode.

usage: bench_engine_start.py REPORT PORT RUNS -- COMMAND...   (COMMAND serves on 127.0.0.1:PORT)
"""
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request


def start_time(command, port, env, log):
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    began = time.monotonic()
    try:
        while time.monotonic() - began < 900:
            if process.poll() is not None:
                sys.exit("the engine exited with %s before it was healthy (log: %s): %s"
                         % (process.returncode, log.name, command))
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/health" % port, timeout=2) as response:
                    if response.status == 200:
                        return time.monotonic() - began
            except OSError:
                pass
            time.sleep(0.5)
        sys.exit("not healthy after 900 s")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(60)


def main():
    report, port, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    command = sys.argv[sys.argv.index("--") + 1:]
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    results = {"with bytecode": [], "without bytecode": []}
    with tempfile.TemporaryDirectory() as empty:
        os.chmod(empty, 0o555)
        cases = {"with bytecode": dict(base, PYTHONDONTWRITEBYTECODE="1"),
                 "without bytecode": dict(base, PYTHONDONTWRITEBYTECODE="1", PYTHONPYCACHEPREFIX=empty)}
        with open(report + ".engine.log", "w") as log:
            for _ in range(runs):  # interleaved, so that a change in the machine's load hits both alike
                for name, env in cases.items():
                    results[name].append(start_time(command, port, env, log))
    best = {name: min(times) for name, times in results.items()}
    lines = ["engine start to /health, %d runs each, interleaved: %s" % (runs, " ".join(command[:3]))]
    lines += ["  %-17s %s s (best %.1f s)" % (name, ", ".join("%.1f" % t for t in times), best[name])
              for name, times in results.items()]
    lines.append("  ratio without/with (best of each): %.2f" % (best["without bytecode"] / best["with bytecode"]))
    with open(report, "a") as handle:
        handle.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
