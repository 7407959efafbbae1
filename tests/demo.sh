#!/usr/bin/env bash
# Demo on a fresh machine of this kind: a throwaway Debian 12 systemd "lab host" container is converged by
# site.yml (llama.cpp on CPU serving a tiny GPT-OSS: GPT-OSS's architecture, tokenizer and chat template, trained
# here on the acceptance checks' conversations so that it answers them as GPT-OSS does), then the plan and a chat
# completion through the OpenAI-compatible API, reasoning and final answer apart, are printed. Remove it with
# `make clean-demo`.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
source tests/env/common.sh
bash tests/env/bootstrap.sh >/dev/null
# the vLLM CPU venv that trains the model and llama.cpp's source that converts it (not the suite's CUDA wheels)
VLLM_WHEEL_VERSIONS="" VLLM_OLD_VERSIONS="" bash tests/env/vllm-parsers.sh
source tests/env/common.sh  # picks up the torch wheel directory found above
bash tests/env/tiny-gptoss.sh --reuse

mkdir -p "$FLEET_CACHE/uv"
start_lab_container gpt-oss-demo

# the demo's API key: in a file only its owner reads (mktemp), passed as `-e @file` and by name into the container's environment,
# so it never shows in a process listing or in the output
key_file=$(mktemp)
trap 'rm -f "$key_file"' EXIT
api_key=$(openssl rand -hex 24 2>/dev/null || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf 'gpt_oss_api_key: "%s"\n' "$api_key" > "$key_file"
# gpt-oss-fleet (gpt_oss_fleet/cli.py): site.yml through ansible-runner, one line per host as it goes, a summary at
# the end and a record of the run (gpt-oss-fleet history / report)
echo "==> gpt-oss-fleet plan: what the demo host will serve"
"$VENV/bin/gpt-oss-fleet" plan -i inventories/demo/hosts.yml -e "@$key_file"
echo "==> gpt-oss-fleet up: converging the demo host with site.yml"
"$VENV/bin/gpt-oss-fleet" up -i inventories/demo/hosts.yml \
  -e "@$key_file" -e "model_weights_controller_dir=$FLEET_CACHE/models/tiny-gptoss-gguf"
echo "==> gpt-oss-fleet status: what it serves, read from the host"
status_out=$("$VENV/bin/gpt-oss-fleet" status -i inventories/demo/hosts.yml)
echo "$status_out"
# the demo's own check: the host reports its replica healthy and its first acceptance run passed
grep -E '^gpt-oss-demo .* 1/1 up .* passed' <<<"$status_out" >/dev/null \
  || { echo "gpt-oss-fleet status does not show the demo host healthy with a passed acceptance run" >&2; exit 1; }

echo "==> a chat completion from inside the lab host, with the official OpenAI SDK the acceptance checks use"
OPENAI_API_KEY=$api_key docker exec -i -e OPENAI_API_KEY gpt-oss-demo /opt/gpt-oss/venvs/acceptance-client/bin/python - <<'PY'
import openai
client = openai.OpenAI(base_url="http://127.0.0.1:8000/v1")
question = "What is the capital of France?"
answer = client.chat.completions.create(model="gpt-oss-20b", messages=[{"role": "user", "content": question}],
                                        temperature=0, max_tokens=200)
message = answer.choices[0].message
reasoning = (message.model_extra or {}).get("reasoning_content") or ""
print("question : " + question)
print("reasoning: " + (reasoning or "(none)"))
print("answer   : " + (message.content or "(none)"))
if not (reasoning.strip() and (message.content or "").strip()):
    raise SystemExit("the demo host did not answer with a reasoning part and a final answer")
PY
echo "The tiny model knows only the acceptance checks' questions (this one, the weather tool call, a story):"
echo "ask it anything else and it answers noise. Remove the demo host: make clean-demo"
