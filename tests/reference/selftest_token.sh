#!/usr/bin/env bash
# Self-tests of the token-model reference (registered as reference.token.selftest).
#   selftest_token.sh PERFT_REF WORKDIR
# gen -> run -> compare with itself; tokens/labels written as I32; run rejects wrong sizes;
# check_strategies.sh passes on a fake compiler whose programs are the reference itself and
# fails when one gradient element is off by 1%.
set -u
# shellcheck source=selftest_common.sh
. "$(dirname "$0")/selftest_common.sh" "$@"
S=(--strategy perft_e_plus_r --renorm 1)
expect 0 "gen" "$REF" gen "${S[@]}" --seed 7 "$WORK/W.st" "$WORK/X.st"
expect 0 "run" "$REF" run "${S[@]}" "$WORK/W.st" "$WORK/X.st" "$WORK/a.st"
expect 0 "run again" "$REF" run "${S[@]}" "$WORK/W.st" "$WORK/X.st" "$WORK/b.st"
expect 0 "compare with itself (exact)" "$REF" compare "$WORK/a.st" "$WORK/b.st" --rtol 0 --atol 0
grep -q '"tokens":{"dtype":"I32"' "$WORK/X.st" && grep -q '"labels":{"dtype":"I32"' "$WORK/X.st" && ok "tokens, labels stored as I32" || bad "inputs not I32"
for n in loss out.logits grad.layers.0.moe.perft_e.ad.A grad.layers.1.moe.perft_r.router; do
  grep -q "\"$n\"" "$WORK/a.st" && ok "output has $n" || bad "output lacks $n"; done
grep -q '"grad.layers.0.moe.router"' "$WORK/a.st" && bad "frozen router has a gradient in the output" || ok "no gradient written for frozen parameters"
expect 1 "run rejects weights of other sizes" "$REF" run "${S[@]}" --D 14 "$WORK/W.st" "$WORK/X.st" "$WORK/c.st"
expect 1 "run rejects weights of another strategy" "$REF" run --strategy perft_d "$WORK/W.st" "$WORK/X.st" "$WORK/c.st"
expect 1 "run rejects a smaller V (embed shape, token range)" "$REF" run "${S[@]}" --V 3 "$WORK/W.st" "$WORK/X.st" "$WORK/c.st"

# fake compiler: the "program" is perft-ref itself (FAKE_BUG=1: 1% off in one gradient element)
FAKE=$WORK/fake; mkdir -p "$FAKE/ex"
cat >"$FAKE/perftc" <<'FAKEEOF'
#!/usr/bin/env bash
ex=$1; shift; out=""; args=()
while [ $# -gt 0 ]; do
  case $1 in
    -Dtokens=*) args+=(--T "${1#*=}") ;; -D*=*) k=${1#-D}; args+=(--"${k%%=*}" "${1#*=}") ;;
    -o) out=$2; shift ;; *) exit 2 ;;
  esac; shift
done
strat=$(basename "$ex" .perft); strat=${strat#token_}
cat >"$out" <<PROG
#!/usr/bin/env bash
if [ "\$1" = --list-params ]; then "$PERFT_REF" params --strategy $strat ${args[*]}; echo "input dropout.seed 1"; exit; fi
"$PERFT_REF" run --strategy $strat ${args[*]} "\$4" "\$6" "\$2" >/dev/null || exit 1
if [ "\${FAKE_BUG:-0}" = 1 ]; then g=\$(grep -ao '"grad[^"]*"' "\$2" | head -1 | tr -d '"'); "$PERFT_REF" edit "\$2" "\$2.t" --perturb "\$g" 3 0.01 && mv "\$2.t" "\$2"; fi
PROG
chmod +x "$out"
FAKEEOF
chmod +x "$FAKE/perftc"
printf 'dim tokens = 8\ndim V = 5\ndim D = 4\ndim E = 3\ndim K = 2\ndim F = 4\ndim L = 2\ndim N = 2\ndim Kt = 1\ndim r = 2\ndim renorm = 0\nloss cross_entropy(logits, labels)\n' >"$FAKE/ex/token_perft_r.perft"
cp "$FAKE/ex/token_perft_r.perft" "$FAKE/ex/token_lora_router.perft"
export PERFT_REF="$REF"
FAKE_BUG=0 expect 0 "check_strategies.sh passes on a faithful fake compiler" bash "$HERE/check_strategies.sh" "$FAKE/perftc" "$FAKE/ex" "$WORK/cs_good"
FAKE_BUG=1 expect 1 "check_strategies.sh fails on a 1% gradient error" bash "$HERE/check_strategies.sh" "$FAKE/perftc" "$FAKE/ex" "$WORK/cs_bad"
cp "$FAKE/ex/token_perft_r.perft" "$FAKE/ex/token_unheard_of.perft"
FAKE_BUG=0 expect 1 "check_strategies.sh fails on a program it does not know" bash "$HERE/check_strategies.sh" "$FAKE/perftc" "$FAKE/ex" "$WORK/cs_unknown"
selftest_end selftest_token
