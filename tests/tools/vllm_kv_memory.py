#!/usr/bin/env python3
"""Ask the REAL vLLM of this environment how much KV memory GPT-OSS takes and which batch defaults it picks.

stdin : JSON {"cases": [...], "cards": [...]}
  case: {"layers", "kv_heads", "head_dim", "sliding_window", "dtype" ("bf16"|"fp8"), "block_size",
         "max_model_len", "max_num_batched_tokens", "async_scheduling", "kv_bytes", "all_full" (optional)}
  card: {"memory_gib", "name"}
stdout: JSON {"cases": [{"bytes_per_block", "request_bytes", "num_blocks", "tokens", "concurrency"}],
              "cards": [[max_num_batched_tokens, max_num_seqs] for the OpenAI server],
              "gpt_oss": transformers' GptOssConfig defaults and layer types}
The layer specs are vLLM's own classes (FullAttentionSpec / SlidingWindowSpec, the kinds vLLM's attention layers
report for GPT-OSS's full and sliding layers), laid out by transformers' GptOssConfig.layer_types; grouping, pool
blocks, per-request bytes and the capacity vLLM logs come from vllm/v1/core/kv_cache_utils.py.
"""
import json
import os
import sys
import types

os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")


def layer_types(layers):
    from transformers.models.gpt_oss.configuration_gpt_oss import GptOssConfig
    return GptOssConfig(num_hidden_layers=layers).layer_types


def kv_case(case):
    import torch
    from vllm.config import VllmConfig
    from vllm.v1.core import kv_cache_utils
    from vllm.v1.kv_cache_interface import FullAttentionSpec, SlidingWindowSpec

    config = VllmConfig()
    config.cache_config.kv_cache_layout = "NHD"
    config.model_config = types.SimpleNamespace(max_model_len=case["max_model_len"])
    config.scheduler_config.max_num_batched_tokens = case["max_num_batched_tokens"]
    config.scheduler_config.async_scheduling = case["async_scheduling"]
    dtype = {"bf16": torch.bfloat16, "fp8": torch.float8_e4m3fn}[case["dtype"]]
    common = dict(block_size=case["block_size"], num_kv_heads=case["kv_heads"], head_size=case["head_dim"],
                  dtype=dtype)
    specs = {}
    kinds = layer_types(case["layers"])
    if case.get("all_full"):  # a model without sliding layers: what counting every layer as full assumes
        kinds = ["full_attention"] * len(kinds)
    for index, kind in enumerate(kinds):
        name = "model.layers.%d.self_attn.attn" % index
        specs[name] = (SlidingWindowSpec(sliding_window=case["sliding_window"], **common)
                       if kind == "sliding_attention" else FullAttentionSpec(**common))
    groups = kv_cache_utils.get_kv_cache_groups(config, specs)
    kv_config = kv_cache_utils.get_kv_cache_config_from_groups(config, groups, case["kv_bytes"])
    tokens, concurrency = kv_cache_utils.get_kv_cache_capacity(config, kv_config)
    return {"bytes_per_block": kv_cache_utils._pool_bytes_per_block(config, groups),
            "request_bytes": kv_cache_utils._max_memory_usage_bytes_from_groups(config, groups),
            "num_blocks": kv_config.num_blocks, "tokens": tokens, "concurrency": concurrency,
            "in_flight_tokens": config.max_in_flight_tokens}


def batch_defaults(card):
    """EngineArgs.get_batch_defaults on a card of this size and name (the platform is what it asks)."""
    from vllm.engine import arg_utils
    from vllm.usage.usage_lib import UsageContext
    platform = types.SimpleNamespace(
        get_device_total_memory=lambda: int(card["memory_gib"] * (1 << 30)),
        get_device_name=lambda: card["name"], is_tpu=lambda: False, is_cpu=lambda: False)
    saved, arg_utils.current_platform = arg_utils.current_platform, platform
    try:
        batched, seqs = arg_utils.EngineArgs.get_batch_defaults(world_size=1)
    finally:
        arg_utils.current_platform = saved
    return [batched[UsageContext.OPENAI_API_SERVER], seqs[UsageContext.OPENAI_API_SERVER]]


def main():
    request = json.load(sys.stdin)
    real_stdout, sys.stdout = sys.stdout, sys.stderr  # vLLM logs to stdout; keep it for the JSON
    from transformers.models.gpt_oss.configuration_gpt_oss import GptOssConfig
    defaults = GptOssConfig()
    answer = {"cases": [kv_case(case) for case in request["cases"]],
              "cards": [batch_defaults(card) for card in request["cards"]],
              "gpt_oss": {"num_hidden_layers": defaults.num_hidden_layers,
                          "num_key_value_heads": defaults.num_key_value_heads, "head_dim": defaults.head_dim,
                          "sliding_window": defaults.sliding_window, "num_local_experts": defaults.num_local_experts,
                          "max_position_embeddings": defaults.max_position_embeddings,
                          "layer_types": {str(n): layer_types(n) for n in (24, 36)}}}
    real_stdout.write(json.dumps(answer))


if __name__ == "__main__":
    main()
