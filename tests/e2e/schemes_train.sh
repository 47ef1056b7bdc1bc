#!/usr/bin/env bash
# The gallery of composition schemes (examples/schemes/*.perft) trains: a tiny token model is
# pretrained on one skill (every parameter trainable, token_pretrain.perft), then each scheme
# fine-tunes only its adapters on another skill from that checkpoint; the mean loss of its last 10
# steps must be below half the mean of its first 10. (Their gradients are checked in f64 by
# tests/gradcheck, scheme_*.)
# usage: schemes_train.sh PERFTC EXAMPLES_DIR WORKDIR
set -euo pipefail
perftc=$1 examples=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
failures=0
"$perftc" "$examples/token_pretrain.perft" -o "$work/pretrain"
"$work/pretrain" --task affine:5:3 --steps 400 --lr 0.01 --seed 1 --save-all "$work/base.safetensors" >/dev/null
for program in "$examples"/schemes/*.perft; do
  name=$(basename "$program" .perft)
  lr=0.01
  # schemes of scaling vectors alone move slowly at 0.01 (tools/miniature.sh shows it): as (IA)³ is
  # trained, with a much larger rate
  case $name in mov | ia3_experts) lr=0.5 ;; esac
  "$perftc" "$program" -o "$work/$name"
  "$work/$name" --weights "$work/base.safetensors" --init --task affine:7:1 --steps 200 --lr $lr --seed 1 \
    --metrics "$work/$name.jsonl" > "$work/$name.log"
  if python3 - "$work/$name.jsonl" "$name" <<'PY'
import json, sys
losses = [json.loads(l)["loss"] for l in open(sys.argv[1]) if "eval" not in l]
first, last = sum(losses[:10]) / 10, sum(losses[-10:]) / 10
print(f"{sys.argv[2]}: first-10 mean {first:.4g}, last-10 mean {last:.4g}, ratio {last / first:.3f} (must be < 0.5)")
sys.exit(0 if last < 0.5 * first else 1)
PY
  then :; else echo "FAIL: $name did not train"; failures=$((failures + 1)); fi
done
[ $failures -eq 0 ] && echo "schemes train: PASS" || echo "schemes train: FAIL ($failures)"
[ $failures -eq 0 ]
