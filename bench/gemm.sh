#!/usr/bin/env bash
# bench/gemm.sh — perft's GEMM kernels alone, against OpenBLAS's sgemm and the machine's FMA peak.
#
# For each shape M N K (rows, outputs, inner) it compiles two one-GEMM programs — the dot form
# y = x·wᵀ (w [N, K]: the frozen experts' forward) and the axpy form y = x·w (w [K, N]: their
# input gradients) — serial, times perft_forward (the GEMM plus an MSE over y) with
# bench/gemm_step.c, and times numpy's float32 matmul (OpenBLAS, 1 thread, each OPENBLAS_CORETYPE
# tried, the fastest kept) on the same shape. Prints GFLOP/s and % of bench/peak.c's peak.
#
# usage: bench/gemm.sh [M,N,K ...]     (default: the shapes of the bench configs' expert GEMMs)
# env:   PERFT_BENCH_BUILD (perftc's build folder, default /tmp/perft-bench-build), STEPS=20
# Not part of the test suite; writes under /tmp/perft-gemm.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${PERFT_BENCH_BUILD:-/tmp/perft-bench-build}
OUT=/tmp/perft-gemm
STEPS=${STEPS:-20}
PY=/usr/bin/python3
SHAPES=("$@")
[ ${#SHAPES[@]} -gt 0 ] || SHAPES=(128,1024,2048 128,2048,1024 128,3584,1024 128,1024,3584 512,512,1024 512,1024,512)
mkdir -p "$OUT"
if [ ! -x "$BUILD/compiler/perftc" ]; then
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD" -j"$(nproc)" --target perftc >/dev/null
fi
# the peak as bench/run.sh measures it
if grep -q avx512f /proc/cpuinfo; then cc -std=c11 -O2 -mavx512f -o "$OUT/peak" "$ROOT/bench/peak.c"
else cc -std=c11 -O2 -mavx2 -mfma -o "$OUT/peak" "$ROOT/bench/peak.c"; fi
peak=$(OMP_NUM_THREADS=1 "$OUT/peak" | sed -n 's/.*gflops=\([0-9.]*\).*/\1/p')
echo "fp32 FMA peak of one core (bench/peak.c): $peak GFLOP/s"
printf '%-18s %-6s %10s %9s %8s\n' "M,N,K" "form" "ms" "GFLOP/s" "% peak"
for shape in "${SHAPES[@]}"; do
  IFS=, read -r M N K <<<"$shape"
  flop=$((2 * M * N * K))
  for form in dot axpy; do
    if [ $form = dot ]; then decl="f32[N, K]"; expr="x @ w^T"; else decl="f32[K, N]"; expr="x @ w"; fi
    cat >"$OUT/$form.perft" <<PERFT
dim tokens = $M
dim N = $N
dim K = $K
block mm(K, N) (x) -> y {
  param w : $decl train init normal(0, 0.02)
  y = $expr
}
model {
  input x : f32[tokens, K]
  input target : f32[tokens, N]
  y = mm(K, N)(x)
  output y
  loss mse(y, target)
}
PERFT
    "$BUILD/compiler/perftc" "$OUT/$form.perft" --serial --emit=obj -o "$OUT/$form.o"
    cc "$ROOT/bench/gemm_step.c" "$OUT/$form.o" -lm -o "$OUT/$form"
    ms=$("$OUT/$form" "$STEPS" | sed -n 's/RESULT ms=//p')
    awk -v s="$shape" -v f="perft $form" -v ms="$ms" -v flop="$flop" -v peak="$peak" \
      'BEGIN { g = flop / ms / 1e6; printf "%-18s %-6s %10.3f %9.1f %7.1f%%\n", s, f, ms, g, 100 * g / peak }'
  done
  best=""
  for core in "" Haswell Zen SkylakeX Cooperlake; do
    ms=$(OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_CORETYPE=$core "$PY" - "$M" "$N" "$K" "$STEPS" <<'PY'
import sys, time, numpy as np
M, N, K, steps = map(int, sys.argv[1:])
x = np.random.rand(M, K).astype(np.float32); w = np.random.rand(N, K).astype(np.float32)
for _ in range(3): x @ w.T
t = []
for _ in range(steps):
    t0 = time.perf_counter(); x @ w.T; t.append((time.perf_counter() - t0) * 1e3)
print(sorted(t)[len(t) // 2])
PY
)
    if [ -z "$best" ] || awk -v a="$ms" -v b="${best%% *}" 'BEGIN { exit !(a < b) }'; then best="$ms ${core:-as-is}"; fi
  done
  awk -v s="$shape" -v ms="${best%% *}" -v core="${best#* }" -v flop="$flop" -v peak="$peak" \
    'BEGIN { g = flop / ms / 1e6; printf "%-18s %-6s %10.3f %9.1f %7.1f%%   (OpenBLAS sgemm x·wT, kernel %s)\n", s, "blas", ms, g, 100 * g / peak, core }'
done
