#!/bin/bash
# check_errors.sh TOOL FILE — a negative test: FILE must fail with exactly the
# errors it lists, one per line, as
#     # ERROR: LINE:COL: message      (or `# ERROR: -: message` for one with no position)
# and optional `# ARGS: -DNAME=V ...` flags for the tool. Every located error
# must be followed by the source line and a caret line.
set -u
tool=$1
file=$2
name=$(basename "$file")
cd "$(dirname "$file")" || exit 1
args=$(sed -n 's/^# ARGS: //p' "$name")
# shellcheck disable=SC2086
output=$("$tool" $args "$name" 2>&1)
status=$?
failed=0
if [ "$status" -ne 1 ]; then
  echo "FAIL: $name: exit status $status, expected 1"
  failed=1
fi
expected=0
while IFS= read -r line; do
  position=${line%%: *}
  message=${line#*: }
  expected=$((expected + 1))
  if [ "$position" = "-" ]; then prefix="perft: error: "; else prefix="$name:$position: error: "; fi
  if ! grep -qxF -- "$prefix$message" <<<"$output"; then
    echo "FAIL: $name: missing diagnostic: $prefix$message"
    failed=1
  fi
done < <(sed -n 's/^# ERROR: //p' "$name")
actual=$(grep -c ": error: " <<<"$output")
if [ "$actual" -ne "$expected" ]; then
  echo "FAIL: $name: $actual errors reported, $expected expected"
  failed=1
fi
# each located message: then the quoted source line, then a caret line
if ! awk -v file="$name" '
  index($0, file ":") == 1 && / error: / { want = NR + 2; next }
  NR == want { if ($0 !~ /^[ \t]*\^$/) bad = 1; want = 0 }
  END { exit bad }' <<<"$output"; then
  echo "FAIL: $name: a diagnostic is not followed by its source line and caret"
  failed=1
fi
if [ "$failed" -ne 0 ]; then
  echo "--- output was:"
  echo "$output"
  exit 1
fi
echo "PASS: $name ($expected diagnostics)"
