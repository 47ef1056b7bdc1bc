#!/bin/bash
# run_fuzz.sh FUZZER SECONDS SEED_FILE... — replays every seed file through the
# libFuzzer target (ASan + UBSan), then fuzzes for SECONDS from those seeds.
# Exits 77 (ctest: skipped) when FUZZER is empty: no clang with libFuzzer.
set -u
fuzzer=$1 seconds=$2
shift 2
if [ -z "$fuzzer" ] || [ ! -x "$fuzzer" ]; then
  echo "SKIP: perft-dsl-fuzz was not built (no clang with a libFuzzer runtime)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
cp "$@" "$work/corpus/"
cd "$work" || exit 1
if ! "$fuzzer" -runs=0 corpus > replay.log 2>&1; then
  cat replay.log
  echo "FAIL: a seed file crashed the front end"
  exit 1
fi
if ! "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 corpus \
    > fuzz.log 2>&1; then
  tail -n 60 fuzz.log
  for crash in crash-* leak-* timeout-* oom-*; do
    [ -e "$crash" ] && { echo "--- $crash:"; od -c "$crash" | head -20; }
  done
  echo "FAIL: the fuzzer found a crash, leak or hang"
  exit 1
fi
grep -E "stat::number_of_executed_units|Done" fuzz.log | tail -n 2
echo "PASS: fuzzed for $seconds seconds without a crash"
