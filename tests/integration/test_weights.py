"""The real hf_snapshot module (through ansible) against the hub stand-in serving a tiny GptOss model plus a
512 MiB synthetic safetensors file: fetch and verify, no bytes on a second run, check mode, a download killed
half-way resumes, a corrupted blob is re-fetched, huggingface_hub reads the result offline.
Byte counts come from the stand-in's own counters and are written to reports/weights.txt."""
import fnmatch
import hashlib
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import yaml
from ansible.module_utils.serving_planner import weights_location

from lab_host import CACHE, ROOT

HUB_REPOS = CACHE / "hub-repos"
REPO = "openai/gpt-oss-20b"
# The model_weights role's default for safetensors repositories, so the module fetches what a host would.
PATTERNS = yaml.safe_load((ROOT / "roles/model_weights/defaults/main.yml").read_text())[
    "model_weights_allow_patterns"]["safetensors"]
LARGE = "synthetic-large.safetensors"
REPORT = CACHE / "reports" / "weights.txt"


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Standin(object):
    def __init__(self, rate_mib=0, ignore_ranges=False, corrupt_once=False):
        self.port = _free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "tests/tools/hub_standin.py"), str(HUB_REPOS), "--host", "127.0.0.1",
             "--port", str(self.port), "--rate-mib", str(rate_mib)] + (["--ignore-ranges"] if ignore_ranges else [])
            + (["--corrupt-once"] if corrupt_once else []),
            stdout=subprocess.PIPE, text=True)
        for _ in range(300):
            try:
                self.stats(reset=True)
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("hub stand-in did not start")

    def stats(self, reset=False):
        with urllib.request.urlopen(self.url + "/_stats" + ("?reset=1" if reset else ""), timeout=5) as response:
            return json.loads(response.read())

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def hub():
    if not (HUB_REPOS / REPO / LARGE).exists():
        pytest.fail("no stand-in repositories: run tests/tools/make_hub_repo.py (tests/run-all.sh does)")
    standin = Standin()
    yield standin
    standin.stop()


def module_argv(hub_url, hf_home, check=False, revision="main", streams=None):
    args = {"repo": REPO, "revision": revision, "hf_home": str(hf_home), "endpoint": hub_url,
            "allow_patterns": PATTERNS, "progress_file": str(hf_home) + ".progress"}
    if streams is not None:
        args["streams"] = streams
    return [str(pathlib.Path(sys.executable).parent / "ansible"), "localhost", "-m", "hf_snapshot",
            "-a", json.dumps(args)] + (["--check"] if check else [])


def module_env():
    return dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
                ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_LOCALHOST_WARNING="0",
                ANSIBLE_INVENTORY_UNPARSED_WARNING="0")


def run_module(hub_url, hf_home, check=False, revision="main", streams=None):
    result = subprocess.run(module_argv(hub_url, hf_home, check, revision, streams), cwd=ROOT, env=module_env(), capture_output=True,
                            text=True, timeout=600)
    output = json.loads(result.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    assert not output.get("failed"), output.get("msg")
    return output


def descendants(root):
    """Every process below `root` (the module runs in its own session, so a process-group kill misses it)."""
    children = {}
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def repo_size():
    """Bytes of the stand-in's files that the patterns select (counted from the files, not from the module)."""
    folder = HUB_REPOS / REPO
    return sum(p.stat().st_size for p in folder.iterdir()
               if any(fnmatch.fnmatch(p.name, pattern) for pattern in PATTERNS))


def sysctl_max(name):
    return int(pathlib.Path("/proc/sys", name).read_text().split()[-1])


def large_sha256():
    digest = hashlib.sha256()
    with open(HUB_REPOS / REPO / LARGE, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def blob_of(result, path):
    entry = next(f for f in result["files"] if f["path"] == path)
    return pathlib.Path(result["snapshot_dir"]).parents[1] / "blobs" / entry["etag"], entry


def report(line):
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    with open(REPORT, "a") as handle:
        handle.write(line + "\n")


def test_fetch_verify_and_a_second_run_sends_nothing(hub, tmp_path):
    hf_home = tmp_path / "hf"
    check = run_module(hub.url, hf_home, check=True)
    assert check["changed"] and check["bytes_to_fetch"] == repo_size()
    assert not hf_home.exists(), "check mode wrote to disk"
    assert hub.stats(reset=True)["total_bytes"] == 0

    first = run_module(hub.url, hf_home)
    sent = hub.stats(reset=True)
    assert first["changed"] and first["bytes_fetched"] == repo_size() == sent["total_bytes"]
    blob, entry = blob_of(first, LARGE)
    assert entry["etag"] == large_sha256() and blob.stat().st_size == entry["size"]
    snapshot = pathlib.Path(first["snapshot_dir"])
    assert (snapshot / LARGE).resolve() == blob.resolve()
    assert (snapshot.parents[1] / "refs" / "main").read_text() == first["commit"]

    second = run_module(hub.url, hf_home)
    again = hub.stats(reset=True)
    assert not second["changed"] and second["bytes_fetched"] == 0 and again["total_bytes"] == 0
    assert not run_module(hub.url, hf_home, check=True)["changed"]
    progress = [json.loads(line) for line in open(str(hf_home) + ".progress")]
    assert progress[-1]["done_bytes"] == progress[-1]["total_bytes"] == repo_size()
    report("fresh fetch: %d bytes sent for a %d-byte repository (%.0f MiB/s); second run: %d bytes sent, changed=%s"
           % (sent["total_bytes"], repo_size(), first["rate_mib_s"], again["total_bytes"], second["changed"]))

    # what an engine does at start with HF_HUB_OFFLINE=1
    code = ("from huggingface_hub import snapshot_download, hf_hub_download, scan_cache_dir\n"
            "print(snapshot_download(%r, revision='main'))\n"
            "print(hf_hub_download(%r, 'config.json'))\n"
            "print(len(scan_cache_dir().warnings))" % (REPO, REPO))
    offline = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, HF_HUB_OFFLINE="1",
                                                                     HF_HOME=str(hf_home)),
                             capture_output=True, text=True, timeout=60)
    assert offline.returncode == 0, offline.stderr
    lines = offline.stdout.split()
    assert lines[0] == first["snapshot_dir"] and lines[1].endswith("config.json") and lines[2] == "0"


def test_a_download_killed_half_way_resumes(tmp_path):
    slow = Standin(rate_mib=150)
    try:
        hf_home = tmp_path / "hf"
        size = (HUB_REPOS / REPO / LARGE).stat().st_size
        process = subprocess.Popen(module_argv(slow.url, hf_home), cwd=ROOT, env=module_env(),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 120
        while slow.stats()["bytes"].get("%s/%s" % (REPO, LARGE), 0) < size // 2:
            assert time.time() < deadline and process.poll() is None, "the download ended before half-way"
            time.sleep(0.05)
        for pid in [process.pid] + descendants(process.pid):  # Ansible and the module it started, at once
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.wait(timeout=30)
        time.sleep(1)  # the stand-in's threads count what they wrote before they saw the connections close
        before = slow.stats(reset=True)["bytes"].get("%s/%s" % (REPO, LARGE), 0)
        partial = list((hf_home / "hub").rglob("*.incomplete"))
        assert partial and partial[0].stat().st_size > 0
        # the file came as parallel ranges (eight of 64 MiB, four at a time): what each holds is recorded beside it
        ranges = json.loads((partial[0].parent / (partial[0].name + ".ranges")).read_text())
        assert len(ranges) == 8 and sum(1 for _, _, done in ranges if done) >= 2, ranges

        # check mode's promise, from the record: exactly the bytes the re-run then asks for
        promised = run_module(slow.url, hf_home, check=True)["bytes_to_fetch"]
        # a re-run with one stream honours the ranges the interrupted run recorded
        result = run_module(slow.url, hf_home, streams=1)
        after = slow.stats()["bytes"].get("%s/%s" % (REPO, LARGE), 0)
        blob, entry = blob_of(result, LARGE)
        assert entry["action"] == "resumed" and result["bytes_reused"] > 0
        assert promised == result["bytes_fetched"] == after == size - result["bytes_reused"], (
            promised, result["bytes_fetched"], after, size - result["bytes_reused"])
        # sent twice: only what was in flight when the module died (the stand-in counts bytes the kernel accepted;
        # each connection's socket buffers hold at most rmem + wmem, and the module holds one read block)
        in_flight = 4 * (sysctl_max("net/ipv4/tcp_rmem") + sysctl_max("net/ipv4/tcp_wmem") + (4 << 20))
        assert before + after - size <= in_flight, (before, after, size, in_flight)
        digest = hashlib.sha256(blob.read_bytes()).hexdigest()
        assert digest == entry["etag"] == large_sha256()
        assert not [p for p in (hf_home / "hub").rglob("*") if ".incomplete" in p.name]
        report("interrupted at %d of %d bytes, fetched as 8 ranges 4 at a time (SIGKILL to ansible and the module); check mode "
               "promised %d, the re-run (1 stream) sent exactly that: %d in all, %.1f%% over the file size (in flight at "
               "the kill; bound from the socket buffers %d); sha256 matches"
               % (before, size, promised, before + after, 100.0 * (before + after - size) / size, in_flight))
    finally:
        slow.stop()


def test_a_server_without_ranges_gets_one_stream(tmp_path):
    """A mirror that answers a range request with the whole file: the large file falls back to one stream, is
    verified, and the bytes wasted on the refused ranges stay small."""
    plain = Standin(ignore_ranges=True)
    try:
        result = run_module(plain.url, tmp_path / "hf")
        sent = plain.stats()["total_bytes"]
    finally:
        plain.stop()
    blob, entry = blob_of(result, LARGE)
    assert entry["action"] == "fetched" and entry["etag"] == large_sha256()
    assert hashlib.sha256(blob.read_bytes()).hexdigest() == entry["etag"]
    assert result["bytes_fetched"] == repo_size() <= sent <= repo_size() * 1.10, (result["bytes_fetched"], sent)
    assert not [p for p in (tmp_path / "hf" / "hub").rglob("*") if ".incomplete" in p.name]
    report("a server without range support: one stream for the %d-byte file, sha256 matches; %d bytes sent for a "
           "%d-byte selection (%.1f%% spent on the refused ranges)"
           % (entry["size"], sent, repo_size(), 100.0 * (sent - repo_size()) / repo_size()))


def test_a_byte_corrupted_in_transit_is_caught_and_fetched_again(tmp_path):
    """The stand-in flips one byte of the first response carrying the large file's middle: the hash that follows the
    ranges catches it, the file is fetched again within the run, and only a good copy lands."""
    flaky = Standin(corrupt_once=True)
    try:
        result = run_module(flaky.url, tmp_path / "hf")
        sent = flaky.stats()["bytes"]["%s/%s" % (REPO, LARGE)]
    finally:
        flaky.stop()
    blob, entry = blob_of(result, LARGE)
    assert hashlib.sha256(blob.read_bytes()).hexdigest() == entry["etag"] == large_sha256()
    assert sent == 2 * entry["size"], (sent, entry["size"])  # once corrupted, once whole
    assert not [p for p in (tmp_path / "hf" / "hub").rglob("*") if ".incomplete" in p.name]
    report("one byte flipped in transit (the middle of the %d-byte file): caught by the hash, fetched again in the same "
           "run (%d bytes sent), sha256 matches" % (entry["size"], sent))


def test_a_corrupted_blob_is_detected_and_refetched(hub, tmp_path):
    hf_home = tmp_path / "hf"
    first = run_module(hub.url, hf_home)
    hub.stats(reset=True)
    blob, entry = blob_of(first, LARGE)
    with open(blob, "r+b") as handle:  # flip one byte in the middle
        handle.seek(entry["size"] // 2)
        value = handle.read(1)
        handle.seek(entry["size"] // 2)
        handle.write(bytes([value[0] ^ 0xFF]))
    result = run_module(hub.url, hf_home)
    sent = hub.stats(reset=True)
    actions = {f["path"]: f["action"] for f in result["files"]}
    assert actions[LARGE] == "re-fetched (corrupt)", actions
    assert {a for p, a in actions.items() if p != LARGE} == {"present"}
    assert sent["total_bytes"] == entry["size"]
    assert hashlib.sha256(blob.read_bytes()).hexdigest() == entry["etag"]
    report("flipped one byte of the %d-byte blob: detected, only that file re-fetched (%d bytes), sha256 matches"
           % (entry["size"], sent["total_bytes"]))


def test_a_pull_request_revision_lands_where_the_plan_and_huggingface_hub_look(hub, tmp_path):
    """refs/pr/1 is never joined into a path raw: the ref file is refs/refs/pr/1 (huggingface_hub's layout), the
    snapshot alias the plan names is refs--pr--1, and huggingface_hub itself finds the snapshot offline."""
    hf_home = tmp_path / "hf"
    result = run_module(hub.url, hf_home, revision="refs/pr/1")
    planned = weights_location(REPO, "safetensors", str(hf_home), "refs/pr/1")
    folder = pathlib.Path(result["snapshot_dir"]).parents[1]
    assert (folder / "refs" / "refs" / "pr" / "1").read_text() == result["commit"]
    assert pathlib.Path(planned["snapshot_dir"]).resolve() == pathlib.Path(result["snapshot_dir"]).resolve()
    assert pathlib.Path(planned["snapshot_dir"]).name == "refs--pr--1"
    assert not any(p.name == ".." for p in folder.rglob("*"))
    code = "from huggingface_hub import snapshot_download\nprint(snapshot_download(%r, revision='refs/pr/1'))" % REPO
    offline = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, HF_HUB_OFFLINE="1",
                                                                     HF_HOME=str(hf_home)),
                             capture_output=True, text=True, timeout=60)
    assert offline.returncode == 0, offline.stderr
    assert offline.stdout.split()[0] == result["snapshot_dir"]


def test_unknown_revision_names_the_variable(hub, tmp_path):
    args = {"repo": REPO, "revision": "no-such-branch", "hf_home": str(tmp_path / "hf"), "endpoint": hub.url}
    result = subprocess.run([str(pathlib.Path(sys.executable).parent / "ansible"), "localhost", "-m", "hf_snapshot",
                             "-a", json.dumps(args)], cwd=ROOT, env=module_env(), capture_output=True, text=True,
                            timeout=120)
    output = json.loads(result.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    assert output["failed"] and "gpt_oss_model_revision" in output["msg"]


def test_controller_downloads_once_and_pushes(hub, lab_host, tmp_path):
    """source=controller without a staged directory: the controller fetches the snapshot once (from the stand-in,
    which only the controller can reach here) and site.yml pushes it; a second converge fetches nothing."""
    from test_guardrails import run_site
    variables = {"model_weights_controller_dir": "", "model_weights_controller_cache": str(tmp_path / "controller-hf"),
                 "model_weights_hf_endpoint": hub.url}
    hub.stats(reset=True)
    first = run_site(lab_host, variables, tmp_path)
    assert first.returncode == 0, first.stdout[-3000:]
    sent = hub.stats(reset=True)
    gguf = HUB_REPOS / "ggml-org" / "gpt-oss-20b-GGUF" / "tiny-llama.gguf"
    assert sent["bytes"] == {"ggml-org/gpt-oss-20b-GGUF/tiny-llama.gguf": gguf.stat().st_size}
    second = run_site(lab_host, variables, tmp_path)
    assert second.returncode == 0
    assert hub.stats(reset=True)["total_bytes"] == 0
    assert json.loads(second.stdout)["stats"][lab_host]["changed"] == 0
    report("controller source: the controller fetched %d bytes once and pushed them; a second converge fetched 0 "
           "bytes, changed=0" % sent["total_bytes"])
