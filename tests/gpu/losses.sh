# losses.sh — sourced by the GPU test scripts: the losses a training run prints, and their comparison.

# losses LOG: the numbers of the "done:" line — first, last and held-out loss
losses() {
  grep '^done:' "$1" | sed 's/.*loss \([^ ]*\) -> \([^ ]*\) .*eval loss \([^ ]*\).*/\1 \2 \3/'
}

# close A B TOLERANCE: the three losses of A and B within a relative TOLERANCE
close() {
  [ -n "$1" ] && awk -v a="$1" -v b="$2" -v tol="$3" 'BEGIN {
    n = split(a, x, " "); if (split(b, y, " ") != n || n != 3) exit 1
    for (i = 1; i <= n; i++) { d = x[i] - y[i]; if (d < 0) d = -d; s = x[i] < 0 ? -x[i] : x[i]
                               if (d > tol * s + 1e-6) exit 1 }
  }'
}
