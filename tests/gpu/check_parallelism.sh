#!/bin/bash
# check_parallelism.sh PERFTC EXAMPLES_DIR — the GPU kernels' parallelism at real models' sizes,
# without a GPU: `perftc --report`'s launch table (compiler/report_launches.c: each gpu.launch's
# threads and the loop iterations one of its threads runs, an upper bound from the IR's constants)
# for the OLMoE-layer step (moe_perft_r at D=2048 E=64 k=8 F=1024, PERFT-R N=4 K̃=2 r=16, T=4096),
# OLMoE-1B-7B with PERFT-R (16 layers, 4 × 1024 tokens, bf16 frozen weights), Mixtral-8x7B with
# PERFT-R (32 layers), PERFT-S, -D, -E and E+R, expert-choice routing and (IA)³ on OLMoE-sized
# token models. A GPU wants many
# threads each doing little; every launch must have
#   - trip counts the table can bound (no '?'),
#   - at most 2,048 steps a thread,
#   - at most 1,024 steps a thread when it has fewer than 4,096 threads, and at most 512 when fewer
#     than 1,024 (a few threads must do little: one thread summing 4,096 terms, 64 threads walking
#     4,096 tokens, a gradient norm on 256 threads, D threads combining 32,768 rows, a thread a row
#     of 64 experts ranking them all against each other are what this test was written against).
set -u
perftc=$1 examples=$2
failed=0
check() {
  local name=$1 program=$2 unbounded=${UNBOUNDED:-}
  shift 2
  local table
  if ! table=$("$perftc" "$examples/$program" --target=cuda-host --report "$@" 2>&1 | sed -n '/^GPU launches/,$p'); then
    echo "FAIL $name: perftc --report"; failed=$((failed + 1)); return
  fi
  local verdict
  verdict=$(echo "$table" | awk -v unbounded="$unbounded" '
    NR <= 2 || /launches; the most steps/ { next }
    { unknown = ($NF == "?"); steps = unknown ? $(NF - 1) : $NF; threads = unknown ? $(NF - 2) : $(NF - 1)
      gsub(",", "", steps); gsub(",", "", threads); steps += 0; threads += 0; rows++
      why = ""
      if (unknown && (unbounded == "" || index($1, unbounded) == 0)) why = "a trip count it cannot bound"
      else if (steps > 2048) why = "more than 2,048 steps a thread"
      else if (threads < 1024 && steps > 512) why = "fewer than 1,024 threads, more than 512 steps each"
      else if (threads < 4096 && steps > 1024) why = "fewer than 4,096 threads, more than 1,024 steps each"
      if (why != "") { print "  " $1 " launch " $2 ": " threads " threads, " steps " steps a thread: " why; bad++ }
      if (steps > most) { most = steps; at = $1 }
    }
    END { if (rows == 0) print "  no launches in the report"; else if (!bad) printf "OK %d launches, the most steps a thread %d (%s)\n", rows, most, at }')
  if [[ $verdict == OK* ]]; then
    echo "PASS $name: ${verdict#OK }"
  else
    echo "FAIL $name:"; echo "$verdict"; failed=$((failed + 1))
  fi
}
check "OLMoE layer, T=4096" moe_perft_r.perft -Dtokens=4096 -DD=2048 -DE=64 -DK=8 -DF=1024 -DN=4 -DKt=2 -Dr=16
check "OLMoE-1B-7B, 16 layers, bf16 frozen" olmoe_perft_r.perft --frozen-dtype=bf16 \
  -DB=4 -DSq=1024 -DV=50304 -DD=2048 -DH=16 -DG=16 -DL=16 -DE=64 -DK=8 -DF=1024 -DN=4 -DKt=2 -Dr=16
check "Mixtral-8x7B, 32 layers, bf16 frozen" mixtral_perft_r.perft --frozen-dtype=bf16 \
  -DB=4 -DSq=1024 -DV=32000 -DD=4096 -DH=32 -DG=8 -DL=32 -DE=8 -DK=2 -DF=14336 -DN=8 -DKt=2 -Dr=8
# PERFT's other strategies (the token models, two OLMoE-sized layers)
olmoe_token=(-Dtokens=4096 -DV=50304 -DD=2048 -DE=64 -DK=8 -DF=1024 -DL=2 -DN=4 -DKt=2 -Dr=16)
for strategy in S:perft_s D:perft_d E:perft_e E+R:perft_e_plus_r; do
  check "PERFT-${strategy%%:*}, OLMoE-sized token model" "token_${strategy#*:}.perft" "${olmoe_token[@]}"
done
# the gallery's schemes that route differently: expert-choice routing (each expert ranks all 4,096
# tokens) and (IA)³ inside the base experts, whose scale gradient adds each expert's rows: as many as
# the router sends it (R/E = 512 on average here), a count no table can bound (UNBOUNDED names it)
check "expert-choice LoRA, OLMoE-sized token model" schemes/expert_choice.perft "${olmoe_token[@]}"
UNBOUNDED=expert_rows_grad check "(IA)3 experts, OLMoE-sized token model" schemes/ia3_experts.perft "${olmoe_token[@]}"
[ "$failed" -eq 0 ]
