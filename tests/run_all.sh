#!/usr/bin/env bash
# Runs every test: the CTest suites (dsl, runtime, reference, gradcheck, end to end) and the lit +
# FileCheck pass tests, in each build folder given; ends with one plain line "N passed, N failed".
#   tests/run_all.sh BUILD [SANITIZE_BUILD]
# SANITIZE_BUILD is a second build configured with -DPERFT_SANITIZE=ON: the same tests again with
# the compiler, the runtime and every tool under AddressSanitizer, LeakSanitizer and
# UndefinedBehaviorSanitizer (the fuzz targets, sanitized in every build, run only in BUILD).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LIT=/usr/lib/llvm-19/build/utils/lit/lit.py
passed=0 failed=0

run_suite() { # BUILD LABEL [ctest options...]
  local build=$1 label=$2
  shift 2
  echo "== ctest ($label)"
  (cd "$build" && ctest --output-on-failure -j2 "$@") | tee "$build/ctest.log"
  # CTest's summary: "100% tests passed, 0 tests failed out of 92"
  local ctest_failed ctest_total
  ctest_failed=$(grep -Eo '[0-9]+ tests failed out of' "$build/ctest.log" | tail -1 | grep -Eo '^[0-9]+' || echo 1)
  ctest_total=$(grep -Eo 'failed out of [0-9]+' "$build/ctest.log" | tail -1 | grep -Eo '[0-9]+$' || echo 0)
  echo "== lit: pass and driver tests ($label)"
  # Output/ folders go under $build/tests/lit (build_dir), not into the source tree.
  python3 "$LIT" -v --param perftc="$build/compiler/perftc" --param perft_opt="$build/compiler/perft-opt" \
    --param build_dir="$build" "$ROOT/tests/lit" | tee "$build/lit.log"
  local lit_passed lit_failed
  lit_passed=$(grep -c '^PASS:' "$build/lit.log")
  lit_failed=$(grep -Ec '^(FAIL|XPASS|UNRESOLVED):' "$build/lit.log")
  echo "== $label: $((ctest_total - ctest_failed + lit_passed)) passed, $((ctest_failed + lit_failed)) failed"
  passed=$((passed + ctest_total - ctest_failed + lit_passed))
  failed=$((failed + ctest_failed + lit_failed))
}

run_suite "$(cd "${1:-build}" && pwd)" "build"
if [ $# -ge 2 ]; then
  export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1
  # the gpu.* tests rerun the gradchecks, the reference and fusion on/off through the CUDA kernels:
  # once, in the plain build, is enough (compiler.leak_check puts the CUDA passes under the sanitizers)
  run_suite "$(cd "$2" && pwd)" "sanitizers" -E 'fuzz|^gpu[.]'
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
