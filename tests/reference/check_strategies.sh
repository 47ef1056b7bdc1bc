#!/usr/bin/env bash
# Checks every examples/token_*.perft program against the independent reference (perft-ref).
#
#   check_strategies.sh PERFTC EXAMPLES_DIR WORKDIR [PERFT_REF]
#
# For each token program it knows (table STRATEGIES below), at awkward sizes:
#   1. compile with perftc -Dtokens=.. -DV=.. ... (only the dims the file declares)
#   2. prog --list-params must list exactly the reference's parameters (NAME DIMS trainable|frozen
#      [adapter]) and two i32 inputs of [T] (token ids, labels; names taken from the program;
#      any other input must have 1 element: the dropout seed)
#   3. perft-ref gen (f32 weights for every parameter, I32 tokens/labels)
#   4. prog --dump got --weights W --inputs X       (seed 0 in --dump: dropout off)
#   5. perft-ref run, compare: forward (loss, out.*) rtol 1e-4 atol 1e-5; gradients rtol 2e-3 atol 2e-5
#      (FWD_RTOL FWD_ATOL GRAD_RTOL GRAD_ATOL override).
# A token_*.perft that the table does not know is reported as UNKNOWN and fails the run, so a new
# program cannot slip through unchecked. ONLY=NAME[,NAME] restricts the run to some programs.
# Exit 0 only if every case passes. Logs stay under WORKDIR/<program>-<case>/.
set -u
# shellcheck source=check_common.sh
. "$(dirname "$0")/check_common.sh"
check_setup check_strategies "PERFTC EXAMPLES_DIR WORKDIR [PERFT_REF]" "$@"
EXDIR=$2

# program (examples/token_NAME.perft)  ->  reference selector, layer restriction (- = every layer),
# and a fixed N where the strategy needs one (- = take N from the size set)
#   NAME                 selector          layers  N
STRATEGIES=(
  "perft_r              perft_r               -  -"
  "perft_e              perft_e               -  -"
  "perft_s              perft_s               -  -"
  "perft_d              perft_d               -  -"
  "lora_router          lora_router           -  -"
  "lora_experts         lora_experts          -  -"
  "full_ft              full_ft               -  -"
  "pretrain             pretrain              -  -"
  "perft_e_plus_r       perft_e_plus_r        -  -"
  "perft_r_upper_layers perft_r_upper_layers  -  -"
  "depth_mixed          depth_mixed           -  -"
  "shared_routed        shared_routed         -  -"
  "soft_mixture         soft_mixture          -  -"
  "perft_r_adapter      perft_r_adapter       -  -"
  "mixtral_perft_r      perft_r               -  -"
)
# case     T  V  D  E K F L N Kt r renorm seed
#   odd:     the brief's awkward sizes, OLMoE-style block
#   mixtral: renormalised top-K and c = 0.02 (-Drenorm=1), 3 layers (L/2 = 1.5: depth split 0 1 | 2)
#   deep:    K = 1, Kt = 1, 4 layers, and every third label −100: outside the loss (a prompt position)
#   wide:    D = 70 and F = 67: the GEMMs' vector register blocks (4 vectors of 16 floats) run,
#            with leftover rows and columns
#   aliased: D = 1024, rows a multiple of 4 KiB apart: the axpy strips of the experts' input
#            gradients and of the weight gradients are packed into a stack buffer first
CASES=(
  "odd      17 11 13 6 3 9 2 5 2 3 0 21"
  "mixtral  19  9 12 5 2 7 3 4 3 2 1 22"
  "deep     11  7 10 4 1 6 4 3 1 2 0 23"
  "wide      9  7 70 3 2 67 2 2 1 2 0 24"
  "aliased   9  7 1024 3 2 16 2 2 1 2 0 25"
)

lookup() { # NAME -> "selector layers N" or empty
  local e
  for e in "${STRATEGIES[@]}"; do
    read -r n sel lay nn <<<"$e"
    if [ "$n" = "$1" ]; then echo "$sel $lay $nn"; return 0; fi
  done
  return 1
}

declare -a SUMMARY
nfail=0
ncase=0
shopt -s nullglob
files=("$EXDIR"/token_*.perft)
[ ${#files[@]} -gt 0 ] || die "no token_*.perft in $EXDIR"
for file in "${files[@]}"; do
  prog_name=$(basename "$file" .perft); prog_name=${prog_name#token_}
  if [ -n "${ONLY:-}" ] && ! printf ',%s,' "$ONLY" | grep -q ",$prog_name,"; then continue; fi
  if ! info=$(lookup "$prog_name"); then
    echo "=== $prog_name: UNKNOWN to the reference (add it to STRATEGIES in check_strategies.sh)"
    SUMMARY+=("  FAIL $prog_name: unknown program"); nfail=$((nfail + 1)); ncase=$((ncase + 1)); continue
  fi
  read -r sel lay fixedN <<<"$info"
  # the dims the program declares
  declared=$(sed -n 's/^[[:space:]]*dim[[:space:]]\{1,\}\([A-Za-z_][A-Za-z_0-9]*\).*/\1/p' "$file")
  for c in "${CASES[@]}"; do
    read -r cname T V D E K F L N Kt r renorm seed <<<"$c"
    [ "$fixedN" = - ] || N=$fixedN
    [ "$Kt" -le "$N" ] || Kt=$N
    ncase=$((ncase + 1))
    dir="$WORK/$prog_name-$cname"
    rm -rf "$dir" && mkdir -p "$dir" || die "cannot create $dir"
    layers_opt=()
    [ "$lay" = - ] || layers_opt=(--layers "$lay")
    sizes=(--strategy "$sel" --T "$T" --V "$V" --D "$D" --E "$E" --K "$K" --F "$F" --L "$L" --N "$N" --Kt "$Kt" --r "$r" --renorm "$renorm" "${layers_opt[@]}")
    echo "=== $prog_name ($sel${lay:+, layers $lay}) case $cname: T=$T V=$V D=$D E=$E K=$K F=$F L=$L N=$N Kt=$Kt r=$r renorm=$renorm seed=$seed  ($dir)"
    status=PASS; why=""

    # 1. compile with the dims the file declares
    defs=()
    for d in $declared; do
      case $d in
        tokens) defs+=("-Dtokens=$T") ;; V) defs+=("-DV=$V") ;; D) defs+=("-DD=$D") ;; E) defs+=("-DE=$E") ;;
        K) defs+=("-DK=$K") ;; F) defs+=("-DF=$F") ;; L) defs+=("-DL=$L") ;; N) defs+=("-DN=$N") ;;
        Kt) defs+=("-DKt=$Kt") ;; r) defs+=("-Dr=$r") ;; renorm) defs+=("-Drenorm=$renorm") ;;
        *) echo "  note: dim $d is not overridden (unknown to the reference)" ;;
      esac
    done
    compile_case "$dir" "$file" "${defs[@]}" # and --list-params

    # 2. --list-params against the reference's table. The i32 inputs' names come from the program:
    #    the labels are the second argument of cross_entropy (else the 2nd i32 input), the token
    #    ids the other i32 input of more than one element.
    if [ $status = PASS ]; then
      tr -s ' \t' '  ' <"$dir/params.txt" | sed 's/^ //; s/ $//' | grep -v '^$' >"$dir/params.norm"
      i32s=$(awk '$1 == "input" && $3 != "1" && ($4 == "i32" || $4 == "") { print $2 }' "$dir/params.norm")
      lab=$(grep -o 'cross_entropy([^,]*,[[:space:]]*[A-Za-z_][A-Za-z_0-9]*' "$file" | head -1 | sed 's/.*,[[:space:]]*//')
      [ -n "$lab" ] || lab=$(printf '%s\n' "$i32s" | sed -n 2p)
      tok=$(printf '%s\n' "$i32s" | grep -vx "$lab" | head -1)
      [ -n "$tok" ] || tok=tokens
      [ -n "$lab" ] || lab=labels
      names=(--tokens-name "$tok" --labels-name "$lab")
      # a program that writes its layers out (no `dim L`) fixes L itself: take the L in 1..8 whose
      # parameter list matches (else keep the case's L and let the diff below show the difference)
      if ! printf '%s\n' $declared | grep -qx L; then
        grep -v '^input ' "$dir/params.norm" | sed 's/ adapter$//' | sort >"$dir/params.got.sorted"
        for try in 1 2 3 4 5 6 7 8; do
          tsz=("${sizes[@]}"); tsz[15]=$try
          if "$REF" params "${tsz[@]}" "${names[@]}" 2>/dev/null | grep -v '^input ' | sed 's/ adapter$//' | sort | cmp -s - "$dir/params.got.sorted"; then
            [ "$try" = "$L" ] || echo "  note: the program fixes L=$try (no dim L): using it"
            L=$try; sizes=("${tsz[@]}"); break
          fi
        done
      fi
      "$REF" params "${sizes[@]}" "${names[@]}" >"$dir/params.want" 2>"$dir/params.want.err" || { fail "perft-ref params failed"; show "$dir/params.want.err"; }
    fi
    if [ $status = PASS ]; then
      # compared: NAME DIMS trainable|frozen (an optional trailing `adapter` mark is not compared)
      grep -v '^input ' "$dir/params.norm" | sed 's/ adapter$//' | sort >"$dir/params.got.sorted"
      grep -v '^input ' "$dir/params.want" | sed 's/ adapter$//' | sort >"$dir/params.want.sorted"
      lp_bad=0
      if ! cmp -s "$dir/params.got.sorted" "$dir/params.want.sorted"; then
        echo "  list-params: parameters differ from the reference (< reference, > program):"
        diff "$dir/params.want.sorted" "$dir/params.got.sorted" | grep '^[<>]' | sed 's/^/      | /'
        lp_bad=1
      fi
      for nm in "$tok" "$lab"; do
        got=$(awk -v n="$nm" '$1 == "input" && $2 == n { print $3 }' "$dir/params.norm")
        if [ "$got" != "$T" ]; then echo "  list-params: input $nm has dims '$got', want '$T'"; lp_bad=1; fi
      done
      others=$(awk -v a="$tok" -v b="$lab" '$1 == "input" && $2 != a && $2 != b && $3 != "1" { print }' "$dir/params.norm")
      if [ -n "$others" ]; then echo "  list-params: unexpected inputs:"; printf '%s\n' "$others" | sed 's/^/      | /'; lp_bad=1; fi
      np=$(wc -l <"$dir/params.want.sorted"); nt=$(grep -c ' trainable' "$dir/params.want.sorted")
      if [ $lp_bad -ne 0 ]; then fail "prog --list-params differs from the reference"
      else echo "  list-params: OK ($np parameters, $nt trainable; inputs $tok, $lab)"; fi
    fi

    # 3-5. gen, compiled dump, reference run; 6. compare
    REF_CMD=("$REF"); REF_ARGS=("${sizes[@]}" "${names[@]}")
    [ "$cname" = deep ] && REF_ARGS+=(--ignore-every 3)
    ref_dump_run "$dir" "$seed"
    ref_compare "$dir"

    [ $status = PASS ] || nfail=$((nfail + 1))
    SUMMARY+=("$(printf '  %-4s %-18s %-6s %s' "$status" "$prog_name" "$cname" "$why")")
  done
done

echo "=== summary"
printf '%s\n' "${SUMMARY[@]}"
[ $ncase -gt 0 ] || die "no program selected"
if [ $nfail -ne 0 ]; then
  echo "check_strategies: FAIL ($nfail of $ncase cases failed; logs under $WORK)"
  exit 1
fi
echo "check_strategies: PASS ($ncase cases match the independent reference)"
exit 0
