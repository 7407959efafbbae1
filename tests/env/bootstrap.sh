#!/usr/bin/env bash
# Prepare this machine to run gpt-oss-fleet's test suite and demo: Docker engine, a locally built
# Debian 12 systemd image, the controller venv (.venv) and shared caches. Idempotent: re-running
# skips what is already there. Needs root and Debian's archive + PyPI (nothing else).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/env/common.sh
source "$ROOT/tests/env/common.sh"

step() { printf '\n==> %s\n' "$*"; }

step "Docker engine, debootstrap and the apt repository tools"
if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null || ! command -v reprepro >/dev/null \
   || ! command -v apt-ftparchive >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap reprepro apt-utils gnupg >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  mkdir -p "$FLEET_CACHE"
  # a daemon killed with its session leaves a pid file behind
  if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    rm -f /var/run/docker.pid
  fi
  setsid /usr/sbin/dockerd >"$FLEET_CACHE/dockerd.log" 2>&1 < /dev/null &
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { tail -30 "$FLEET_CACHE/dockerd.log"; exit 1; }
fi
echo "docker $(docker version --format '{{.Server.Version}}')"

# Read the Debian mirror from this machine's own apt sources (never hard-coded here).
debian_mirror() {
  cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
    | grep -E '^(URIs:|deb )' | grep -v security | head -1 \
    | sed -E 's/^URIs: *//; s/^deb +(\[[^]]*\] +)?//; s/ .*//' || true
}

# build_image IMAGE SUITE: a systemd-booting Debian root from Debian's archive, imported into Docker.
build_image() {
  local image=$1 suite=$2 mirror rootfs
  step "Base image $image"
  if ! docker image inspect "$image" >/dev/null 2>&1; then
    mirror=$(debian_mirror)
    [ -n "$mirror" ] || { echo "no Debian mirror found in /etc/apt sources" >&2; exit 1; }
    rootfs=$(mktemp -d)
    debootstrap --variant=minbase \
      --include=systemd,systemd-sysv,python3,python3-apt,sudo,dbus,ca-certificates,curl,iproute2,procps \
      "$suite" "$rootfs" "$mirror" >"$FLEET_CACHE/debootstrap-$suite.log" 2>&1 \
      || { tail -30 "$FLEET_CACHE/debootstrap-$suite.log"; exit 1; }
    # Boot to a quiet multi-user target; no getty on a container console.
    chroot "$rootfs" systemctl mask getty@tty1.service serial-getty@.service systemd-logind.service >/dev/null 2>&1 || true
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    # Emptied lists look like a fresh host's, but emptying them just now makes apt's cache look fresh to Ansible
    # (cache_valid_time reads the directory's age): a host converged within gpt_oss_apt_cache_valid_time of the
    # image build would find no packages. Date them back, as on a cloud image built long ago.
    touch -d '2000-01-01 00:00:00' "$rootfs"/var/lib/apt/lists
    tar -C "$rootfs" -c . | docker import -c 'CMD ["/lib/systemd/systemd"]' - "$image" >/dev/null
    rm -rf "$rootfs"
  fi
  docker image ls "$image" --format '{{.Repository}}:{{.Tag}} {{.Size}}'
}
build_image "$FLEET_IMAGE" bookworm
# Debian 13 hosts: the Vulkan llama.cpp scenario (current llama.cpp needs newer Vulkan headers than Debian 12's)
build_image "$FLEET_IMAGE_TRIXIE" trixie

step "Controller venv $VENV (Python 3.12)"
if [ ! -x "$VENV/bin/ansible-playbook" ] || [ "$ROOT/pyproject.toml" -nt "$VENV/.installed" ]; then
  command -v uv >/dev/null 2>&1 || python3 -m pip install -q "uv==$UV_VERSION"
  py312=""
  for candidate in python3.12 python3.13 "$(pyenv root 2>/dev/null)"/versions/3.1[23]*/bin/python3; do
    if "$candidate" -c 'import sys; assert sys.version_info >= (3, 12)' 2>/dev/null; then
      py312=$("$candidate" -c 'import sys; print(sys.executable)'); break
    fi
  done
  [ -n "$py312" ] || { echo "ansible-core 2.21 needs Python >= 3.12 on the controller; none found" >&2; exit 1; }
  UV_PYTHON_DOWNLOADS=never uv venv -q --allow-existing --python "$py312" "$VENV"
  UV_CACHE_DIR="$FLEET_CACHE/uv" uv pip install -q --python "$VENV/bin/python" -e "$ROOT[test]"
  touch "$VENV/.installed"
fi
# Ansible, molecule and pytest start hundreds of times in a run; with PYTHONDONTWRITEBYTECODE (set on this kind
# of machine) none of their modules would ever be cached. Compiled once here (seconds when already compiled).
"$VENV/bin/python" -m compileall -q -j 0 "$VENV/lib" >/dev/null || true
# sed, not head: head exits after one line and ansible, still writing, died of the broken pipe (exit 250, pipefail)
"$VENV/bin/ansible" --version | sed -n 1p
"$VENV/bin/molecule" --version | sed -n 1p
