#!/bin/bash
# check_run_stops.sh BUNDLE WORK — run.sh stops at once when the first executable cannot run (as a
# refused driver call would make it): a copy of BUNDLE (made by gpu.bundle_dry_run) whose first
# numerics executable only fails must end with the stop line, naming its error, and run nothing after.
set -u
bundle=$1 work=$2
rm -rf "$work" && cp -r "$bundle" "$work" || exit 1
first=$(head -1 "$work/numerics/cases" | cut -d' ' -f1)
printf '#!/bin/sh\necho "perft: error: cuda.cuMemAlloc(...) failed: CUDA_ERROR_NOT_SUPPORTED (planted)"\nexit 1\n' \
  >"$work/numerics/$first/cuda"
log=$(PERFT_GPU_OUT="$work.out" "$(dirname "$0")/run.sh" "$work" 2>&1)
rc=$?
echo "$log"
if [ $rc -ne 0 ] && echo "$log" | grep -q "^== gpu: stopped after the first executable failed: perft: error: .*(planted)" &&
   [ "$(echo "$log" | grep -c '^PASS\|^FAIL')" -eq 1 ] && ! echo "$log" | grep -q "== 3. timing"; then
  echo "run.sh stops: PASS"
else
  echo "run.sh stops: FAIL (exit $rc)"
  exit 1
fi
