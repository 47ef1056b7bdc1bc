#!/bin/bash
# check_thread_order.sh PERFTC EXAMPLES_DIR WORKDIR
#
# A GPU runs the blocks of a launch, and the threads of a block between two barriers, in no
# promised order; cuda-host runs them in one (ascending ids), so a race there — a thread reading
# what another writes in the same stretch (a missing barrier), two threads writing one element, a
# block reading another block's output — can pass every cuda-host test and fail on a GPU.
# cuda-host-reversed runs them in the opposite order (perft-gpu-host{reverse=1}). For every
# example program and scheme, both train 3 steps: the losses printed and the saved adapters must
# be the same bits. (No kernel uses atomics, so a race-free kernel's result does not depend on order.)
set -u
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
echo "thread order: $passed passed, $failed failed"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
