#!/bin/bash
# tests/gpu/prepare.sh — everything tests/gpu/run.sh runs on a GPU machine, made here, without a GPU.
#
#   tests/gpu/prepare.sh [BUILD] [BUNDLE]   BUILD: a perft build folder (default build); BUNDLE: the
#                                           folder to fill (default gpu-bundle, beside a BUNDLE.tar.xz)
#
# A GPU machine need not be able to build perft (the H200 machines lent here have CUDA but no
# MLIR 19 and no package registry), and its time is scarce. So perftc runs here: every CUDA
# executable run.sh needs is compiled here (each depends on libc and libm alone: the CUDA driver
# and cuBLAS are loaded with dlopen where it runs), every CPU side of a comparison runs here, and
# the bundle (about 20 MB as .tar.xz) travels:
#   numerics/NAME/cuda, cpu.safetensors, cpu.jsonl    each example (and the MoE programs with cuBLAS
#                                                     on tensor cores, and with --frozen-dtype=bf16):
#                                                     the CPU executable's 5 steps from --init, seed 3
#   numerics/cases                                    NAME PERFT_GEMM_MATH RTOL ATOL LOSS_TOLERANCE
#   reference/cuda, W, X, ref.safetensors             moe_perft_r at awkward sizes and the independent
#                                                     reference's (tests/reference) outputs for it
#   timing/ID/prog, info; timing/list                 the timing table's programs: tokens a step and
#                                                     GEMM FLOPs a token from perftc --report
#   bin/perft-ref, bin/cublas_peak                    the comparer, and cuBLAS's bf16 GEMM rate probe
#   target                                            the target the executables were built for
# Environment: PERFT_GPU_TARGET=cuda-host builds the executables for the CPU (CI's dry run of both
# scripts: gpu.bundle_dry_run); PERFT_GPU_SIZES=small times tiny stand-ins instead of the OLMoE
# sizes; PERFT_GPU_CASES, an extended regular expression, keeps only the numerics cases it matches.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$ROOT" && cd "${1:-build}" 2>/dev/null && pwd) || { echo "prepare.sh: no build folder ${1:-build}"; exit 2; }
BUNDLE=$(mkdir -p "${2:-$ROOT/gpu-bundle}" && cd "${2:-$ROOT/gpu-bundle}" && pwd)
TARGET=${PERFT_GPU_TARGET:-cuda}
CUDA=${CUDA_HOME:-/usr/local/cuda}
PERFTC=$BUILD/compiler/perftc REF=$BUILD/tests/reference/perft-ref
[ -x "$PERFTC" ] && [ -x "$REF" ] || { echo "prepare.sh: build perftc and perft-ref first ($BUILD)"; exit 2; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
rm -rf "${BUNDLE:?}"/* && mkdir -p "$BUNDLE/numerics" "$BUNDLE/timing" "$BUNDLE/bin" "$BUNDLE/reference"
echo "$TARGET" >"$BUNDLE/target"
cp "$REF" "$BUNDLE/bin/perft-ref"
failed=0
jobs_max=$(nproc)

# case NAME MATH RTOL ATOL LOSS_TOLERANCE PROGRAM [perftc flags]: the CPU side here, the CUDA executable
case_prepare() {
  local name=$1 math=$2 rtol=$3 atol=$4 loss=$5 program=$6 dir=$BUNDLE/numerics/$1 work=$WORK/$1
  shift 6
  mkdir -p "$dir" "$work"
  if ! "$PERFTC" "$program" "$@" -o "$work/cpu" >"$work/cpu.compile.log" 2>&1 ||
     ! timeout 300 "$work/cpu" --init --steps 5 --seed 3 --save "$dir/cpu.safetensors" --metrics "$dir/cpu.jsonl" \
       >"$work/cpu.log" 2>&1; then
    echo "FAIL $name: the CPU side"; tail -3 "$work/cpu.compile.log" "$work/cpu.log"; return 1
  fi
  if ! "$PERFTC" "$program" --target="$TARGET" "$@" -o "$dir/cuda" >"$work/cuda.compile.log" 2>&1; then
    echo "FAIL $name: perftc --target=$TARGET"; tail -3 "$work/cuda.compile.log"; return 1
  fi
  echo "$name $math $rtol $atol $loss" >"$dir/case"
}
# the cases, each in the background (at most nproc at a time)
cases=()
add_case() { [[ $1 =~ ${PERFT_GPU_CASES:-.} ]] && cases+=("$*"); }
for program in "$ROOT"/examples/*.perft "$ROOT"/examples/schemes/*.perft; do
  add_case "$(basename "$program" .perft)" fp32 1e-3 1e-5 1e-4 "$program"
done
for name in moe_perft_r olmoe_perft_r mixtral_perft_r; do # cuBLAS on tensor cores: the product's default
  add_case "$name.tensor_cores" bf16 5e-2 5e-3 1e-2 "$ROOT/examples/$name.perft"
done
for name in olmoe_perft_r mixtral_perft_r olmoe_lora_qv; do
  add_case "$name.bf16" bf16 5e-2 5e-3 1e-2 "$ROOT/examples/$name.perft" --frozen-dtype=bf16
done
echo "== numerics: ${#cases[@]} cases, the CPU's 5 steps each and the $TARGET executables"
for c in "${cases[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
  # shellcheck disable=SC2086
  case_prepare $c &
done
wait
: >"$BUNDLE/numerics/cases"
for c in "${cases[@]}"; do
  name=${c%% *}
  if [ -f "$BUNDLE/numerics/$name/case" ]; then cat "$BUNDLE/numerics/$name/case" >>"$BUNDLE/numerics/cases"
  else failed=$((failed + 1)); fi
done

# the independent reference's outputs for moe_perft_r at awkward sizes, and the executable
if [[ reference =~ ${PERFT_GPU_CASES:-.} ]]; then
  sizes=(--T 29 --D 37 --E 6 --K 3 --F 23 --N 5 --Kt 2 --r 3)
  dir=$BUNDLE/reference
  if "$REF" gen "${sizes[@]}" --seed 5 "$dir/W.safetensors" "$dir/X.safetensors" >/dev/null &&
     "$REF" run "${sizes[@]}" "$dir/W.safetensors" "$dir/X.safetensors" "$dir/ref.safetensors" >/dev/null &&
     "$PERFTC" "$ROOT/examples/moe_perft_r.perft" --target="$TARGET" -Dtokens=29 -DD=37 -DE=6 -DK=3 -DF=23 -DN=5 -DKt=2 -Dr=3 \
       -o "$dir/cuda" >"$WORK/reference.log" 2>&1; then
    echo "reference: moe_perft_r at T=29 D=37 E=6 K=3 F=23 N=5 K̃=2 r=3"
  else
    echo "FAIL reference"; cat "$WORK/reference.log"; failed=$((failed + 1)); rm -rf "$dir"
  fi
else
  rm -rf "$BUNDLE/reference"
fi

# the timing table's programs: ID|LABEL|STEPS|ENVIRONMENT, and each one's tokens and GEMM FLOPs a token
olmoe_layer=(-DD=2048 -DE=64 -DK=8 -DF=1024 -DN=4 -DKt=2 -Dr=16) t1=4096 t2=16384
olmoe_16=(-DB=4 -DSq=1024 -DV=50304 -DD=2048 -DH=16 -DG=16 -DL=16 -DE=64 -DK=8 -DF=1024 -DN=4 -DKt=2 -Dr=16)
if [ "${PERFT_GPU_SIZES:-full}" = small ]; then
  olmoe_layer=(-DD=64 -DE=8 -DK=2 -DF=32 -DN=4 -DKt=2 -Dr=4) t1=64 t2=128
  olmoe_16=(-DB=2 -DSq=16 -DV=64 -DD=32 -DH=4 -DG=4 -DL=2 -DE=8 -DK=2 -DF=32 -DN=4 -DKt=2 -Dr=4)
fi
: >"$BUNDLE/timing/list"
# timing_prepare ID PROGRAM [perftc flags]
timing_prepare() {
  local id=$1 program=$2 dir=$BUNDLE/timing/$1
  shift 2
  mkdir -p "$dir"
  if ! "$PERFTC" "$program" --target="$TARGET" "$@" -o "$dir/prog" >"$WORK/$id.log" 2>&1 ||
     ! "$PERFTC" "$program" --target="$TARGET" "$@" --report >"$WORK/$id.report" 2>&1; then
    echo "FAIL timing $id: perftc"; tail -3 "$WORK/$id.log" "$WORK/$id.report"; return 1
  fi
  local tokens flops
  tokens=$(sed -n 's/^GEMM FLOPs per token (\([0-9]*\) tokens per step)/\1/p' "$WORK/$id.report")
  flops=$(awk '/^  forward / || /^  backward / { gsub(",", "", $2); s += $2 } END { print s }' "$WORK/$id.report")
  echo "$tokens $flops" >"$dir/info"
}
timing_prepare layer_4096 "$ROOT/examples/moe_perft_r.perft" -Dtokens=$t1 "${olmoe_layer[@]}" &
timing_prepare layer_16384 "$ROOT/examples/moe_perft_r.perft" -Dtokens=$t2 "${olmoe_layer[@]}" &
timing_prepare olmoe_16 "$ROOT/examples/olmoe_perft_r.perft" "${olmoe_16[@]}" &
timing_prepare olmoe_16_bf16 "$ROOT/examples/olmoe_perft_r.perft" --frozen-dtype=bf16 "${olmoe_16[@]}" &
wait
{
  echo "layer_4096|OLMoE layer, PERFT-R, T=4096|10|"
  echo "layer_4096|OLMoE layer T=4096, call an expert|10|PERFT_GEMM_GROUPED=0" # a cublasGemmEx an expert
  echo "layer_16384|OLMoE layer, PERFT-R, T=16384|5|"
  echo "olmoe_16|OLMoE 16 layers, PERFT-R, 4x1024|4|"
  echo "olmoe_16_bf16|OLMoE 16 layers, bf16 frozen|3|" # bf16 frozen weights; their GEMMs on bf16 copies of their inputs
} >"$BUNDLE/timing/list"
for id in layer_4096 layer_16384 olmoe_16 olmoe_16_bf16; do [ -s "$BUNDLE/timing/$id/info" ] || failed=$((failed + 1)); done

# cuBLAS's bf16 GEMM rate, for the table's last column
if [ "$TARGET" = cuda ]; then
  cc -std=c11 -O2 "$ROOT/bench/cublas_peak.c" -I"$CUDA/include" -L"$CUDA/lib64" -lcublas -lcudart \
    -Wl,-rpath,"$CUDA/lib64" -o "$BUNDLE/bin/cublas_peak" || { echo "FAIL bench/cublas_peak.c"; failed=$((failed + 1)); }
fi

tar -C "$BUNDLE" -cJf "$BUNDLE.tar.xz" . || failed=$((failed + 1))
echo "== bundle: $BUNDLE ($(du -sh "$BUNDLE" | cut -f1)), $BUNDLE.tar.xz ($(du -h "$BUNDLE.tar.xz" | cut -f1)): $((${#cases[@]})) numerics cases, $failed failed"
[ "$failed" -eq 0 ]
