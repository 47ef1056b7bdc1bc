#!/bin/bash
# check_token_examples.sh TOOL ROOT — every examples/token_*.perft
# elaborates (defaults, OLMoE- and Mixtral-shaped overrides); the token model's inputs, output,
# classify and dropout seed are there; trainable parameters per MoE layer of the PERFT strategies
# at the OLMoE shape match PERFT.md (R: N·2·D·r + N·D, E: E·2·D·r, D: N·2·D·r, S: 2·D·r);
# adapters carry the `adapter` mark; `when` leaves lower layers alone; pretraining trains all.
set -u
tool=$1 root=$2
cd "$root/examples" || exit 1
failed=0
fail() { echo "FAIL: $*"; failed=1; }
olmoe="-DD=2048 -DE=64 -DK=8 -DF=1024 -DL=16 -DN=4 -Dr=16"
mixtral="-DD=4096 -DE=8 -DK=2 -DF=14336 -DL=32 -Drenorm=1"

for file in token_*.perft; do
  for args in "" "$olmoe" "$mixtral"; do
    # shellcheck disable=SC2086
    "$tool" --graph $args "$file" > /dev/null 2> /tmp/perft_token_err.$$ || fail "$file $args: $(head -3 /tmp/perft_token_err.$$)"
  done
  graph=$("$tool" --graph "$file")
  grep -q '^%0 = input "tokens" : i32\[128\]' <<<"$graph" || fail "$file: input tokens i32[128]"
  grep -q '^%1 = input "labels" : i32\[128\]' <<<"$graph" || fail "$file: input labels i32[128]"
  grep -qx 'output logits = %[0-9]*' <<<"$graph" || fail "$file: output logits"
  grep -qx 'classify labels=%1 output=0' <<<"$graph" || fail "$file: classify"
done
rm -f /tmp/perft_token_err.$$

# trainable elements of params whose name starts with PREFIX
trainable() { # FILE PREFIX ARGS...
  local file=$1 prefix=$2
  shift 2
  "$tool" --graph "$@" "$file" | awk -v prefix="$prefix" '
    / = param "/ && / train / {
      name = $0; sub(/^[^"]*"/, "", name); sub(/".*/, "", name)
      if (index(name, prefix) != 1) next
      shape = $0; sub(/.*: f32\[/, "", shape); sub(/\].*/, "", shape)
      n = split(shape, dims, ","); size = 1; for (i = 1; i <= n; i++) size *= dims[i]; total += size
    }
    END { printf "%d\n", total }'
}
D=2048 E=64 N=4 r=16
check_count() { # FILE EXPECTED WHAT
  # shellcheck disable=SC2086
  local layer3 all
  layer3=$(trainable "$1" layers.3. $olmoe)
  all=$(trainable "$1" "" $olmoe)
  [ "$layer3" = "$2" ] || fail "$1: $layer3 trainable in layer 3, expected $2 ($3)"
  [ "$all" = "$((16 * $2))" ] || fail "$1: $all trainable in all, expected 16 x $2"
}
check_count token_perft_r.perft $((N * 2 * D * r + N * D)) "N·2·D·r + N·D"
check_count token_perft_e.perft $((E * 2 * D * r)) "E·2·D·r"
check_count token_perft_s.perft $((2 * D * r)) "2·D·r"
check_count token_perft_d.perft $((N * 2 * D * r)) "N·2·D·r"

# every trainable param of a PEFT strategy is an adapter; no base param is
for file in token_perft_r.perft token_perft_e.perft token_perft_s.perft token_perft_d.perft \
            token_lora_router.perft token_lora_experts.perft token_shared_routed.perft; do
  graph=$("$tool" --graph "$file")
  grep ' = param "' <<<"$graph" | grep ' train ' | grep -qv ' train adapter ' && fail "$file: a trainable base param"
  grep ' = param "' <<<"$graph" | grep -q ' train adapter ' || fail "$file: no adapter param"
  grep -qx 'dropout seed=%[0-9]*' <<<"$graph" || fail "$file: no dropout seed"
done
# when l >= L / 2: layers 0..7 of 16 untouched
[ "$(trainable token_perft_r_upper_layers.perft layers.7. $olmoe)" = 0 ] || fail "upper_layers: layer 7 has adapters"
[ "$(trainable token_perft_r_upper_layers.perft layers.8. $olmoe)" = $((N * 2 * D * r + N * D)) ] ||
  fail "upper_layers: layer 8 lacks PERFT-R"
# pretraining: every param trainable, none an adapter, same names as the others' base
graph=$("$tool" --graph token_pretrain.perft)
grep ' = param "' <<<"$graph" | grep -q ' frozen ' && fail "token_pretrain: a frozen param"
base=$("$tool" --graph token_perft_r.perft | sed -n -E 's/^%[0-9]+ = param "([^"]+)" frozen .*: (f32\[[0-9,]*\]).*/\1 \2/p')
pre=$(sed -n -E 's/^%[0-9]+ = param "([^"]+)" train .*: (f32\[[0-9,]*\]).*/\1 \2/p' <<<"$graph")
[ "$base" = "$pre" ] || fail "token_pretrain: params differ from token_perft_r's base"
# full_ft: routers and experts trainable, embedding/norms/head frozen, no adapters
graph=$("$tool" --graph token_full_ft.perft)
grep -q 'param "layers.1.moe.experts.w2" train ' <<<"$graph" || fail "token_full_ft: experts frozen"
grep -q 'param "embed" frozen' <<<"$graph" || fail "token_full_ft: embedding trained"
grep -q ' adapter ' <<<"$graph" && fail "token_full_ft: adapter params"
# Mixtral-shaped: renormalised top-k, aux 0.02
graph=$("$tool" --graph token_mixtral_perft_r.perft)
grep -q 'top_k .* k=2 renormalize=1' <<<"$graph" || fail "mixtral: base top_k not renormalised"
grep -q 'factor=0.02 ' <<<"$graph" || fail "mixtral: aux 0.02 missing"

[ "$failed" -eq 0 ] && echo "PASS: token examples elaborate; per-layer counts R/E/S/D match PERFT.md"
exit "$failed"
