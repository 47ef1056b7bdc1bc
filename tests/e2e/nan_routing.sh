#!/usr/bin/env bash
# A NaN in a router's input must not crash the step (issue 9): top-k ranks NaN scores below every
# number, so each token still gets k valid experts and the NaN reaches the loss instead of an
# out-of-range dispatch, and --dump reports it as an error (exit 1) naming the tensors. The
# single-block example, fused and unfused, on inputs with NaNs in h.
# usage: nan_routing.sh PERFTC PERFT_REF EXAMPLES_DIR WORKDIR
set -euo pipefail
perftc=$1 ref=$2 examples=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
sizes=(-Dtokens=29 -DD=37 -DE=6 -DK=3 -DF=23 -DN=5 -DKt=2 -Dr=3)
"$ref" gen --T 29 --D 37 --E 6 --K 3 --F 23 --N 5 --Kt 2 --r 3 --seed 5 "$work/W.safetensors" "$work/X.safetensors" >/dev/null
python3 - "$work/X.safetensors" "$work/Xnan.safetensors" <<'PY'
import array, json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
header = json.loads(b[8:8 + n])
data = bytearray(b[8 + n:])
start, stop = header["h"]["data_offsets"]
values = array.array("f")
values.frombytes(bytes(data[start:stop]))
for i in range(0, len(values), 7):
    values[i] = float("nan")
data[start:stop] = values.tobytes()
open(sys.argv[2], "wb").write(b[:8 + n] + bytes(data))
PY
failures=0
for v in fused unfused; do
  flags=()
  [ $v = unfused ] && flags=(--no-fuse=all)
  "$perftc" "$examples/moe_perft_r.perft" "${sizes[@]}" ${flags[@]+"${flags[@]}"} -o "$work/$v"
  set +e
  out=$("$work/$v" --dump "$work/$v.safetensors" --weights "$work/W.safetensors" --inputs "$work/Xnan.safetensors" 2>&1)
  status=$?
  set -e
  # exit 1 (an error, not a signal), the loss reported as NaN, the file written for inspection
  if [ $status -eq 1 ] && echo "$out" | grep -q "loss nan" && echo "$out" | grep -q "hold NaN or Inf: loss (1 of 1)" &&
     [ -s "$work/$v.safetensors" ]; then
    echo "ok: $v: NaN inputs give a NaN loss reported as an error, no crash ($(echo "$out" | tail -n 1))"
  else
    echo "FAIL: $v (exit $status): $out"
    failures=$((failures + 1))
  fi
done
[ $failures -eq 0 ] && echo "nan routing: PASS" || echo "nan routing: FAIL ($failures)"
[ $failures -eq 0 ]
