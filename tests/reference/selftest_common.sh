# shellcheck shell=bash
# What selftest_token.sh and selftest_attention.sh share; sourced with the script's arguments
# PERFT_REF WORKDIR. Sets REF, WORK (emptied), HERE (this folder) and nfail, and defines
#   ok WHAT, bad WHAT        one result line (bad counts a failure)
#   expect RC WHAT CMD...    runs CMD, shows its output indented, requires the exit status RC
#   selftest_end NAME        NAME: PASS, or NAME: FAIL (N checks failed) and exit 1
# shellcheck disable=SC2034 # REF and HERE are read by the sourcing script
REF=$1; WORK=$2
# shellcheck disable=SC2034
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rm -rf "$WORK" && mkdir -p "$WORK" || exit 1
nfail=0
ok()  { echo "ok   - $1"; }
bad() { echo "FAIL - $1"; nfail=$((nfail + 1)); }
expect() { want=$1; what=$2; shift 2; "$@" >"$WORK/last.log" 2>&1; rc=$?; sed 's/^/    | /' "$WORK/last.log"
  if [ "$rc" -eq "$want" ]; then ok "$what (exit $rc)"; else bad "$what (exit $rc, want $want)"; fi; }
selftest_end() {
  if [ "$nfail" -ne 0 ]; then echo "$1: FAIL ($nfail checks failed)"; exit 1; fi
  echo "$1: PASS"
}
