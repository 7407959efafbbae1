# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
"""How much memory GPT-OSS's KV cache takes, computed the way the engines compute it.

GPT-OSS alternates sliding-window (128-token) and full-attention layers (transformers' GptOssConfig.layer_types:
even layers slide, odd layers attend to everything). Only the full-attention layers grow with the context; a
sliding layer holds at most its window plus the tokens in flight. Both engines exploit it:

- vLLM (v1 hybrid KV cache manager, vllm/v1/core/kv_cache_utils.py): the two layer kinds form two groups of equal
  size that share one block pool; a pool block holds `block_size` tokens for one layer of each group position, so a
  block costs group_size x page bytes, and a request at context L takes cdiv(L, block) blocks for the full group plus
  cdiv(min(window - 1 + in_flight, L), block) + 1 for the sliding group (SlidingWindowSpec.max_admission_blocks_per_
  request), in_flight = max_num_batched_tokens x concurrent batches (2 with async scheduling). The capacity vLLM logs
  ("KV cache size: N tokens") is num_blocks / blocks_per_request x L.
- llama.cpp (llama_kv_cache_iswa): a full-size cache for the full-attention layers and a small one for the sliding
  layers (window x slots + micro-batch), unless --swa-full.

tests/unit/test_kv_memory.py runs vLLM's own functions on the real spec classes and compares them with these.
"""
from __future__ import annotations

from ansible.module_utils.gpu_catalog import KV_CACHE_DTYPE_BYTES, MODELS

MIB = 1024 * 1024


def _cdiv(value, divisor):
    return -(-value // divisor)


def attention_layers(model):
    """(full-attention layers, sliding-window layers): GPT-OSS's layer_types alternate, sliding first."""
    layers = MODELS[model]["architecture"]["layers"]
    return layers // 2, layers - layers // 2


def kv_bytes_per_token(model, tp=1, cache_dtype="auto"):
    """K and V of one token in every full-attention layer, on one GPU of a tensor-parallel group (the KV heads
    split evenly over it). This is what each token of context costs; the sliding layers cost a fixed amount per
    sequence (below)."""
    arch = MODELS[model]["architecture"]
    full, _ = attention_layers(model)
    return int(full * 2 * (arch["kv_heads"] // tp) * arch["head_dim"] * KV_CACHE_DTYPE_BYTES[cache_dtype])


def vllm_request_blocks(model, max_model_len, in_flight_tokens, block_size=16):
    """Pool blocks one request at max_model_len takes in vLLM (full group + sliding group)."""
    window = MODELS[model]["architecture"]["sliding_window"]
    full = _cdiv(max_model_len, block_size)
    sliding = _cdiv(min(window - 1 + in_flight_tokens, max_model_len), block_size) + 1
    return full + sliding


def vllm_kv_blocks(model, kv_bytes, tp=1, cache_dtype="auto", block_size=16):
    """Blocks in vLLM's pool for kv_bytes of KV memory on each GPU (get_kv_cache_config_from_groups)."""
    return int(kv_bytes // (kv_bytes_per_token(model, tp, cache_dtype) * block_size))


def vllm_capacity(model, kv_bytes, max_model_len, in_flight_tokens, tp=1, cache_dtype="auto", block_size=16):
    """What vLLM logs at start: (KV cache size in tokens, maximum concurrency at max_model_len)."""
    blocks = vllm_kv_blocks(model, kv_bytes, tp, cache_dtype, block_size)
    concurrency = blocks / vllm_request_blocks(model, max_model_len, in_flight_tokens, block_size)
    return int(concurrency * max_model_len), concurrency


def _pad(value, multiple):
    return _cdiv(value, multiple) * multiple


def llamacpp_kv_bytes(model, ctx_size, slots, ubatch, cache_type="f16"):
    """llama.cpp's iSWA cache for `slots` sequences sharing ctx_size (--parallel without a unified cache: each
    stream gets ctx_size / slots cells, padded to 256; src/llama-context.cpp). The full-attention layers hold every
    cell; the sliding layers min(cells, window + ubatch) per stream, padded to 256 (src/llama-kv-cache-iswa.cpp)."""
    arch = MODELS[model]["architecture"]
    full, sliding = attention_layers(model)
    per_layer_token = 2 * arch["kv_heads"] * arch["head_dim"] * KV_CACHE_DTYPE_BYTES[cache_type]
    per_stream = _pad(max(ctx_size // slots, 1), 256)
    swa_cells = slots * _pad(min(per_stream, arch["sliding_window"] + ubatch), 256)
    return int(per_layer_token * (full * per_stream * slots + sliding * swa_cells))
