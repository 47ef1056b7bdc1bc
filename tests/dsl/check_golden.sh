#!/bin/bash
# check_golden.sh TOOL MODE INPUT EXPECTED — runs `TOOL --MODE INPUT` (MODE is ast
# or graph) in the current directory and compares stdout with EXPECTED exactly.
set -u
tool=$1 mode=$2 input=$3 expected=$4
actual=$("$tool" "--$mode" "$input")
status=$?
if [ "$status" -ne 0 ]; then
  echo "FAIL: $input: exit status $status"
  exit 1
fi
if ! diff -u "$expected" <(printf '%s\n' "$actual"); then
  echo "FAIL: $input --$mode differs from $expected (above: - expected, + actual)"
  exit 1
fi
echo "PASS: $input --$mode"
