#!/bin/sh
# run_selftest.sh CC SRCDIR OUTDIR — test the gradcheck harness against fake_op.c, a hand-written
# stand-in for a perftc --dtype=f64 object: the right gradient must PASS, each planted wrong one
# must FAIL (exit 1, "out of tolerance" or an ABI violation), an f32 manifest must be refused (exit 2);
# then run_gradcheck.sh itself with fake_perftc.sh as the compiler (PASS lines, planted bug caught,
# planted bug not caught and planted bug not supported both reported as FAIL).
set -u
CC=${1:-cc}
SRC=${2:-$(dirname "$0")/..}
OUT=${3:-./gradcheck-selftest}
mkdir -p "$OUT" || exit 1
status=0
n=0

build() { # NAME CFLAGS...
  name=$1; shift
  if ! "$CC" -std=c11 -O1 -Wall -Wextra "$@" -c "$SRC/selftest/fake_op.c" -o "$OUT/$name.o" ||
     ! "$CC" -std=c11 -O1 -Wall -Wextra "$SRC/gradcheck.c" "$OUT/$name.o" -lm -o "$OUT/$name"; then
    echo "selftest $name: FAIL (build)"; status=1; return 1
  fi
}

# expect NAME EXPECTED_RC GREP_PATTERN [harness flags...]
expect() {
  name=$1; want=$2; pattern=$3; shift 3
  n=$((n + 1))
  log="$OUT/$name.$n.log"
  "$OUT/$name" "$@" >"$log" 2>&1
  rc=$?
  last=$(tail -n 1 "$log")
  if [ "$rc" -eq "$want" ] && grep -q -- "$pattern" "$log"; then
    echo "selftest $name $*: ok (exit $rc: $last)"
  else
    echo "selftest $name $*: FAIL (exit $rc, wanted $want and /$pattern/; log $log)"
    cat "$log"
    status=1
  fi
}

build good && {
  expect good 0 "^gradcheck: PASS (215 values)$"
  expect good 0 "^gradcheck: PASS (236 values)$" --max-per-tensor=0 --seed 7
  expect good 0 "^gradcheck: PASS" --init=manifest --scale 3 --seed 11
  expect good 2 "^gradcheck: FAIL (error: unknown flag" --bogus 1
}
build wrong_silu -DFAKE_WRONG_GRAD=1 && expect wrong_silu 1 "^gradcheck: FAIL ([0-9]* of [0-9]* values out of tolerance; worst fake.w"
build wrong_one -DFAKE_WRONG_GRAD=2 && expect wrong_one 1 "^gradcheck: FAIL (1 of 236 values out of tolerance; worst fake.v\[5,15\]" --max-per-tensor=0
build accumulate -DFAKE_WRONG_GRAD=3 && expect accumulate 1 "^gradcheck: FAIL (15 non-finite analytic gradient values)"
build f32 -DFAKE_F32 && expect f32 2 "^gradcheck: FAIL (error: the manifest says dtype f32"

# run_gradcheck.sh's wiring, with fake_perftc.sh standing in for perftc
wiring() { # WANT_RC PATTERN ENV... -- NAMES...
  want=$1; pattern=$2; shift 2
  n=$((n + 1))
  log="$OUT/wiring.$n.log"
  envs=""
  while [ "$1" != "--" ]; do envs="$envs $1"; shift; done
  shift
  # shellcheck disable=SC2086
  env CC="$CC" $envs sh "$SRC/run_gradcheck.sh" "$SRC/selftest/fake_perftc.sh" "$OUT/wiring$n" "$@" >"$log" 2>&1
  rc=$?
  if [ "$rc" -eq "$want" ] && grep -q -- "$pattern" "$log"; then
    echo "selftest run_gradcheck.sh$envs $*: ok (exit $rc)"
  else
    echo "selftest run_gradcheck.sh$envs $*: FAIL (exit $rc, wanted $want and /$pattern/)"
    cat "$log"
    status=1
  fi
}
wiring 0 "^planted_silu  *PASS  (caught" -- silu add
wiring 1 "^planted_silu  *FAIL  the harness did not catch" FAKE_PERFTC_IGNORE_DEBUG=1 -- silu
wiring 1 "^planted_softmax  *FAIL  perftc failed" GRADCHECK_PLANTED=softmax:softmax -- softmax

if [ $status -eq 0 ]; then echo "gradcheck selftest: PASS"; else echo "gradcheck selftest: FAIL"; fi
exit $status
