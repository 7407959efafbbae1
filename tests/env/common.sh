# Shared settings for the test scripts (sourced, not run).
# shellcheck shell=bash
export FLEET_CACHE=${FLEET_CACHE:-/var/cache/gpt-oss-fleet}
export FLEET_IMAGE=${FLEET_IMAGE:-gpt-oss-fleet/debian12-systemd:bookworm}
export FLEET_IMAGE_TRIXIE=${FLEET_IMAGE_TRIXIE:-gpt-oss-fleet/debian13-systemd:trixie}
export VENV=${VENV:-$ROOT/.venv}
export UV_VERSION=${UV_VERSION:-0.13.8}
export PATH="$VENV/bin:$PATH"
# An intercepting proxy's CA (or a corporate one) lives in the system bundle: use it everywhere.
export FLEET_CA_BUNDLE=${FLEET_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
export SSL_CERT_FILE=$FLEET_CA_BUNDLE PIP_CERT=$FLEET_CA_BUNDLE
mkdir -p "$FLEET_CACHE"
# The local CPU torch wheel's directory (found by tests/env/vllm-parsers.sh), mounted into vLLM CPU test hosts.
if [ -z "${FLEET_TORCH_WHEEL_DIR:-}" ] && [ -f "$FLEET_CACHE/torch-wheel-dir" ]; then
  FLEET_TORCH_WHEEL_DIR=$(cat "$FLEET_CACHE/torch-wheel-dir")
fi
export FLEET_TORCH_WHEEL_DIR=${FLEET_TORCH_WHEEL_DIR:-/opt/wheels}
# The hosts pip's default index serves from, read from pip itself (test hosts install from it directly): the
# weights scenario puts them in gpt_oss_no_proxy beside a proxy that refuses every connection.
if [ -z "${FLEET_PIP_INDEX_HOSTS:-}" ]; then
  FLEET_PIP_INDEX_HOSTS=$(/usr/bin/python3 -c 'from pip._internal.models.index import PyPI; print(PyPI.netloc + "," + PyPI.file_storage_domain)' 2>/dev/null || true)
fi
export FLEET_PIP_INDEX_HOSTS

# A throwaway Debian 12 systemd "lab host" container, as the demo and the fresh-host benchmark use: the controller's
# uv cache shared (wheels are fetched once per machine), the CA bundle mounted where the test inventories point.
start_lab_container() {
  local name=$1 state
  docker rm -f "$name" >/dev/null 2>&1 || true
  docker run -d --name "$name" --hostname "$name" --cap-add SYS_ADMIN --cgroupns=host \
    -v /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /run --tmpfs /run/lock \
    -v "$FLEET_CACHE/uv:/var/cache/gpt-oss/uv:rw" -v "$FLEET_CA_BUNDLE:/etc/gpt-oss-test/ca.pem:ro" \
    "$FLEET_IMAGE" /lib/systemd/systemd >/dev/null
  for _ in $(seq 30); do
    state=$(docker exec "$name" systemctl is-system-running 2>/dev/null || true)
    case "$state" in running|degraded) return 0 ;; esac; sleep 1
  done
  echo "lab host container $name: systemd did not come up (is-system-running: $state)" >&2
  return 1
}
