#!/usr/bin/python3
"""Reads the RESULT lines bench/run.sh collected and prints the comparison table.

usage: summary.py RESULTS_FILE PEAK_PER_CORE
RESULTS_FILE holds lines `ROUND<TAB>LABEL<TAB>RESULT kind key=value ...` (LABEL names the peer's
environment variant; round 0 holds the one-off measurements).

ms/step is the median over rounds of each run's median step. Speed-up = peer ms / perft ms, taken within
each round (both sides saw the same machine load) and then the median over rounds: how many times faster
the generated step is than the peer (below 1: slower).
"""
import statistics
import sys


def parse(path):
    rows = []
    with open(path) as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 3:
                continue
            words = fields[2].split()
            if len(words) < 2 or words[0] != "RESULT":
                continue
            row = {"round": int(fields[0]), "label": fields[1], "kind": words[1]}
            row.update(w.split("=", 1) for w in words[2:] if "=" in w)
            rows.append(row)
    return rows


def main():
    rows = parse(sys.argv[1])
    peak_core = float(sys.argv[2])
    measured = [r for r in rows if r["kind"] == "peak"]
    measured_core = float(measured[0]["gflops"]) if measured else None
    perft = {}  # threads -> {round: row}; the record label is the thread count
    for r in rows:
        if r["kind"] == "perft":
            perft.setdefault(int(r["label"]), {})[r["round"]] = r
    if not perft:
        sys.exit("summary: no perft result")
    gflop = float(next(iter(next(iter(perft.values())).values()))["gflop_step"])
    rounds = sorted(next(iter(perft.values())))

    peers = {}  # (label, threads, kernel) -> {round: ms}
    for r in rows:
        if r["kind"] == "peer":
            peers.setdefault((r["label"], int(r["threads"]), r["kernel"]), {})[r["round"]] = float(r["ms"])

    header = f"{'side':46s} {'thr':>3s} {'ms/step':>8s} {'(rounds min-max)':>17s} {'GFLOP/s':>8s} {'% peak':>7s}"
    header += f" {'% meas.':>8s}" if measured_core else ""
    header += f" {'speed perft/peer':>17s}"
    print(header)
    print("-" * len(header))

    def line(name, threads, per_round, ratio):
        ms = statistics.median(per_round.values())
        gflops = gflop / (ms * 1e-3)
        spread = f"{min(per_round.values()):.1f}-{max(per_round.values()):.1f}"
        text = f"{name:46s} {threads:>3d} {ms:8.2f} {spread:>17s} {gflops:8.1f} {100 * gflops / (peak_core * threads):6.1f}%"
        if measured_core:
            text += f" {100 * gflops / (measured_core * threads):7.1f}%"
        text += f" {ratio:>17s}"
        print(text)

    perft_ms = {t: {k: float(v["ms"]) for k, v in by_round.items()} for t, by_round in perft.items()}
    for threads in sorted(perft_ms):
        line("perft (generated perft_train_step)", threads, perft_ms[threads], "-")
    for (label, threads, kernel), per_round in sorted(peers.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        mine = perft_ms.get(threads, perft_ms[min(perft_ms)])
        ratios = [per_round[k] / mine[k] for k in per_round if k in mine]
        line(f"PyTorch eager [{label}] {kernel}", threads, per_round, f"{statistics.median(ratios):.2f}x")
    print()
    print(f"{len(rounds)} rounds; in each, every side runs its own median of the timed steps; the table gives the"
          " median over rounds")
    print(f"GFLOP/step {gflop:.4f} (PERFORMANCE.md mode-A GEMM formulas); % peak = of {peak_core:g} GFLOP/s per thread"
          " (PERFORMANCE.md)" + (f"; % meas. = of {measured_core:.1f} GFLOP/s per thread, the FMA peak bench/peak.c"
                                  " measured on this machine" if measured_core else ""))
    print("speed perft/peer = peer ms / perft ms with the same number of threads, within a round, median over"
          " rounds (above 1x perft is faster)")
    for r in rows:
        if r["kind"] == "gradcheck":
            print(f"gradient check vs the peer: {r['verdict']} (largest relative error {r['worst']}, tolerance {r['tol']})")


if __name__ == "__main__":
    main()
