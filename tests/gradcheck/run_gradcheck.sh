#!/bin/sh
# run_gradcheck.sh PERFTC OUTDIR [NAME...]
#
# Finite-difference gradient checks of perftc's reverse mode, one small program per op kind
# (tests/gradcheck/ops/*.perft), plus the example program at small sizes, plus a planted-bug
# check. For each program:
#     $PERFTC ops/NAME.perft --dtype=f64 --emit=obj -o OUTDIR/NAME.o
#     cc gradcheck.c OUTDIR/NAME.o -lm -o OUTDIR/NAME && OUTDIR/NAME FLAGS
# where FLAGS come from the program's `# gradcheck-flags: ...` comment lines.
# Prints one line per program (PASS/FAIL), then the planted-bug checks: the program compiled with
# --debug-wrong-grad=OP must make the harness FAIL (exit 1, values out of tolerance).
# Exits 0 only if everything passes. With NAME arguments, only those programs run (the planted
# checks still run when their program is selected).
#
# Environment: CC (default cc), GRADCHECK_PERFTC_FLAGS (extra perftc flags for every program,
# e.g. "--target=cuda-host": the CUDA kernels run on the CPU), GRADCHECK_CFLAGS, GRADCHECK_LDFLAGS (extra link inputs for the
# generated object), GRADCHECK_ARGS (extra harness flags for every run, e.g. "--seed 3"),
# GRADCHECK_PLANTED (space-separated OP:PROGRAM pairs; default "silu:silu gelu:gelu reduce_max:reduce").
set -u
if [ $# -lt 2 ]; then
  echo "usage: $0 PERFTC OUTDIR [NAME...]" >&2
  exit 2
fi
PERFTC=$1
OUT=$2
shift 2
HERE=$(cd "$(dirname "$0")" && pwd)
CC=${CC:-cc}
CFLAGS="-std=c11 -O1 ${GRADCHECK_CFLAGS:-}"
# LLVM's OpenMP runtime always: an op whose CPU kernel is big enough puts its rows on threads
# (top_k_long's 600-wide rows), and the parallel programs below split every GEMM across threads
OPENMP_LDFLAGS="-L/usr/lib/llvm-19/lib -lomp -Wl,-rpath,/usr/lib/llvm-19/lib"
LDFLAGS="${GRADCHECK_LDFLAGS:-} $OPENMP_LDFLAGS"
HARNESS_ARGS="${GRADCHECK_ARGS:-}"
PLANTED="${GRADCHECK_PLANTED:-silu:silu gelu:gelu reduce_max:reduce}"
PERFTC_FLAGS="${GRADCHECK_PERFTC_FLAGS:-}"
EXAMPLE="$HERE/../../examples/moe_perft_r.perft"
# the example at small, awkward sizes (every dim overridden)
EXAMPLE_DIMS="-Dtokens=6 -DD=5 -DE=4 -DK=2 -DF=3 -DN=3 -DKt=2 -Dr=2"

mkdir -p "$OUT" || exit 2
# CFLAGS and LDFLAGS are word lists on purpose
# shellcheck disable=SC2086
if ! "$CC" $CFLAGS -c "$HERE/gradcheck.c" -o "$OUT/gradcheck_main.o" 2>"$OUT/gradcheck_main.log"; then
  echo "gradcheck: cannot compile the harness:"; cat "$OUT/gradcheck_main.log"
  exit 1
fi

selected() { # NAME -> 0 if selected
  [ -z "$ONLY" ] && return 0
  for s in $ONLY; do [ "$s" = "$1" ] && return 0; done
  return 1
}
ONLY="$*"

flags_of() { # FILE -> its gradcheck-flags
  sed -n 's/^#[[:space:]]*gradcheck-flags:[[:space:]]*//p' "$1" | tr '\n' ' '
}

# build TAG SOURCE [perftc flags...] -> OUT/TAG (the harness linked with the program's object)
build() {
  tag=$1; src=$2; shift 2
  rm -f "$OUT/$tag.o" "$OUT/$tag"
  # shellcheck disable=SC2086
  "$PERFTC" "$src" "$@" $PERFTC_FLAGS --dtype=f64 --emit=obj -o "$OUT/$tag.o" >"$OUT/$tag.compile.log" 2>&1
  prc=$?
  if [ $prc -ne 0 ] || [ ! -s "$OUT/$tag.o" ]; then
    reason="perftc failed (exit $prc): $(grep -m1 -i 'error' "$OUT/$tag.compile.log" || tail -n 1 "$OUT/$tag.compile.log")"
    return 1
  fi
  # shellcheck disable=SC2086
  if ! "$CC" "$OUT/gradcheck_main.o" "$OUT/$tag.o" $LDFLAGS -lm -o "$OUT/$tag" >"$OUT/$tag.link.log" 2>&1 &&
     ! "$CC" -no-pie "$OUT/gradcheck_main.o" "$OUT/$tag.o" $LDFLAGS -lm -o "$OUT/$tag" >>"$OUT/$tag.link.log" 2>&1; then
    reason="link failed: $(grep -m1 -i 'error\|undefined' "$OUT/$tag.link.log" || tail -n 1 "$OUT/$tag.link.log")"
    return 1
  fi
  return 0
}

# check TAG FLAGS -> runs the harness; sets rc, verdict
check() {
  tag=$1; flags=$2
  # shellcheck disable=SC2086
  "$OUT/$tag" $flags $HARNESS_ARGS >"$OUT/$tag.log" 2>&1
  rc=$?
  verdict=$(grep '^gradcheck: \(PASS\|FAIL\)' "$OUT/$tag.log" | tail -n 1)
  [ -n "$verdict" ] || verdict="no verdict (exit $rc): $(tail -n 1 "$OUT/$tag.log")"
}

status=0
npass=0
nfail=0
report_fail() { # TAG MESSAGE [LOG]
  printf '%-24s FAIL  %s\n' "$1" "$2"
  if [ $# -ge 3 ] && [ -f "$3" ]; then sed 's/^/    | /' "$3" | tail -n 40; fi
  status=1
  nfail=$((nfail + 1))
}

run_one() { # TAG SOURCE FLAGS [perftc flags...]
  tag=$1; src=$2; flags=$3; shift 3
  reason=""
  if ! build "$tag" "$src" "$@"; then
    report_fail "$tag" "$reason" "$OUT/$tag.compile.log"
    return
  fi
  check "$tag" "$flags"
  if [ "$rc" -eq 0 ] && echo "$verdict" | grep -q '^gradcheck: PASS'; then
    printf '%-24s PASS  %s\n' "$tag" "${verdict#gradcheck: PASS }"
    npass=$((npass + 1))
  else
    report_fail "$tag" "${verdict#gradcheck: } (log $OUT/$tag.log)" "$OUT/$tag.log"
  fi
}

for f in "$HERE"/ops/*.perft; do
  name=$(basename "$f" .perft)
  selected "$name" || continue
  run_one "$name" "$f" "$(flags_of "$f")"
done

if selected example_moe_perft_r; then
  if [ -f "$EXAMPLE" ]; then
    # shellcheck disable=SC2086
    run_one example_moe_perft_r "$EXAMPLE" "" $EXAMPLE_DIMS
  else
    echo "example_moe_perft_r      SKIP  ($EXAMPLE not found)"
  fi
fi

# every strategy program of examples/ as a whole (embedding, layers, strategy, head, cross-entropy),
# at small sizes, in f64: the backward of the composed program against finite differences
TOKEN_DIMS="-Dtokens=7 -DV=5 -DD=6 -DE=4 -DK=2 -DF=5 -DL=2 -DN=3 -DKt=2 -Dr=2"
for f in "$(dirname "$EXAMPLE")"/token_*.perft; do
  [ -f "$f" ] || continue
  name=example_$(basename "$f" .perft)
  selected "$name" || continue
  # shellcheck disable=SC2086
  run_one "$name" "$f" "" $TOKEN_DIMS
done

# the whole OLMoE and Mixtral models (attention with grouped kv heads, OLMoE's q/k norms, rope, MoE +
# PERFT-R, two layers, both routers' load balance pooled over the layers): the adapters' gradients of
# layer 0 go back through layer 1's attention
MODEL_DIMS="-DSq=4 -DB=2 -DV=5 -DD=4 -DH=2 -DG=1 -DE=4 -DK=2 -DF=5 -DL=2 -Dr=2"
for program in olmoe_perft_r mixtral_perft_r olmoe_lora_qv; do
  if selected example_$program; then
    extra="-DN=3 -DKt=2"
    [ "$program" = olmoe_lora_qv ] && extra=""  # LoRA on attention q/v: no PEFT experts
    # shellcheck disable=SC2086
    run_one example_$program "$(dirname "$EXAMPLE")/$program.perft" "" $MODEL_DIMS $extra
  fi
done
# the OLMoE model with PERFT-R of parallel adapters (perft_r_adapter_native, tests/hf/)
if selected olmoe_perft_pa; then
  # shellcheck disable=SC2086
  run_one olmoe_perft_pa "$HERE/../hf/olmoe_perft_pa.perft" "" $MODEL_DIMS -DN=3 -DKt=2
fi

# the gallery of composition schemes (examples/schemes/), the same way
for f in "$(dirname "$EXAMPLE")"/schemes/*.perft; do
  [ -f "$f" ] || continue
  name=scheme_$(basename "$f" .perft)
  selected "$name" || continue
  # shellcheck disable=SC2086
  run_one "$name" "$f" "" $TOKEN_DIMS -DN=4
done

# GEMMs wide enough for the vector register blocks of the axpy form (64-byte vectors: 8 doubles,
# 4 vectors a block, so 32 columns), with leftover rows and columns: matmul_nn (x·w) and its
# weight gradient, matmul_tn (wᵀ·x: the transposed-rows form), and a whole program whose
# experts' input gradients run through them
for case in "matmul_nn -DN=37" "matmul_tn -DM=37"; do
  name=${case%% *}
  selected "vector_$name" || continue
  src="$HERE/ops/$name.perft"
  # shellcheck disable=SC2086
  run_one "vector_$name" "$src" "$(flags_of "$src")" -Dtokens=6 -DD=37 ${case#* }
done
if selected vector_token_full_ft; then
  run_one vector_token_full_ft "$(dirname "$EXAMPLE")/token_full_ft.perft" "" \
    -Dtokens=7 -DV=5 -DD=37 -DE=2 -DK=1 -DF=34 -DL=2 -DN=2 -DKt=1 -Dr=2
fi

# the same kind of programs with every GEMM split across threads (--parallel-min-work=0; the
# objects then call LLVM's OpenMP runtime): threads must not change a single gradient
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
for name in route_swiglu route_lora matmul_nn matmul_nt matmul_tn; do
  selected "parallel_$name" || continue
  src="$HERE/ops/$name.perft"
  run_one "parallel_$name" "$src" "$(flags_of "$src")" --parallel-min-work=0
done
for name in token_full_ft token_pretrain token_lora_experts token_perft_e; do
  selected "parallel_$name" || continue
  # shellcheck disable=SC2086
  run_one "parallel_$name" "$(dirname "$EXAMPLE")/$name.perft" "" $TOKEN_DIMS --parallel-min-work=0
done

# planted bugs: the harness must catch a deliberately wrong backward rule
for pair in $PLANTED; do
  op=${pair%%:*}
  prog=${pair#*:}
  selected "$prog" || continue
  tag="planted_$op"
  src="$HERE/ops/$prog.perft"
  reason=""
  if ! build "$tag" "$src" "--debug-wrong-grad=$op"; then
    report_fail "$tag" "$reason" "$OUT/$tag.compile.log"
    continue
  fi
  check "$tag" "$(flags_of "$src")"
  if [ "$rc" -eq 1 ] && echo "$verdict" | grep -q '^gradcheck: FAIL ([0-9]* of [0-9]* values out of tolerance'; then
    printf '%-24s PASS  (caught: %s)\n' "$tag" "${verdict#gradcheck: }"
    npass=$((npass + 1))
  else
    report_fail "$tag" "the harness did not catch --debug-wrong-grad=$op: ${verdict#gradcheck: }" "$OUT/$tag.log"
  fi
done

echo "gradcheck: $npass passed, $nfail failed"
exit $status
