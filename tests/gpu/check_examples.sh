#!/bin/bash
# check_examples.sh PERFTC EXAMPLES_DIR WORKDIR
#
# For every example program (EXAMPLES_DIR/*.perft and schemes/*.perft):
#   1. perftc --target=cuda --report: every generated kernel assembled by ptxas for sm_90 (the
#      table of registers, shared memory, stack and spills is kept in WORKDIR/NAME.report)
#   2. perftc --target=cuda: the executable, its kernels embedded as an sm_90 fatbin, links
#   3. the CUDA kernels on the CPU (--target=cuda-host) train 3 steps to the CPU target's losses
#      (first, last and held-out, relative difference under 1e-4)
# Then the real-model programs with --frozen-dtype=bf16: ptxas again, their GEMMs with bf16 weights
# all library calls on bf16 inputs (perft-bf16-gemm-inputs; none left a generated kernel), and
# cuda-host's losses within 2e-3 of the CPU's (cuda-host rounds those GEMMs' inputs to bf16 as a GPU
# does; the CPU target widens the weights and keeps the activations f32).
# Then the CUDA executable here: without libcuda.so.1 it must stop at once, exit status 1, with one
# line saying it needs an NVIDIA GPU (on a machine with a GPU this check is skipped).
set -u
perftc=$1 examples=$2 work=$3
mkdir -p "$work"
failed=0 passed=0
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

. "$(dirname "$0")/losses.sh" # losses LOG, close A B TOLERANCE

for program in "$examples"/*.perft "$examples"/schemes/*.perft; do
  name=$(basename "$program" .perft)
  if ! "$perftc" "$program" --target=cuda --report >"$work/$name.report" 2>&1 ||
     ! grep -q "kernels, all accepted by ptxas for sm_90" "$work/$name.report"; then
    fail "$name: --target=cuda --report"; tail -5 "$work/$name.report"; continue
  fi
  if ! "$perftc" "$program" --target=cuda -o "$work/$name.cuda" >"$work/$name.cuda.log" 2>&1; then
    fail "$name: --target=cuda"; tail -5 "$work/$name.cuda.log"; continue
  fi
  if ! "$perftc" "$program" --target=cuda-host -o "$work/$name.cuda-host" >"$work/$name.log" 2>&1 ||
     ! "$perftc" "$program" -o "$work/$name.cpu" >>"$work/$name.log" 2>&1; then
    fail "$name: --target=cuda-host or cpu"; tail -5 "$work/$name.log"; continue
  fi
  "$work/$name.cpu" --steps 3 >"$work/$name.cpu.out" 2>&1
  "$work/$name.cuda-host" --steps 3 >"$work/$name.cuda-host.out" 2>&1
  cpu=$(losses "$work/$name.cpu.out") gpu=$(losses "$work/$name.cuda-host.out")
  if ! close "$cpu" "$gpu" 1e-4; then
    fail "$name: cuda-host losses ($gpu) differ from the CPU target's ($cpu)"; continue
  fi
  kernels=$(grep -o '[0-9]* kernels, all accepted' "$work/$name.report" | cut -d' ' -f1)
  echo "PASS $name: $kernels kernels through ptxas; cuda-host losses $gpu = cpu"
  passed=$((passed + 1))
done

# bf16 frozen weights: every GEMM with one a library call on bf16 inputs
for name in olmoe_perft_r mixtral_perft_r; do
  program=$examples/$name.perft bf=$work/$name.bf16
  if ! "$perftc" "$program" --target=cuda --frozen-dtype=bf16 --report >"$bf.report" 2>&1 ||
     ! grep -q "kernels, all accepted by ptxas for sm_90" "$bf.report"; then
    fail "$name --frozen-dtype=bf16: --target=cuda --report"; tail -5 "$bf.report"; continue
  fi
  if ! "$perftc" "$program" --target=cuda --frozen-dtype=bf16 --emit=lowered -o "$bf.mlir" >"$bf.log" 2>&1 ||
     ! "$perftc" "$program" --target=cuda-host --frozen-dtype=bf16 -o "$bf.cuda-host" >>"$bf.log" 2>&1 ||
     ! "$perftc" "$program" --frozen-dtype=bf16 -o "$bf.cpu" >>"$bf.log" 2>&1; then
    fail "$name --frozen-dtype=bf16: perftc"; tail -5 "$bf.log"; continue
  fi
  # library calls with GEMM_BF16_INPUTS (flags 16 to 23), and no generated GEMM kernel (an outlined
  # function perft_kernel_N_...matmul...) widening a bf16 operand (arith.extf) as it loads it
  calls=$(grep -cE 'call @perft_(grouped_)?gemm\(%c(1[6-9]|2[0-3])_i64' "$bf.mlir")
  widened=$(awk '/func.func private @perft_kernel_/ { gemm = /matmul/ } gemm && /arith.extf/ { n++ } END { print n + 0 }' "$bf.mlir")
  if [ "$calls" -eq 0 ] || [ "$widened" -ne 0 ]; then
    fail "$name --frozen-dtype=bf16: $calls bf16-input library calls, $widened bf16 loads in generated GEMM kernels"; continue
  fi
  "$bf.cpu" --steps 3 >"$bf.cpu.out" 2>&1
  "$bf.cuda-host" --steps 3 >"$bf.cuda-host.out" 2>&1
  cpu=$(losses "$bf.cpu.out") gpu=$(losses "$bf.cuda-host.out")
  if ! close "$cpu" "$gpu" 2e-3; then
    fail "$name --frozen-dtype=bf16: cuda-host losses ($gpu) differ from the CPU target's ($cpu)"; continue
  fi
  echo "PASS $name --frozen-dtype=bf16: $calls library calls on bf16 inputs, no generated bf16 GEMM; cuda-host losses $gpu ~ cpu $cpu"
  passed=$((passed + 1))
done

# the CUDA executable on a machine without a GPU
if ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1'; then
  echo "SKIP no-GPU message: this machine has libcuda.so.1"
else
  exe="$work/token_perft_r.cuda"
  "$exe" --steps 2 >"$work/no_gpu.out" 2>"$work/no_gpu.err"
  status=$?
  if [ "$status" -eq 1 ] && [ "$(wc -l <"$work/no_gpu.err")" -eq 1 ] &&
     grep -q "^perft: error: this program was compiled for CUDA (perftc --target=cuda) and needs an NVIDIA GPU" "$work/no_gpu.err"; then
    echo "PASS no GPU: $(cat "$work/no_gpu.err")"
    passed=$((passed + 1))
  else
    fail "no GPU: exit $status, stderr:"; cat "$work/no_gpu.err"
  fi
fi
echo "gpu examples: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
