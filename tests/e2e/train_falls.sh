#!/usr/bin/env bash
# End to end: compile the example, train it toward its teacher, and require the mean loss of
# the last 10 steps to be below FRACTION of the mean of the first 10.
# usage: train_falls.sh PERFTC EXAMPLE WORKDIR [FRACTION]
set -euo pipefail
perftc=$1 example=$2 work=$3 fraction=${4:-0.25}
mkdir -p "$work"
"$perftc" "$example" -o "$work/prog"
"$work/prog" --steps 300 --lr 0.03 --seed 7 --metrics "$work/metrics.jsonl" > "$work/train.log"
tail -n 1 "$work/train.log"
python3 - "$work/metrics.jsonl" "$fraction" <<'PY'
import json, sys
records = [json.loads(line) for line in open(sys.argv[1])]
losses = [r["loss"] for r in records if not r.get("eval")]
first, last = sum(losses[:10]) / 10, sum(losses[-10:]) / 10
ratio = last / first
print(f"train_falls: first-10 mean {first:.5g}, last-10 mean {last:.5g}, ratio {ratio:.3f} (must be < {sys.argv[2]})")
sys.exit(0 if ratio < float(sys.argv[2]) else 1)
PY
