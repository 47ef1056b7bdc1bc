#!/usr/bin/env bash
# The miniature of the paper (README's main job): pretrain a tiny MoE token model on one synthetic
# skill with every parameter trainable, then fine-tune copies of it on a different skill with each
# strategy and baseline, and compare: trainable parameters, % of the base, final loss, held-out
# accuracy; plus an SVG of the loss curves.
#   usage: tools/miniature.sh BUILD_DIR OUT_DIR
set -euo pipefail
BUILD=$1 OUT=$2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PERFTC=$BUILD/compiler/perftc
PLOT=$BUILD/tools/perft-plot
PRETRAIN_TASK=affine:5:3    # skill 1: label = (5·token + 3) mod V
FINETUNE_TASK=affine:7:1    # skill 2: label = (7·token + 1) mod V
PRETRAIN_STEPS=400 FINETUNE_STEPS=${FINETUNE_STEPS:-200} LR=0.01 SEED=1
# name  file (examples/token_NAME.perft or examples/schemes/NAME.perft)  what it is
STRATEGIES=(
  "perft_r         PERFT-R: routed LoRA experts, own router"
  "perft_r_adapter PERFT-R with parallel adapters as experts"
  "perft_e         PERFT-E: one LoRA per base expert, base routing"
  "perft_s         PERFT-S: one always-on LoRA expert"
  "perft_d         PERFT-D: N always-on LoRA experts"
  "perft_e_plus_r  PERFT-E and PERFT-R together"
  "perft_r_upper_layers PERFT-R in the upper half of the layers"
  "shared_routed   new: a shared parallel adapter + routed LoRA"
  "soft_mixture    new: all LoRA experts, dense softmax weights"
  "depth_mixed     new: PERFT-S below, PERFT-R above"
  "lora_router     baseline: LoRA on the router"
  "lora_experts    baseline: LoRA on every expert's W1/W2/W3"
  "full_ft         baseline: full fine-tuning of the MoE blocks"
  "hydralora       gallery: HydraLoRA, shared A, routed B heads"
  "mola            gallery: MoLA, N/2 experts below, 2N above"
  "sigmoid_gating  gallery: sigmoid-gated top-k LoRA experts"
  "gated_shared    gallery: a shared LoRA behind a scalar gate"
  "mov             gallery: mixed (IA)3 vectors on the output"
  "ia3_experts     gallery: (IA)3 vectors inside each expert"
  "adamole         gallery: AdaMoLE-style threshold routing"
  "expert_choice   gallery: expert-choice routing, C tokens each"
  "hierarchical    gallery: each base expert routes to its sub-LoRAs"
)
# examples/token_NAME.perft, or the gallery's examples/schemes/NAME.perft
program() { [ -f "$ROOT/examples/token_$1.perft" ] && echo "$ROOT/examples/token_$1.perft" || echo "$ROOT/examples/schemes/$1.perft"; }
mkdir -p "$OUT"
start=$(date +%s)
echo "perft miniature: pretrain a tiny MoE token model on $PRETRAIN_TASK, fine-tune ${#STRATEGIES[@]} ways on $FINETUNE_TASK."
echo "It takes about half a minute on 2 cores (the budget is 10 minutes). Outputs go to $OUT/."

echo "== compile (two at a time)"
"$PERFTC" "$ROOT/examples/token_pretrain.perft" -o "$OUT/pretrain" &
for entry in "${STRATEGIES[@]}"; do
  name=${entry%% *}
  [ "$(jobs -rp | wc -l)" -ge 2 ] && wait -n
  { "$PERFTC" "$(program "$name")" -o "$OUT/$name" &&
    "$PERFTC" "$(program "$name")" --report > "$OUT/$name.report"; } &
done
wait
for entry in pretrain "${STRATEGIES[@]}"; do
  [ -x "$OUT/${entry%% *}" ] || { echo "miniature: compiling ${entry%% *} failed" >&2; exit 1; }
done

echo "== pretrain (every parameter trainable) on $PRETRAIN_TASK"
"$OUT/pretrain" --task $PRETRAIN_TASK --steps $PRETRAIN_STEPS --lr $LR --seed $SEED \
  --metrics "$OUT/pretrain.jsonl" --save-all "$OUT/base.safetensors" | grep -E '^(eval|done)'
"$OUT/pretrain" --eval-only --weights "$OUT/base.safetensors" --task $FINETUNE_TASK --seed $SEED > "$OUT/base_on_skill2.txt"
echo "base model on the new skill before fine-tuning: $(cat "$OUT/base_on_skill2.txt")"

echo "== fine-tune on $FINETUNE_TASK ($FINETUNE_STEPS steps each, two at a time)"
finetune() {
  # --init: what the base checkpoint lacks (the adapters, a scheme's frozen extras) starts by its rule
  "$OUT/$1" --weights "$OUT/base.safetensors" --init --task $FINETUNE_TASK --steps $FINETUNE_STEPS --lr $LR \
    --seed $SEED --metrics "$OUT/$1.jsonl" --save "$OUT/$1.adapters.safetensors" > "$OUT/$1.log" 2>&1
}
running=0
for entry in "${STRATEGIES[@]}"; do
  finetune "${entry%% *}" &
  running=$((running + 1))
  if [ $running -eq 2 ]; then wait -n; running=$((running - 1)); fi
done
wait

echo "== results"
printf '%-22s %-50s %12s %10s %11s %13s\n' strategy "" "trainable" "% of base" "final loss" "held-out acc"
curves=()
for entry in "${STRATEGIES[@]}"; do
  name=${entry%% *}
  what=$(echo "${entry#* }" | sed 's/^ *//')
  trainable=$(sed -n 's/^  trainable *\([0-9,]*\) .*/\1/p' "$OUT/$name.report")
  percent=$(sed -n 's/.*(\([0-9.]*\)% of the base).*/\1/p' "$OUT/$name.report")
  final=$(python3 -c "import json,sys; l=[json.loads(x)['loss'] for x in open(sys.argv[1]) if 'eval' not in x]; print('%.4f' % (sum(l[-10:])/len(l[-10:])))" "$OUT/$name.jsonl")
  acc=$(sed -n 's/.* acc \([0-9.]*\).*/\1/p' "$OUT/$name.log" | tail -1)
  printf '%-22s %-50s %12s %9s%% %11s %13s\n' "$name" "$what" "$trainable" "$percent" "$final" "$acc"
  curves+=("$name=$OUT/$name.jsonl")
done
"$PLOT" "$OUT/miniature_loss.svg" "fine-tuning on $FINETUNE_TASK after pretraining on $PRETRAIN_TASK" "${curves[@]}"
echo "loss curves: $OUT/miniature_loss.svg; checkpoints: $OUT/base.safetensors, $OUT/NAME.adapters.safetensors"
echo "miniature finished in $(( $(date +%s) - start )) s"
