#!/bin/bash
# run_fuzz.sh FUZZER SECONDS SEED... — replays the seeds through a libFuzzer target (ASan + UBSan),
# then fuzzes for SECONDS from them and prints the executions run. A SEED is a file or a directory
# of files; an argument starting with '-' is a libFuzzer option (e.g. -dict=FILE) for both runs.
# New inputs stay in a temporary directory. Exits 77 (ctest: skipped) when FUZZER is empty or
# missing: no clang with a libFuzzer runtime.
set -u
fuzzer=$1 seconds=$2
shift 2
name=$(basename "${fuzzer:-the fuzz target}")
if [ -z "$fuzzer" ] || [ ! -x "$fuzzer" ]; then
  echo "SKIP: $name was not built (no clang with a libFuzzer runtime)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
options=()
for argument in "$@"; do
  case $argument in
    -*) options+=("$argument") ;;
    *) if [ -d "$argument" ]; then cp "$argument"/* "$work/corpus/"; else cp "$argument" "$work/corpus/"; fi ;;
  esac
done
cd "$work" || exit 1
if ! "$fuzzer" ${options[@]+"${options[@]}"} -runs=0 corpus > replay.log 2>&1; then
  cat replay.log
  echo "FAIL: a seed crashed $name"
  exit 1
fi
if ! "$fuzzer" ${options[@]+"${options[@]}"} -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 corpus > fuzz.log 2>&1; then
  tail -n 60 fuzz.log
  for found in crash-* leak-* timeout-* oom-*; do
    [ -e "$found" ] && { echo "--- $found:"; od -c "$found" | head -20; }
  done
  echo "FAIL: $name found a crash, leak or hang"
  exit 1
fi
grep -E "stat::number_of_executed_units|stat::new_units_added|Done" fuzz.log | tail -n 3
echo "PASS: $name: $(ls corpus | wc -l) inputs after $seconds seconds, no crash"
