"""The replica unit, rendered from the real template for each backend, scores <= 3.0 on
`systemd-analyze security --offline` (the GPU units must keep the device nodes, so they score higher)."""
import pathlib
import re
import shutil
import subprocess

import jinja2
import pytest
from ansible.module_utils.serving_planner import build_serving_plan

from fixture_loader import load_facts

ROOT = pathlib.Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "roles/inference_server/templates/replica.service.j2"
PLANS = {
    "vllm-cuda": lambda: build_serving_plan(load_facts("h200")),
    "vllm-rocm": lambda: build_serving_plan(load_facts("mi300x-8x-azure")),
    "llamacpp-vulkan": lambda: build_serving_plan(load_facts("rx6800")),
    "vllm-cpu": lambda: build_serving_plan({"devices": []}, engine="vllm", allow_cpu=True, vllm_version="0.32.0"),
    "llamacpp-cpu": lambda: build_serving_plan({"devices": []}, allow_cpu=True),
}


def render(plan):
    template = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True).from_string(
        TEMPLATE.read_text())
    return template.render(ansible_managed="test", gpt_oss_plan=plan, replica=plan["replicas"][0],
                           gpt_oss_service_user="gpt-oss", gpt_oss_config_dir="/etc/gpt-oss",
                           gpt_oss_state_dir="/var/lib/gpt-oss", gpt_oss_hf_home="/var/lib/gpt-oss/hf",
                           inference_server_timeout_start_sec=300,
                           ansible_facts={"getent_group": {"video": [], "render": []}})


def exposure(unit_path):
    result = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", str(unit_path)],
                            capture_output=True, text=True)
    match = re.search(r"Overall exposure level for \S+: ([\d.]+)", result.stdout)
    assert match, result.stdout[-1000:] + result.stderr[-1000:]
    return float(match.group(1))


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
@pytest.mark.parametrize("flavour", sorted(PLANS))
def test_unit_exposure_is_at_most_3(tmp_path, flavour):
    plan = PLANS[flavour]()
    unit = tmp_path / ("gpt-oss-test-%s.service" % flavour)
    unit.write_text(render(plan))
    score = exposure(unit)
    (tmp_path / "score").write_text(str(score))
    print("%s: exposure %.1f" % (flavour, score))
    assert score <= 3.0
    if plan["backend"] == "cpu":
        assert "PrivateDevices=yes" in unit.read_text()
    else:
        assert "DevicePolicy=closed" in unit.read_text()
