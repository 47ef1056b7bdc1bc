#!/bin/sh
# Self-tests of the independent reference (registered as reference.selftest).
#   selftest.sh PERFT_REF WORKDIR
# 1. hand-derived tiny case; 2. gen -> run -> compare with itself, and determinism;
# 3. compare catches a perturbed element, a missing tensor, a wrong shape, a NaN;
# 4. run rejects weights of the wrong sizes with a clear message;
# 5. check_compiled.sh against a fake compiler whose "program" is the reference itself
#    (must pass), and against one whose gradients are off by 1% in one element (must fail).
set -u
REF=$1
WORK=$2
HERE=$(cd "$(dirname "$0")" && pwd)
rm -rf "$WORK" && mkdir -p "$WORK" || exit 1
nfail=0
ok()   { echo "ok   - $1"; }
bad()  { echo "FAIL - $1"; nfail=$((nfail + 1)); }
# expect RC DESCRIPTION CMD...: run CMD, log its output, require exit code RC
expect() {
  want=$1; what=$2; shift 2
  "$@" >"$WORK/last.log" 2>&1
  rc=$?
  sed 's/^/    | /' "$WORK/last.log"
  if [ "$rc" -eq "$want" ]; then ok "$what (exit $rc)"; else bad "$what (exit $rc, want $want)"; fi
}
SIZES="--T 29 --D 37 --E 6 --K 3 --F 23 --N 5 --Kt 2 --r 3"

expect 0 "handcheck: hand-derived tiny case" "$REF" handcheck

# shellcheck disable=SC2086
expect 0 "gen" "$REF" gen $SIZES --seed 7 "$WORK/W.safetensors" "$WORK/X.safetensors"
expect 0 "run" "$REF" run $SIZES "$WORK/W.safetensors" "$WORK/X.safetensors" "$WORK/ref.safetensors"
expect 0 "run again" "$REF" run $SIZES "$WORK/W.safetensors" "$WORK/X.safetensors" "$WORK/ref2.safetensors"
expect 0 "compare with itself (exact)" "$REF" compare "$WORK/ref.safetensors" "$WORK/ref2.safetensors" --rtol 0 --atol 0
expect 0 "gen is deterministic" "$REF" gen $SIZES --seed 7 "$WORK/W2.safetensors" "$WORK/X2.safetensors"
expect 0 "same seed, same weights" "$REF" compare "$WORK/W.safetensors" "$WORK/W2.safetensors" --rtol 0 --atol 0
expect 0 "gen with another seed" "$REF" gen $SIZES --seed 8 "$WORK/W3.safetensors" "$WORK/X3.safetensors"
expect 1 "another seed, other weights" "$REF" compare "$WORK/W.safetensors" "$WORK/W3.safetensors"
if grep -q 'moe.perft_r.ad.B' "$WORK/W.safetensors" && grep -q '"F32"' "$WORK/W.safetensors"; then
  ok "weights file names moe.perft_r.ad.B, stored as F32"
else
  bad "weights file lacks moe.perft_r.ad.B or F32"
fi
for n in loss out.y grad.moe.perft_r.router grad.moe.perft_r.ad.A grad.moe.perft_r.ad.B; do
  if grep -q "\"$n\"" "$WORK/ref.safetensors"; then ok "output has $n"; else bad "output lacks $n"; fi
done

expect 0 "edit: perturb one element of grad A by 1%" "$REF" edit "$WORK/ref.safetensors" "$WORK/pert.safetensors" --perturb grad.moe.perft_r.ad.A 17 0.01
expect 1 "compare catches the perturbed element" "$REF" compare "$WORK/ref.safetensors" "$WORK/pert.safetensors" --rtol 2e-3 --atol 2e-5
grep -q 'FAIL    grad.moe.perft_r.ad.A' "$WORK/last.log" && grep -q '^compare: FAIL' "$WORK/last.log" \
  && ok "compare names grad.moe.perft_r.ad.A and ends with a FAIL verdict" || bad "compare message"
expect 0 "compare tolerates the same perturbation under a loose rtol" "$REF" compare "$WORK/ref.safetensors" "$WORK/pert.safetensors" --rtol 2e-2
expect 0 "edit: drop out.y" "$REF" edit "$WORK/ref.safetensors" "$WORK/drop.safetensors" --drop out.y
expect 1 "compare catches a missing tensor" "$REF" compare "$WORK/ref.safetensors" "$WORK/drop.safetensors"
grep -q 'MISSING out.y' "$WORK/last.log" && ok "compare names the missing tensor" || bad "compare missing message"
expect 0 "edit: flatten grad B" "$REF" edit "$WORK/ref.safetensors" "$WORK/flat.safetensors" --flatten grad.moe.perft_r.ad.B
expect 1 "compare catches a shape mismatch" "$REF" compare "$WORK/ref.safetensors" "$WORK/flat.safetensors"
grep -q 'SHAPE   grad.moe.perft_r.ad.B' "$WORK/last.log" && ok "compare names the reshaped tensor" || bad "compare shape message"
expect 1 "compare: unreadable file" "$REF" compare "$WORK/ref.safetensors" "$WORK/nonexistent.safetensors"
printf 'garbage!' >"$WORK/garbage.safetensors"
expect 1 "compare: malformed file" "$REF" compare "$WORK/ref.safetensors" "$WORK/garbage.safetensors"

expect 1 "run rejects weights of other sizes" "$REF" run --T 29 --D 37 --E 6 --K 3 --F 24 --N 5 --Kt 2 --r 3 \
  "$WORK/W.safetensors" "$WORK/X.safetensors" "$WORK/x.safetensors"
grep -q 'moe.experts.w1 has shape \[6,23,37\], expected \[6,24,37\]' "$WORK/last.log" && ok "run names the mismatched tensor" || bad "run shape message"
expect 1 "run reports a missing parameter" "$REF" run $SIZES "$WORK/X.safetensors" "$WORK/X.safetensors" "$WORK/x.safetensors"

# ---- check_compiled.sh against fake compilers built from the reference itself
if command -v bash >/dev/null 2>&1; then
  FAKE=$WORK/fake
  mkdir -p "$FAKE"
  cat >"$FAKE/perftc" <<'FAKEEOF'
#!/bin/sh
# fake perftc: writes a "program" whose --dump is perft-ref run (FAKE_BUG=1: grad A off by 1% at one element)
ex=$1; shift
out=""
T=; D=; E=; K=; F=; N=; Kt=; r=
while [ $# -gt 0 ]; do
  case $1 in
    -Dtokens=*) T=${1#*=} ;; -DD=*) D=${1#*=} ;; -DE=*) E=${1#*=} ;; -DK=*) K=${1#*=} ;;
    -DF=*) F=${1#*=} ;; -DN=*) N=${1#*=} ;; -DKt=*) Kt=${1#*=} ;; -Dr=*) r=${1#*=} ;;
    -o) out=$2; shift ;;
    --parallel-min-work=*|--vector-bytes=*) ;; # kernel options: nothing to fake
    *) echo "fake perftc: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[ -f "$ex" ] || { echo "fake perftc: no such file $ex" >&2; exit 1; }
cat >"$out" <<PROG
#!/bin/sh
if [ "\$1" = --list-params ]; then
  echo "moe.router ${E}x${D} frozen"
  echo "moe.experts.w1 ${E}x${F}x${D} frozen"
  echo "moe.experts.w3 ${E}x${F}x${D} frozen"
  echo "moe.experts.w2 ${E}x${D}x${F} frozen"
  echo "moe.perft_r.router ${N}x${D} trainable"
  echo "moe.perft_r.ad.A ${N}x${r}x${D} trainable"
  echo "moe.perft_r.ad.B ${N}x${D}x${r} trainable"
  echo "input h ${T}x${D}"
  echo "input target ${T}x${D}"
  exit 0
fi
[ "\$1" = --dump ] && [ "\$3" = --weights ] && [ "\$5" = --inputs ] || { echo "fake prog: bad arguments" >&2; exit 2; }
"$PERFT_REF" run --T $T --D $D --E $E --K $K --F $F --N $N --Kt $Kt --r $r "\$4" "\$6" "\$2" || exit 1
if [ "${FAKE_BUG:-0}" = 1 ]; then
  "$PERFT_REF" edit "\$2" "\$2.tmp" --perturb grad.moe.perft_r.ad.A 3 0.01 && mv "\$2.tmp" "\$2"
fi
PROG
chmod +x "$out"
FAKEEOF
  chmod +x "$FAKE/perftc"
  echo "# fake example" >"$FAKE/example.perft"
  export PERFT_REF="$REF"
  FAKE_BUG=0 expect 0 "check_compiled.sh passes on a faithful fake compiler" \
    bash "$HERE/check_compiled.sh" "$FAKE/perftc" "$FAKE/example.perft" "$WORK/cc_good"
  FAKE_BUG=1 expect 1 "check_compiled.sh fails on a fake compiler with a 1% gradient error" \
    bash "$HERE/check_compiled.sh" "$FAKE/perftc" "$FAKE/example.perft" "$WORK/cc_bad"
  grep -q 'FAIL odd' "$WORK/last.log" && ok "check_compiled.sh names the failing case" || bad "check_compiled.sh failure summary"
  expect 1 "check_compiled.sh fails clearly when the compiler is missing" \
    bash "$HERE/check_compiled.sh" "$FAKE/nonexistent-perftc" "$FAKE/example.perft" "$WORK/cc_none"
else
  echo "skip - bash not found: check_compiled.sh not exercised"
fi

if [ $nfail -ne 0 ]; then echo "selftest: FAIL ($nfail checks failed)"; exit 1; fi
echo "selftest: PASS"
