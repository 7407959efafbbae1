#!/usr/bin/env python3
"""Write a tiny random-weight Llama-architecture GGUF that llama.cpp loads and serves.

Byte-level BPE vocabulary (the 256 GPT-2 byte symbols plus a few merges and chat specials), 2 layers,
hidden 64: ~1 MB. Deterministic (seeded), so two runs give the same file and the same sha256.
Usage: make_tiny_gguf.py OUTPUT.gguf
"""
import sys

import gguf
import numpy as np


def byte_symbols():
    """GPT-2's reversible byte -> printable unicode mapping."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for _, c in sorted(zip(bs, cs))]


def main(path):
    rng = np.random.default_rng(20261123)
    dim, layers, heads, kv_heads, ffn, ctx = 64, 2, 4, 2, 128, 4096
    symbols = byte_symbols()
    merges = ["Ġ t", "Ġ a", "h e", "i n", "r e", "o n", "Ġt he", "e r"]
    specials = ["<|begin|>", "<|end|>", "<|im_start|>", "<|im_end|>"]
    tokens = symbols + [m.replace(" ", "") for m in merges] + specials
    types = [gguf.TokenType.NORMAL] * (len(symbols) + len(merges)) + [gguf.TokenType.CONTROL] * len(specials)
    vocab = len(tokens)

    writer = gguf.GGUFWriter(path, "llama")
    writer.add_name("gpt-oss-fleet tiny test model")
    writer.add_context_length(ctx)
    writer.add_embedding_length(dim)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(ffn)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_rope_dimension_count(dim // heads)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-2")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    writer.add_bos_token_id(tokens.index("<|begin|>"))
    writer.add_eos_token_id(tokens.index("<|end|>"))
    writer.add_add_bos_token(False)
    writer.add_chat_template(
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")

    def tensor(name, *shape):
        writer.add_tensor(name, (rng.standard_normal(shape) * 0.02).astype(np.float32))

    tensor("token_embd.weight", vocab, dim)
    writer.add_tensor("output_norm.weight", np.ones(dim, dtype=np.float32))
    tensor("output.weight", vocab, dim)
    head_dim = dim // heads
    for i in range(layers):
        writer.add_tensor("blk.%d.attn_norm.weight" % i, np.ones(dim, dtype=np.float32))
        tensor("blk.%d.attn_q.weight" % i, dim, dim)
        tensor("blk.%d.attn_k.weight" % i, kv_heads * head_dim, dim)
        tensor("blk.%d.attn_v.weight" % i, kv_heads * head_dim, dim)
        tensor("blk.%d.attn_output.weight" % i, dim, dim)
        writer.add_tensor("blk.%d.ffn_norm.weight" % i, np.ones(dim, dtype=np.float32))
        tensor("blk.%d.ffn_gate.weight" % i, ffn, dim)
        tensor("blk.%d.ffn_up.weight" % i, ffn, dim)
        tensor("blk.%d.ffn_down.weight" % i, dim, ffn)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


if __name__ == "__main__":
    main(sys.argv[1])
