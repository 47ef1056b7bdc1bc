#!/usr/bin/env bash
# End-to-end check of the compiled examples/moe_perft_r.perft against the independent
# double-precision reference (perft-ref).
#
#   check_compiled.sh PERFTC EXAMPLE_PERFT WORKDIR [PERFT_REF]
#
# PERFT_REF: the perft-ref executable (4th argument, else $PERFT_REF, else perft-ref on PATH).
# For each size set it: compiles the example with -D overrides, checks `prog --list-params`,
# generates weights/inputs with `perft-ref gen`, runs `prog --dump`, runs `perft-ref run`, and
# compares (forward: loss, out.*; backward: grad.*). Exit 0 only if every case passes.
# Tolerances (f32 compiled vs double reference) can be overridden with the environment
# variables FWD_RTOL FWD_ATOL (default 1e-4 1e-5) and GRAD_RTOL GRAD_ATOL (default 2e-3 2e-5).
set -u

# shellcheck source=check_common.sh
. "$(dirname "$0")/check_common.sh"
check_setup check_compiled "PERFTC EXAMPLE_PERFT WORKDIR [PERFT_REF]" "$@"
EXAMPLE=$2

# name  T  D  E  K  F  N  Kt r  seed [perftc flags]
CASES=(
  "odd       29 37 6 3 23 5 2 3 11"
  "minimal   13 10 3 1  7 1 1 2 12"
  "allrouted 31 19 7 7  5 3 3 1 13"
  "longk     21 1030 4 2 1100 3 2 4 14"
  "aliased   23 1024 3 2 2048 3 2 4 15 --parallel-min-work=1"
  "avx2      29 37 6 3 23 5 2 3 16 --vector-bytes=32"
  "sse       29 37 6 3 23 5 2 3 17 --vector-bytes=16"
)
# longk: D and F past the GEMM kernels' K chunks (1024 and 512), so the chunked sums and the K
# tails are checked too. aliased: rows of 1024 and 2048 floats (a multiple of 4 KiB), so the axpy
# strips are packed (the adapters' weight gradients gather x's rows into the stack buffer), and
# every GEMM on threads (panels split, packing inside the OpenMP loop). avx2, sse: the kernels in
# the vector widths perftc picks on CPUs without AVX-512 (8 and 4 lanes).

declare -a SUMMARY
nfail=0
for c in "${CASES[@]}"; do
  read -r name T D E K F N Kt r seed flags <<<"$c"
  dir="$WORK/$name"
  rm -rf "$dir" && mkdir -p "$dir" || die "cannot create $dir"
  sizes=(--T "$T" --D "$D" --E "$E" --K "$K" --F "$F" --N "$N" --Kt "$Kt" --r "$r")
  echo "=== case $name: T=$T D=$D E=$E K=$K F=$F N=$N Kt=$Kt r=$r seed=$seed  ($dir)"
  status=PASS
  why=""

  # 1. compile, --list-params; 2. NAME DIMS trainable|frozen, then input NAME DIMS
  # shellcheck disable=SC2086 # flags: zero or more words
  compile_case "$dir" "$EXAMPLE" -Dtokens="$T" -DD="$D" -DE="$E" -DK="$K" -DF="$F" -DN="$N" -DKt="$Kt" -Dr="$r" $flags
  if [ $status = PASS ]; then
    expected=(
      "moe.router ${E}x${D} frozen"
      "moe.experts.w1 ${E}x${F}x${D} frozen"
      "moe.experts.w3 ${E}x${F}x${D} frozen"
      "moe.experts.w2 ${E}x${D}x${F} frozen"
      "moe.perft_r.router ${N}x${D} trainable"
      "moe.perft_r.ad.A ${N}x${r}x${D} trainable"
      "moe.perft_r.ad.B ${N}x${D}x${r} trainable"
      "input h ${T}x${D}"
      "input target ${T}x${D}"
    )
    # normalise whitespace, drop blank lines
    norm=$(tr -s ' \t' '  ' <"$dir/params.txt" | sed 's/^ //; s/ $//' | grep -v '^$')
    lp_bad=0
    for want in "${expected[@]}"; do
      key=${want% *}; key=${key%% *}
      if [ "${want%% *}" = input ]; then key="input $(echo "$want" | cut -d' ' -f2)"; fi
      got=$(printf '%s\n' "$norm" | awk -v k="$key" '{ if ($1 == "input") n = $1 " " $2; else n = $1; if (n == k) print }')
      if [ -z "$got" ]; then
        echo "  list-params: missing '$key' (want '$want')"; lp_bad=1
      elif [ "$(printf '%s\n' "$got" | wc -l)" -ne 1 ]; then
        echo "  list-params: '$key' listed more than once:"; printf '%s\n' "$got" | sed 's/^/      | /'; lp_bad=1
      elif [ "$got" != "$want" ]; then
        echo "  list-params: got '$got', want '$want'"; lp_bad=1
      fi
    done
    nparams=$(printf '%s\n' "$norm" | grep -vc '^input ' || true)
    if [ "$nparams" -ne 7 ]; then
      echo "  list-params: $nparams parameter lines, want 7:"; printf '%s\n' "$norm" | sed 's/^/      | /'; lp_bad=1
    fi
    if [ $lp_bad -ne 0 ]; then fail "prog --list-params does not list the expected parameters/inputs"
    else echo "  list-params: OK (7 parameters, 2 inputs)"; fi
  fi

  # 3. weights and inputs, 4. compiled dump, 5. reference, 6. compare
  REF_CMD=("$REF"); REF_ARGS=("${sizes[@]}")
  ref_dump_run "$dir" "$seed"
  ref_compare "$dir"

  [ $status = PASS ] || nfail=$((nfail + 1))
  SUMMARY+=("$(printf '  %-4s %-10s T=%-3s D=%-3s E=%-2s K=%-2s F=%-3s N=%-2s Kt=%-2s r=%-2s %s' \
               "$status" "$name" "$T" "$D" "$E" "$K" "$F" "$N" "$Kt" "$r" "$why")")
done

echo "=== summary"
printf '%s\n' "${SUMMARY[@]}"
if [ $nfail -ne 0 ]; then
  echo "check_compiled: FAIL ($nfail of ${#CASES[@]} cases failed; logs under $WORK)"
  exit 1
fi
echo "check_compiled: PASS (${#CASES[@]} cases match the independent reference)"
exit 0
