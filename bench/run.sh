#!/usr/bin/env bash
# bench/run.sh — the benchmark, one command: perft against its peer on four configs, two modes, 1 and 2
# threads, in one invocation with interleaved rounds, and a gradient check of every config and mode.
#
# What it measures: one training step (forward + backward, fp32, no optimizer update) of one frozen MoE
# block with a PERFT strategy beside it (bench/programs/*.perft):
#   small      T=256 D=512  E=8  k=2 F=1024, PERFT-R N=4 K~=2 r=16   (PERFORMANCE.md's "small")
#   olmoe_r    T=512 D=2048 E=64 k=8 F=1024, PERFT-R N=4 K~=2 r=16   (one OLMoE-1B-7B layer)
#   olmoe_e    T=512 D=2048 E=64 k=8 F=1024, PERFT-E r=8             (one LoRA per base expert, base routing)
#   mixtral_s  T=512 D=1024 E=8  k=2 F=3584, PERFT-S r=64            (Mixtral routing: top-k renormalised)
# each in mode A (frozen experts forward only, gradients for the adapters) and mode B (the input gradient
# flows through everything: perft's block input is h·s with s trainable, the peer's h.requires_grad):
#   1. perft:  the generated perft_train_step, linked with bench/bench_step.c (own manifest parser, buffers,
#              64-byte aligned workspace, all allocated and touched before timing; new inputs each step
#              outside the timed region; warm-up; median);
#   2. peer:   PyTorch eager (Debian python3-torch, OpenBLAS 0.3.21), per-expert loop + index_add_ like the
#              reference PERFT code (bench/peer.py), with the fastest OpenBLAS kernel a short trial finds
#              (OPENBLAS_CORETYPE candidates for this CPU, checked with openblas_get_corename) and with the
#              environment as it is;
#   3. a gradient check: the compiled executable's --dump against the peer on the same weights and inputs;
# then prints ms/step, GFLOP/s, % of this machine's measured fp32 FMA peak (bench/peak.c), peak RSS of both
# sides and the speed-up perft/peer against the fastest peer. bench/bench.py drives steps 1-3.
#
# usage: bench/run.sh     (~17 minutes on 2 cores; env: CONFIGS MODES THREADS ROUNDS STEPS WARMUP
#                          STEPS_<CONFIG> WARMUP_<CONFIG> TRIAL_STEPS TRIAL_WARMUP PEER_CORETYPES GRADCHECK,
#                          see bench/bench.py; PERFT_BENCH_BUILD=/tmp/perft-bench-build PERFT_BENCH_OUT=/tmp/perft-bench)
# Not part of the test suite. Writes nothing inside the repository.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
BUILD=${PERFT_BENCH_BUILD:-/tmp/perft-bench-build}
OUT=${PERFT_BENCH_OUT:-/tmp/perft-bench}
PY=/usr/bin/python3            # Debian's interpreter: python3-torch installs for it (not pyenv's python3)
START=$(date +%s)

section() { printf '\n== %s\n' "$*"; }

# ---- prerequisites: Debian's torch + numpy, and OpenBLAS (the peer PERFORMANCE.md describes)
install_missing() {
  local missing=() p
  for p in python3-torch python3-numpy; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  # Without OpenBLAS, Debian's torch falls back to the netlib reference BLAS (many times slower):
  # that would be a straw-man peer.
  dpkg-query -W -f='${Status}' libopenblas0-pthread 2>/dev/null | grep -q "install ok installed" ||
    dpkg-query -W -f='${Status}' libopenblas0-openmp 2>/dev/null | grep -q "install ok installed" ||
    missing+=(libopenblas0-pthread)
  [ ${#missing[@]} -eq 0 ] && return
  echo "== installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
}
install_missing

mkdir -p "$OUT"

section "build perftc ($BUILD)"
cmake -S "$ROOT" -B "$BUILD" >/dev/null
cmake --build "$BUILD" -j2 --target perftc perftrt 2>&1 | grep -v -E '^(make|\[|gmake)' || true
PERFTC=$BUILD/compiler/perftc
[ -x "$PERFTC" ] || { echo "bench: error: no $PERFTC after the build" >&2; exit 1; }
echo "perftc from $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$ROOT" && git diff --quiet HEAD 2>/dev/null || echo ' + uncommitted changes')"

section "machine"
echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') (family $(grep -m1 'cpu family' /proc/cpuinfo | awk '{print $NF}'), model $(grep -m1 -E '^model\s' /proc/cpuinfo | awk '{print $NF}')), $(nproc) CPUs, avx512f: $(grep -q avx512f /proc/cpuinfo && echo yes || echo no), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) memory"
if grep -q avx512f /proc/cpuinfo; then cc -std=c11 -O2 -mavx512f -o "$OUT/peak" "$BENCH/peak.c"
else cc -std=c11 -O2 -mavx2 -mfma -o "$OUT/peak" "$BENCH/peak.c"; fi
"$OUT/peak" | tee "$OUT/peak.txt"
PEAK=$(sed -n 's/^RESULT peak gflops=\([0-9.]*\).*/\1/p' "$OUT/peak.txt")
echo "(% peak in the tables = of this measured fp32 FMA peak per thread; PERFORMANCE.md's 212 GFLOP/s is another CPU's)"
echo "load average $(cut -d' ' -f1-3 /proc/loadavg); busiest processes now:"
ps -eo pid,pcpu,etime,comm --sort=-pcpu | sed -n 2,4p
awk '$1 >= 0.5 {print "bench: warning: the machine is busy (1-minute load " $1 "): other work shares these cores, expect noise"}' /proc/loadavg
echo "OpenBLAS environment: OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-(unset)} OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE-(unset)}"

section "configs"
"$PY" "$BENCH/bench.py" --perftc "$PERFTC" --out "$OUT"

section "summary (fp32; one training step: forward + backward)"
"$PY" "$BENCH/summary.py" "$OUT/results.jsonl" "$PEAK" | tee "$OUT/summary.txt"
echo
echo "bench: $(( ($(date +%s) - START) / 60 )) min $(( ($(date +%s) - START) % 60 )) s in all; results in $OUT (results.jsonl, summary.txt)"
