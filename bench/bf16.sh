#!/usr/bin/env bash
# bench/bf16.sh — frozen weights in bf16 against f32 (issue 10), one command, one table:
#   1. bf16_peak: the two ways to multiply bf16 weights into f32 sums on THIS CPU — widened to f32
#      as they are loaded, then fp32 FMAs (what perft does), or AVX512-BF16 vdpbf16ps (activations
#      rounded to bf16 too) — in 4x4 register blocks, weights in L2 and in DRAM, 1 thread;
#   2. the OLMoE-layer step of bench/run.sh (T=512 D=2048 E=64 k=8 F=1024, PERFT-R N=4 K~=2 r=16,
#      modes A and B) compiled with --frozen-dtype=f32 and =bf16, timed by bench/bench_step.c (median
#      of STEPS steps after WARMUP, 2 threads), with its frozen weight bytes and peak RSS;
#   3. the whole OLMoE model (examples/olmoe_perft_r.perft: attention + MoE + PERFT-R, Sq=256 B=1,
#      tools/random_checkpoint.py's config) at 4 layers in f32 and bf16 and at 16 layers in bf16 (16
#      layers in f32 need 27.7 GB of weights: more than this machine has), timed by the executable's
#      own summary (ms/step of STEPS_MODEL steps, --init weights) with its peak RSS.
# usage: bench/bf16.sh   (~6 minutes; env STEPS WARMUP STEPS_MODEL; PERFT_BENCH_BUILD, PERFT_BENCH_OUT)
# Not part of the test suite. Writes nothing inside the repository.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${PERFT_BENCH_BUILD:-/tmp/perft-bench-build}
OUT=${PERFT_BENCH_OUT:-/tmp/perft-bench-bf16}
STEPS=${STEPS:-10} WARMUP=${WARMUP:-2} STEPS_MODEL=${STEPS_MODEL:-3}
mkdir -p "$OUT"
cmake -S "$ROOT" -B "$BUILD" >/dev/null
cmake --build "$BUILD" -j2 --target perftc perftrt 2>&1 | grep -v -E '^(make|\[|gmake)' || true
PERFTC=$BUILD/compiler/perftc
echo "perftc from $(cd "$ROOT" && git rev-parse --short HEAD)$(cd "$ROOT" && git diff --quiet HEAD || echo ' + uncommitted changes');" \
     "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs," \
     "avx512_bf16: $(grep -q avx512_bf16 /proc/cpuinfo && echo yes || echo no)"

echo
echo "== 1. bf16 x f32 on this CPU (GFLOP/s, 1 thread)"
if grep -q avx512_bf16 /proc/cpuinfo; then
  cc -std=c11 -O2 -mavx512f -mavx512bf16 -mavx512bw -mavx512vl -o "$OUT/bf16_peak" "$ROOT/bench/bf16_peak.c"
  "$OUT/bf16_peak"
else
  echo "no AVX512-BF16 on this CPU: only the widening path exists here"
fi

peak_rss() { awk '/Maximum resident/ {printf "%.2f GiB", $NF / 1048576}' "$1"; }

echo
echo "== 2. the OLMoE-layer step (bench_step, 2 threads, median of $STEPS)"
DIMS="-Dtokens=512 -DD=2048 -DE=64 -DK=8 -DF=1024 -Drenorm=0 -Dr=16 -DN=4 -DKt=2"
printf '%-6s %-6s %12s %14s %12s\n' mode frozen ms/step "weights MiB" "peak RSS"
for mode in a b; do
  for dtype in f32 bf16; do
    stem=$OUT/olmoe_r_${mode}_$dtype
    # shellcheck disable=SC2086
    "$PERFTC" "$ROOT/bench/programs/perft_r_$mode.perft" $DIMS --frozen-dtype=$dtype --emit=obj -o "$stem.o"
    cc -std=c11 -O2 -o "$stem.bench_step" "$ROOT/bench/bench_step.c" "$stem.o" -L/usr/lib/llvm-19/lib -lomp \
       -Wl,-rpath,/usr/lib/llvm-19/lib -lm
    /usr/bin/time -v "$stem.bench_step" --dims 512,2048,64,8,1024,4,2,16 --strategy r --mode "${mode^^}" \
      --steps "$STEPS" --warmup "$WARMUP" --threads 2 > "$stem.log" 2> "$stem.time"
    ms=$(sed -n 's/^RESULT .* ms=\([0-9.]*\) .*/\1/p' "$stem.log" | head -1)
    mib=$(awk -v d=$dtype 'BEGIN { printf "%.0f", (64 * 3 * 1024 * 2048 + 64 * 2048) * (d == "bf16" ? 2 : 4) / 1048576 }')
    printf '%-6s %-6s %12s %14s %12s\n' "${mode^^}" "$dtype" "$ms" "$mib" "$(peak_rss "$stem.time")"
  done
done

echo
echo "== 3. the OLMoE model (attention + MoE + PERFT-R, 256 tokens a step, 2 threads)"
CONFIG=$OUT/olmoe-config
[ -f "$CONFIG/config.json" ] || /usr/bin/python3 "$ROOT/tools/random_checkpoint.py" olmoe "$CONFIG" --config-only >/dev/null
printf '%-8s %-6s %12s %12s\n' layers frozen ms/step "peak RSS"
for run in "4 f32" "4 bf16" "16 bf16"; do
  set -- $run
  exe=$OUT/olmoe_${1}_$2
  "$PERFTC" "$ROOT/examples/olmoe_perft_r.perft" --config "$CONFIG/config.json" -DSq=256 -DB=1 -DL="$1" \
    --frozen-dtype="$2" -o "$exe"
  /usr/bin/time -v "$exe" --steps "$STEPS_MODEL" --warmup 0 --eval-batches 1 > "$exe.log" 2> "$exe.time"
  ms=$(sed -n 's/.*in steps (\([0-9.]*\) ms\/step).*/\1/p' "$exe.log" | head -1)
  printf '%-8s %-6s %12s %12s\n' "$1" "$2" "$ms" "$(peak_rss "$exe.time")"
done
