#!/usr/bin/env bash
# Device run (from the repository root: `bash tests/device/weights-bench/run.sh`): the weights download against
# curl on a machine with many cores. On the suite's 2-core machine the stand-in server, the client and the hash
# share two cores, so the ratio there is partly a CPU contest; here each has cores of its own. Offline; needs
# python3 and curl only (the module's logic is called in-process: module_utils/hf_download.py is standard library).
# A synthetic repository shaped like a safetensors checkpoint: three 512 MiB shards and small files.
set -euo pipefail
OUT=${OUT:-/tmp/weights-bench-out}
WORK=${WORK:-/tmp/weights-bench}
mkdir -p "$OUT"
rm -rf "$WORK"
mkdir -p "$WORK/hub/openai/gpt-oss-20b"
python3 - "$WORK/hub/openai/gpt-oss-20b" <<'PY'
import json, os, sys
folder = sys.argv[1]
for n in range(1, 4):
    with open(os.path.join(folder, "model-%05d-of-00003.safetensors" % n), "wb") as handle:
        for _ in range(64):
            handle.write(os.urandom(8 << 20))
with open(os.path.join(folder, "tokenizer.json"), "wb") as handle:
    handle.write(os.urandom(27 << 20))
for name in ("config.json", "generation_config.json", "tokenizer_config.json"):
    with open(os.path.join(folder, name), "w") as handle:
        json.dump({"name": name}, handle)
PY
{ echo "machine: $(nproc) CPUs, $(python3 --version 2>&1), $(curl --version | head -n 1)"; df -h /tmp | tail -n 1; } | tee "$OUT/speed.txt"
for rate in 0 200; do
  TMPDIR="$WORK" python3 tests/tools/bench_weights.py "$OUT/speed.txt" --in-process \
    --hub-repos "$WORK/hub" --runs 3 --rate-mib "$rate" | tail -n 1
done
# what taking many ranges in order buys: one range per stream (the hash reads three quarters of a file after it came)
TMPDIR="$WORK" python3 tests/tools/bench_weights.py "$OUT/speed.txt" --in-process --hub-repos "$WORK/hub" --runs 3 \
  --ranges-per-stream 1 | tail -n 1
rm -rf "$WORK"
