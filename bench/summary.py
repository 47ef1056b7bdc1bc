#!/usr/bin/python3
"""Reads the results bench/bench.py wrote (OUT/results.jsonl) and prints the comparison tables.

usage: summary.py RESULTS.jsonl MEASURED_PEAK_GFLOPS_PER_CORE

Per config, mode and thread count:
  ms/step      the median over rounds of each run's median step
  GFLOP/s      GEMM FLOPs per step (bench/bench.py's formulas) / ms/step
  % peak       of the fp32 FMA peak bench/peak.c measured on this machine, times the threads
  peer         the FASTEST peer variant measured in the rounds (lowest median over rounds): the kernel that
               won the trial or the environment as it is, whichever was faster in the rounds
  perft/peer   speed-up = peer ms / perft ms, taken within each round against that fastest peer, median
               over rounds (above 1x perft is faster); in brackets the lowest and highest round
  peak RSS     VmHWM of the process during the timed runs (reset before each run), max over rounds
  grad         the gradient check of the config and mode (peer.py gradcheck)
"""
import json
import statistics
import sys


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def fmt_ratio(values):
    if not values:
        return "-"
    return f"{statistics.median(values):.2f}x ({min(values):.2f}-{max(values):.2f})"


def main():
    rows = load(sys.argv[1])
    peak = float(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] else None
    setup = next((r for r in rows if r["type"] == "setup"), {})
    configs = [r for r in rows if r["type"] == "config"]
    compiled = {(r["config"], r["mode"]): r for r in rows if r["type"] == "compile"}
    grads = {(r["config"], r["mode"]): r for r in rows if r["type"] == "gradcheck"}
    winners = {(r["config"], r["mode"], r["threads"]): r for r in rows if r["type"] == "winner"}
    perft, peer = {}, {}
    for r in rows:
        if r["type"] == "perft":
            perft.setdefault((r["config"], r["mode"], r["threads"]), {})[r["round"]] = r
        elif r["type"] == "peer":
            peer.setdefault((r["config"], r["mode"], r["threads"]), {}).setdefault(r["label"], {})[r["round"]] = r

    # ---- table 1: speed, memory, correctness per config, mode and thread count
    head = (f"{'config':10s} {'mode':>4s} {'thr':>3s} {'GFLOP':>7s} | {'perft ms':>9s} {'GFLOP/s':>7s} {'% peak':>6s} {'RSS MiB':>7s} | "
            f"{'peer ms':>9s} {'GFLOP/s':>7s} {'% peak':>6s} {'RSS MiB':>7s} {'peer kernel':26s} | {'as-is ms':>9s} {'kernel':11s} | "
            f"{'speed perft/peer':>21s} | grad")
    print(head)
    print("-" * len(head))
    hwm = lambda runs: max((v["hwm_mib"] for v in runs if isinstance(v.get("hwm_mib"), (int, float))), default=None)
    rss = lambda x: f"{x:7.0f}" if x is not None else f"{'-':>7s}"
    for c in configs:
        name = c["config"]
        for mode in setup.get("modes", ["A", "B"]):
            comp = compiled.get((name, mode))
            if comp is None:
                continue
            g = comp.get("gflop") or 0.0
            gc = grads.get((name, mode))
            gcell = "-" if gc is None else (f"{gc['verdict']} {float(gc['worst']):.1e}" if gc.get("worst") is not None
                                            else str(gc.get("verdict")))
            for t in setup.get("threads", [1, 2]):
                key = (name, mode, t)
                pf = perft.get(key, {})
                pm = {k: v["ms"] for k, v in pf.items()}
                cells = f"{name:10s} {mode:>4s} {t:>3d} {g:7.2f} | "
                pct = lambda ms: f"{100 * g / (ms * 1e-3) / (peak * t):5.1f}%" if peak else "     -"
                if pm:
                    ms = statistics.median(pm.values())
                    cells += f"{ms:9.2f} {g / (ms * 1e-3):7.1f} {pct(ms)} {rss(hwm(pf.values()))} | "
                else:
                    cells += f"{'FAILED' if not comp.get('ok') else '-':>9s} {'':7s} {'':6s} {'':7s} | "
                variants = peer.get(key, {})
                medians = {lab: statistics.median(v["ms"] for v in per.values()) for lab, per in variants.items()}
                if medians:
                    fast = min(medians, key=medians.get)
                    fr = variants[fast]
                    kernel = next(iter(fr.values()))["kernel"]
                    how = [w for w, flag in (("trial", any(v.get("winner") for v in fr.values())),
                                             ("as-is", any(v.get("as_is") for v in fr.values()))) if flag]
                    kcell = f"{kernel} ({', '.join(how)})"
                    ms_p = medians[fast]
                    cells += f"{ms_p:9.2f} {g / (ms_p * 1e-3):7.1f} {pct(ms_p)} {rss(hwm(fr.values()))} {kcell:26s} | "
                    as_is = [lab for lab, per in variants.items() if any(v.get("as_is") for v in per.values())]
                    if as_is and as_is[0] != fast:
                        ak = next(iter(variants[as_is[0]].values()))["kernel"]
                        cells += f"{medians[as_is[0]]:9.2f} {ak:11s} | "
                    elif as_is:
                        cells += f"{'= fastest':>9s} {kernel:11s} | "
                    else:
                        cells += f"{'-':>9s} {'':11s} | "
                    ratios = [fr[k]["ms"] / pm[k] for k in fr if k in pm]
                    cells += f"{fmt_ratio(ratios):>21s} | {gcell}"
                else:
                    cells += f"{'-':>9s} {'':7s} {'':6s} {'':7s} {'(no peer)':26s} | {'':9s} {'':11s} | {'-':>21s} | {gcell}"
                print(cells)
    print()
    rounds = setup.get("rounds")
    print(f"{rounds} rounds per config; in each, every side runs its own median of the timed steps (steps per round: "
          + ", ".join(f"{c['config']} {c['warmup']}+{c['steps']}" for c in configs) + " warm-up+timed); the table gives "
          "the median over rounds")
    print("GFLOP = GEMM FLOPs per step by bench/README.md's formulas (perftc --report agrees: see the log); "
          + (f"% peak = of {peak:.1f} GFLOP/s per thread, the fp32 FMA peak bench/peak.c measured on this machine"
             if peak else "no measured peak"))
    print("peer = PyTorch eager (per-expert loop + index_add_), the FASTEST variant measured in the rounds: the trial's "
          "winning OPENBLAS_CORETYPE or the environment as it is; as-is = the environment's own OpenBLAS settings")
    print("speed perft/peer = fastest peer ms / perft ms, same thread count, within each round; median (lowest-highest "
          "round); above 1x perft is faster")
    print("RSS = peak resident set (VmHWM) of the timed process during these runs; grad = the gradient check of this "
          "config and mode (largest relative error against the fp32 peer; PASS below 1e-4), details below")

    # ---- table 2: memory and correctness
    print()
    head = (f"{'config':10s} {'mode':>4s} | {'perft peak RSS':>14s} | {'peer peak RSS':>13s} {'(torch alone)':>13s} | "
            f"{'gradient check vs the peer (max |perft-peer|/max|peer| per tensor, tol 1e-4)':s}")
    print(head)
    print("-" * len(head))
    for c in configs:
        name = c["config"]
        for mode in setup.get("modes", ["A", "B"]):
            if (name, mode) not in compiled:
                continue
            ph = [v.get("hwm_mib") for t in setup.get("threads", [1, 2]) for v in perft.get((name, mode, t), {}).values()]
            ph = [x for x in ph if isinstance(x, (int, float))]
            qh, qs = [], []
            for t in setup.get("threads", [1, 2]):
                variants = peer.get((name, mode, t), {})
                if not variants:
                    continue
                medians = {lab: statistics.median(v["ms"] for v in per.values()) for lab, per in variants.items()}
                fast = min(medians, key=medians.get)
                qh += [v.get("hwm_mib") for v in variants[fast].values() if isinstance(v.get("hwm_mib"), (int, float))]
                qs += [v.get("rss_start_mib") for v in variants[fast].values() if isinstance(v.get("rss_start_mib"), (int, float))]
            gc = grads.get((name, mode))
            if gc is None:
                gtext = "not run"
            elif gc.get("verdict") == "ERROR":
                gtext = "ERROR: " + str(gc.get("error", ""))[-120:].replace("\n", " ")
            else:
                gtext = (f"{gc['verdict']} {float(gc['worst']):.2e} ({gc.get('worst_tensor', '?')}; "
                         f"fp32 peer vs fp64 {float(gc.get('fp32_floor', 0)):.1e})")
            pcell = f"{max(ph):10.0f} MiB" if ph else f"{'-':>14s}"
            qcell = f"{max(qh):9.0f} MiB {min(qs):9.0f} MiB" if qh else f"{'-':>13s} {'':13s}"
            print(f"{name:10s} {mode:>4s} | {pcell} | {qcell} | {gtext}")
    print()
    print("peak RSS = VmHWM of the timed process during the timed runs (reset before each run through "
          "/proc/self/clear_refs), max over rounds and thread counts; the peer's is its fastest variant's, and "
          "includes the Python interpreter and libtorch ('torch alone': its RSS after `import torch`, before the model)")

    # ---- table 3: the peer kernel trial
    trials = [r for r in rows if r["type"] == "trial"]
    if trials:
        print()
        keys = [f"{m}{t}" for m in setup.get("modes", ["A", "B"]) for t in setup.get("threads", [1, 2])]
        head = f"{'config':10s} {'peer variant':44s} {'kernel':11s} " + " ".join(f"{k[0] + ' ' + k[1:] + 'T':>9s}" for k in keys) + "   (trial ms/step; * = won)"
        print(head)
        print("-" * len(head))
        for r in trials:
            cells = f"{r['config']:10s} {r['label']:44s} {str(r.get('kernel')):11s} "
            if r.get("ms"):
                for k in keys:
                    won = winners.get((r["config"], k[0], int(k[1:])))
                    star = "*" if won and won["label"] == r["label"] else " "
                    cells += f"{r['ms'].get(k, float('nan')):8.2f}{star} "
            elif r.get("duplicate_of"):
                cells += f"same kernel as '{r['duplicate_of']}': not run again"
            else:
                cells += f"failed: {r.get('failed')}"
            print(cells)

    bad = [f"{k[0]} {k[1]}" for k, g in grads.items() if g.get("verdict") != "PASS"]
    failed = [f"{k[0]} {k[1]}" for k, r in compiled.items() if not r.get("ok")]
    print()
    print("gradient checks: " + ("all PASS" if grads and not bad else ("FAIL/ERROR: " + ", ".join(bad) if bad else "none run"))
          + ("; perft failed to compile: " + ", ".join(failed) if failed else ""))


if __name__ == "__main__":
    main()
