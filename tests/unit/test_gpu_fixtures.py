"""Every captured host: the facts gpu_facts derives and the plan serving_plan makes are asserted."""
import pytest
from ansible.module_utils.serving_planner import PlanError, build_serving_plan

from fixture_loader import FIXTURE_NAMES, FIXTURES, dig, expected, load_facts


def _plan(name, **kwargs):
    kwargs.setdefault("rocm_variant", expected(name).get("vllm_rocm_variant"))
    return build_serving_plan(load_facts(name), host=name, **kwargs)


def _check_plan(plan, wanted):
    for key, value in wanted.items():
        if key == "replicas":
            assert len(plan["replicas"]) == value, plan["reasons"]
        elif key == "argv_contains":
            joined = " ".join(plan["argv"])
            assert " ".join(value) in joined, joined
        else:
            assert dig(plan, key) == value, (key, plan["reasons"])


def test_there_are_enough_fixtures():
    assert len(FIXTURE_NAMES) >= 47
    models = set()
    for name in FIXTURE_NAMES:
        models.update(d["model"] for d in load_facts(name, include_integrated=True)["devices"])
    assert len(models) >= 20, sorted(models)


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_has_a_source(name):
    source = FIXTURES / name / "SOURCE.md"
    assert source.exists() and len(source.read_text().strip()) > 40


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_facts(name):
    facts = load_facts(name)
    want = expected(name)
    for key, value in want["facts"].items():
        assert facts["summary"][key] == value, (key, facts["summary"])
    for key, value in want.get("devices", {}).items():
        healthy = [d for d in facts["devices"] if d["healthy"]]
        assert healthy and all(d[key] == value for d in healthy), (key, [d[key] for d in healthy])
    if "pci_addresses" in want:
        assert [d["pci_address"] for d in facts["devices"]] == want["pci_addresses"]
    for needle in want.get("notes_contain", []):
        assert any(needle in note for note in facts["notes"]), facts["notes"]
    if "integrated" in want:
        with_igpu = load_facts(name, include_integrated=True)["summary"]
        for key, value in want["integrated"].items():
            assert with_igpu[key] == value


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_plan_20b(name):
    want = expected(name)
    if "plan_error" in want:
        with pytest.raises(PlanError, match=want["plan_error"]) as error:
            _plan(name)
        assert name in str(error.value) and ("gpt_oss_" in str(error.value) or "Options" in str(error.value))
        return
    plan = _plan(name)
    _check_plan(plan, want["plan"])
    if "plan_reason" in want:
        assert any(want["plan_reason"] in r for r in plan["reasons"]), plan["reasons"]
    if "plan_warning" in want:
        assert any(want["plan_warning"] in w for w in plan["warnings"]), plan["warnings"]


@pytest.mark.parametrize("name", [n for n in FIXTURE_NAMES if "plan_warning" in expected(n) and "plan_error" in expected(n)])
def test_plan_error_carries_the_warnings(name):
    with pytest.raises(PlanError, match=expected(name)["plan_warning"]):
        _plan(name)


@pytest.mark.parametrize("name", [n for n in FIXTURE_NAMES if "plan_120b" in expected(n) or "plan_120b_error" in expected(n)])
def test_plan_120b(name):
    want = expected(name)
    if "plan_120b_error" in want:
        with pytest.raises(PlanError, match=want["plan_120b_error"]):
            _plan(name, model="openai/gpt-oss-120b")
        return
    _check_plan(_plan(name, model="openai/gpt-oss-120b"), want["plan_120b"])


@pytest.mark.parametrize("name", [n for n in FIXTURE_NAMES if "plan_v032" in expected(n)])
def test_plan_newest_vllm(name):
    _check_plan(_plan(name, vllm_version="0.32.0"), expected(name)["plan_v032"])


@pytest.mark.parametrize("name", [n for n in FIXTURE_NAMES if "plan_no_rocm_build" in expected(n)])
def test_amd_instinct_without_a_rocm_build_gets_llamacpp_with_hip(name):
    """PyPI's vllm is the CUDA build: without a ROCm build named, vLLM is never planned on AMD."""
    plan = _plan(name, rocm_variant=None)
    _check_plan(plan, expected(name)["plan_no_rocm_build"])
    assert any("gpt_oss_vllm_rocm_variant" in reason for reason in plan["reasons"]), plan["reasons"]
    with pytest.raises(PlanError, match="gpt_oss_vllm_rocm_variant"):
        _plan(name, rocm_variant=None, engine="vllm")


@pytest.mark.parametrize("name", [n for n in FIXTURE_NAMES if "plan_cpu" in expected(n)])
def test_plan_cpu_fallback(name):
    _check_plan(_plan(name, allow_cpu=True), expected(name)["plan_cpu"])
    if "plan_cpu_vllm" in expected(name):
        _check_plan(_plan(name, allow_cpu=True, engine="vllm"), expected(name)["plan_cpu_vllm"])
