#!/bin/bash
# tests/gpu/run.sh — the CUDA target on a machine with an H100 or H200 (sm_90), in one go.
#
#   tests/gpu/prepare.sh build gpu-bundle      here, without a GPU: every executable compiled, the
#                                              CPU sides run (tests/gpu/prepare.sh says what)
#   tests/gpu/run.sh gpu-bundle.tar.xz         there: no build, no perftc (output: PERFT_GPU_OUT,
#                                              default /tmp/perft-gpu). Meant to finish in minutes.
#
# 1. Numerics, GPU against CPU on the same weights and inputs:
#    - every example program (examples/*.perft, examples/schemes/*.perft), 5 steps from the same init,
#      seed and data on the GPU, with the library GEMMs (cuBLAS) in plain fp32 math
#      (PERFT_GEMM_MATH=fp32): every trainable tensor after the 5 AdamW steps (on the GPU: the
#      generated optimizer, perft_grad_norm and perft_adamw) within rtol 1e-3, atol 1e-5 of the CPU
#      executable's, and every step's loss within a relative 1e-4 (fp32);
#    - the MoE programs again with cuBLAS's default here, tensor cores on bf16-rounded inputs with
#      fp32 accumulation: rtol 5e-2, atol 5e-3, losses within a relative 1e-2 (bf16; the atol is
#      AdamW's: it moves a parameter by up to lr (3e-3) a step whatever its gradient's size, so where
#      a gradient's sign is within bf16 rounding the two runs part by up to 5 steps · lr);
#    - the OLMoE and Mixtral programs again with --frozen-dtype=bf16 on both sides: the GPU's GEMMs
#      with a bf16 weight take bf16 copies of their other inputs (perft-bf16-gemm-inputs), the CPU
#      widens the weights and keeps the activations fp32: the bf16 tolerances;
#    - moe_perft_r's one step (--dump: loss, outputs, every gradient) on the GPU against the
#      independent plain-C reference (tests/reference: perft-ref run): rtol 2e-3, atol 2e-5.
# 2. The GPU's measured bf16 GEMM rate (cuBLAS, fp32 accumulation) and copy bandwidth
#    (bench/cublas_peak.c).
# 3. Timing (a table, not a test): the OLMoE-layer step — moe_perft_r at D=2048 E=64 k=8 F=1024,
#    PERFT-R N=4 K̃=2 r=16 — at T=4096 and T=16384, and an OLMoE-shaped 16-layer stack
#    (olmoe_perft_r at OLMoE-1B-7B's sizes, 4 sequences of 1024 tokens, random weights; again with
#    bf16 frozen weights): ms/step, tokens/s, GEMM TFLOP/s (perftc --report's GEMM FLOPs) and the
#    fraction of the cuBLAS rate; the T=4096 layer also with PERFT_GEMM_GROUPED=0 (a cublasGemmEx an
#    expert, not one cublasGemmGroupedBatchedEx a grouped GEMM), and any note the executables print
#    (a cuBLAS that refuses the grouped GEMM for some inputs) after the table. A step is the training
#    executable's (forward + backward, AdamW on the adapters; for moe_perft_r also the teacher's
#    forward that makes the targets), averaged over the steps after the first (the first loads the
#    kernels, starts cuBLAS and moves the arena to the GPU: its time is in the note).
#
# A dry run without a GPU: PERFT_GPU_TARGET=cuda-host tests/gpu/prepare.sh, then run.sh on that
# bundle: the same kernels executed on the CPU (CI's gpu.bundle_dry_run does so on a few cases).
# PERFT_GPU_TIMING=0 leaves the timing out.
set -u
BUNDLE_ARG=${1:-gpu-bundle.tar.xz}
OUT=${PERFT_GPU_OUT:-/tmp/perft-gpu}
CUDA=${CUDA_HOME:-/usr/local/cuda}
export LD_LIBRARY_PATH=$CUDA/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} # cuBLAS, dlopen'd by the executables
if ! ls "$CUDA"/lib64/libcublas.so.1[23] >/dev/null 2>&1; then # else the pip wheels', where Python has them
  for module in cublas cuda_runtime; do
    wheel=$(python3 -c "import os, nvidia.$module as m; print(os.path.join(list(m.__path__)[0], 'lib'))" 2>/dev/null)
    [ -n "$wheel" ] && export LD_LIBRARY_PATH=$wheel:$LD_LIBRARY_PATH
  done
fi
rm -rf "$OUT" && mkdir -p "$OUT"
if [ -f "$BUNDLE_ARG" ]; then
  mkdir -p "$OUT/bundle" && tar -C "$OUT/bundle" -xJf "$BUNDLE_ARG" || { echo "run.sh: cannot unpack $BUNDLE_ARG"; exit 2; }
  B=$OUT/bundle
elif [ -d "$BUNDLE_ARG" ]; then
  B=$(cd "$BUNDLE_ARG" && pwd)
else
  echo "run.sh: no bundle $BUNDLE_ARG (make one with tests/gpu/prepare.sh)"; exit 2
fi
TARGET=$(cat "$B/target")
REF=$B/bin/perft-ref
failed=0 passed=0
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
pass() { echo "PASS $*"; passed=$((passed + 1)); }
start=$(date +%s)

if [ "$TARGET" = cuda ] && ! nvidia-smi >/dev/null 2>&1; then
  echo "tests/gpu/run.sh: no NVIDIA GPU here (nvidia-smi fails); for a dry run on the CPU make the"
  echo "bundle with PERFT_GPU_TARGET=cuda-host tests/gpu/prepare.sh"
  exit 2
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | sed 's/^/GPU: /'

echo "== 1. numerics: GPU against CPU (5 steps: trainable tensors rtol 1e-3 atol 1e-5, losses 1e-4; bf16 GEMMs 5e-2 5e-3 1e-2)"
# numerics_case NAME MATH RTOL ATOL LOSS_TOLERANCE: the GPU's 5 steps against the CPU's (the bundle's)
numerics_case() {
  local name=$1 math=$2 rtol=$3 atol=$4 loss=$5 dir=$OUT/numerics/$1 cpu=$B/numerics/$1
  mkdir -p "$dir"
  if ! PERFT_GEMM_MATH=$math timeout 60 "$cpu/cuda" --init --steps 5 --seed 3 --save "$dir/cuda.safetensors" \
       --metrics "$dir/cuda.jsonl" >"$dir/cuda.log" 2>&1; then
    fail "$name: the $TARGET executable failed or took over 60 s (see $dir/cuda.log)"; tail -5 "$dir/cuda.log"
    return 2
  fi
  if ! "$REF" compare "$cpu/cpu.safetensors" "$dir/cuda.safetensors" --rtol "$rtol" --atol "$atol" >"$dir/compare.log" 2>&1; then
    fail "$name: trainable tensors differ (see $dir/compare.log)"; return
  fi
  if ! paste <(grep -o '"loss":[^,]*' "$cpu/cpu.jsonl" | cut -d: -f2) <(grep -o '"loss":[^,]*' "$dir/cuda.jsonl" | cut -d: -f2) |
       awk -v tol="$loss" 'NF != 2 { bad = 1 } { d = $1 - $2; if (d < 0) d = -d; s = $1 < 0 ? -$1 : $1; if (d > tol * s + 1e-7) bad = 1 }
            END { exit bad || NR < 5 }'; then
    fail "$name: losses differ"; paste "$cpu/cpu.jsonl" "$dir/cuda.jsonl" | head -5; return
  fi
  pass "$name: 5 steps, trainable tensors and losses match (PERFT_GEMM_MATH=$math)"
}
first=1
while read -r name math rtol atol loss; do
  numerics_case "$name" "$math" "$rtol" "$atol" "$loss"
  if [ $? -eq 2 ] && [ $first = 1 ]; then # the first executable cannot run here: the rest would not either
    echo "== gpu: stopped after the first executable failed: $(grep -m1 'error' "$OUT/numerics/$name/cuda.log")"
    exit 1
  fi
  first=0
done <"$B/numerics/cases"
# the GPU's one step against the independent reference (at awkward sizes)
if [ -d "$B/reference" ]; then
  dir=$OUT/numerics/reference && mkdir -p "$dir"
  if PERFT_GEMM_MATH=fp32 "$B/reference/cuda" --dump "$dir/cuda.safetensors" --inputs "$B/reference/X.safetensors" \
       --weights "$B/reference/W.safetensors" >"$dir/dump.log" 2>&1 &&
     "$REF" compare "$B/reference/ref.safetensors" "$dir/cuda.safetensors" --rtol 2e-3 --atol 2e-5 >"$dir/compare.log" 2>&1; then
    pass "moe_perft_r --dump on the GPU = the independent reference ($(tail -1 "$dir/compare.log"))"
  else
    fail "moe_perft_r --dump on the GPU against the independent reference (see $dir)"
  fi
fi

if [ "${PERFT_GPU_TIMING:-1}" = 0 ]; then
  echo "== gpu: $passed passed, $failed failed ($(($(date +%s) - start)) s; no timing: PERFT_GPU_TIMING=0)"
  [ "$failed" -eq 0 ]
  exit
fi

echo "== 2. this GPU's bf16 GEMM rate (cuBLAS) and copy bandwidth"
peak_tflops=0
if [ ! -x "$B/bin/cublas_peak" ]; then
  echo "(no cuBLAS rate: the bundle is for $TARGET)"
elif "$B/bin/cublas_peak" | tee "$OUT/peak.txt"; then
  peak_tflops=$(grep -o '[0-9.]* TFLOP/s' "$OUT/peak.txt" | cut -d' ' -f1)
else
  echo "(no cuBLAS rate)"
fi

echo "== 3. timing (cuBLAS on tensor cores: bf16 inputs, fp32 accumulation)"
# time_step ID LABEL STEPS [VARIABLE=VALUE]: one line of the table
printf '%-34s %10s %12s %12s %10s %s\n' "step" "ms/step" "tokens/s" "GEMM TFLOP/s" "of cuBLAS" "note"
time_step() {
  local id=$1 label=$2 steps=$3 environment=$4 dir=$OUT/timing/$1${4:+.$4} tokens flops
  mkdir -p "$dir"
  read -r tokens flops <"$B/timing/$id/info"
  # shellcheck disable=SC2086
  if ! env $environment timeout 300 "$B/timing/$id/prog" --init --steps "$steps" --seed 1 --eval-batches 1 --metrics "$dir/metrics.jsonl" \
       >"$dir/run.log" 2>&1; then
    printf '%-34s %s\n' "$label" "did not finish $steps steps in 300 s (see $dir/run.log)"; failed=$((failed + 1)); return
  fi
  # ms/step: the mean over the steps after the first (which loads the kernels, starts cuBLAS and
  # moves the arena to the GPU; its time is in the note)
  local ms first
  ms=$(grep '"step"' "$dir/metrics.jsonl" | sed 's/.*"step":\([0-9]*\).*"ms":\([0-9.]*\).*/\1 \2/' |
       awk '$1 > 1 { s += $2; n++ } END { if (n) printf "%.3f", s / n }')
  first=$(grep '"step":1,' "$dir/metrics.jsonl" | sed 's/.*"ms":\([0-9.]*\).*/\1/')
  [ -n "$ms" ] || ms=$first
  awk -v label="$label" -v ms="$ms" -v first="$first" -v tokens="$tokens" -v flops="$flops" -v peak="$peak_tflops" 'BEGIN {
    tps = tokens / (ms / 1000); tf = flops * tps / 1e12
    share = peak > 0 ? 100 * tf / peak : 0
    printf "%-34s %10.2f %12.0f %12.2f %9.1f%% T=%d, first step %.0f ms\n", label, ms, tps, tf, share, tokens, first }'
}
while IFS='|' read -r id label steps environment; do
  time_step "$id" "$label" "$steps" "$environment"
done <"$B/timing/list"

grep -h "perft: note:" "$OUT"/timing/*/run.log "$OUT"/numerics/*/*.log 2>/dev/null | sort | uniq -c
echo "== gpu: $passed passed, $failed failed ($(($(date +%s) - start)) s)"
[ "$failed" -eq 0 ]
