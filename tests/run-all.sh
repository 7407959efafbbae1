#!/usr/bin/env bash
# The whole test suite, on a fresh machine of this kind: installs what it needs (Docker engine, the
# Debian 12 systemd image, the controller venv, the vLLM parser environments), then runs lint,
# the unit tests (fixtures + real vLLM parsers + the real gpu_facts module) and the Molecule scenarios.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
source tests/env/common.sh
# every stage writes its reports here; on a fresh machine nothing else has made it yet
mkdir -p "$FLEET_CACHE/reports"
started=$SECONDS
stage() { printf '\n==== %s (%ds elapsed)\n' "$*" $((SECONDS - started)); }

stage "bootstrap"
bash tests/env/bootstrap.sh
stage "stand-in apt repositories for the driver scenarios"
bash tests/env/driver-repos.sh
stage "vLLM parser environments and the real release wheels"
bash tests/env/vllm-parsers.sh
# llama.cpp source builds are built once per run (by the first scenario that needs one) and shared between
# scenarios through this controller cache; a new run builds again, so the build path itself is always exercised.
[ "${FLEET_KEEP_LLAMACPP_BUILDS:-0}" = 1 ] || rm -rf "$FLEET_CACHE/llamacpp-builds"
mkdir -p "$FLEET_CACHE/llamacpp-builds"
stage "test models"
source tests/env/common.sh  # picks up the torch wheel directory found above
mkdir -p "$FLEET_CACHE/models/tiny-gguf"
"$VENV/bin/python" tests/tools/make_tiny_gguf.py "$FLEET_CACHE/models/tiny-gguf/tiny-llama.gguf"
# the tiny GPT-OSS: random, trained on the checks' conversations, and as a GGUF for llama.cpp
bash tests/env/tiny-gptoss.sh
# what the hub stand-in serves: the tiny models plus a 512 MiB synthetic safetensors file
"$VENV/bin/python" tests/tools/make_hub_repo.py "$FLEET_CACHE/hub-repos" --tiny-gptoss "$FLEET_CACHE/models/tiny-gptoss" \
  --tiny-gguf "$FLEET_CACHE/models/tiny-gguf/tiny-llama.gguf" \
  --tiny-gptoss-gguf "$FLEET_CACHE/models/tiny-gptoss-gguf/tiny-gptoss.gguf"

stage "lint"
"$VENV/bin/yamllint" -s .
"$VENV/bin/ansible-lint" --profile production --offline

stage "unit tests"
FLEET_REQUIRE_VLLM_PARSERS=1 "$VENV/bin/pytest" -q tests/unit

stage "guardrails, weights, engine builds: bad inputs change nothing, secrets never print, downloads resume, CPU builds on GPU plans are refused, planned installs resolve (tests/integration)"
rm -f "$FLEET_CACHE/reports/bad-inputs.txt" "$FLEET_CACHE/reports/weights.txt"
# two shards at once, each with its own lab container: most of a guardrail case is waiting on Docker and Ansible
shard_log="$FLEET_CACHE/reports/integration-shard-1.log"
FLEET_TEST_SHARD=1/2 FLEET_LAB_HOST=gpt-oss-guardrails-1 "$VENV/bin/pytest" -q -p no:cacheprovider --durations=15 tests/integration \
  >"$shard_log" 2>&1 &
shard_pid=$!
shard0=0
FLEET_TEST_SHARD=0/2 FLEET_LAB_HOST=gpt-oss-guardrails-0 "$VENV/bin/pytest" -q -p no:cacheprovider --durations=15 tests/integration \
  || shard0=$?
shard1=0
wait "$shard_pid" || shard1=$?
echo "---- the other shard:"; cat "$shard_log"
if [ "$shard0" != 0 ] || [ "$shard1" != 0 ]; then echo "integration tests failed" >&2; exit 1; fi

stage "speed: the weights download against curl, same files from the same stand-in (reports/speed.txt)"
rm -f "$FLEET_CACHE/reports/speed.txt"
"$VENV/bin/python" tests/tools/bench_weights.py "$FLEET_CACHE/reports/speed.txt" --runs 3
# a mirror or CDN that caps each connection: what parallel ranges buy
"$VENV/bin/python" tests/tools/bench_weights.py "$FLEET_CACHE/reports/speed.txt" --runs 3 --rate-mib 200
stage "speed: a fresh host to a healthy endpoint, the toolkit against a plain script (reports/speed.txt)"
bash tests/tools/bench-fresh-host.sh "$FLEET_CACHE/reports/speed.txt"
stage "the README's demo (make demo), then make clean-demo"
bash tests/demo.sh
docker rm -f gpt-oss-demo >/dev/null

run_scenario() {
  stage "molecule test -s $1"
  "$VENV/bin/molecule" test -s "$1"
}
if [ -n "${MOLECULE_SCENARIOS:-}" ]; then
  for scenario in $MOLECULE_SCENARIOS; do run_scenario "$scenario"; done
else
  # vulkan spends two thirds of its time compiling llama.cpp (about 11 of 17 minutes on two cores). It has its own
  # containers, network and hub stand-in, so it runs beside the scenarios that mostly wait on Docker, apt and the
  # network; fleet, whose load test measures latencies, starts only once it has finished.
  vulkan_log="$FLEET_CACHE/reports/molecule-vulkan.log"
  stage "molecule test -s vulkan, in the background (log: $vulkan_log)"
  "$VENV/bin/molecule" test -s vulkan >"$vulkan_log" 2>&1 &
  vulkan_pid=$!
  trap 'kill "$vulkan_pid" 2>/dev/null || true' EXIT
  for scenario in llamacpp gpu_driver weights; do run_scenario "$scenario"; done
  vulkan_rc=0
  wait "$vulkan_pid" || vulkan_rc=$?
  trap - EXIT
  stage "molecule test -s vulkan finished in the background, rc=$vulkan_rc"
  if [ "$vulkan_rc" != 0 ]; then cat "$vulkan_log"; echo "molecule vulkan failed" >&2; exit 1; fi
  tail -n 40 "$vulkan_log"
  for scenario in fleet default; do run_scenario "$scenario"; done
fi
stage "speed report ($FLEET_CACHE/reports/speed.txt)"
"$VENV/bin/python" tests/tools/speed_report.py "$FLEET_CACHE/reports"
stage "done"
