#!/usr/bin/python3
"""The driver of bench/run.sh: compiles the bench programs, finds the peer's fastest OpenBLAS kernel, times
perft against the peer in interleaved rounds, and checks gradients. Results go to OUT/results.jsonl (one
JSON object a line) for bench/summary.py; the log goes to stdout.

For each config (CONFIGS below), in order:
  1. compile bench/programs/perft_<strategy>_<mode>.perft with the config's sizes (perftc --report, an
     object linked with bench/bench_step.c, and the training executable for the gradient check), for
     mode A and mode B; print GFLOP/step by the formulas below next to perftc --report's count;
  2. start one perft worker per mode (bench_step --serve: everything allocated and touched at start);
  3. peer kernel trial: start a peer worker (peer.py serve) with the environment as it is, then one per
     OPENBLAS_CORETYPE candidate for this CPU (forced; a candidate whose kernel, read back with
     openblas_get_corename, is one already tried is dropped); each runs TRIAL_WARMUP + TRIAL_STEPS steps per
     mode and thread count; the fastest (median) per mode and thread count wins; the as-is worker and the
     winners stay, the others are stopped;
  4. ROUNDS rounds: in each, for each mode and thread count, perft, the winning peer and the as-is peer
     (when it is another worker) each run WARMUP + STEPS steps (new inputs each step, median); the order
     of the sides alternates from round to round; 0.3 s of quiet between runs (libomp and OpenBLAS
     threads spin for up to ~0.2 s after a parallel region);
  5. stop the workers; gradient check of each mode (peer.py gradcheck: the executable's --dump vs the peer).

GEMM FLOPs per step (PERFORMANCE.md's formulas, extended; see bench/README.md):
  MoE forward                2·T·D·E + 6·T·k·D·F
  mode B adds (dh)           2·T·D·E + 6·T·k·D·F          (router and experts, input side only)
  PERFT-R  forward           2·T·D·N + 4·T·K̃·D·r;  weight grads 2·T·D·N + 6·T·K̃·D·r;  mode B dh 2·T·D·N + 2·T·K̃·r·D
  PERFT-E  forward           4·T·k·D·r;            weight grads 6·T·k·D·r;            mode B dh 2·T·k·r·D
  PERFT-S  forward           4·T·D·r;              weight grads 6·T·D·r;              mode B dh 2·T·r·D

Environment (all optional): CONFIGS="small olmoe_r olmoe_e mixtral_s"  MODES="A B"  THREADS="1 2"
  ROUNDS=3  STEPS=N WARMUP=N (every config)  STEPS_<CONFIG>=N WARMUP_<CONFIG>=N (one config, e.g. STEPS_OLMOE_R)
  TRIAL_STEPS=2 TRIAL_WARMUP=1  PEER_CORETYPES="Haswell Zen ..." (instead of the list derived from the CPU)
  GRADCHECK=1 (0: skip)  QUIET_S=0.3
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"   # Debian's interpreter: python3-torch is installed for it

# name, title, strategy, renorm (1: Mixtral routing), sizes, default warm-up and timed steps per round
CONFIGS = {
    "small": dict(title="small (PERFORMANCE.md), PERFT-R", strategy="r", renorm=0,
                  T=256, D=512, E=8, K=2, F=1024, N=4, Kt=2, r=16, warmup=3, steps=20),
    "olmoe_r": dict(title="OLMoE layer, PERFT-R", strategy="r", renorm=0,
                    T=512, D=2048, E=64, K=8, F=1024, N=4, Kt=2, r=16, warmup=1, steps=4),
    "olmoe_e": dict(title="OLMoE layer, PERFT-E (one LoRA per base expert, base routing)", strategy="e", renorm=0,
                    T=512, D=2048, E=64, K=8, F=1024, N=0, Kt=0, r=8, warmup=1, steps=4),
    "mixtral_s": dict(title="coarse Mixtral-like, PERFT-S (one always-on LoRA expert; top-k renormalised)",
                      strategy="s", renorm=1, T=512, D=1024, E=8, K=2, F=3584, N=0, Kt=0, r=64, warmup=1, steps=6),
}
STRATEGY = {"r": "PERFT-R", "e": "PERFT-E", "s": "PERFT-S"}


def sizes_text(c):
    text = f"T={c['T']} D={c['D']} E={c['E']} k={c['K']} F={c['F']}"
    if c["strategy"] == "r":
        text += f" N={c['N']} K~={c['Kt']}"
    return text + f" r={c['r']}"


def gflop(c, mode):
    """GEMM FLOPs of one training step (forward + backward), in GFLOP."""
    T, D, E, K, F, N, Kt, r = (c[k] for k in ("T", "D", "E", "K", "F", "N", "Kt", "r"))
    base_forward = 2 * T * D * E + 6 * T * K * D * F
    base_dh = 2 * T * D * E + 6 * T * K * D * F
    if c["strategy"] == "r":
        fwd, wgrad, dh = 2 * T * D * N + 4 * T * Kt * D * r, 2 * T * D * N + 6 * T * Kt * D * r, 2 * T * D * N + 2 * T * Kt * r * D
    elif c["strategy"] == "e":
        fwd, wgrad, dh = 4 * T * K * D * r, 6 * T * K * D * r, 2 * T * K * r * D
    else:
        fwd, wgrad, dh = 4 * T * D * r, 6 * T * D * r, 2 * T * r * D
    total = base_forward + fwd + wgrad + (base_dh + dh if mode == "B" else 0)
    return total / 1e9


def env_int(name, default):
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def say(text=""):
    print(text, flush=True)


class Results:
    def __init__(self, path):
        self.f = open(path, "w")

    def add(self, **record):
        self.f.write(json.dumps(record) + "\n")
        self.f.flush()


def parse_result(line):
    words = line.split()
    out = {"kind": words[1]}
    for w in words[2:]:
        if "=" in w:
            k, v = w.split("=", 1)
            try:
                out[k] = float(v) if re.fullmatch(r"-?[0-9.]+(e[-+]?[0-9]+)?", v) else v
            except ValueError:
                out[k] = v
    return out


class Worker:
    """A bench_step --serve or peer.py serve process: READY after set-up, then `run T W S` -> RESULT."""

    def __init__(self, label, cmd, env):
        self.label, self.header, self.failed = label, [], None
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env=env, bufsize=1)
        self.ready = {}
        for line in self.proc.stdout:
            if line.startswith("READY"):
                self.ready = parse_result("X " + line)
                return
            self.header.append(line.rstrip("\n"))
        self.failed = f"exited ({self.proc.wait()}) before it was ready"

    def run(self, threads, warmup, steps):
        if self.failed:
            return None
        try:
            self.proc.stdin.write(f"run {threads} {warmup} {steps}\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            self.failed = "its pipe closed"
            return None
        for line in self.proc.stdout:
            if line.startswith("RESULT"):
                return parse_result(line)
            self.header.append(line.rstrip("\n"))
        self.failed = f"exited ({self.proc.wait()}) during a run: " + " | ".join(self.header[-3:])
        return None

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
            except (BrokenPipeError, OSError):
                pass
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def cpu_flags():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def coretype_candidates():
    """OPENBLAS_CORETYPE values of OpenBLAS 0.3.21's x86-64 DYNAMIC_ARCH list that this CPU can run and that
    could be its fastest: AVX2 (Haswell, Zen), AVX-512 (SkylakeX), AVX-512 + BF16 (Cooperlake), and
    SapphireRapids where AMX is exposed (0.3.21 does not know it: openblas_get_corename then reports the
    kernel it fell back to, and the duplicate is dropped)."""
    if os.environ.get("PEER_CORETYPES"):
        return os.environ["PEER_CORETYPES"].split()
    flags = cpu_flags()
    out = []
    if {"avx", "avx2", "fma"} <= flags:
        out += ["Haswell", "Zen"]
    elif "avx" in flags:
        out += ["Sandybridge"]
    if {"avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"} <= flags:
        out.append("SkylakeX")
        if "avx512_bf16" in flags:
            out.append("Cooperlake")
        if "amx_tile" in flags:
            out.append("SapphireRapids")
    return out


def peer_env(base, max_threads, coretype=None, unset=False):
    env = dict(base)
    if coretype is not None or unset:
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    if coretype is not None:
        env["OPENBLAS_CORETYPE"] = coretype
    # threads are set per run (torch.set_num_threads, openblas_set_num_threads); passive OpenMP wait, as
    # PERFORMANCE.md measured the peer (spinning slows it on 2 threads)
    env.update(OMP_NUM_THREADS=str(max_threads), OPENBLAS_NUM_THREADS=str(max_threads), OMP_WAIT_POLICY="PASSIVE")
    return env


def compile_config(name, c, perftc, out, results):
    defines = [f"-Dtokens={c['T']}", f"-DD={c['D']}", f"-DE={c['E']}", f"-DK={c['K']}", f"-DF={c['F']}",
               f"-Drenorm={c['renorm']}", f"-Dr={c['r']}"]
    if c["strategy"] == "r":
        defines += [f"-DN={c['N']}", f"-DKt={c['Kt']}"]
    built = {}
    for mode in MODES:
        program = os.path.join(HERE, "programs", f"perft_{c['strategy']}_{mode.lower()}.perft")
        stem = os.path.join(out, f"{name}_{mode}")
        report = subprocess.run([perftc, program, *defines, "--report"], capture_output=True, text=True)
        if report.returncode != 0:
            say(f"   perftc failed on {program} {' '.join(defines)} --report:\n{report.stderr}")
            results.add(type="compile", config=name, mode=mode, ok=False, error=report.stderr.strip()[-2000:])
            continue
        number = lambda label: re.search(rf"^  {label} +([0-9,]+)", report.stdout, re.M)
        fwd, bwd, trainable = number("forward"), number("backward"), number("trainable")
        trainable = trainable.group(1) if trainable else "?"
        report_gflop = None   # perftc --report's GEMM count, when its format is the one read here
        if fwd and bwd:
            report_gflop = (int(fwd.group(1).replace(",", "")) + int(bwd.group(1).replace(",", ""))) * c["T"] / 1e9
        steps = [[perftc, program, *defines, "--emit=obj", "-o", stem + ".o"],
                 [perftc, program, *defines, "-o", stem],
                 ["cc", "-std=c11", "-O2", "-Wall", "-o", stem + ".bench_step", os.path.join(HERE, "bench_step.c"),
                  stem + ".o", "-L/usr/lib/llvm-19/lib", "-lomp", "-Wl,-rpath,/usr/lib/llvm-19/lib", "-lm"]]
        error = None
        for cmd in steps:
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0:
                error = f"{' '.join(cmd)}: {done.stderr.strip()}"
                break
        ok = error is None
        g = gflop(c, mode)
        say(f"   mode {mode}: {os.path.relpath(program, os.path.dirname(HERE))} {' '.join(defines)}: "
            f"{'compiled' if ok else 'FAILED'}; trainable {trainable}; GEMM {g:.4f} GFLOP/step by the formulas, "
            + (f"{report_gflop:.4f} by perftc --report" + ("" if abs(g - report_gflop) < 1e-6 * g else "  (DIFFER)")
               if report_gflop is not None else "perftc --report gave no GEMM count"))
        if error:
            say("   " + error[-3000:])
        results.add(type="compile", config=name, mode=mode, ok=ok, gflop=g, report_gflop=report_gflop,
                    defines=" ".join(defines), program=program, error=error)
        if ok:
            built[mode] = stem
    return built


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--perftc", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    out = args.out
    os.makedirs(out, exist_ok=True)
    results = Results(os.path.join(out, "results.jsonl"))
    names = os.environ.get("CONFIGS", " ".join(CONFIGS)).split()
    for n in names:
        if n not in CONFIGS:
            sys.exit(f"bench: unknown config {n!r} (known: {' '.join(CONFIGS)})")
    threads_list = [int(t) for t in os.environ.get("THREADS", "1 2").split()]
    max_threads = max(threads_list)
    rounds = env_int("ROUNDS", 3)
    trial_steps, trial_warmup = env_int("TRIAL_STEPS", 2), env_int("TRIAL_WARMUP", 1)
    quiet = float(os.environ.get("QUIET_S", "0.3"))
    base_env = dict(os.environ)
    as_is_label = "env as-is"
    if "OPENBLAS_CORETYPE" in base_env or "OPENBLAS_L2_SIZE" in base_env:
        as_is_label += f" (OPENBLAS_CORETYPE={base_env.get('OPENBLAS_CORETYPE', '(unset)')} " \
                       f"OPENBLAS_L2_SIZE={base_env.get('OPENBLAS_L2_SIZE', '(unset)')})"
    else:
        as_is_label += " (OPENBLAS_* unset)"
    candidates = coretype_candidates()
    results.add(type="setup", configs=names, modes=MODES, threads=threads_list, rounds=rounds,
                trial_steps=trial_steps, trial_warmup=trial_warmup, candidates=candidates, as_is=as_is_label)
    say(f"configs {' '.join(names)}; modes {' '.join(MODES)}; threads {' '.join(map(str, threads_list))}; {rounds} rounds; "
        f"peer kernel candidates: {as_is_label}, then OPENBLAS_CORETYPE={', '.join(candidates) or '(none)'}")
    perft_env = dict(base_env, OMP_NUM_THREADS=str(max_threads))
    perft_env.pop("OMP_WAIT_POLICY", None)   # perft keeps libomp's default (spinning): faster for it

    for name in names:
        t_config = time.time()
        c = CONFIGS[name]
        up = name.upper()
        warmup = env_int(f"WARMUP_{up}", env_int("WARMUP", c["warmup"]))
        steps = env_int(f"STEPS_{up}", env_int("STEPS", c["steps"]))
        dims = ",".join(str(c[k]) for k in ("T", "D", "E", "K", "F", "N", "Kt", "r"))
        say(f"\n== {name}: {c['title']}; {sizes_text(c)}; fp32")
        say(f"   {rounds} rounds x ({warmup} warm-up + {steps} timed steps) per side, mode and thread count")
        results.add(type="config", config=name, title=c["title"], sizes=sizes_text(c), strategy=c["strategy"],
                    renorm=c["renorm"], warmup=warmup, steps=steps, rounds=rounds)
        built = compile_config(name, c, args.perftc, out, results)
        peer_args = ["--dims", dims, "--strategy", c["strategy"], "--renorm", str(c["renorm"])]

        say("-- perft workers")
        perft = {}
        for mode in MODES:
            if mode not in built:
                continue
            w = Worker(f"perft {mode}", [built[mode] + ".bench_step", "--serve", "--dims", dims, "--strategy",
                                         c["strategy"], "--mode", mode, "--gflop", f"{gflop(c, mode):.6f}",
                                         "--max-steps", str(steps)], perft_env)
            say("\n".join("   " + l for l in w.header))
            if w.failed:
                say(f"   perft worker, mode {mode}: {w.failed}")
                continue
            perft[mode] = w

        # ---- peer kernel trial
        say(f"-- peer kernel trial ({trial_warmup} warm-up + {trial_steps} timed steps per mode and thread count; median ms)")
        keys = [(m, t) for m in MODES for t in threads_list]
        say(f"   {'candidate':44s} {'kernel':12s} " + " ".join(f"{m + ' ' + str(t) + 'T':>9s}" for m, t in keys))
        peers = {}      # label -> Worker (alive)
        kernels = {}    # label -> corename
        best = {}       # (mode, threads) -> (ms, label)
        seen_kernels = {}
        as_is = None
        trial_list = [(as_is_label, peer_env(base_env, max_threads))]
        if "OPENBLAS_CORETYPE" in base_env or "OPENBLAS_L2_SIZE" in base_env:
            trial_list.append(("OPENBLAS_* unset", peer_env(base_env, max_threads, unset=True)))
        trial_list += [(f"forced OPENBLAS_CORETYPE={ct}", peer_env(base_env, max_threads, coretype=ct)) for ct in candidates]
        for label, env in trial_list:
            w = Worker(label, [PY, os.path.join(HERE, "peer.py"), "serve", *peer_args, "--mode", MODES[0],
                               "--threads", str(max_threads)], env)
            if label == as_is_label:
                say("\n".join("   " + l for l in w.header))
            if w.failed:
                say(f"   {label:44s} failed: {w.failed}: {' | '.join(w.header[-3:])}")
                results.add(type="trial", config=name, label=label, kernel=None, failed=w.failed)
                continue
            kernel = w.ready.get("kernel", "?")
            if kernel in seen_kernels:
                say(f"   {label:44s} {kernel:12s} same kernel as '{seen_kernels[kernel]}': not run again")
                results.add(type="trial", config=name, label=label, kernel=kernel, duplicate_of=seen_kernels[kernel])
                w.close()
                continue
            seen_kernels[kernel] = label
            times = {}
            for mode, t in keys:
                r = run_peer(w, mode, t, trial_warmup, trial_steps)
                time.sleep(quiet)
                if r is None:
                    break
                times[(mode, t)] = r["ms"]
            if w.failed:
                say(f"   {label:44s} {kernel:12s} failed: {w.failed}")
                results.add(type="trial", config=name, label=label, kernel=kernel, failed=w.failed)
                continue
            say(f"   {label:44s} {kernel:12s} " + " ".join(f"{times[k]:9.2f}" for k in keys))
            results.add(type="trial", config=name, label=label, kernel=kernel,
                        ms={f"{m}{t}": times[(m, t)] for m, t in keys})
            peers[label], kernels[label] = w, kernel
            if label == as_is_label:
                as_is = label
            for k in keys:
                if k not in best or times[k] < best[k][0]:
                    best[k] = (times[k], label)
            # stop the workers that are neither the as-is one nor a current winner (memory: OLMoE-sized
            # weights are 1.6 GB a process)
            keep = {as_is} | {lab for _, lab in best.values()}
            for lab in list(peers):
                if lab not in keep:
                    peers.pop(lab).close()
        if not best:
            say("   no peer worker ran: no comparison for this config")
        for k in keys:
            if k in best:
                say(f"   winner {k[0]} {k[1]}T: {kernels[best[k][1]]} ({best[k][1]}, {best[k][0]:.2f} ms in the trial)")
                results.add(type="winner", config=name, mode=k[0], threads=k[1], label=best[k][1],
                            kernel=kernels[best[k][1]], trial_ms=best[k][0])

        # ---- rounds
        for rnd in range(1, rounds + 1):
            say(f"-- round {rnd}/{rounds} (load average {' '.join(open('/proc/loadavg').read().split()[:3])})")
            for mode in MODES:
                for t in threads_list:
                    sides = []
                    if mode in perft:
                        sides.append(("perft", perft[mode]))
                    labels = []
                    if (mode, t) in best:
                        labels.append(best[(mode, t)][1])
                    if as_is is not None and as_is not in labels:
                        labels.append(as_is)
                    sides += [(lab, peers[lab]) for lab in labels]
                    if rnd % 2 == 0:
                        sides.reverse()
                    line = []
                    for label, w in sides:
                        time.sleep(quiet)
                        if label == "perft":
                            r = w.run(t, warmup, steps)
                        else:
                            r = run_peer(w, mode, t, warmup, steps)
                        if r is None:
                            line.append(f"{label}: FAILED ({w.failed})")
                            continue
                        side = "perft" if label == "perft" else "peer"
                        rec = dict(type=side, config=name, mode=mode, threads=t, round=rnd, ms=r["ms"],
                                   min_ms=r["min_ms"], max_ms=r["max_ms"], hwm_mib=r.get("hwm_mib"),
                                   hwm_is_run=r.get("hwm_is_run"), steps=steps, warmup=warmup)
                        if side == "peer":
                            rec.update(label=label, kernel=r.get("kernel"), winner=(mode, t) in best and best[(mode, t)][1] == label,
                                       as_is=label == as_is, rss_start_mib=r.get("rss_start_mib"))
                            line.append(f"peer[{r.get('kernel')}{', as-is' if label == as_is else ''}] {r['ms']:.2f}")
                        else:
                            line.append(f"perft {r['ms']:.2f}")
                        results.add(**rec)
                    say(f"   {mode} {t}T  " + "   ".join(line) + "  ms/step (median)")

        for w in list(perft.values()) + list(peers.values()):
            w.close()

        # ---- gradient check
        if env_int("GRADCHECK", 1):
            for mode in MODES:
                if mode not in built:
                    continue
                say(f"-- gradient check, mode {mode}: {built[mode]} --dump vs the peer")
                cmd = [PY, os.path.join(HERE, "peer.py"), "gradcheck", *peer_args, "--mode", mode, "--prog", built[mode],
                       "--dir", built[mode] + ".gradcheck", "--threads", str(max_threads)]
                done = subprocess.run(cmd, capture_output=True, text=True,
                                      env=dict(peer_env(base_env, max_threads)))
                text = done.stdout + done.stderr
                say("\n".join("   " + l for l in text.rstrip("\n").split("\n")))
                r = [parse_result(l) for l in text.split("\n") if l.startswith("RESULT gradcheck")]
                if r:
                    results.add(type="gradcheck", config=name, mode=mode, **{k: v for k, v in r[0].items() if k != "kind"})
                else:
                    results.add(type="gradcheck", config=name, mode=mode, verdict="ERROR", worst=None,
                                error=text.strip()[-500:])
        say(f"   ({name}: {time.time() - t_config:.0f} s)")


def run_peer(w, mode, threads, warmup, steps):
    """The peer worker switches mode per run (h.requires_grad): `mode` is sent with the run."""
    if w.failed:
        return None
    try:
        w.proc.stdin.write(f"mode {mode}\n")
    except BrokenPipeError:
        w.failed = "its pipe closed"
        return None
    return w.run(threads, warmup, steps)


MODES = os.environ.get("MODES", "A B").split()

if __name__ == "__main__":
    main()
