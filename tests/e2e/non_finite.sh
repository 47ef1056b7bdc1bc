#!/usr/bin/env bash
# Non-finite values never crash (issue 9). For every example and gallery scheme:
#   1. a learning rate that blows up (--lr 3e38, no clip) stops training at the first non-finite
#      loss or gradient with exit 1 and a message naming the step and the first non-finite tensor,
#      and nothing is saved over the last checkpoint;
#   2. frozen weights with NaN in every router (or, without one, the first frozen tensor) give an
#      --eval-only error (exit 1), never a signal.
# usage: non_finite.sh PERFTC EXAMPLES_DIR WORKDIR
set -uo pipefail
perftc=$1 examples=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
failures=0
for example in "$examples"/*.perft "$examples"/schemes/*.perft; do
  name=$(basename "$example" .perft)
  prog="$work/$name"
  if ! "$perftc" "$example" -o "$prog" 2> "$work/$name.compile.log"; then
    echo "FAIL: $name: does not compile: $(cat "$work/$name.compile.log")"
    failures=$((failures + 1))
    continue
  fi
  # 1. divergence: exit 1, the step and the tensor named, the checkpoint of step 1 intact
  "$prog" --steps 6 --lr 3e38 --clip 0 --warmup 0 --checkpoint-dir "$work/$name.ckpt" --checkpoint-every 1 \
      > "$work/$name.diverge.log" 2>&1
  status=$?
  message=$(grep "perft: error" "$work/$name.diverge.log")
  if [ $status -ne 1 ] || ! echo "$message" | grep -q "training diverged; the first non-finite tensor is" ||
     ! ls "$work/$name.ckpt"/step-*.safetensors > /dev/null 2>&1; then
    echo "FAIL: $name: --lr 3e38 (exit $status): $(tail -n 2 "$work/$name.diverge.log")"
    failures=$((failures + 1))
    continue
  fi
  # 2. NaN in the frozen weights: --eval-only reports it
  "$prog" --steps 1 --save-all "$work/$name.all.safetensors" > /dev/null 2>&1 || { echo "FAIL: $name: one step"; failures=$((failures + 1)); continue; }
  poisoned=$(python3 - "$work/$name.all.safetensors" "$work/$name.nan.safetensors" <<'PY'
import json, struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
n = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + n])
names = [k for k in header if k != "__metadata__"]
frozen = [k for k in names if "router" in k or k.endswith("gate")] or names[:1]
for k in frozen:
    a, b = header[k]["data_offsets"]
    for i in range(8 + n + a, 8 + n + b, 4):
        data[i:i + 4] = struct.pack("<f", float("nan"))
open(sys.argv[2], "wb").write(bytes(data))
print(",".join(frozen))
PY
)
  "$prog" --eval-only --weights "$work/$name.nan.safetensors" > "$work/$name.eval.log" 2>&1
  status=$?
  if [ $status -ne 1 ] || ! grep -q "loss is not finite" "$work/$name.eval.log"; then
    echo "FAIL: $name: NaN in $poisoned, --eval-only (exit $status): $(tail -n 2 "$work/$name.eval.log")"
    failures=$((failures + 1))
    continue
  fi
  echo "ok: $name: ${message#perft: error: }"
done
[ $failures -eq 0 ] && echo "non-finite: PASS" || echo "non-finite: FAIL ($failures)"
[ $failures -eq 0 ]
