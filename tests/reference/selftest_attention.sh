#!/usr/bin/env bash
# Self-tests of the attention reference (registered as reference.attention.selftest).
#   selftest_attention.sh PERFT_REF WORKDIR
# hand-derived cases; gen -> run -> compare with itself, determinism, tensor names; sizes refused
# with a reason; run rejects weights of other sizes; check_attention.sh passes on a fake compiler
# whose program is the reference itself and fails when one gradient element is off by 1%.
set -u
# shellcheck source=selftest_common.sh
. "$(dirname "$0")/selftest_common.sh" "$@"
A=(--B 2 --S 7 --D 10 --H 4 --G 2 --hd 6 --theta 10000)

expect 0 "handcheck: hand-derived rope and attention values" "$REF" attention handcheck
expect 0 "gen" "$REF" attention gen "${A[@]}" --seed 7 "$WORK/W.st" "$WORK/X.st"
expect 0 "run" "$REF" attention run "${A[@]}" "$WORK/W.st" "$WORK/X.st" "$WORK/a.st"
expect 0 "run again" "$REF" attention run "${A[@]}" "$WORK/W.st" "$WORK/X.st" "$WORK/b.st"
expect 0 "compare with itself (exact)" "$REF" compare "$WORK/a.st" "$WORK/b.st" --rtol 0 --atol 0
expect 0 "gen is deterministic" "$REF" attention gen "${A[@]}" --seed 7 "$WORK/W2.st" "$WORK/X2.st"
expect 0 "same seed, same weights" "$REF" compare "$WORK/W.st" "$WORK/W2.st" --rtol 0 --atol 0
for n in loss out.qr out.kr out.o out.y grad.wq grad.wk grad.wv; do
  grep -q "\"$n\"" "$WORK/a.st" && ok "output has $n" || bad "output lacks $n"; done
grep -q '"grad.wo"' "$WORK/a.st" && bad "frozen wo has a gradient in the output" || ok "no gradient written for the frozen wo"
expect 0 "params" "$REF" attention params "${A[@]}"
printf 'wq 24x10 trainable\nwk 12x10 trainable\nwv 12x10 trainable\nwo 10x24 frozen\ninput x 14x10\ninput target 14x10\n' >"$WORK/params.want"
diff "$WORK/params.want" "$WORK/last.log" >/dev/null && ok "params lists wq wk wv (trainable), wo (frozen), x, target" || bad "params lines"
expect 2 "odd hd is refused" "$REF" attention params --hd 5
grep -q 'hd must be even' "$WORK/last.log" && ok "says why (hd)" || bad "odd hd message"
expect 2 "H not a multiple of G is refused" "$REF" attention params --H 4 --G 3
grep -q 'H must be a multiple of G' "$WORK/last.log" && ok "says why (H, G)" || bad "H/G message"
expect 1 "run rejects weights of other sizes" "$REF" attention run "${A[@]}" --G 4 "$WORK/W.st" "$WORK/X.st" "$WORK/c.st"
grep -q 'parameter wk has shape \[12,10\], expected \[24,10\]' "$WORK/last.log" && ok "run names the mismatched tensor" || bad "run shape message"
expect 1 "run rejects inputs of another B" "$REF" attention run "${A[@]}" --B 3 "$WORK/W.st" "$WORK/X.st" "$WORK/c.st"

# fake compiler: the "program" is perft-ref itself (FAKE_BUG=1: grad.wk 1% off in one element)
FAKE=$WORK/fake; mkdir -p "$FAKE"
cat >"$FAKE/perftc" <<'FAKEEOF'
#!/usr/bin/env bash
prog=$1; shift; out=""; T=""; S=""; args=()
while [ $# -gt 0 ]; do
  case $1 in
    -Dtokens=*) T=${1#*=} ;; -DS=*) S=${1#*=}; args+=(--S "$S") ;;
    -DD=*|-DH=*|-DG=*|-Dhd=*|-Dtheta=*) k=${1#-D}; args+=(--"${k%%=*}" "${1#*=}") ;;
    -o) out=$2; shift ;;
    --parallel-min-work=*|--vector-bytes=*) ;;
    *) echo "fake perftc: unknown argument $1" >&2; exit 2 ;;
  esac; shift
done
[ -f "$prog" ] || { echo "fake perftc: no such file $prog" >&2; exit 1; }
args+=(--B $((T / S)))
cat >"$out" <<PROG
#!/usr/bin/env bash
if [ "\$1" = --list-params ]; then exec "$PERFT_REF" attention params ${args[*]}; fi
[ "\$1" = --dump ] && [ "\$3" = --weights ] && [ "\$5" = --inputs ] || { echo "fake prog: bad arguments" >&2; exit 2; }
"$PERFT_REF" attention run ${args[*]} "\$4" "\$6" "\$2" || exit 1
if [ "${FAKE_BUG:-0}" = 1 ]; then "$PERFT_REF" edit "\$2" "\$2.tmp" --perturb grad.wk 5 0.01 && mv "\$2.tmp" "\$2"; fi
PROG
chmod +x "$out"
FAKEEOF
chmod +x "$FAKE/perftc"
export PERFT_REF="$REF"
FAKE_BUG=0 expect 0 "check_attention.sh passes on a faithful fake compiler" \
  bash "$HERE/check_attention.sh" "$FAKE/perftc" "$HERE/attention.perft" "$WORK/ca_good"
FAKE_BUG=1 ONLY=gqa,mqa expect 1 "check_attention.sh fails on a fake compiler with a 1% gradient error" \
  bash "$HERE/check_attention.sh" "$FAKE/perftc" "$HERE/attention.perft" "$WORK/ca_bad"
grep -q 'FAIL gqa' "$WORK/last.log" && grep -q 'FAIL mqa' "$WORK/last.log" && grep -q 'FAIL    grad.wk' "$WORK/last.log" \
  && ok "check_attention.sh names the failing cases and tensor" || bad "check_attention.sh failure summary"
expect 1 "check_attention.sh fails clearly when the compiler is missing" \
  bash "$HERE/check_attention.sh" "$FAKE/nonexistent-perftc" "$HERE/attention.perft" "$WORK/ca_none"

selftest_end selftest_attention
