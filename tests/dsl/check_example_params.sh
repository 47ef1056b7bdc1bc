#!/bin/bash
# check_example_params.sh TOOL EXAMPLE — elaborating examples/moe_perft_r.perft
# yields exactly the parameters, inputs and output that the runtime expects,
# and the dims can be overridden (-DD=37 -DE=6).
set -u
tool=$1 example=$2
summary() { # name shape train|frozen, for params and inputs; output names
  sed -n -E 's/^%[0-9]+ = param "([^"]+)" (train|frozen) [^:]*: (f32\[[0-9,]*\]) .*/param \1 \3 \2/p;
             s/^%[0-9]+ = input "([^"]+)" : (f32\[[0-9,]*\]) .*/input \1 \2/p;
             s/^output ([^ ]+) = .*/output \1/p;
             s/^teacher .*/&/p;
             s/^tokens .*/&/p'
}
expected="tokens 64
input h f32[64,96]
input target f32[64,96]
param moe.router f32[8,96] frozen
param moe.experts.w1 f32[8,128,96] frozen
param moe.experts.w3 f32[8,128,96] frozen
param moe.experts.w2 f32[8,96,128] frozen
param moe.perft_r.router f32[4,96] train
param moe.perft_r.ad.A f32[4,8,96] train
param moe.perft_r.ad.B f32[4,96,8] train
output y
teacher input=%1 output=0"
actual=$("$tool" --graph "$example" | summary)
if [ "$actual" != "$expected" ]; then
  echo "FAIL: parameters of $example"
  diff -u <(echo "$expected") <(echo "$actual")
  exit 1
fi
overridden=$("$tool" --graph -DD=37 -DE=6 "$example" | summary | grep -E "moe.router|moe.experts.w2|input h")
expected_overridden="input h f32[64,37]
param moe.router f32[6,37] frozen
param moe.experts.w2 f32[6,37,128] frozen"
if [ "$overridden" != "$expected_overridden" ]; then
  echo "FAIL: -DD=37 -DE=6"
  diff -u <(echo "$expected_overridden") <(echo "$overridden")
  exit 1
fi
echo "PASS: $example parameters, inputs, output, teacher and overrides"
