#!/usr/bin/env python3
"""Lay out the repositories the hub stand-in (hub_standin.py) serves:

  ROOT/openai/gpt-oss-20b/            the tiny GptOss model (config, tokenizer, safetensors) plus a large synthetic
                                      safetensors file (--large-mib, default 512) that exercises resume and verify
  ROOT/ggml-org/gpt-oss-20b-GGUF/     the tiny GGUF under the file name the plan asks for

The large file is a valid safetensors file (one uint8 tensor) filled from a seeded generator, so its hash is the
same on every machine. Rebuilt only when missing or when the requested size changes.
"""
import argparse
import json
import os
import shutil
import struct

import numpy


def write_large_safetensors(path, mib):
    count = mib * 1048576
    header = json.dumps({"synthetic.weight": {"dtype": "U8", "shape": [count], "data_offsets": [0, count]},
                         "__metadata__": {"format": "pt", "note": "gpt-oss-fleet synthetic test data"}}).encode()
    header += b" " * (-len(header) % 8)
    rng = numpy.random.default_rng(20261123)
    tmp = path + ".tmp"
    with open(tmp, "wb") as handle:
        handle.write(struct.pack("<Q", len(header)))
        handle.write(header)
        left = count
        while left:
            n = min(left, 64 * 1048576)
            handle.write(rng.integers(0, 256, n, dtype=numpy.uint8).tobytes())
            left -= n
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("--tiny-gptoss", required=True, help="directory made by make_tiny_gptoss.py")
    parser.add_argument("--tiny-gguf", required=True, help="file made by make_tiny_gguf.py")
    parser.add_argument("--gguf-name", default="tiny-llama.gguf")
    parser.add_argument("--tiny-gptoss-gguf", required=True,
                        help="the trained tiny GPT-OSS converted by llama.cpp's convert_hf_to_gguf.py")
    parser.add_argument("--large-mib", type=int, default=512)
    args = parser.parse_args()
    model = os.path.join(args.root, "openai", "gpt-oss-20b")
    os.makedirs(model, exist_ok=True)
    for name in sorted(os.listdir(args.tiny_gptoss)):
        source, target = os.path.join(args.tiny_gptoss, name), os.path.join(model, name)
        if not os.path.exists(target) or os.path.getmtime(target) < os.path.getmtime(source):
            shutil.copy2(source, target)
    large = os.path.join(model, "synthetic-large.safetensors")
    wanted = 8 + args.large_mib * 1048576
    if not os.path.exists(large) or not (wanted <= os.path.getsize(large) <= wanted + 512):
        write_large_safetensors(large, args.large_mib)
    gguf = os.path.join(args.root, "ggml-org", "gpt-oss-20b-GGUF")
    os.makedirs(gguf, exist_ok=True)
    shutil.copy2(args.tiny_gguf, os.path.join(gguf, args.gguf_name))
    shutil.copy2(args.tiny_gptoss_gguf, os.path.join(gguf, os.path.basename(args.tiny_gptoss_gguf)))
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _s, fs in os.walk(args.root) for f in fs)
    print("hub stand-in repositories in %s: %d MiB" % (args.root, total // 1048576))


if __name__ == "__main__":
    main()
