#!/bin/bash
# check_imports.sh TOOL — `use NAME`: search order (the importing file's directory, $PERFT_LIB,
# the built-in dsl/lib), each file imported once, cycles through two files, and diagnostics
# inside a library naming the library file (with its own source line).
set -u
tool=$1
cd "$(dirname "$0")/imports" || exit 1
failed=0
fail() { echo "FAIL: $*"; failed=1; }

# lib_a (here) uses lib_b (here, again used by main: once) and peft (dsl/lib)
out=$("$tool" --graph main.perft 2>&1) || fail "main.perft: $out"
grep -q 'param "twice.scaled.s" train adapter' <<<"$out" || fail "main.perft: strategy from lib_a missing"

out=$("$tool" bad_main.perft 2>&1) && fail "bad_main.perft elaborated"
grep -qxF "lib_bad.perft:3:10: error: syntax error, unexpected '*'" <<<"$out" || fail "library syntax error: $out"
grep -qxF "    y = h +* h" <<<"$out" || fail "library error does not quote the library's line: $out"
grep -qxF "lib_bad.perft:5:1: error: a library holds only use, expert, block, strategy and names declarations" <<<"$out" ||
  fail "dim in a library: $out"

out=$("$tool" cycle_main.perft 2>&1) && fail "cycle_main.perft elaborated"
grep -qxF "cycle_lib.perft:1:1: error: import cycle: cycle_main.perft -> cycle_lib.perft -> cycle_main.perft" <<<"$out" ||
  fail "import cycle: $out"

out=$("$tool" elsewhere/env_main.perft 2>&1) && fail "env_main.perft found lib_b without PERFT_LIB"
grep -q "cannot find library 'lib_b'" <<<"$out" || fail "unknown library: $out"
out=$(PERFT_LIB="/nonexistent:$PWD" "$tool" elsewhere/env_main.perft 2>&1) || fail "PERFT_LIB not searched: $out"

[ "$failed" -eq 0 ] && echo "PASS: use: search order, once, cycles, diagnostics in libraries"
exit "$failed"
