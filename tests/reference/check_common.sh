# shellcheck shell=bash
# What check_compiled.sh, check_strategies.sh and check_attention.sh share; sourced, not run.
#
#   check_setup NAME USAGE PERFTC ARG WORKDIR [PERFT_REF]
#                                NAME prefixes die's messages; USAGE names the script's arguments
#                                (printed, exit 2, unless there are 3 or 4); ARG must exist. Sets
#                                PERFTC, WORK (created), REF (PERFT_REF, else $PERFT_REF, else
#                                perft-ref on PATH), FWD_RTOL FWD_ATOL GRAD_RTOL GRAD_ATOL (environment
#                                overrides; defaults 1e-4 1e-5 2e-3 2e-5) and TIMEOUT; dies when
#                                perft-ref or the compiler is missing.
#   die MESSAGE                  NAME: ERROR: MESSAGE, then NAME: FAIL; exit 1
#   show FILE [N]                the last N (default 20) lines of a log, indented
#   fail WHY                     marks the current case failed (status=FAIL, why=WHY)
#   compile_case DIR SOURCE FLAGS...
#                                perftc SOURCE FLAGS -o DIR/prog, then DIR/prog --list-params > DIR/params.txt
#   ref_dump_run DIR SEED        perft-ref gen -> DIR/W, DIR/X; DIR/prog --dump DIR/got; perft-ref run -> DIR/ref,
#                                perft-ref being REF_CMD (the executable and any words before the
#                                subcommand) with REF_ARGS after the subcommand (sizes, names)
#   ref_compare DIR              compares DIR/ref (A, the expected values) with DIR/got: forward (loss,
#                                out.*) at FWD_*, gradients (grad.*) at GRAD_*
# compile_case, ref_dump_run and ref_compare do nothing unless status is PASS.

check_setup() {
  CHECK_NAME=$1
  if [ $# -lt 5 ] || [ $# -gt 6 ]; then
    echo "usage: $CHECK_NAME.sh $2" >&2
    exit 2
  fi
  PERFTC=$3
  WORK=$5
  REF=${6:-${PERFT_REF:-}}
  if [ -z "$REF" ]; then REF=$(command -v perft-ref || true); fi
  FWD_RTOL=${FWD_RTOL:-1e-4}
  FWD_ATOL=${FWD_ATOL:-1e-5}
  GRAD_RTOL=${GRAD_RTOL:-2e-3}
  GRAD_ATOL=${GRAD_ATOL:-2e-5}
  [ -n "$REF" ] || die "perft-ref not found: pass it as 4th argument or set PERFT_REF"
  [ -x "$REF" ] || die "perft-ref '$REF' is not an executable file"
  [ -x "$PERFTC" ] || command -v "$PERFTC" >/dev/null 2>&1 || die "compiler '$PERFTC' is not executable"
  local what
  read -r _ what _ <<<"$2"
  [ -e "$4" ] || die "$what '$4' does not exist"
  mkdir -p "$WORK" || die "cannot create $WORK"
  TIMEOUT=""
  if command -v timeout >/dev/null 2>&1; then TIMEOUT="timeout 600"; fi
}

die() { echo "$CHECK_NAME: ERROR: $*" >&2; echo "$CHECK_NAME: FAIL"; exit 1; }
show() { [ -f "$1" ] && tail -n "${2:-20}" "$1" | sed 's/^/      | /'; }
# shellcheck disable=SC2034 # status and why are read by the sourcing script
fail() { status=FAIL; why="$1"; echo "  FAIL: $1"; }

compile_case() {
  local dir=$1 src=$2
  shift 2
  [ "$status" = PASS ] || return 0
  if ! $TIMEOUT "$PERFTC" "$src" "$@" -o "$dir/prog" >"$dir/compile.log" 2>&1; then
    fail "perftc failed (see $dir/compile.log)"; show "$dir/compile.log"
  elif [ ! -x "$dir/prog" ]; then
    fail "perftc succeeded but $dir/prog is not an executable"; show "$dir/compile.log"
  elif ! $TIMEOUT "$dir/prog" --list-params >"$dir/params.txt" 2>"$dir/params.err"; then
    fail "prog --list-params failed"; show "$dir/params.err"
  fi
}

ref_dump_run() {
  local dir=$1 seed=$2
  [ "$status" = PASS ] || return 0
  if ! "${REF_CMD[@]}" gen "${REF_ARGS[@]}" --seed "$seed" "$dir/W.safetensors" "$dir/X.safetensors" >"$dir/gen.log" 2>&1; then
    fail "perft-ref gen failed"; show "$dir/gen.log"
  elif ! $TIMEOUT "$dir/prog" --dump "$dir/got.safetensors" --weights "$dir/W.safetensors" --inputs "$dir/X.safetensors" \
        >"$dir/dump.log" 2>&1; then
    fail "prog --dump failed (see $dir/dump.log)"; show "$dir/dump.log"
  elif [ ! -s "$dir/got.safetensors" ]; then
    fail "prog --dump did not write $dir/got.safetensors"; show "$dir/dump.log"
  elif ! "${REF_CMD[@]}" run "${REF_ARGS[@]}" "$dir/W.safetensors" "$dir/X.safetensors" "$dir/ref.safetensors" >"$dir/ref.log" 2>&1; then
    fail "perft-ref run failed"; show "$dir/ref.log"
  else
    grep '^run:' "$dir/ref.log" | sed 's/^/  ref: /'
  fi
}

ref_compare() {
  local dir=$1 rf rg
  [ "$status" = PASS ] || return 0
  "$REF" compare "$dir/ref.safetensors" "$dir/got.safetensors" --rtol "$FWD_RTOL" --atol "$FWD_ATOL" \
      --only loss --only out. >"$dir/compare_fwd.log" 2>&1
  rf=$?
  "$REF" compare "$dir/ref.safetensors" "$dir/got.safetensors" --rtol "$GRAD_RTOL" --atol "$GRAD_ATOL" \
      --only grad. >"$dir/compare_grad.log" 2>&1
  rg=$?
  echo "  forward (rtol $FWD_RTOL atol $FWD_ATOL):"; sed 's/^/    /' "$dir/compare_fwd.log"
  echo "  gradients (rtol $GRAD_RTOL atol $GRAD_ATOL):"; sed 's/^/    /' "$dir/compare_grad.log"
  if [ $rf -ne 0 ] && [ $rg -ne 0 ]; then fail "forward and gradients differ from the reference"
  elif [ $rf -ne 0 ]; then fail "forward (loss, out.*) differs from the reference"
  elif [ $rg -ne 0 ]; then fail "gradients differ from the reference"; fi
}
