#!/bin/bash
# check_examples.sh PERFTC EXAMPLES_DIR WORKDIR
#
# For every example program (EXAMPLES_DIR/*.perft and schemes/*.perft):
#   1. perftc --target=cuda --report: every generated kernel assembled by ptxas for sm_90 (the
#      table of registers, shared memory, stack and spills is kept in WORKDIR/NAME.report)
#   2. perftc --target=cuda: the executable, its kernels embedded as an sm_90 fatbin, links
#   3. the CUDA kernels on the CPU (--target=cuda-host) train 3 steps to the CPU target's losses
#      (first, last and held-out, relative difference under 1e-4)
# Then the CUDA executable here: without libcuda.so.1 it must stop at once, exit status 1, with one
# line saying it needs an NVIDIA GPU (on a machine with a GPU this check is skipped).
set -u
perftc=$1 examples=$2 work=$3
mkdir -p "$work"
failed=0 passed=0
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

losses() { # the numbers of the "done:" line: first, last, eval loss
  grep '^done:' "$1" | sed 's/.*loss \([^ ]*\) -> \([^ ]*\) .*eval loss \([^ ]*\).*/\1 \2 \3/'
}

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
  if [ -z "$cpu" ] || ! awk -v a="$cpu" -v b="$gpu" 'BEGIN {
        n = split(a, x, " "); if (split(b, y, " ") != n || n != 3) exit 1
        for (i = 1; i <= n; i++) { d = x[i] - y[i]; if (d < 0) d = -d; s = x[i] < 0 ? -x[i] : x[i]
                                   if (d > 1e-4 * s + 1e-6) exit 1 }
      }'; then
    fail "$name: cuda-host losses ($gpu) differ from the CPU target's ($cpu)"; continue
  fi
  kernels=$(grep -o '[0-9]* kernels, all accepted' "$work/$name.report" | cut -d' ' -f1)
  echo "PASS $name: $kernels kernels through ptxas; cuda-host losses $gpu = cpu"
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
