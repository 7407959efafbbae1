"""Bad inputs fail before anything on the host changes, naming the variable and the fix; secrets never print.

Each case runs the real site.yml against a fresh systemd container and asserts: the run fails, the failure
message names the variable (and the fix), 0 tasks changed, and a snapshot of the host (files under /etc, /opt,
/var/lib, /usr/local; installed packages; users and groups) is identical before and after.
"""
import json
import os
import pathlib
import subprocess
import sys

import pytest

from lab_host import CACHE, ROOT, docker
from fixture_loader import replay_options

REPORT = CACHE / "reports"
BASE = {
    "gpt_oss_engine": "llamacpp", "gpt_oss_allow_cpu": True, "gpt_oss_api_key": "guardrail-test-key-0123456789",
    "gpt_oss_ca_bundle": "/etc/gpt-oss-test/ca.pem",
    "gpt_oss_plan_overrides": {"max_model_len": 1024, "max_num_seqs": 2, "gguf_file": "tiny-llama.gguf"},
    "model_weights_source": "controller", "model_weights_controller_dir": str(CACHE / "models" / "tiny-gguf"),
    "preflight_min_free_disk_mib": 512, "inference_server_health_timeout": 120,
}


def replay(name):
    return {k: v for k, v in replay_options(name).items() if v is not None}


# GPU hosts replayed from tests/fixtures/gpus (no engine starts in these cases: each fails before)
GPU = {"gpt_oss_engine": "auto", "gpt_oss_plan_overrides": {}, "preflight_min_shm_mib": 1}

# (case id, variables merged over BASE, text the failure must contain)
CASES = [
    ("unknown-engine", {"gpt_oss_engine": "tensorrt"}, "gpt_oss_engine"),
    ("unknown-model", {"gpt_oss_model": "meta/llama-3-8b"}, "gpt_oss_model"),
    ("port-not-a-number", {"gpt_oss_port": "eighty"}, "gpt_oss_port"),
    ("privileged-port", {"gpt_oss_port": 80}, "gpt_oss_port=80"),
    ("empty-api-key", {"gpt_oss_api_key": ""}, "gpt_oss_api_key must be set"),
    ("short-api-key", {"gpt_oss_api_key": "abc"}, "gpt_oss_api_key must be set"),
    ("public-bind-without-key", {"gpt_oss_bind_address": "0.0.0.0", "gpt_oss_api_key": ""}, "gpt_oss_api_key"),
    ("relative-hf-home", {"gpt_oss_hf_home": "models/hf"}, "gpt_oss_hf_home=models/hf must be an absolute path"),
    ("unwritable-hf-home", {"gpt_oss_hf_home": "/proc/gpt-oss/hf"}, "gpt_oss_hf_home=/proc/gpt-oss/hf cannot be"),
    ("relative-install-root", {"gpt_oss_root": "opt/gpt-oss"}, "gpt_oss_root=opt/gpt-oss must be an absolute"),
    ("vllm-version-not-a-version", {"gpt_oss_vllm_version": "latest"}, "gpt_oss_vllm_version=latest"),
    ("vllm-version-without-rules", {"gpt_oss_vllm_version": "0.99.0"}, "gpt_oss_vllm_version='0.99.0'"),
    ("no-gpu-and-no-cpu-permission", {"gpt_oss_allow_cpu": False}, "gpt_oss_allow_cpu: true"),
    ("tensor-parallel-beyond-gpus", {"gpt_oss_engine": "auto", "gpt_oss_gpu_replay": replay("a100-80gb-2x"),
                                     "gpt_oss_plan_overrides": {"tensor_parallel_size": 4}},
     "tensor_parallel_size=4 but only 2"),
    ("120b-on-a-24gb-card", {"gpt_oss_engine": "auto", "gpt_oss_allow_cpu": False, "gpt_oss_model": "openai/gpt-oss-120b",
                             "gpt_oss_gpu_replay": replay("a10"), "gpt_oss_plan_overrides": {}}, "does not fit on 1 x A10G"),
    ("vllm-on-a-card-it-cannot-serve", {"gpt_oss_engine": "vllm", "gpt_oss_gpu_replay": replay("t4"),
                                        "gpt_oss_plan_overrides": {}}, "gpt_oss_engine: llamacpp"),
    ("misspelled-override", {"gpt_oss_plan_overrides": {"max_model_lenght": 4096}},
     "gpt_oss_plan_overrides.max_model_lenght is not a planner setting"),
    ("malformed-index-url", {"inference_runtime_index_url": "htp:/pypi.internal"}, "inference_runtime_index_url=htp:/pypi.internal"),
    ("malformed-hf-mirror", {"model_weights_hf_endpoint": "mirror.local"}, "model_weights_hf_endpoint=mirror.local"),
    ("missing-staged-weights", {"model_weights_controller_dir": "/nonexistent/weights"}, "model_weights_controller_dir"),
    ("unknown-weights-source", {"model_weights_source": "s3"}, "model_weights_source"),
    ("later-role-bad-type", {"inference_server_health_timeout": "soon"}, "inference_server_health_timeout"),
    ("bad-bind-address", {"gpt_oss_bind_address": "not an address!"}, "gpt_oss_bind_address=not an address!"),
    ("disk-too-small", {"preflight_min_free_disk_mib": 99999999}, "preflight_min_free_disk_mib"),
    ("unsupported-os", {"preflight_supported_os": {"Ubuntu": ["24.04"]}}, "preflight_supported_os"),
    ("port-used-by-another-service", {"gpt_oss_port": 8181}, "port(s) 8181"),
    # fleet inputs
    ("llamacpp-version-not-a-release", {"gpt_oss_llamacpp_version": "latest"}, "gpt_oss_llamacpp_version='latest'"),
    ("extra-arg-the-plan-owns", {"gpt_oss_engine_extra_args": ["--port", "9000"]},
     "gpt_oss_engine_extra_args sets --port, which the plan already sets"),
    ("firewall-not-a-bool", {"inference_server_firewall": "maybe"}, "inference_server_firewall"),
    ("driver-mirror-not-a-url", {"gpu_driver_nvidia_repo_url": "mirror.lab/nvidia"},
     "gpu_driver_nvidia_repo_url=mirror.lab/nvidia"),
    # replayed GPU hosts: the driver role refuses before it touches apt
    ("secure-boot-with-unsigned-dkms", dict(GPU, gpt_oss_gpu_replay=replay("b200-8x"),
                                            gpu_driver_efivars_dir="/etc/gpt-oss-test/efivars-secure-boot-on"),
     "Secure Boot is enabled and this plan builds the GPU kernel module with DKMS"),
    ("proprietary-modules-on-blackwell", dict(GPU, gpt_oss_gpu_replay=replay("b200-8x"),
                                              gpu_driver_nvidia_kernel_modules="proprietary"),
     "gpu_driver_nvidia_kernel_modules=proprietary cannot drive these GPUs"),
    ("ubuntu-driver-route-on-debian", dict(GPU, gpt_oss_gpu_replay=replay("h200"), gpu_driver_nvidia_route="ubuntu"),
     "gpu_driver_nvidia_route=ubuntu installs Canonical's prebuilt modules and needs Ubuntu"),
    ("driver-branch-older-than-the-wheels-need", dict(GPU, gpt_oss_gpu_replay=replay("t4"), gpu_driver_nvidia_branch="550"),
     "gpu_driver_nvidia_branch=550 is older than the plan needs"),
    ("unknown-rocm-version", dict(GPU, gpt_oss_gpu_replay=replay("mi300x-8x-azure"), gpu_driver_rocm_version="9.9"),
     "gpu_driver_rocm_version='9.9'"),
    ("device-user-missing", dict(GPU, gpt_oss_gpu_replay=replay("mi100-2x"), gpu_driver_device_users=["nosuchuser"]),
     "gpu_driver_device_users lists users that do not exist"),
    # llama.cpp's Vulkan backend needs Vulkan headers newer than Debian 12's: refused in the plan, naming the fix
    ("vulkan-build-on-debian-12", dict(GPU, gpt_oss_gpu_replay=replay("rx7900xtx-2x")),
     "vulkan backend cannot be built with Debian 12's packages"),
]


def snapshot(host):
    script = ("find /etc /opt /var/lib /usr/local -xdev \\( -path /var/lib/apt/lists -o -path /var/lib/systemd \\) "
              "-prune -o -printf '%p %s %T@\\n' 2>/dev/null | sort | sha256sum; dpkg -l | sha256sum; "
              "getent passwd group | sha256sum")
    return docker("exec", host, "bash", "-c", script).stdout


def run_site(host, variables, tmp_path, *extra):
    inventory = {"all": {"children": {"gpt_oss_servers": {"hosts": {host: {
        "ansible_connection": "community.docker.docker"}}}}}}
    (tmp_path / "hosts.json").write_text(json.dumps(inventory))
    (tmp_path / "vars.json").write_text(json.dumps(dict(BASE, **variables)))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    if "-vvv" not in extra:
        env.update(ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
    return subprocess.run([str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i",
                           str(tmp_path / "hosts.json"), "-e", "@%s" % (tmp_path / "vars.json"), "site.yml", *extra],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)


def first_failure(output, host):
    for play in output["plays"]:
        for task in play["tasks"]:
            result = task["hosts"].get(host, {})
            if result.get("failed"):
                failed_items = [item for item in result.get("results", [])
                                if item.get("failed") or "exception" in item or item.get("evaluated_to") is False]
                message = failed_items[0].get("msg", "") if failed_items else result.get("msg", "")
                return task["task"]["name"], str(message)
    return None, ""


@pytest.mark.parametrize("case, variables, needle", CASES, ids=[c[0] for c in CASES])
def test_bad_input_fails_before_any_change(lab_host, tmp_path, case, variables, needle):
    blocker = None
    if case == "port-used-by-another-service":
        blocker = subprocess.Popen(["docker", "exec", lab_host, "python3", "-m", "http.server", "8181"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        docker("exec", lab_host, "bash", "-c", "for i in $(seq 50); do (echo > /dev/tcp/127.0.0.1/8181) 2>/dev/null "
               "&& exit 0; sleep 0.2; done; exit 1")
    try:
        before = snapshot(lab_host)
        result = run_site(lab_host, variables, tmp_path)
        after = snapshot(lab_host)
    finally:
        if blocker:
            docker("exec", lab_host, "pkill", "-f", "http.server 8181", check=False)
            blocker.wait(timeout=10)
    assert result.returncode != 0, "the run succeeded with a bad input"
    output = json.loads(result.stdout)
    stats = output["stats"][lab_host]
    task, message = first_failure(output, lab_host)
    REPORT.mkdir(parents=True, exist_ok=True)
    with open(REPORT / "bad-inputs.txt", "a") as report:
        lines = [line.strip() for line in message.strip().splitlines() if line.strip()] or [""]
        shown = next((line for line in lines if needle in line), lines[0])
        report.write("%s | %s | %s\n" % (case, task, shown))
    assert needle in message, (task, message)
    assert stats["changed"] == 0, stats
    assert before == after, "the host changed"


CANARY_KEY = "canary-api-key-7f3e9d2c41b8a6e5"
CANARY_TOKEN = "hf_canaryTokenZq8Wm2Lx5Vn7Rt4Yp"


def test_secrets_never_show_in_a_verbose_converge(lab_host, tmp_path):
    """A full converge at -vvv: the API key and the HF token appear nowhere in the output."""
    result = run_site(lab_host, {"gpt_oss_api_key": CANARY_KEY, "model_weights_hf_token": CANARY_TOKEN}, tmp_path,
                      "-vvv")
    output = result.stdout + result.stderr
    (REPORT / "secret-grep.txt").write_text(
        "converge rc=%d, %d bytes of -vvv output, api key found %d times, hf token found %d times\n"
        % (result.returncode, len(output), output.count(CANARY_KEY), output.count(CANARY_TOKEN)))
    assert result.returncode == 0, output[-3000:]
    assert "censored" in output  # the no_log tasks ran
    assert CANARY_KEY not in output and CANARY_TOKEN not in output
    mode = docker("exec", lab_host, "stat", "-c", "%a %U", "/etc/gpt-oss/gpt-oss-0.env").stdout.split()
    assert mode == ["600", "gpt-oss"]
