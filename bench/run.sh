#!/usr/bin/env bash
# bench/run.sh — the benchmark, one command.
#
# What it measures: one training step (forward + backward, mode A: frozen experts forward only,
# gradients for the PERFT-R router and LoRA A/B banks) of examples/moe_perft_r.perft at
# PERFORMANCE.md's "small" size (T=256 D=512 E=8 k=2 F=1024 N=4 K~=2 r=16), fp32:
#   1. perft:  the generated perft_train_step, linked with bench/bench_step.c (own manifest parser,
#              buffers, 64-byte aligned workspace; new h/target each step outside the timed region;
#              3 warm-up steps, median of $STEPS), single-threaded;
#   2. peer:   PyTorch eager (Debian python3-torch, OpenBLAS), per-expert loop + index_add_ like the
#              reference PERFT code (bench/peer.py), on 1 and 2 threads, once with the environment's
#              OPENBLAS_* variables as they are and once without them (PERFORMANCE.md's trap);
#   3. a gradient check: the compiled executable's --dump against the peer on the same weights
#              and inputs (loss, output y, every gradient);
# then prints ms/step, GFLOP/s (PERFORMANCE.md's GEMM FLOP formulas), % of the fp32 peak and the
# speed-up perft/peer. Also measures this machine's own FMA peak (bench/peak.c) for context.
#
# usage: bench/run.sh          (env: STEPS=30 WARMUP=3 ROUNDS=5 PERFT_BENCH_BUILD=/tmp/perft-bench-build
#                                    PERFT_BENCH_OUT=/tmp/perft-bench)
# Not part of the test suite. Writes nothing inside the repository.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
BUILD=${PERFT_BENCH_BUILD:-/tmp/perft-bench-build}
OUT=${PERFT_BENCH_OUT:-/tmp/perft-bench}
STEPS=${STEPS:-30}
WARMUP=${WARMUP:-3}
ROUNDS=${ROUNDS:-5}
PY=/usr/bin/python3            # Debian's interpreter: python3-torch installs for it (not pyenv's python3)
PEAK_PER_CORE=212              # PERFORMANCE.md: fp32 FMA peak of one core (AVX-512)

T=256 D=512 E=8 K=2 F=1024 N=4 KT=2 R=16
DEFINES=(-Dtokens=$T -DD=$D -DE=$E -DK=$K -DF=$F -DN=$N -DKt=$KT -Dr=$R)
DIMS=$T,$D,$E,$K,$F,$N,$KT,$R
PROGRAM=$ROOT/examples/moe_perft_r.perft

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
RESULTS=$OUT/results.tsv
: > "$RESULTS"
record() { grep '^RESULT ' | sed "s/^/$1\t$2\t/" >> "$RESULTS"; }   # ROUND LABEL: keep a tool's RESULT line

section "build perftc ($BUILD)"
cmake -S "$ROOT" -B "$BUILD" >/dev/null
make -s -C "$BUILD" -j2 perftc 2>&1 | grep -v -E '^(make|\[)' || true
PERFTC=$BUILD/compiler/perftc
[ -x "$PERFTC" ] || { echo "bench: error: no $PERFTC after the build" >&2; exit 1; }
echo "perftc from $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$ROOT" && git diff --quiet 2>/dev/null || echo ' + uncommitted changes')"

section "machine"
echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') (family $(grep -m1 'cpu family' /proc/cpuinfo | awk '{print $NF}'), model $(grep -m1 -E '^model\s' /proc/cpuinfo | awk '{print $NF}')), $(nproc) CPUs, avx512f: $(grep -q avx512f /proc/cpuinfo && echo yes || echo no)"
if grep -q avx512f /proc/cpuinfo; then cc -std=c11 -O2 -mavx512f -o "$OUT/peak" "$BENCH/peak.c"
else cc -std=c11 -O2 -mavx2 -mfma -o "$OUT/peak" "$BENCH/peak.c"; fi
"$OUT/peak" | tee "$OUT/peak.txt"
record 0 "machine" < "$OUT/peak.txt"
echo "(PERFORMANCE.md's ceiling is $PEAK_PER_CORE GFLOP/s per core; the table gives % of both)"
echo "load average $(cut -d' ' -f1-3 /proc/loadavg); busiest processes now:"
ps -eo pid,pcpu,etime,comm --sort=-pcpu | sed -n 2,4p
awk '$1 >= 0.5 {print "bench: warning: the machine is busy (1-minute load " $1 "): other work shares these 2 cores, expect noise"}' /proc/loadavg

section "perft: perftc ${DEFINES[*]}"
"$PERFTC" "$PROGRAM" "${DEFINES[@]}" --report | tee "$OUT/report.txt" | grep -v -E '^  +(linalg|perft)\.' 
"$PERFTC" "$PROGRAM" "${DEFINES[@]}" --emit=obj -o "$OUT/train_step.o"
"$PERFTC" "$PROGRAM" "${DEFINES[@]}" -o "$OUT/moe_perft_r"
# the object runs its big GEMMs on LLVM's OpenMP runtime (docs/ABI.md); OMP_NUM_THREADS picks the threads
cc -std=c11 -O2 -Wall -o "$OUT/bench_step" "$BENCH/bench_step.c" "$OUT/train_step.o" -L/usr/lib/llvm-19/lib -lomp -Wl,-rpath,/usr/lib/llvm-19/lib -lm
# ---- perft and the peer, in the same run, in $ROUNDS interleaved rounds (shared machines are noisy)
# The peer: PyTorch eager (bench/peer.py), 1 and 2 threads, with the
# environment's OPENBLAS_* variables as they are and without them (PERFORMANCE.md's trap).
# The peer waits passively (as PERFORMANCE.md measured it; spinning slows it down on 2 threads);
# perft keeps libomp's default (spinning), which is faster for it: each side at its best.
THREAD_ENV() { echo "OMP_NUM_THREADS=$1 OPENBLAS_NUM_THREADS=$1 OMP_WAIT_POLICY=PASSIVE"; }
show() { # FILE: all of it in round 1, its time line later
  if [ "$round" -eq 1 ]; then cat "$1"; else grep -E '^  time' "$1"; fi
}
run_perft() { # THREADS (the generated code's parallel GEMMs run on OpenMP threads)
  echo "-- perft, $1 thread(s)"
  OMP_NUM_THREADS=$1 "$OUT/bench_step" --dims "$DIMS" --steps "$STEPS" --warmup "$WARMUP" \
    --peak "$PEAK_PER_CORE" > "$OUT/perft.txt"
  show "$OUT/perft.txt"
  record "$round" "$1" < "$OUT/perft.txt"
}
run_peer() { # LABEL THREADS ENV-ARGS...
  local label=$1 threads=$2
  shift 2
  echo "-- peer [$label], $threads thread(s)"
  # shellcheck disable=SC2046
  env "$@" $(THREAD_ENV "$threads") "$PY" "$BENCH/peer.py" time --dims "$DIMS" --threads "$threads" \
    --steps "$STEPS" --warmup "$WARMUP" > "$OUT/peer.txt"
  show "$OUT/peer.txt"
  record "$round" "$label" < "$OUT/peer.txt"
}
section "peer environment"
if [ -n "${OPENBLAS_CORETYPE+set}${OPENBLAS_L2_SIZE+set}" ]; then
  echo "the environment exports OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-(unset)} OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE-(unset)}:"
  echo "the peer runs once as-is and once with them unset"
  VARIANTS=("env as-is" "OPENBLAS_* unset")
else
  echo "this shell exports neither OPENBLAS_CORETYPE nor OPENBLAS_L2_SIZE: 'env as-is' is already the unset case;"
  echo "the trap is shown by forcing OPENBLAS_CORETYPE=Haswell instead"
  VARIANTS=("env as-is, unset" "forced Haswell")
fi
for round in $(seq 1 "$ROUNDS"); do
  section "round $round/$ROUNDS (load average $(cut -d' ' -f1-3 /proc/loadavg), this benchmark included)"
  run_perft 1
  run_perft 2
  if [ "$round" -eq 1 ]; then
    # cross-check: perftc --report counts GEMM FLOPs per token; bench_step uses PERFORMANCE.md's formulas
    awk -v T=$T '/^  forward/ {gsub(",", "", $2); f = $2} /^  backward/ {gsub(",", "", $2); b = $2}
      END {printf "   perftc --report: (%d + %d) FLOP/token x %d tokens = %.6f GFLOP/step\n", f, b, T, (f + b) * T / 1e9}' \
      "$OUT/report.txt"
    awk '/^RESULT perft/ {for (i = 3; i <= NF; i++) if ($i ~ /^gflop_step=/) print "   formulas (bench_step): " substr($i, 12) " GFLOP/step"}' \
      "$OUT/perft.txt"
  fi
  for threads in 1 2; do
    run_peer "${VARIANTS[0]}" "$threads"
    if [ "${VARIANTS[1]}" = "forced Haswell" ]; then run_peer "${VARIANTS[1]}" "$threads" OPENBLAS_CORETYPE=Haswell
    else run_peer "${VARIANTS[1]}" "$threads" -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE; fi
  done
done

section "gradient check: $OUT/moe_perft_r --dump vs the peer"
set +e
"$PY" "$BENCH/peer.py" gradcheck --dims "$DIMS" --prog "$OUT/moe_perft_r" --dir "$OUT/gradcheck" | tee "$OUT/gradcheck.txt"
set -e
record 0 "gradcheck" < "$OUT/gradcheck.txt"

section "summary (small: T=$T D=$D E=$E k=$K F=$F N=$N K~=$KT r=$R, fp32, mode A; medians of $STEPS steps)"
"$PY" "$BENCH/summary.py" "$RESULTS" "$PEAK_PER_CORE"
