"""The acceptance checks' plan section, their judging logic and their inputs. The checks themselves run against the
real engines in Molecule (default: vLLM CPU with the trained tiny GPT-OSS; llamacpp, fleet: llama.cpp)."""
import importlib.util
import pathlib
import tomllib

import pytest
from ansible.module_utils.gpu_catalog import ACCEPTANCE_CHECKS, ACCEPTANCE_CLIENT_PACKAGES
from ansible.module_utils.input_rules import check_inputs
from ansible.module_utils.serving_planner import build_serving_plan

from fixture_loader import load_facts
from test_input_rules import SPECS

ROOT = pathlib.Path(__file__).resolve().parents[2]
SPEC = importlib.util.spec_from_file_location("acceptance", ROOT / "roles/inference_server/files/acceptance.py")
acceptance = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(acceptance)

EVERY_CHECK = ["models", "chat", "reasoning", "streaming", "tool_call", "responses", "auth"]


def test_every_engine_is_held_to_every_check():
    """Both engines serve the whole surface: vLLM's OpenAI server has /v1/responses (0.10.2's api_server.py
    registers it) and llama-server b11434 too (tools/server/server.cpp:276), as do the xllamacpp wheels 2026.9 and
    2026.10 (the string is in their server library). So nothing may be recorded as not-served."""
    for engine in ("vllm", "llamacpp"):
        plan = build_serving_plan({}, allow_cpu=True, engine=engine, host="cpu-host", host_memory_mib=65536,
                                  cpu_count=16)
        assert plan["acceptance"]["checks"] == EVERY_CHECK
        assert plan["acceptance"]["not_served"] == []


def test_the_client_lives_beside_the_engine_venvs_not_in_them():
    plan = build_serving_plan(load_facts("h200"), host="h200")
    assert plan["build"]["venv"].startswith("/opt/gpt-oss/venvs/")
    assert plan["acceptance"]["client"]["venv"] == "/opt/gpt-oss/venvs/acceptance-client"
    assert plan["acceptance"]["client"]["packages"][0].startswith("openai==")


@pytest.mark.parametrize("fixture, published", [
    ("rtx4090-8x-smi-q", 186.1),   # llama.cpp PR 16834's tg128 table
    ("rtx3090-2x-table", 181.3),   # llama.cpp PR 21024's Vulkan baseline
    ("rx7900xtx-2x", None),        # lspci names the chip "RX 7900 XT/7900 XTX/7900 GRE": not one card's class
    ("h200", None),                # vLLM's figures are aggregate at ~1000 requests: not comparable, not used
])
def test_the_published_figure_of_the_hosts_class(fixture, published):
    plan = build_serving_plan(load_facts(fixture), host=fixture, engine="llamacpp")
    found = plan["acceptance"]["published"]
    assert (found and found["tokens_per_s"]) == published
    if found:
        assert found["source"].startswith("https://github.com/ggml-org/llama.cpp/")
        assert 0 < found["far_below"] < 1


class FakeChecks:
    def models(self):
        return "lists m"

    def chat(self):
        raise acceptance.CheckFailed("an empty answer")

    def responses(self):
        raise acceptance.NotServed("POST /v1/responses: 404")

    def streaming(self):
        raise ConnectionResetError("peer went away")


def test_a_missing_endpoint_is_not_served_only_where_the_engine_has_none():
    results = acceptance.run_checks(FakeChecks(), ["models", "chat", "responses", "streaming"], {"responses"})
    assert {name: r["result"] for name, r in results.items()} == {
        "models": "pass", "chat": "fail", "responses": "not-served", "streaming": "fail"}
    assert results["streaming"]["detail"] == "ConnectionResetError: peer went away"
    # where the engine is expected to serve it, a 404 is a failure
    assert acceptance.run_checks(FakeChecks(), ["responses"], set())["responses"]["result"] == "fail"


def test_skipped_checks_are_recorded_not_run():
    results = acceptance.run_checks(FakeChecks(), ["chat", "models"], set(), {"chat"})
    assert results["chat"]["result"] == "skipped" and "inference_server_acceptance_skip" in results["chat"]["detail"]
    assert results["models"]["result"] == "pass"


def test_the_reasoning_field_is_read_in_each_engines_spelling():
    class Message:
        def __init__(self, **extra):
            self.model_extra = extra
    assert acceptance.reasoning_of(Message(reasoning="vllm")) == "vllm"
    assert acceptance.reasoning_of(Message(reasoning_content="llama.cpp")) == "llama.cpp"
    assert acceptance.reasoning_of(Message()) == ""


def test_the_trained_conversations_are_the_ones_the_checks_send():
    by_name = {c["name"]: c for c in acceptance.CONVERSATIONS}
    assert by_name["chat"]["messages"][0]["content"] == acceptance.CAPITAL_PROMPT
    assert by_name["responses"]["input"] == acceptance.CAPITAL_PROMPT
    assert by_name["tool_call"]["tools"] == [acceptance.WEATHER_TOOL]
    assert acceptance.WEATHER_ARGUMENTS in by_name["tool_call"]["completion"]
    assert by_name["tool_result"]["messages"][-1]["content"] == acceptance.WEATHER_RESULT
    assert by_name["benchmark"]["messages"][0]["content"] == acceptance.BENCH_PROMPT


def measurements(*rates):
    """A measure() that returns these benchmark results in turn (a number: its aggregate; a dict: as it is)."""
    pending = [r if isinstance(r, dict) else {"requests": 16, "failed": 0, "tokens_per_s_aggregate": r} for r in rates]
    return lambda: pending.pop(0)


@pytest.mark.parametrize("rates, runs, best, seen", [
    # one slow measurement (another job took a core for a few seconds), then the host's usual speed: no rollback
    ((400.1, 812.0), 2, 812.0, [400.1, 812.0]),
    # a real regression stays low every time: the best of three still falls below, and every figure is shown
    ((167.3, 180.2, 171.9), 2, 180.2, [167.3, 180.2, 171.9]),
    # at or above the floor the first time: measured once
    ((610.0, 900.0), 2, 610.0, [610.0]),
    # confirmation off: one measurement decides
    ((400.1, 812.0), 0, 400.1, [400.1]),
])
def test_a_slow_benchmark_is_measured_again_before_it_counts(rates, runs, best, seen):
    pauses = []
    result = acceptance.confirmed(measurements(*rates), 413.6, runs, 5, sleep=pauses.append)
    assert (result["tokens_per_s_aggregate"], result["runs"]) == (best, seen)
    assert pauses == [5] * (len(seen) - 1)


def test_a_failed_benchmark_is_never_measured_away():
    """Failed requests are a broken endpoint, not a slow one: a later clean measurement must not hide them."""
    failing = {"requests": 12, "failed": 4, "errors": ["APIConnectionError: refused"], "tokens_per_s_aggregate": 90.0}
    assert acceptance.confirmed(measurements(failing, 900.0), 413.6, 2, 0, sleep=lambda _: None)["failed"] == 4
    # and one that fails while being confirmed ends it, failed
    result = acceptance.confirmed(measurements(300.0, failing, 900.0), 413.6, 2, 0, sleep=lambda _: None)
    assert result["failed"] == 4 and result["runs"] == [300.0, 90.0]
    # no floor (no baseline, or a run that only reports): one measurement whatever it is
    assert acceptance.confirmed(measurements(1.0, 900.0), 0, 2, 0, sleep=lambda _: None)["runs"] == [1.0]


@pytest.mark.parametrize("values, needle", [
    ({"inference_server_acceptance_skip": ["tool_calls"]}, "'tool_calls', which is not one of models"),
    ({"inference_server_benchmark": "sometimes"}, "must be one of auto, always, never"),
    ({"inference_server_max_regression_percent": 150}, "must be between 0 and 100"),
    ({"inference_server_max_regression_percent": "ten"}, "must be a number"),
    ({"rollout_max_regression_percent": -5}, "must be between 0 and 100"),
    ({"inference_server_history_keep": 1}, "must be between 2 and 100000"),
    ({"inference_server_benchmark_confirm_runs": 50}, "must be between 0 and 10"),
    ({"inference_server_benchmark_confirm_pause": -1}, "must be between 0 and 600"),
])
def test_bad_acceptance_inputs_are_refused_naming_the_variable(values, needle):
    errors = check_inputs(values, SPECS)
    assert len(errors) == 1 and needle in errors[0], errors


def test_good_acceptance_inputs_pass():
    assert check_inputs({"inference_server_acceptance_skip": ["reasoning", "tool_call"],
                         "inference_server_benchmark": "always", "inference_server_max_regression_percent": 12.5,
                         "rollout_max_regression_percent": 10, "inference_server_history_keep": 20,
                         "inference_server_benchmark_confirm_runs": 0, "inference_server_benchmark_confirm_pause": 30},
                        SPECS) == []


def test_the_controller_runs_the_gateway_checks_with_the_sdk_the_hosts_run():
    """load_balancer's checks run on the controller (pyproject.toml's venv); the replicas' on the hosts' client venv."""
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert [d for d in dependencies if d.startswith("openai")] == list(ACCEPTANCE_CLIENT_PACKAGES)


def test_the_skip_list_offers_exactly_the_checks_the_plans_run():
    """argument_specs.yml must spell the choices out; the input rule takes them from the catalog."""
    assert SPECS["inference_server_acceptance_skip"]["choices"] == list(ACCEPTANCE_CHECKS) == EVERY_CHECK
