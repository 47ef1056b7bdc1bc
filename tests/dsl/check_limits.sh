#!/bin/bash
# check_limits.sh DSL_CHECK PERFTC — pathological programs of up to about 1 MB, each compiled or
# refused in under 10 s: a clear error (exit 1, `file:line:col: error:` or `perft: error:`) or
# success, never a crash and never a timeout. The limits are in dsl/dsl_limits.h and
# docs/LANGUAGE.md ("Limits"). Prints the time each run took.
#
# Each case is `NAME EXPECT STAGE`: EXPECT is `ok`, or a piece of the error message; STAGE is what
# perftc runs to (--emit=mlir: the front end, the MLIR generator and the verifier; --report adds
# autodiff and fusion). perft-dsl-check runs every case too.
set -u
dsl_check=$1
perftc=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$(cd "$(dirname "$0")/../.." && pwd)"
limit=${LIMIT_SECONDS:-10}
failed=0

# generate NAME: writes $work/NAME.perft (python3: one short generator per case)
generate() {
  python3 - "$1" "$work/$1.perft" <<'EOF'
import sys
name, path = sys.argv[1], sys.argv[2]
head = "dim tokens = 4\ndim D = 2\n"
def model(body, loss="mse(x @ w, x)"):
    return head + "model {\n  input x : f32[tokens, D]\n  param w : f32[D, D] train\n" + body + "  loss " + loss + "\n}\n"
def balanced(depth):  # ((x + x) + (x + x)) ..., 2^depth leaves
    return "x" if depth == 0 else "(" + balanced(depth - 1) + " + " + balanced(depth - 1) + ")"
programs = {
    # 200,000 lines that define one name again: reporting stops after 20 errors
    "redefine": lambda: model("  y = x\n" * 200000),
    "undefined_names": lambda: model("  y = q\n" * 200000),
    # dim L = 100000 layers, and 1000 layers of a real MoE model (the operation limit)
    "layers_100000": lambda: head + "dim L = 100000\nmodel {\n  input x : f32[tokens, D]\n  layers l in L {\n"
        "    param w : f32[D, D] train\n    x = x @ w\n  }\n  loss mse(x, x)\n}\n",
    "layers_empty_1024": lambda: head + "dim L = 1024\nmodel {\n  input x : f32[tokens, D]\n"
        "  param w : f32[D, D] train\n  layers l in L {\n  }\n  loss mse(x @ w, x)\n}\n",
    "dims_100000": lambda: "".join("dim d%d = %d\n" % (i, i + 1) for i in range(100000)) + model(""),
    # 1 MB of nesting and chains
    "parentheses": lambda: model("  y = " + "(" * 500000 + "x" + ")" * 500000 + "\n"),
    "negations": lambda: model("  y = " + "-" * 1000000 + "x\n"),
    "chain": lambda: model("  y = x" + " + x" * 250000 + "\n"),
    "chains_999_deep": lambda: model("".join("  y%d = x%s\n" % (i, " + x" * 999) for i in range(250))),
    "balanced_tree": lambda: model("  y = " + balanced(17) + "\n"),
    "calls_in_calls": lambda: model("  y = " + "silu(" * 100000 + "x" + ")" * 100000 + "\n"),
    # sizes at and past the limits
    "dims_2p31": lambda: "dim tokens = 2147483647\ndim D = 2147483647\nmodel {\n  input x : f32[tokens, D]\n"
        "  param w : f32[D, D, D] train\n  loss mse(x, x)\n}\n",
    "bank_2p31": lambda: "dim tokens = 4\ndim D = 1024\nexpert lin(D) {\n  param a : f32[D, D] train\n  fn (rows) = rows @ a\n}\n"
        "model {\n  input x : f32[tokens, D]\n  bank b[2147483647] = lin(D)\n  loss mse(x, x)\n}\n",
    "integer_1MB": lambda: "dim tokens = " + "9" * 1000000 + "\n",
    "real_underflow": lambda: model("", "mse(x @ w * 1e-400, x)"),
    # many names of each kind
    "params_15000": lambda: model("".join("  param p%d : f32[D] train\n" % i for i in range(15000))),
    "params_40000": lambda: model("".join("  param p%d : f32[D] train\n" % i for i in range(40000))),
    "inputs_15000": lambda: model("".join("  input i%d : f32[D]\n" % i for i in range(15000))),
    "outputs_40000": lambda: model("".join("  y%d = x\n  output y%d\n" % (i, i) for i in range(40000))),
    "statements_60000": lambda: model("".join("  y%d = x @ w\n" % i for i in range(60000))),
    "blocks_30000": lambda: "".join("block b%d() (h) -> y {\n  y = h\n}\n" % i for i in range(30000)) + model(""),
    "size_parameters_60000": lambda: "block b(" + ",".join("s%d" % i for i in range(60000)) + ") (h) -> y {\n  y = h\n}\n"
        + model("  z = b(" + ",".join("s%d: 1" % i for i in range(60000)) + ")(x)\n"),
    "expert_params_10000": lambda: head + "dim E = 2\nexpert lin(D) {\n"
        + "".join("  param a%d : f32[D, D] train\n" % i for i in range(10000)) + "  fn (rows) = rows @ a0\n}\n"
        "model {\n  input x : f32[tokens, D]\n  param r : f32[E, D] train\n  bank b[E] = lin(D)\n"
        "  (g, S) = top_k(softmax(x @ r^T), 1)\n" + "".join("  y%d = route(x, S, g) { b[e](x) }\n" % i for i in range(2000))
        + "  loss mse(y0, x)\n}\n",
    "uses_50000": lambda: "use moe\n" * 50000 + model(""),
    "arguments_200000": lambda: model("  y = silu(" + ", ".join(["x"] * 200000) + ")\n"),
    "name_500KB": lambda: model("  " + "a" * 500000 + " = x\n", "mse(x @ w, " + "a" * 500000 + ")"),
    "comment_1MB": lambda: "#" + "c" * 1000000 + "\n" + model(""),
    "bad_bytes_1MB": lambda: model("$" * 1000000),
    # blocks that apply a block twice, 15 deep: 2^15 applications (the operation limit)
    "blocks_doubling": lambda: "block b0() (h) -> y {\n  y = silu(h)\n}\n" + "".join(
        "block b%d() (h) -> y {\n  y = b%d()(h) + b%d()(h)\n}\n" % (i, i - 1, i - 1) for i in range(1, 16))
        + model("  y = b15()(x)\n", "mse(x @ w, y)"),
    # 16 blocks, each applying the next inside 995 nested calls: 16,000 levels of recursion
    "blocks_nested_deep": lambda: "block b0() (h) -> y {\n  y = " + "silu(" * 995 + "h" + ")" * 995 + "\n}\n"
        + "".join("block b%d() (h) -> y {\n  y = %sb%d()(h)%s\n}\n" % (i, "silu(" * 995, i - 1, ")" * 995)
                  for i in range(1, 16)) + model("  y = b15()(x)\n", "mse(x @ w, y)"),
    # work that makes no graph nodes: the step limit
    "layers_of_assignments": lambda: head + "dim L = 1024\nmodel {\n  input x : f32[tokens, D]\n  param w : f32[D, D] train\n"
        "  layers l in L {\n" + "".join("    a%d = x\n" % i for i in range(60000)) + "  }\n  loss mse(x @ w, x)\n}\n",
    "layers_of_big_calls": lambda: "dim L = 1024\nblock b(" + ",".join("s%d" % i for i in range(50000))
        + ") (h) -> y {\n  y = h\n}\n" + model("  layers l in L {\n    x = b(" + ",".join("s%d: 1" % i for i in range(50000))
        + ")(x)\n  }\n"),
    "strategies_at_big_block": lambda: "block b(" + ",".join("s%d" % i for i in range(60000)) + ") (h) -> y {\n  y = h\n}\n"
        + "".join("strategy t%d() at b(h) -> y {\n}\n" % i for i in range(15000)) + model(""),
    "strategies_100000": lambda: "block b() (h) -> y {\n  y = h\n}\nstrategy s() at b(h) -> y {\n  y = y + h\n}\n"
        + model("  y = b()(x) with " + ", ".join(["s"] * 100000) + "\n"),
}
with open(path, "w") as out:
    out.write(programs[name]())
EOF
}

# run NAME EXPECT TOOL ARGS...: TOOL ARGS $work/NAME.perft under a 10 s timeout (LIMIT_SECONDS: the
# sanitizer build's, whose compiler runs several times slower, is given more; the promise is the
# shipped build's)
run() {
  local name=$1 expect=$2
  shift 2
  local start end status output
  start=$(date +%s%N)
  output=$(cd "$root" && timeout "$limit" "$@" "$work/$name.perft" 2>&1 >/dev/null)
  status=$?
  end=$(date +%s%N)
  local ms=$(((end - start) / 1000000)) tool
  tool=$(basename "$1")
  local verdict="ok"
  if [ "$status" -eq 124 ]; then
    verdict="FAIL: timed out ($limit s)"
  elif [ "$status" -gt 1 ]; then
    verdict="FAIL: exit status $status (a crash?)"
  elif [ "$expect" = ok ] && [ "$status" -ne 0 ]; then
    verdict="FAIL: expected success: $(head -c 300 <<<"$output")"
  elif [ "$expect" != ok ] && [ "$status" -ne 1 ]; then
    verdict="FAIL: expected an error containing '$expect'"
  elif [ "$expect" != ok ] && ! grep -qF -- "$expect" <<<"$output"; then
    verdict="FAIL: the error does not say '$expect': $(head -c 300 <<<"$output")"
  elif [ "$status" -eq 1 ] && ! grep -qE '^([^ ]+:[0-9]+:[0-9]+|perft|perftc): error: ' <<<"$output"; then
    verdict="FAIL: exit status 1 without a clear error"
  fi
  [ "$status" -eq 1 ] && [ "$verdict" = ok ] && verdict="refused: $(grep -m1 ': error: ' <<<"$output" | sed 's/^[^ ]*: error: //' | head -c 90)"
  case $verdict in FAIL*) failed=1 ;; esac
  printf '%-22s %-16s %6d ms  %s\n' "$name" "$tool" "$ms" "$verdict"
}

# NAME EXPECT [perftc's stage]
cases=(
  "redefine|too many errors (20), stopping now"
  "undefined_names|too many errors (20), stopping now"
  "layers_100000|a layer stack has at most 1024 layers"
  "layers_empty_1024|ok"
  "dims_100000|ok"
  "parentheses|nested too deeply to parse"
  "negations|nested too deeply to parse"
  "chain|more than 1000 levels deep"
  "chains_999_deep|more than 20000 graph nodes"
  "balanced_tree|more than 20000 graph nodes"
  "calls_in_calls|nested too deeply to parse"
  "dims_2p31|a tensor has at most 2^40|--report"
  "bank_2p31|a tensor has at most 2^40"
  "integer_1MB|is too large (at most 10^15)"
  "real_underflow|is too small: it would round to 0"
  "params_15000|ok"
  "params_40000|more than 20000 graph nodes"
  "inputs_15000|ok"
  "outputs_40000|ok"
  "statements_60000|more than 20000 graph nodes"
  "blocks_30000|ok"
  "size_parameters_60000|ok"
  "expert_params_10000|ok"
  "uses_50000|ok"
  "arguments_200000|'silu' takes 1 argument"
  "name_500KB|ok"
  "comment_1MB|ok"
  "bad_bytes_1MB|too many errors (20), stopping now"
  "blocks_doubling|more than 20000 graph nodes"
  "blocks_nested_deep|nested more than 1000 levels deep here"
  "layers_of_assignments|takes more than 1000000 steps"
  "layers_of_big_calls|takes more than 1000000 steps"
  "strategies_at_big_block|ok"
  "strategies_100000|more than 20000 graph nodes"
)
for entry in "${cases[@]}"; do
  IFS='|' read -r name expect stage <<<"$entry"
  generate "$name" || { echo "FAIL: cannot generate $name"; failed=1; continue; }
  run "$name" "$expect" "$dsl_check"
  run "$name" "$expect" "$perftc" -o "$work/out" "${stage:---emit=mlir}"
done
# --emit=ast of 250 expressions 999 levels deep: the printout stays linear (deep lines show their depth)
run chains_999_deep ok "$perftc" --emit=ast
# the largest example model, at the layer count that passes the operation limit
cp "$root/examples/token_perft_r.perft" "$work/token_1000_layers.perft"
run token_1000_layers "more than 20000 graph nodes" "$perftc" -o "$work/out" --emit=mlir -DL=1000
# the whole build of a 32-layer model to an executable (kernels shared by the layers, each in its
# own function, keep LLVM's work linear: 80 s for 16 layers before)
cp "$root/examples/token_perft_r.perft" "$work/token_32_layers.perft"
run token_32_layers ok "$perftc" -o "$work/out" -DL=32
if [ "$failed" -ne 0 ]; then
  echo "FAIL: a program was not compiled or refused cleanly within $limit s"
  exit 1
fi
echo "PASS: every pathological program compiled or was refused within $limit s"
