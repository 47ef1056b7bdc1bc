#!/bin/bash
# check_thread_order.sh PERFTC EXAMPLES_DIR WORKDIR
#
# A GPU runs the blocks of a launch, and the threads of a block between two barriers, in no
# promised order; cuda-host runs them in one (ascending ids), so a race there — a thread reading
# what another writes in the same stretch (a missing barrier), two threads writing one element, a
# block reading another block's output — can pass every cuda-host test and fail on a GPU.
# cuda-host-reversed runs them in the opposite order (perft-gpu-host{reverse=1}). For every
# example program and scheme, both train 3 steps: the losses printed and the saved adapters must
# be the same bits. (No kernel uses atomics, so a race-free kernel's result does not depend on order.
# A kernel whose threads each recompute a shared sum — top_k_grad's renormalisation — must round
# strictly as written: with fast-math the compiler may reassociate the sum differently in the two
# builds, which this test reports as well.)
set -u
. "$(dirname "$0")/losses.sh" # losses LOG, close A B TOLERANCE
perftc=$1 examples=$2 work=$3
mkdir -p "$work"
failed=0 passed=0
for program in "$examples"/*.perft "$examples"/schemes/*.perft; do
  name=$(basename "$program" .perft)
  ok=1
  for target in cuda-host cuda-host-reversed; do
    if ! "$perftc" "$program" --target=$target -o "$work/$name.$target" >"$work/$name.$target.log" 2>&1 ||
       ! "$work/$name.$target" --steps 3 --seed 7 --save "$work/$name.$target.safetensors" >"$work/$name.$target.out" 2>&1; then
      echo "FAIL $name: --target=$target"; tail -5 "$work/$name.$target.log" "$work/$name.$target.out"; ok=0
    fi
  done
  if [ $ok = 1 ]; then
    forward=$(grep '^done:' "$work/$name.cuda-host.out" | sed 's/ in [0-9.]* s ([0-9.]* ms\/step)//; s/, saved .*//')
    reversed=$(grep '^done:' "$work/$name.cuda-host-reversed.out" | sed 's/ in [0-9.]* s ([0-9.]* ms\/step)//; s/, saved .*//')
    if [ -z "$forward" ] || [ "$forward" != "$reversed" ]; then
      echo "FAIL $name: the losses depend on the order of blocks and threads:"; echo "  forward:  $forward"; echo "  reversed: $reversed"; ok=0
    elif ! cmp -s "$work/$name.cuda-host.safetensors" "$work/$name.cuda-host-reversed.safetensors"; then
      echo "FAIL $name: the trained adapters depend on the order of blocks and threads"; ok=0
    fi
  fi
  if [ $ok = 1 ]; then echo "PASS $name: $forward"; passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
# Expert-choice routing at 1,024 tokens: each expert ranks rows longer than TOP_K_THREAD_MOST, the
# GPU form's warp of lanes an entry: both orders the same bits, and the CPU target's losses (1e-4).
name=expert_choice_1024
for target in cpu cuda-host cuda-host-reversed; do
  "$perftc" "$examples/schemes/expert_choice.perft" -Dtokens=1024 --target=$target -o "$work/$name.$target" >/dev/null 2>&1 &&
    "$work/$name.$target" --steps 3 --seed 7 >"$work/$name.$target.out" 2>&1 || echo "FAIL $name: --target=$target"
done
cpu=$(losses "$work/$name.cpu.out") forward=$(losses "$work/$name.cuda-host.out") reversed=$(losses "$work/$name.cuda-host-reversed.out")
if [ -n "$forward" ] && [ "$forward" = "$reversed" ] && close "$cpu" "$forward" 1e-4; then
  echo "PASS $name: losses $forward (cpu $cpu)"; passed=$((passed + 1))
else
  echo "FAIL $name: cpu '$cpu', cuda-host '$forward', reversed '$reversed'"; failed=$((failed + 1))
fi
echo "thread order: $passed passed, $failed failed"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
