#!/bin/sh
# fake_perftc.sh PROG.perft [-DNAME=V...] --dtype=f64 --emit=obj [--debug-wrong-grad=OP] -o OUT.o
# A stand-in for perftc to test run_gradcheck.sh's wiring: it ignores the program and compiles
# fake_op.c (the wrong silu rule when --debug-wrong-grad=silu is given, unless
# FAKE_PERFTC_IGNORE_DEBUG is set: then the planted bug is silently not planted).
set -u
out=""; defs=""; dtype=""; emit=""
while [ $# -gt 0 ]; do
  case $1 in
    -o) out=$2; shift ;;
    --dtype=*) dtype=${1#--dtype=} ;;
    --emit=*) emit=${1#--emit=} ;;
    --debug-wrong-grad=silu) [ -n "${FAKE_PERFTC_IGNORE_DEBUG:-}" ] || defs="-DFAKE_WRONG_GRAD=1" ;;
    --debug-wrong-grad=*) echo "fake_perftc: error: no planted bug for ${1#*=}" >&2; exit 1 ;;
    -D*) ;;
    -*) echo "fake_perftc: error: unknown flag $1" >&2; exit 1 ;;
    *) [ -f "$1" ] || { echo "fake_perftc: error: cannot open '$1'" >&2; exit 1; } ;;
  esac
  shift
done
if [ "$dtype" != f64 ] || [ "$emit" != obj ] || [ -z "$out" ]; then
  echo "fake_perftc: error: bad flags" >&2
  exit 1
fi
# shellcheck disable=SC2086
exec "${CC:-cc}" -std=c11 -O1 $defs -c "$(dirname "$0")/fake_op.c" -o "$out"
