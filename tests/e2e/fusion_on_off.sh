#!/usr/bin/env bash
# Every fusion switched off must give the same numbers: each program is compiled twice, as
# it is and with --no-fuse=all, and both binaries must produce byte-identical results.
#   1. the single-block example at awkward sizes: loss, output y and every gradient from
#      `--dump` on the same weights and inputs (made by the independent reference's `gen`),
#      with perft-fuse-swiglu alone and with perft-fuse-route, -shared-input and -softmax-top-k too;
#   2. token programs: 5 training steps from the same seed; every saved parameter and
#      every logged loss must be identical (so every gradient was); shared_heads.perft (next to
#      this script) has three GEMMs on one input forward and two weight gradients on it.
# Each case also checks that fusion did happen (no perft.silu is left in @train_step; where
# gradients flow through the experts, their backward is fused too), so the test cannot pass
# vacuously; the checks of perft-fuse-route, -join and -lora-chain apply where the target runs them
# (the CUDA target leaves them out: its expert and LoRA GEMMs are cuBLAS calls, compiler/target_cuda.c).
# usage: fusion_on_off.sh PERFTC PERFT_REF EXAMPLES_DIR WORKDIR
set -euo pipefail
perftc=$1 ref=$2 examples=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# count of an op in @train_step after the fusion stage: count OP PERFTC-ARGS...
count() {
  local op=$1
  shift
  "$perftc" "$@" --emit=fused | awk '/func.func @train_step/ { on = 1 } on' | grep -c "\"$op\"" || true
}

# whether the target runs perft-fuse-NAME: fuses NAME
fuses() { "$perftc" "$examples/moe_perft_r.perft" --print-pipeline | grep -q "perft-fuse-$1[,)]"; }
route=0 join=0
fuses route && route=1
fuses join && join=1
lora=0
fuses lora-chain && lora=1

# 1. moe_perft_r: --dump on the same weights and inputs, at awkward sizes and at widths past
#    the GEMM kernels' K chunks (long: D=1030, F=1100; W2's K = F is then past the 1024 up to which
#    perft-fuse-route combines in the epilogue, so there the combine must stay a separate op)
#    case  T  D  E  K  F  N  Kt r
# train_both NAME DIR PROGRAM NOTE [-DNAME=VALUE ...]: the program built with and without every
# fusion, 5 steps of training each; every parameter and every loss must be byte-identical
train_both() {
  local name=$1 dir=$2 program=$3 note=$4 v
  shift 4
  for v in fused unfused; do
    local flags=()
    [ $v = unfused ] && flags=(--no-fuse=all)
    "$perftc" "$program" "$@" ${flags[@]+"${flags[@]}"} -o "$dir/$v"
    "$dir/$v" --init --steps 5 --seed 3 --save-all "$dir/$v.safetensors" --metrics "$dir/$v.jsonl" >/dev/null
  done
  if cmp -s "$dir/fused.safetensors" "$dir/unfused.safetensors" &&
     cmp -s <(grep -o '"loss":[^,]*' "$dir/fused.jsonl") <(grep -o '"loss":[^,]*' "$dir/unfused.jsonl"); then
    echo "ok: $name: parameters and losses after 5 steps byte-identical with and without fusion ($note)"
  else
    fail "$name: training differs with and without fusion"
  fi
}

for case in "odd 29 37 6 3 23 5 2 3" "long 13 1030 4 2 1100 3 2 4"; do
read -r cname T D E K F N Kt r <<<"$case"
sizes=(-Dtokens=$T -DD=$D -DE=$E -DK=$K -DF=$F -DN=$N -DKt=$Kt -Dr=$r)
dir=$work/moe_perft_r_$cname
mkdir -p "$dir"
"$ref" gen --T $T --D $D --E $E --K $K --F $F --N $N --Kt $Kt --r $r --seed 5 "$dir/W.safetensors" "$dir/X.safetensors" >/dev/null
"$perftc" "$examples/moe_perft_r.perft" "${sizes[@]}" -o "$dir/fused"
"$perftc" "$examples/moe_perft_r.perft" "${sizes[@]}" --no-fuse=route,shared-input,softmax-top-k -o "$dir/swiglu"
"$perftc" "$examples/moe_perft_r.perft" "${sizes[@]}" --no-fuse=all -o "$dir/unfused"
n=$(count perft.swiglu "$examples/moe_perft_r.perft" "${sizes[@]}")
[ "$n" -ge 1 ] || fail "moe_perft_r ($cname): no perft.swiglu after fusion"
routed="$(count perft.gathered_matmul "$examples/moe_perft_r.perft" "${sizes[@]}") gathered_matmul, $(count perft.grouped_matmul_combine "$examples/moe_perft_r.perft" "${sizes[@]}") grouped_matmul_combine"
combined=$(count perft.grouped_matmul_combine "$examples/moe_perft_r.perft" "${sizes[@]}")
if [ $route = 0 ]; then
  [ "$combined" -eq 0 ] || fail "moe_perft_r ($cname): a combine was fused without perft-fuse-route"
elif [ $cname = long ]; then
  [ "$combined" -eq 0 ] || fail "moe_perft_r ($cname): a combine with K = 1100 was fused"
else
  [ "$combined" -ge 1 ] || fail "moe_perft_r ($cname): no combine was fused"
fi
[ $route = 0 ] || [ "$(count perft.dispatch "$examples/moe_perft_r.perft" "${sizes[@]}")" -eq 0 ] ||
  fail "moe_perft_r ($cname): a dispatch is left"
shared=$(count perft.concat "$examples/moe_perft_r.perft" "${sizes[@]}")
[ "$shared" -ge 1 ] || fail "moe_perft_r ($cname): the routers' GEMMs were not joined"
routers=$(count perft.softmax_top_k "$examples/moe_perft_r.perft" "${sizes[@]}")
[ "$routers" -eq 2 ] || fail "moe_perft_r ($cname): expected both routers' softmax and top-k fused, found $routers"
routed="$routed, $shared concat, $routers softmax_top_k"
for v in fused swiglu unfused; do
  "$dir/$v" --dump "$dir/$v.safetensors" --weights "$dir/W.safetensors" --inputs "$dir/X.safetensors" >/dev/null
done
if cmp -s "$dir/swiglu.safetensors" "$dir/unfused.safetensors"; then
  echo "ok: moe_perft_r ($cname): loss, y and every gradient byte-identical with and without perft-fuse-swiglu ($n swiglu)"
else
  fail "moe_perft_r ($cname): --dump differs with and without perft-fuse-swiglu"
fi
if cmp -s "$dir/fused.safetensors" "$dir/unfused.safetensors"; then
  echo "ok: moe_perft_r ($cname): loss, y and every gradient byte-identical with and without perft-fuse-route, -shared-input and -softmax-top-k too ($routed)"
else
  "$ref" compare "$dir/unfused.safetensors" "$dir/fused.safetensors" --rtol 0 --atol 0 || true
  fail "moe_perft_r ($cname): --dump differs with and without perft-fuse-route, -shared-input and -softmax-top-k"
fi
done

# 2. token programs: 5 steps of training, then every parameter and loss (perft_r and full_ft
#    also run perft-fuse-route: gathered expert GEMMs, their weight gradients, a fused combine;
#    the LoRA strategies perft-fuse-epilogue: the α/r scale and the add in the up-projection,
#    perft-fuse-join: PERFT-E's up-projection in W2's GEMM, and perft-fuse-lora-chain: dropout,
#    down- and up-projection in one kernel)
#    perft_r, perft_s and perft_e also at a width where the chains and elementwise kernels run on threads
#    (tokens x D = 203 x 192 >= 32K), in several blocks of rows with a short last one.
for case in perft_r perft_e perft_s perft_d lora_router full_ft lora_experts shared_heads perft_r:wide perft_s:wide perft_e:wide; do
  name=${case%%:*}
  sizes=()
  [ "$case" != "$name" ] && sizes=(-Dtokens=203 -DD=192)
  program=$examples/token_$name.perft
  [ $name = shared_heads ] && program=$(dirname "$0")/shared_heads.perft
  dir=$work/${case/:/_}
  mkdir -p "$dir"
  n="$(count perft.swiglu "$program" ${sizes[@]+"${sizes[@]}"}) swiglu, $(count perft.swiglu_grad "$program" ${sizes[@]+"${sizes[@]}"}) swiglu_grad, $(count perft.softmax_top_k "$program" ${sizes[@]+"${sizes[@]}"}) softmax_top_k"
  [ "$(count perft.top_k "$program" ${sizes[@]+"${sizes[@]}"})" -eq 0 ] || fail "$name: a top_k was left unfused"
  left=$(count perft.silu "$program" ${sizes[@]+"${sizes[@]}"})
  [ "$left" -eq 0 ] || fail "$name: $left perft.silu left after fusion"
  [ "$(count perft.swiglu_grad "$program" ${sizes[@]+"${sizes[@]}"})" -ge 1 ] || fail "$name: the experts' backward was not fused"
  if [ $name = shared_heads ]; then
    # per layer: a chain of two concats (three weights) forward, one of the dy for the two weight gradients
    [ "$(count perft.concat "$program" ${sizes[@]+"${sizes[@]}"})" -eq 6 ] || fail "$name: expected 6 perft.concat, found $(count perft.concat "$program" ${sizes[@]+"${sizes[@]}"})"
    n="$n, $(count perft.concat "$program" ${sizes[@]+"${sizes[@]}"}) concat"
  fi
  case $name in perft_e | perft_s | perft_d | lora_router | lora_experts)
    # the adapters' up-projections take their α/r scale and the add into their epilogue (a
    # lora_chain carries it on)
    epilogues=0
    for op in matmul_scale_add grouped_matmul_scale_add lora_chain grouped_matmul_join grouped_matmul_join_combine; do
      epilogues=$((epilogues + $(count perft.$op "$program" ${sizes[@]+"${sizes[@]}"})))
    done
    [ "$epilogues" -ge 1 ] || fail "$name: no scale and add went into a GEMM's epilogue"
    n="$n, $epilogues scale_add epilogues" ;;
  esac
  case $name in perft_e | lora_experts)
    # PERFT-E folding: the up-projection joins W2's GEMM (and its combine); the adapters' dropout
    # reads the routed rows from their tokens, so no dispatch copy is left
    joins=$(($(count perft.grouped_matmul_join "$program" ${sizes[@]+"${sizes[@]}"}) + $(count perft.grouped_matmul_join_combine "$program" ${sizes[@]+"${sizes[@]}"})))
    [ $join = 0 ] || [ "$joins" -ge 1 ] || fail "$name: no up-projection joined its expert's W2"
    [ $route = 0 ] || [ "$(count perft.dispatch "$program" ${sizes[@]+"${sizes[@]}"})" -eq 0 ] || fail "$name: a dispatch is left"
    n="$n, $joins join" ;;
  esac
  case $name in perft_r | perft_s | perft_d | lora_router)
    # the LoRAs' dropout, down- and up-projection as one kernel
    chains=$(($(count perft.lora_chain "$program" ${sizes[@]+"${sizes[@]}"}) + $(count perft.grouped_lora_chain "$program" ${sizes[@]+"${sizes[@]}"})))
    # (PERFT-R's LoRA experts chain only with perft-fuse-route's gathered rows)
    [ "$chains" -ge 1 ] || [ $lora = 0 ] || { [ $route = 0 ] && [ $name = perft_r ]; } || fail "$name: no LoRA chain was fused"
    n="$n, $chains lora_chain" ;;
  esac
  train_both "$case" "$dir" "$program" "$n" ${sizes[@]+"${sizes[@]}"}
done
# 3. the gallery of composition schemes (new ops: broadcasts, masks, expert rows, expert choice)
#    beside the fusion passes: 5 steps, every parameter and loss identical with and without them
for program in "$examples"/schemes/*.perft; do
  name=scheme_$(basename "$program" .perft)
  dir=$work/$name
  mkdir -p "$dir"
  train_both "$name" "$dir" "$program" "new ops beside the fusions"
done
[ $failures -eq 0 ] && echo "fusion on/off: PASS" || echo "fusion on/off: FAIL ($failures)"
[ $failures -eq 0 ]
