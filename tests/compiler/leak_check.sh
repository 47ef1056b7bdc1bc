#!/usr/bin/env bash
# leak_check.sh PERFTC ROOT WORKDIR: in a sanitizer build (PERFT_SANITIZE=ON), the compiler runs
# every example and gallery scheme through the whole pipeline (and --report) under AddressSanitizer,
# UndefinedBehaviorSanitizer and LeakSanitizer: no finding, no leak. Also for the CUDA target (the
# GPU passes, ptxas's report) and cuda-host (the host lowering of the launches).
set -uo pipefail
perftc=$1 root=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failures=0 count=0
for example in "$root"/examples/*.perft "$root"/examples/schemes/*.perft; do
  name=$(basename "$example" .perft)
  count=$((count + 1))
  for run in "-o $work/$name" "--report" "--target=cuda -o $work/$name.cuda" "--target=cuda --report" \
             "--target=cuda-host -o $work/$name.cuda-host"; do
    if ! "$perftc" "$example" $run > "$work/$name.log" 2>&1 || grep -q "Sanitizer" "$work/$name.log"; then
      echo "FAIL: $name ($run):"
      grep -A 12 "Sanitizer" "$work/$name.log" | head -n 30
      failures=$((failures + 1))
    fi
  done
done
[ $failures -eq 0 ] && echo "leak check: PASS ($count programs compiled and reported, no sanitizer finding)" ||
  echo "leak check: FAIL ($failures)"
[ $failures -eq 0 ]
