#!/usr/bin/env bash
# perft-plot: one smoothed polyline per run (evaluation lines skipped), a legend entry per run,
# and a clear error for a file without losses.  usage: perft_plot.sh PERFT_PLOT WORKDIR
set -euo pipefail
plot=$1 work=$2
mkdir -p "$work"
for run in a b; do
  : > "$work/$run.jsonl"
  for s in $(seq 1 30); do
    echo "{\"step\":$s,\"steps\":30,\"loss\":$(awk -v s=$s -v r=$run 'BEGIN{print (r=="a"?10:5)/s}'),\"gnorm\":1,\"lr\":0.01,\"ms\":1,\"tok_s\":1}" >> "$work/$run.jsonl"
  done
  echo '{"eval":true,"step":30,"loss":123456,"acc":1}' >> "$work/$run.jsonl"
done
"$plot" "$work/out.svg" "a test" first="$work/a.jsonl" second="$work/b.jsonl"
[ "$(grep -c '<polyline' "$work/out.svg")" -eq 2 ] || { echo "FAIL: expected 2 curves"; exit 1; }
grep -q '>first<' "$work/out.svg" && grep -q '>second<' "$work/out.svg" || { echo "FAIL: legend"; exit 1; }
if grep -q '123456' "$work/out.svg"; then echo "FAIL: an evaluation line was plotted"; exit 1; fi
echo '{"step":1}' > "$work/empty.jsonl"
if "$plot" "$work/bad.svg" t x="$work/empty.jsonl" 2> "$work/err.txt"; then echo "FAIL: accepted a file without losses"; exit 1; fi
grep -q "no loss values" "$work/err.txt" || { echo "FAIL: unclear error: $(cat "$work/err.txt")"; exit 1; }
echo "perft_plot: PASS"
