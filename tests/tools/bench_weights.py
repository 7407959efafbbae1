#!/usr/bin/env python3
"""Weights at wire speed? The hf_snapshot module against curl, same files, same mirror, in one run.

Starts the hub stand-in on the suite's stand-in repositories and, RUNS times in alternating order, fetches the files
the model_weights role selects for REPO (its default patterns for safetensors repositories) two ways into empty
directories on the same disk:
  curl    one process, one connection, every file to disk (what a plain script does; nothing is verified)
  module  the real hf_snapshot module through `ansible localhost -m hf_snapshot` (metadata, download, sha256/sha1
          verification, cache layout); its rate is taken from its own wall clock (`seconds` in its result,
          metadata included), Ansible's start-up is reported beside it
--rate-mib limits each HTTP response of the stand-in (a mirror or CDN that caps each connection).
--in-process calls the module's logic (module_utils/hf_download.py, standard library only) without Ansible, for a
machine that has Python and curl but not the controller venv (the lent GPU machine: tests/device/weights-bench).
Appends one line to REPORT per setting, with the medians and the ratio module/curl.

usage: bench_weights.py REPORT [--runs N] [--rate-mib R] [--repo ORG/NAME] [--hub-repos DIR] [--in-process]
"""
import argparse
import fnmatch
import json
import os
import pathlib
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
CACHE = pathlib.Path(os.environ.get("FLEET_CACHE", "/var/cache/gpt-oss-fleet"))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_standin(rate_mib, hub_repos):
    port = free_port()
    process = subprocess.Popen([sys.executable, str(ROOT / "tests/tools/hub_standin.py"), str(hub_repos),
                                "--host", "127.0.0.1", "--port", str(port), "--rate-mib", str(rate_mib)],
                               stdout=subprocess.DEVNULL)
    url = "http://127.0.0.1:%d" % port
    for _ in range(600):
        try:
            urllib.request.urlopen(url + "/_stats", timeout=5).close()
            return process, url
        except OSError:
            time.sleep(0.1)
    sys.exit("hub stand-in did not start")


def sent_bytes(url):
    with urllib.request.urlopen(url + "/_stats?reset=1", timeout=5) as response:
        return json.loads(response.read())["total_bytes"]


def wanted_files(url, repo, patterns):
    with urllib.request.urlopen("%s/api/models/%s/revision/main" % (url, repo), timeout=10) as response:
        info = json.loads(response.read())
    files = [(s["rfilename"], s["size"]) for s in info["siblings"]
             if any(fnmatch.fnmatch(s["rfilename"], p) for p in patterns)]
    return info["sha"], sorted(files)


def run_curl(url, repo, commit, files, folder):
    argv = ["curl", "-sS", "--fail"]
    for name, _ in files:
        argv += ["-o", str(folder / name), "%s/%s/resolve/%s/%s" % (url, repo, commit, name)]
    began = time.monotonic()
    subprocess.run(argv, check=True)
    seconds = time.monotonic() - began
    got = sum((folder / name).stat().st_size for name, _ in files)
    return seconds, got


def run_in_process(url, repo, patterns, hf_home, ranges_per_stream=None):
    sys.path.insert(0, str(ROOT / "module_utils"))
    import hf_download  # pylint: disable=import-outside-toplevel
    if ranges_per_stream:
        hf_download.RANGES_PER_STREAM = ranges_per_stream
    began = time.monotonic()
    output = hf_download.ensure_snapshot(hf_download.Hub(url), repo, "main", str(hf_home), patterns=patterns)
    return output["seconds"], time.monotonic() - began, output["bytes_fetched"]


def run_module(url, repo, patterns, hf_home):
    args = {"repo": repo, "revision": "main", "hf_home": str(hf_home), "endpoint": url, "allow_patterns": patterns}
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    began = time.monotonic()
    result = subprocess.run([str(pathlib.Path(sys.executable).parent / "ansible"), "localhost", "-m", "hf_snapshot",
                             "-a", json.dumps(args)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    wall = time.monotonic() - began
    output = json.loads(result.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    if output.get("failed") or not output.get("changed"):
        sys.exit("hf_snapshot did not fetch: %s" % output.get("msg", output))
    return output["seconds"], wall, output["bytes_fetched"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate-mib", type=float, default=0)
    parser.add_argument("--repo", default="openai/gpt-oss-20b")
    parser.add_argument("--hub-repos", default=str(CACHE / "hub-repos"))
    parser.add_argument("--in-process", action="store_true")
    parser.add_argument("--ranges-per-stream", type=int, help="with --in-process: the module's RANGES_PER_STREAM")
    args = parser.parse_args()
    if args.in_process:
        patterns = ["*"]
        fetch = lambda *a: run_in_process(*a, ranges_per_stream=args.ranges_per_stream)  # noqa: E731
    else:
        import yaml  # pylint: disable=import-outside-toplevel
        defaults = yaml.safe_load((ROOT / "roles/model_weights/defaults/main.yml").read_text())
        patterns = defaults["model_weights_allow_patterns"]["safetensors"]
        fetch = run_module
    standin, url = start_standin(args.rate_mib, args.hub_repos)
    work = pathlib.Path(tempfile.mkdtemp(prefix="bench-weights-", dir=os.environ.get("TMPDIR", "/var/tmp")))
    curl_s, module_s, module_wall = [], [], []
    try:
        commit, files = wanted_files(url, args.repo, patterns)
        total = sum(size for _, size in files)
        sent_bytes(url)
        for run in range(args.runs):
            for way in (("curl", "module") if run % 2 == 0 else ("module", "curl")):
                folder = work / ("%s-%d" % (way, run))
                folder.mkdir()
                # each run starts with nothing left to write back (the previous run's 588 MiB, or what the suite wrote
                # before): otherwise the writeback competes with whichever side runs next, untimed by either
                os.sync()
                if way == "curl":
                    seconds, got = run_curl(url, args.repo, commit, files, folder)
                    curl_s.append(seconds)
                else:
                    seconds, wall, got = fetch(url, args.repo, patterns, folder / "hf")
                    module_s.append(seconds)
                    module_wall.append(wall)
                sent = sent_bytes(url)
                if got != total or sent != total:
                    sys.exit("%s: %d bytes on disk, %d sent by the stand-in, %d expected" % (way, got, sent, total))
                shutil.rmtree(folder)
    finally:
        standin.terminate()
        standin.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    mib = total / 1048576.0
    curl_rate, module_rate = mib / statistics.median(curl_s), mib / statistics.median(module_s)
    setting = "each response capped at %g MiB/s" % args.rate_mib if args.rate_mib else "no cap"
    if args.ranges_per_stream:
        setting += ", %d ranges per stream" % args.ranges_per_stream
    line = ("weights (%s, %d files, %.0f MiB, %s, median of %d, %d CPUs): hf_snapshot %.0f MiB/s verified (module "
            "%.2f s, %s %.2f s) vs curl %.0f MiB/s unverified (%.2f s): %.2fx curl"
            % (args.repo, len(files), mib, setting, args.runs, os.cpu_count(), module_rate, statistics.median(module_s),
               "called in-process" if args.in_process else "with Ansible's start", statistics.median(module_wall),
               curl_rate, statistics.median(curl_s), module_rate / curl_rate))
    print(line)
    os.makedirs(os.path.dirname(os.path.abspath(args.report)), exist_ok=True)
    with open(args.report, "a") as handle:
        handle.write(line + "\n")


if __name__ == "__main__":
    main()
