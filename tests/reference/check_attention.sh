#!/usr/bin/env bash
# End-to-end check of the compiled tests/reference/attention.perft (rope + causal_attention)
# against the independent double-precision reference (perft-ref attention ...).
#
#   check_attention.sh PERFTC ATTENTION_PERFT WORKDIR [PERFT_REF]
#
# PERFT_REF: the perft-ref executable (4th argument, else $PERFT_REF, else perft-ref on PATH).
# For each case it compiles the program with -Dtokens=B*S -DS -DD -DH -DG -Dhd -Dtheta, compares
# `prog --list-params` with `perft-ref attention params`, generates weights and inputs with
# `perft-ref attention gen`, runs `prog --dump`, runs `perft-ref attention run` and compares the
# forward (loss, out.qr, out.kr, out.o, out.y) and the gradients (grad.wq, grad.wk, grad.wv).
# Tolerances: FWD_RTOL FWD_ATOL (default 1e-4 1e-5) and GRAD_RTOL GRAD_ATOL (default 2e-3 2e-5).
# ONLY=a,b runs only those cases. Exit 0 only if every case passes; logs stay under WORKDIR/CASE/.
set -u

# shellcheck source=check_common.sh
. "$(dirname "$0")/check_common.sh"
check_setup check_attention "PERFTC ATTENTION_PERFT WORKDIR [PERFT_REF]" "$@"
PROGRAM=$2

# name     B   S  D  H G hd theta   seed [perftc flags]
CASES=(
  "gqa      2   7 10 4 2  6 10000    21"
  "mha      3   5  9 3 3  4 500000   22"
  "mqa      2   9 11 4 1  2 10       23"
  "single   1  13  8 2 1  8 10000    24"
  "long     2 133 24 4 2 10 10000    25"
  "threads  2  37 16 4 2  8 10000    26 --parallel-min-work=1"
  "sse      2   7 10 4 2  6 10000    27 --vector-bytes=16"
)
# gqa: two query heads per kv head; mha: G = H; mqa: G = 1 and hd = 2 (one rotated pair), a small
# theta so every frequency turns; single: one sequence; long: rows of 133 scores, positions up to
# 132 (a program that takes the angles p·inv_freq in f32, as Hugging Face does, is off by up to
# half an ulp of 132, 7.6e-6 rad: an f32 emulation of that stays within 4e-6 of the reference);
# threads: every kernel on threads; sse: 4-lane vectors.

norm_lines() { tr -s ' \t' '  ' | sed 's/^ //; s/ $//; s/ adapter$//' | grep -v '^$' | sort; }

declare -a SUMMARY
nfail=0
ncases=0
for c in "${CASES[@]}"; do
  read -r name B S D H G hd theta seed flags <<<"$c"
  if [ -n "${ONLY:-}" ] && [[ ",$ONLY," != *",$name,"* ]]; then continue; fi
  ncases=$((ncases + 1))
  T=$((B * S))
  dir="$WORK/$name"
  rm -rf "$dir" && mkdir -p "$dir" || die "cannot create $dir"
  sizes=(--B "$B" --S "$S" --D "$D" --H "$H" --G "$G" --hd "$hd" --theta "$theta")
  echo "=== case $name: B=$B S=$S (T=$T) D=$D H=$H G=$G hd=$hd theta=$theta seed=$seed ${flags:-}  ($dir)"
  status=PASS
  why=""

  # 1. compile, --list-params; 2. the parameters against the reference's list (order ignored)
  # shellcheck disable=SC2086 # flags: zero or more words
  compile_case "$dir" "$PROGRAM" -Dtokens="$T" -DS="$S" -DD="$D" -DH="$H" -DG="$G" -Dhd="$hd" -Dtheta="$theta" $flags
  if [ $status = PASS ]; then
    if ! "$REF" attention params "${sizes[@]}" >"$dir/params.want" 2>"$dir/params.ref.err"; then
      fail "perft-ref attention params failed"; show "$dir/params.ref.err"
    elif ! diff <(norm_lines <"$dir/params.want") <(norm_lines <"$dir/params.txt") >"$dir/params.diff"; then
      fail "prog --list-params differs from the reference (< expected, > prog)"; show "$dir/params.diff"
    else
      echo "  list-params: OK ($(wc -l <"$dir/params.want") lines)"
    fi
  fi

  # 3. weights and inputs, 4. compiled dump, 5. reference, 6. compare
  REF_CMD=("$REF" attention); REF_ARGS=("${sizes[@]}")
  ref_dump_run "$dir" "$seed"
  ref_compare "$dir"

  [ $status = PASS ] || nfail=$((nfail + 1))
  SUMMARY+=("$(printf '  %-4s %-8s B=%-2s S=%-3s D=%-3s H=%-2s G=%-2s hd=%-3s theta=%-7s %s' \
               "$status" "$name" "$B" "$S" "$D" "$H" "$G" "$hd" "$theta" "$why")")
done

[ $ncases -gt 0 ] || die "ONLY='${ONLY:-}' selects no case"
echo "=== summary"
printf '%s\n' "${SUMMARY[@]}"
if [ $nfail -ne 0 ]; then
  echo "check_attention: FAIL ($nfail of $ncases cases failed; logs under $WORK)"
  exit 1
fi
echo "check_attention: PASS ($ncases cases match the independent reference)"
exit 0
