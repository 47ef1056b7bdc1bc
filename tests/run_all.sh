#!/usr/bin/env bash
# Runs every test: the CTest suites (dsl, runtime, reference, gradcheck, end to end)
# and the lit + FileCheck pass tests; ends with one plain line "N passed, N failed".
set -uo pipefail
BUILD=$(cd "${1:-build}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LIT=/usr/lib/llvm-19/build/utils/lit/lit.py

echo "== ctest"
(cd "$BUILD" && ctest --output-on-failure -j2) | tee "$BUILD/ctest.log"
# CTest's summary: "100% tests passed, 0 tests failed out of 92"
ctest_failed=$(grep -Eo '[0-9]+ tests failed out of' "$BUILD/ctest.log" | tail -1 | grep -Eo '^[0-9]+' || echo 1)
ctest_total=$(grep -Eo 'failed out of [0-9]+' "$BUILD/ctest.log" | tail -1 | grep -Eo '[0-9]+$' || echo 0)
ctest_passed=$((ctest_total - ctest_failed))

echo "== lit (pass and driver tests)"
# Output/ folders go under $BUILD/tests/lit (build_dir), not into the source tree.
python3 "$LIT" -v --param perftc="$BUILD/compiler/perftc" --param perft_opt="$BUILD/compiler/perft-opt" \
  --param build_dir="$BUILD" "$ROOT/tests/lit" | tee "$BUILD/lit.log"
lit_passed=$(grep -c '^PASS:' "$BUILD/lit.log")
lit_failed=$(grep -Ec '^(FAIL|XPASS|UNRESOLVED):' "$BUILD/lit.log")

passed=$((ctest_passed + lit_passed))
failed=$((ctest_failed + lit_failed))
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
