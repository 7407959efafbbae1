#!/usr/bin/env bash
# Fresh host to healthy endpoint: the toolkit against a plain script doing the same steps (issue #19).
# Two identical fresh lab-host containers (Debian 12 + systemd), one after the other on a quiet machine, both
# installing from the same package indexes through the same shared uv cache, both serving the trained tiny GPT-OSS
# GGUF from this controller on llama.cpp's CPU wheel:
#   toolkit: `ansible-playbook site.yml` as the demo runs it (every check, the smoke test and the benchmark
#            included), its time split into the script's steps from ansible.posix.profile_tasks;
#   script : apt-get install of the same packages, a venv with uv, `uv pip install` of the same engine wheel, the
#            weights copied in, the same launcher and argv started, /health polled, one chat completion.
# The ratio compares the same steps: the toolkit up to its smoke test's chat against the script's one chat. What the
# toolkit does after it (acceptance checks, benchmark, the host record) is reported apart, with the whole run's ratio.
# Appends three lines to REPORT (reports/speed.txt). usage: bench-fresh-host.sh REPORT
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
source tests/env/common.sh
report=$1
work=$(mktemp -d)
trap 'docker rm -f gpt-oss-fresh-toolkit gpt-oss-fresh-script >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
model_dir="$FLEET_CACHE/models/tiny-gptoss-gguf"
[ -f "$model_dir/tiny-gptoss.gguf" ] || { echo "$model_dir/tiny-gptoss.gguf missing: run tests/env/tiny-gptoss.sh" >&2; exit 1; }
now() { date +%s.%N; }
since() { python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$(now)"; }

# the toolkit, on the demo's inventory settings
mkdir -p "$work/inventory/group_vars"
cp inventories/demo/group_vars/gpt_oss_servers.yml "$work/inventory/group_vars/"
cat > "$work/inventory/hosts.yml" <<'YAML'
all:
  children:
    gpt_oss_servers:
      hosts:
        gpt-oss-fresh-toolkit:
          ansible_connection: community.docker.docker
YAML
key=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
# the key as the demo passes it: from a file and by name, never on a command line of this machine
printf 'gpt_oss_api_key: "%s"\n' "$key" > "$work/key.yml"
start_lab_container gpt-oss-fresh-toolkit
started=$(now)
# every task's time, in the order they ran (ansible.posix.profile_tasks), to split the run into the script's steps
ANSIBLE_CONFIG="$ROOT/ansible.cfg" ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks ANSIBLE_NOCOLOR=1 \
  PROFILE_TASKS_TASK_OUTPUT_LIMIT=all PROFILE_TASKS_SORT_ORDER=none \
  "$VENV/bin/ansible-playbook" -i "$work/inventory/hosts.yml" site.yml -e "@$work/key.yml" \
  -e "model_weights_controller_dir=$model_dir" > "$work/toolkit.log" 2>&1 || { tail -n 60 "$work/toolkit.log"; exit 1; }
toolkit_s=$(since "$started")
# "role : task ------ 1.23s" lines after the recap's rule, in run order -> seconds per step of the plain script:
#   packages  the apt tasks of inference_runtime        engine   the rest of inference_runtime
#   weights   model_weights                              start    inference_server up to /health (restarts included)
#   chat      the smoke test (one chat per replica)     checks   what follows it: acceptance checks, benchmark, record;
#                                                                and the acceptance client's install (runtime role)
#   own       what a script does not do at all: facts, preflight (inputs, GPUs, plan, lock), the driver plan
phases=$("$VENV/bin/python" - "$work/toolkit.log" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().split("\n")
start = max(i for i, line in enumerate(lines) if line.startswith("=" * 20))
steps = dict.fromkeys(("packages", "engine", "weights", "start", "chat", "checks", "own"), 0.0)
chatted = False
for line in lines[start + 1:]:
    found = re.match(r"^(?:(\w+) : )?(.*?) -+ ([\d.]+)s$", line)
    if not found:
        continue
    role, task, seconds = found.group(1) or "", found.group(2), float(found.group(3))
    if role == "inference_runtime" and re.match(r"(Refresh the apt cache|Install Python venv support)", task):
        step = "packages"
    elif role == "inference_runtime" and "acceptance client" in task:
        step = "checks"  # the OpenAI SDK venv the checks run in; nothing serves from it
    elif role == "inference_runtime":
        step = "engine"
    elif role == "model_weights":
        step = "weights"
    elif role == "inference_server" and re.match(r"(Smoke-test|Check the smoke)", task):
        step, chatted = "chat", True
    elif role == "inference_server" or (role == "gpt_oss" and "replica" in task):
        step = "checks" if chatted else "start"
    else:
        step = "own"
    steps[step] += seconds
print(" ".join("phase_%s=%.1f" % item for item in steps.items()))
PY
)
eval "$phases"
[ -n "${phase_packages:-}" ] || { echo "no profile_tasks recap in the toolkit's output" >&2; tail -n 30 "$work/toolkit.log"; exit 1; }
to_chat_s=$(python3 -c "import sys; print('%.1f' % (float(sys.argv[1]) - float(sys.argv[2])))" "$toolkit_s" "$phase_checks")

# the plain script, on an identical fresh container: the same packages, engine wheel, weights, launcher and argv
engine=$(docker exec gpt-oss-fresh-toolkit python3 -c 'import json; f = json.load(open("/etc/ansible/facts.d/gpt_oss_server.fact")); print(f["engine_version"])')
argv=$(docker exec gpt-oss-fresh-toolkit systemctl show -p ExecStart --value gpt-oss-0 | sed -nE 's/.*argv\[\]=([^;]*);.*/\1/p')
[ -n "$argv" ] || { echo "could not read the toolkit replica's ExecStart" >&2; exit 1; }
docker cp gpt-oss-fresh-toolkit:/opt/gpt-oss/venvs/current/bin/gpt-oss-llamacpp-server "$work/launcher"
start_lab_container gpt-oss-fresh-script
started=$(now)
docker exec gpt-oss-fresh-script bash -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv libgomp1 >/dev/null'
packages_s=$(since "$started"); mark=$(now)
# the proxy CA the toolkit is given as gpt_oss_ca_bundle
docker exec -e UV_CACHE_DIR=/var/cache/gpt-oss/uv -e PIP_CERT=/etc/gpt-oss-test/ca.pem -e SSL_CERT_FILE=/etc/gpt-oss-test/ca.pem gpt-oss-fresh-script bash -c "set -e
  python3 -m venv /opt/plain/tools && /opt/plain/tools/bin/pip install -q uv==$UV_VERSION
  /opt/plain/tools/bin/uv venv -q /opt/gpt-oss/venvs/current
  /opt/plain/tools/bin/uv pip install -q --python /opt/gpt-oss/venvs/current/bin/python xllamacpp==$engine"
engine_s=$(since "$mark"); mark=$(now)
# the same paths as the toolkit's replica, so its argv runs unchanged
gguf=$(echo "$argv" | sed -nE 's/.*--model ([^ ]+).*/\1/p')
docker exec gpt-oss-fresh-script mkdir -p "$(dirname "$gguf")"
docker cp "$model_dir/tiny-gptoss.gguf" "gpt-oss-fresh-script:$gguf" >/dev/null
weights_s=$(since "$mark"); mark=$(now)
docker cp "$work/launcher" gpt-oss-fresh-script:/opt/gpt-oss/venvs/current/bin/gpt-oss-llamacpp-server
LLAMA_API_KEY=$key docker exec -e LLAMA_API_KEY -d gpt-oss-fresh-script bash -c "$argv > /var/log/plain-server.log 2>&1"
docker exec gpt-oss-fresh-script bash -c 'for _ in $(seq 600); do curl -sf http://127.0.0.1:8000/health >/dev/null && exit 0; sleep 0.2; done; tail /var/log/plain-server.log; exit 1'
docker exec gpt-oss-fresh-script curl -sf http://127.0.0.1:8000/v1/chat/completions -H "Authorization: Bearer $key" \
  -H 'Content-Type: application/json' \
  -d '{"model": "gpt-oss-20b", "messages": [{"role": "user", "content": "What is the capital of France?"}], "max_tokens": 64}' \
  | grep -q '"content"' || { echo "the plain script's server did not answer a chat completion" >&2; exit 1; }
start_s=$(since "$mark")
script_s=$(since "$started")
ratio=$(python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$to_chat_s" "$script_s")
whole=$(python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$toolkit_s" "$script_s")
{
  echo "fresh host, toolkit (site.yml, llama.cpp CPU): ${toolkit_s} s; packages $phase_packages, engine $phase_engine, weights $phase_weights, start $phase_start, one chat $phase_chat; beyond the script: acceptance checks, benchmark and record $phase_checks, facts, preflight and plans $phase_own (task times; the rest is Ansible between tasks)"
  echo "fresh host, plain script (same packages, wheel, weights, launcher, argv): ${script_s} s; packages $packages_s, engine $engine_s, weights $weights_s, start and one chat $start_s"
  echo "fresh host: toolkit to the same first chat ${to_chat_s} s / plain script = ${ratio}x (goal: 1.3x or less); the whole run, acceptance checks and benchmark included: ${whole}x"
} | tee -a "$report"
