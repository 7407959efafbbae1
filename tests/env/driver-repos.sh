#!/usr/bin/env bash
# Local, GPG-signed apt repositories that stand in for NVIDIA's CUDA repository and AMD's ROCm/amdgpu
# repositories, laid out like the real ones so the gpu_driver role takes its production code path with only
# the base URLs changed:
#   nvidia/cuda/repos/debian12/x86_64/        flat repository (apt-ftparchive), key 3bf863cc.pub, Origin NVIDIA
#   rocm/apt/<version>/ dists/jammy/main      reprepro, Origin repo.radeon.com, key rocm/rocm.gpg.key
#   amdgpu/<release>/ubuntu/ dists/jammy/main reprepro, same key
# The packages are stand-ins under the real names and versions (metadata, a systemd unit where the real one
# ships one, a STAND-IN note): installing them proves repository, signature, pin, hold and dependency
# behaviour, not the driver itself. Output: $FLEET_CACHE/driver-repos (rebuilt when this script changes).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$ROOT/tests/env/common.sh"
OUT=$FLEET_CACHE/driver-repos
STAMP=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)
if [ -f "$OUT/.stamp" ] && [ "$(cat "$OUT/.stamp")" = "$STAMP" ]; then
  echo "driver repositories up to date in $OUT"
  exit 0
fi
rm -rf "$OUT" && mkdir -p "$OUT"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export GNUPGHOME=$WORK/gnupg
mkdir -m 700 "$GNUPGHOME"
echo "trust-model always" >"$GNUPGHOME/gpg.conf"

# deb NAME VERSION OUTDIR [Depends] [unit-name]
deb() {
  local name=$1 version=$2 outdir=$3 depends=${4:-} unit=${5:-}
  local dir=$WORK/build/$name-$version
  mkdir -p "$dir/DEBIAN" "$dir/usr/share/doc/$name"
  {
    echo "Package: $name"
    echo "Version: $version"
    echo "Architecture: amd64"
    echo "Section: misc"
    echo "Priority: optional"
    echo "Maintainer: gpt-oss-fleet tests <tests@gpt-oss-fleet.invalid>"
    [ -n "$depends" ] && echo "Depends: $depends"
    echo "Description: stand-in for $name (gpt-oss-fleet test repository)"
    echo " Carries the real package's name, version and dependencies only."
  } >"$dir/DEBIAN/control"
  echo "$name $version: stand-in built by tests/env/driver-repos.sh" >"$dir/usr/share/doc/$name/STAND-IN"
  if [ -n "$unit" ]; then
    mkdir -p "$dir/lib/systemd/system"
    printf '[Unit]\nDescription=%s (stand-in)\n\n[Service]\nExecStart=/bin/sleep infinity\n\n[Install]\nWantedBy=multi-user.target\n' \
      "$unit" >"$dir/lib/systemd/system/$unit.service"
  fi
  dpkg-deb --root-owner-group -Zxz --build "$dir" "$outdir/${name}_${version}_amd64.deb" >/dev/null
}

key() {  # key UID -> prints the fingerprint
  gpg --batch --quiet --passphrase '' --quick-gen-key "$1" rsa2048 sign never 2>/dev/null
  gpg --batch --with-colons --list-keys "$1" | awk -F: '/^fpr/ {print $10; exit}'
}

# --- NVIDIA: one flat repository per distro; branches 570/575/580 side by side, as in the real one ---
NV_FPR=$(key "gpt-oss-fleet test stand-in for NVIDIA CUDA <nvidia-standin@gpt-oss-fleet.invalid>")
NV=$OUT/nvidia/cuda/repos/debian12/x86_64
mkdir -p "$NV"
declare -A NV_VERSION=([570]=570.195.03-1 [575]=575.64.05-1 [580]=580.95.05-1)
for branch in 570 575 580; do
  v=${NV_VERSION[$branch]}
  deb nvidia-kernel-open-$branch "$v" "$NV"
  deb nvidia-kernel-$branch "$v" "$NV"
  deb nvidia-persistenced "$v" "$NV" "" nvidia-persistenced
  deb nvidia-open-$branch "$v" "$NV" "nvidia-kernel-open-$branch (= $v), nvidia-persistenced (>= $branch)"
  deb cuda-drivers-$branch "$v" "$NV" "nvidia-kernel-$branch (= $v), nvidia-persistenced (>= $branch)"
  deb nvidia-fabricmanager-$branch "$v" "$NV" "" nvidia-fabricmanager
done
deb cuda-toolkit-12-8 12.8.1-1 "$NV"
(
  cd "$NV"
  apt-ftparchive packages . >Packages
  gzip -9kn Packages
  apt-ftparchive -o APT::FTPArchive::Release::Origin=NVIDIA -o "APT::FTPArchive::Release::Label=NVIDIA CUDA" \
    -o APT::FTPArchive::Release::Architectures=amd64 release . >Release
  gpg --batch --quiet --yes --default-key "$NV_FPR" --clearsign -o InRelease Release
  gpg --batch --quiet --yes --default-key "$NV_FPR" -abs -o Release.gpg Release
  gpg --batch --armor --export "$NV_FPR" >3bf863cc.pub
)

# --- AMD: ROCm 7.0 and amdgpu 30.10 (jammy suites, which Debian 12 uses too), signed by one key ---
AMD_FPR=$(key "gpt-oss-fleet test stand-in for repo.radeon.com <rocm-standin@gpt-oss-fleet.invalid>")
mkdir -p "$OUT/rocm"
gpg --batch --armor --export "$AMD_FPR" >"$OUT/rocm/rocm.gpg.key"
reprepro_repo() {  # reprepro_repo BASEDIR DEBS...
  local base=$1; shift
  mkdir -p "$base/conf"
  cat >"$base/conf/distributions" <<EOF
Origin: repo.radeon.com
Label: repo.radeon.com
Codename: jammy
Architectures: amd64
Components: main
SignWith: $AMD_FPR
EOF
  for package in "$@"; do reprepro -b "$base" --silent includedeb jammy "$package"; done
  rm -rf "$base/conf" "$base/db"
}
mkdir -p "$WORK/rocm" "$WORK/amdgpu"
R=7.0.0.70000-17~22.04
deb hsa-rocr 1.18.0.70000-17~22.04 "$WORK/rocm"
deb rocminfo 1.0.0.70000-17~22.04 "$WORK/rocm" "hsa-rocr"
deb rocm-smi-lib 7.8.0.70000-17~22.04 "$WORK/rocm"
deb rocm-hip-runtime "$R" "$WORK/rocm" "hsa-rocr, rocminfo"
reprepro_repo "$OUT/rocm/apt/7.0" "$WORK"/rocm/*.deb
deb amdgpu-dkms 1:6.14.14.30100000-2212064.22.04 "$WORK/amdgpu"
reprepro_repo "$OUT/amdgpu/30.10/ubuntu" "$WORK"/amdgpu/*.deb

# Expected key checksums, the way gpu_driver_key_checksums takes them.
cat >"$OUT/key-checksums.yml" <<EOF
gpt-oss-nvidia-cuda: "sha256:$(sha256sum "$NV/3bf863cc.pub" | cut -d' ' -f1)"
gpt-oss-rocm: "sha256:$(sha256sum "$OUT/rocm/rocm.gpg.key" | cut -d' ' -f1)"
gpt-oss-amdgpu: "sha256:$(sha256sum "$OUT/rocm/rocm.gpg.key" | cut -d' ' -f1)"
EOF
echo "$STAMP" >"$OUT/.stamp"
echo "driver repositories built in $OUT: $(find "$OUT" -name '*.deb' | wc -l) packages"
