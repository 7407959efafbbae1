#!/usr/bin/env bash
# Demo on a fresh machine of this kind: a throwaway Debian 12 systemd "lab host" container is converged by
# site.yml (llama.cpp on CPU, a tiny locally generated model standing in for the GPT-OSS weights), then the
# plan and a chat completion through the OpenAI-compatible API are printed. Remove it with `make clean-demo`.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
source tests/env/common.sh
bash tests/env/bootstrap.sh >/dev/null
mkdir -p "$FLEET_CACHE/models/tiny-gguf" "$FLEET_CACHE/uv"
"$VENV/bin/python" tests/tools/make_tiny_gguf.py "$FLEET_CACHE/models/tiny-gguf/tiny-llama.gguf"

docker rm -f gpt-oss-demo >/dev/null 2>&1 || true
docker run -d --name gpt-oss-demo --hostname gpt-oss-demo --cap-add SYS_ADMIN --cgroupns=host \
  -v /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /run --tmpfs /run/lock \
  -v "$FLEET_CACHE/uv:/var/cache/gpt-oss/uv:rw" -v "$FLEET_CA_BUNDLE:/etc/gpt-oss-test/ca.pem:ro" \
  "$FLEET_IMAGE" /lib/systemd/systemd >/dev/null
for _ in $(seq 30); do
  state=$(docker exec gpt-oss-demo systemctl is-system-running 2>/dev/null || true)
  case "$state" in running|degraded) break ;; esac; sleep 1
done

api_key=$(openssl rand -hex 24 2>/dev/null || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "==> converging the demo host with site.yml"
ANSIBLE_CONFIG="$ROOT/ansible.cfg" "$VENV/bin/ansible-playbook" -i inventories/demo/hosts.yml site.yml \
  -e "gpt_oss_api_key=$api_key" -e "model_weights_controller_dir=$FLEET_CACHE/models/tiny-gguf"

echo "==> a chat completion from inside the lab host"
docker exec gpt-oss-demo curl -sS http://127.0.0.1:8000/v1/chat/completions \
  -H "Authorization: Bearer $api_key" -H 'Content-Type: application/json' \
  -d '{"model": "gpt-oss-20b", "messages": [{"role": "user", "content": "Hello!"}], "max_tokens": 16}'
echo
echo "The tiny test model has random weights: expect gibberish text, served for real. Remove: make clean-demo"
