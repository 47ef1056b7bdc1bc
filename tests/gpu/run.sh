#!/bin/bash
# tests/gpu/run.sh — the CUDA target on a machine with an H100 or H200 (sm_90), in one go.
#
#   tests/gpu/run.sh [BUILD]      BUILD: a perft build folder (default: build; configured and built
#                                 here when BUILD/compiler/perftc is missing). Output: /tmp/perft-gpu
#                                 (PERFT_GPU_OUT). Meant to finish in under 10 minutes.
#
# 1. Numerics, GPU against CPU on the same weights and inputs:
#    - every example program (examples/*.perft, examples/schemes/*.perft) compiled for cpu and for
#      cuda, trained 5 steps from the same init, seed and data, with the library GEMMs (cuBLAS) in
#      plain fp32 math (PERFT_GEMM_MATH=fp32): every trainable tensor after the 5 AdamW steps (on the
#      GPU: the generated optimizer, perft_grad_norm and perft_adamw) within
#      rtol 1e-3, atol 1e-5, and every step's loss within a relative 1e-4 (fp32);
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
#    (olmoe_perft_r at OLMoE-1B-7B's sizes, 4 sequences of 1024 tokens, random bf16 frozen weights):
#    ms/step, tokens/s, GEMM TFLOP/s (perftc --report's GEMM FLOPs) and the fraction of the cuBLAS
#    rate; the T=4096 layer also with PERFT_GEMM_GROUPED=0 (a cublasGemmEx an expert, not one
#    cublasGemmGroupedBatchedEx a grouped GEMM), and any note the executables print (a cuBLAS that
#    refuses the grouped GEMM for some inputs) after the table. A step is the training executable's
#    (forward + backward, AdamW on the adapters; for moe_perft_r also the teacher's forward that
#    makes the targets), averaged over the steps after the first (the first loads the kernels,
#    starts cuBLAS and moves the arena to the GPU: its time is in the note).
#
# A dry run without a GPU: PERFT_GPU_TARGET=cuda-host PERFT_GPU_TIMING=0 tests/gpu/run.sh runs part
# 1 with the same kernels executed on the CPU (what CI's gpu.* tests also do). PERFT_GPU_NUMERICS=0
# leaves part 1 out; PERFT_GPU_SIZES=small times tiny stand-ins of the table's programs (CI's
# gpu.run_sh_timing runs the table's code so on cuda-host).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$ROOT" && mkdir -p "${1:-build}" && cd "${1:-build}" && pwd)
OUT=${PERFT_GPU_OUT:-/tmp/perft-gpu}
CUDA=${CUDA_HOME:-/usr/local/cuda}
export LD_LIBRARY_PATH=$CUDA/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} # cuBLAS, dlopen'd by the executables
TARGET=${PERFT_GPU_TARGET:-cuda}
mkdir -p "$OUT"
failed=0 passed=0
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
pass() { echo "PASS $*"; passed=$((passed + 1)); }
start=$(date +%s)

if [ "$TARGET" = cuda ] && ! nvidia-smi >/dev/null 2>&1; then
  echo "tests/gpu/run.sh: no NVIDIA GPU here (nvidia-smi fails); a dry run of the numerics on the CPU:"
  echo "  PERFT_GPU_TARGET=cuda-host PERFT_GPU_TIMING=0 $0 ${1:-build}"
  exit 2
fi
if [ ! -x "$CUDA/bin/ptxas" ]; then
  echo "tests/gpu/run.sh: no CUDA toolkit at $CUDA (ptxas compiles the kernels; set CUDA_HOME)"
  exit 2
fi

echo "== build"
if [ ! -x "$BUILD/compiler/perftc" ]; then
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null && cmake --build "$BUILD" -j"$(nproc)" >"$OUT/build.log" 2>&1 ||
    { echo "build failed: $OUT/build.log"; exit 1; }
fi
PERFTC=$BUILD/compiler/perftc REF=$BUILD/tests/reference/perft-ref
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | sed 's/^/GPU: /'

if [ "${PERFT_GPU_NUMERICS:-1}" = 1 ]; then
echo "== 1. numerics: GPU against CPU (5 steps: trainable tensors rtol 1e-3 atol 1e-5, losses 1e-4; bf16 GEMMs 5e-2 5e-3 1e-2)"
# the tolerances of compare: trainable tensors' rtol and atol, the losses' relative tolerance
tolerances=(1e-3 1e-5 1e-4)
export PERFT_GEMM_MATH=fp32
# compare NAME DIR: the cpu and cuda runs in DIR
compare() {
  local name=$1 dir=$2
  if ! "$REF" compare "$dir/cpu.safetensors" "$dir/cuda.safetensors" --rtol "${tolerances[0]}" --atol "${tolerances[1]}" \
       >"$dir/compare.log" 2>&1; then
    fail "$name: trainable tensors differ (see $dir/compare.log)"; return
  fi
  if ! paste <(grep -o '"loss":[^,]*' "$dir/cpu.jsonl" | cut -d: -f2) <(grep -o '"loss":[^,]*' "$dir/cuda.jsonl" | cut -d: -f2) |
       awk -v tol="${tolerances[2]}" 'NF != 2 { bad = 1 } { d = $1 - $2; if (d < 0) d = -d; s = $1 < 0 ? -$1 : $1; if (d > tol * s + 1e-7) bad = 1 }
            END { exit bad || NR < 5 }'; then
    fail "$name: losses differ"; paste "$dir/cpu.jsonl" "$dir/cuda.jsonl" | head -5; return
  fi
  pass "$name: 5 steps, trainable tensors and losses match (PERFT_GEMM_MATH=$PERFT_GEMM_MATH)"
}
# train_pair NAME PROGRAM [perftc flags]: cpu and cuda, 5 steps each, the same seed
train_pair() {
  local name=$1 program=$2 dir=$OUT/numerics/$1 t
  shift 2
  mkdir -p "$dir"
  for t in cpu cuda; do
    local target=$t
    [ $t = cuda ] && target=$TARGET
    if ! "$PERFTC" "$program" --target=$target "$@" -o "$dir/$t" >"$dir/$t.compile.log" 2>&1; then
      fail "$name: perftc --target=$t (see $dir/$t.compile.log)"; return
    fi
    rm -f "$dir/$t.jsonl"
    if ! timeout 120 "$dir/$t" --init --steps 5 --seed 3 --save "$dir/$t.safetensors" --metrics "$dir/$t.jsonl" \
         >"$dir/$t.log" 2>&1; then
      fail "$name: the $t executable failed (see $dir/$t.log)"; tail -3 "$dir/$t.log"; return
    fi
  done
  compare "$name" "$dir"
}
for program in "$ROOT"/examples/*.perft "$ROOT"/examples/schemes/*.perft; do
  train_pair "$(basename "$program" .perft)" "$program"
done
# cuBLAS on tensor cores (bf16 inputs, fp32 accumulation): the product's default
tolerances=(5e-2 5e-3 1e-2)
export PERFT_GEMM_MATH=bf16
for name in moe_perft_r olmoe_perft_r mixtral_perft_r; do
  train_pair "$name.tensor_cores" "$ROOT/examples/$name.perft"
done
for name in olmoe_perft_r mixtral_perft_r olmoe_lora_qv; do
  train_pair "$name.bf16" "$ROOT/examples/$name.perft" --frozen-dtype=bf16
done
export PERFT_GEMM_MATH=fp32
# the GPU's one step against the independent reference (at awkward sizes)
dir=$OUT/numerics/reference && mkdir -p "$dir"
sizes=(--T 29 --D 37 --E 6 --K 3 --F 23 --N 5 --Kt 2 --r 3)
if "$REF" gen "${sizes[@]}" --seed 5 "$dir/W.safetensors" "$dir/X.safetensors" >/dev/null &&
   "$REF" run "${sizes[@]}" "$dir/W.safetensors" "$dir/X.safetensors" "$dir/ref.safetensors" >/dev/null &&
   "$PERFTC" "$ROOT/examples/moe_perft_r.perft" --target="$TARGET" -Dtokens=29 -DD=37 -DE=6 -DK=3 -DF=23 -DN=5 -DKt=2 -Dr=3 \
     -o "$dir/cuda" >"$dir/compile.log" 2>&1 &&
   "$dir/cuda" --dump "$dir/cuda.safetensors" --inputs "$dir/X.safetensors" --weights "$dir/W.safetensors" >"$dir/dump.log" 2>&1 &&
   "$REF" compare "$dir/ref.safetensors" "$dir/cuda.safetensors" --rtol 2e-3 --atol 2e-5 >"$dir/compare.log" 2>&1; then
  pass "moe_perft_r --dump on the GPU = the independent reference ($(tail -1 "$dir/compare.log"))"
else
  fail "moe_perft_r --dump on the GPU against the independent reference (see $dir)"
fi

fi # PERFT_GPU_NUMERICS

if [ "${PERFT_GPU_TIMING:-1}" = 0 ]; then
  echo "== gpu: $passed passed, $failed failed ($(($(date +%s) - start)) s; no timing: PERFT_GPU_TIMING=0)"
  [ "$failed" -eq 0 ]
  exit
fi

echo "== 2. this GPU's bf16 GEMM rate (cuBLAS) and copy bandwidth"
peak_tflops=0
if [ "$TARGET" != cuda ]; then
  echo "(no GPU: --target=$TARGET)"
elif cc -std=c11 -O2 "$ROOT/bench/cublas_peak.c" -I"$CUDA/include" -L"$CUDA/lib64" -lcublas -lcudart \
     -Wl,-rpath,"$CUDA/lib64" -o "$OUT/cublas_peak" 2>"$OUT/cublas_peak.log" && "$OUT/cublas_peak" | tee "$OUT/peak.txt"; then
  peak_tflops=$(grep -o '[0-9.]* TFLOP/s' "$OUT/peak.txt" | cut -d' ' -f1)
else
  echo "(no cuBLAS rate: see $OUT/cublas_peak.log)"
fi

echo "== 3. timing (cuBLAS on tensor cores: bf16 inputs, fp32 accumulation)"
unset PERFT_GEMM_MATH
# time_step LABEL STEPS PROGRAM [perftc flags]: one line of the table
printf '%-34s %10s %12s %12s %10s %s\n' "step" "ms/step" "tokens/s" "GEMM TFLOP/s" "of cuBLAS" "note"
time_step() {
  local label=$1 steps=$2 program=$3 dir=$OUT/timing/$1
  shift 3
  mkdir -p "$dir"
  if ! "$PERFTC" "$program" --target="$TARGET" "$@" -o "$dir/prog" >"$dir/compile.log" 2>&1 ||
     ! "$PERFTC" "$program" --target="$TARGET" "$@" --report >"$dir/report.txt" 2>&1; then
    printf '%-34s %s\n' "$label" "perftc failed (see $dir)"; failed=$((failed + 1)); return
  fi
  local tokens flops
  tokens=$(sed -n 's/^GEMM FLOPs per token (\([0-9]*\) tokens per step)/\1/p' "$dir/report.txt")
  flops=$(awk '/^  forward / || /^  backward / { gsub(",", "", $2); s += $2 } END { print s }' "$dir/report.txt")
  rm -f "$dir/metrics.jsonl"
  if ! timeout 240 "$dir/prog" --init --steps "$steps" --seed 1 --metrics "$dir/metrics.jsonl" >"$dir/run.log" 2>&1; then
    printf '%-34s %s\n' "$label" "did not finish $steps steps in 240 s (see $dir/run.log)"; return
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
olmoe_layer=(-DD=2048 -DE=64 -DK=8 -DF=1024 -DN=4 -DKt=2 -Dr=16) t1=4096 t2=16384
olmoe_16=(-DB=4 -DSq=1024 -DV=50304 -DD=2048 -DH=16 -DG=16 -DL=16 -DE=64 -DK=8 -DF=1024 -DN=4 -DKt=2 -Dr=16)
if [ "${PERFT_GPU_SIZES:-full}" = small ]; then # the table's own test, on cuda-host (gpu.run_sh_timing)
  olmoe_layer=(-DD=64 -DE=8 -DK=2 -DF=32 -DN=4 -DKt=2 -Dr=4) t1=64 t2=128
  olmoe_16=(-DB=2 -DSq=16 -DV=64 -DD=32 -DH=4 -DG=4 -DL=2 -DE=8 -DK=2 -DF=32 -DN=4 -DKt=2 -Dr=4)
fi
time_step "OLMoE layer, PERFT-R, T=4096" 10 "$ROOT/examples/moe_perft_r.perft" -Dtokens=$t1 "${olmoe_layer[@]}"
# the same with a cublasGemmEx an expert instead of one grouped GEMM a call (runtime/gemm_cublas.c)
PERFT_GEMM_GROUPED=0 time_step "OLMoE layer T=4096, call an expert" 10 "$ROOT/examples/moe_perft_r.perft" -Dtokens=$t1 "${olmoe_layer[@]}"
time_step "OLMoE layer, PERFT-R, T=16384" 5 "$ROOT/examples/moe_perft_r.perft" -Dtokens=$t2 "${olmoe_layer[@]}"
time_step "OLMoE 16 layers, PERFT-R, 4x1024" 4 "$ROOT/examples/olmoe_perft_r.perft" "${olmoe_16[@]}"
# bf16 frozen weights: half the memory; their GEMMs take bf16 copies of their inputs (perft-bf16-gemm-inputs)
time_step "OLMoE 16 layers, bf16 frozen" 3 "$ROOT/examples/olmoe_perft_r.perft" --frozen-dtype=bf16 "${olmoe_16[@]}"

grep -h "perft: note:" "$OUT"/timing/*/run.log "$OUT"/numerics/*/*.log 2>/dev/null | sort | uniq -c
echo "== gpu: $passed passed, $failed failed ($(($(date +%s) - start)) s)"
[ "$failed" -eq 0 ]
