#!/usr/bin/python3
"""The peer for bench/run.sh: PyTorch eager, computed the way the reference PERFT code does it.

One training step (forward + backward, no optimizer update) of a frozen MoE block with a PERFT strategy
beside it (bench/programs/*.perft), fp32. The MoE block and the routed adapters are computed HF/PERFT
style: one Python iteration per expert, torch.where on the one-hot routing mask, gather the expert's
rows, run the expert, scale by the routing weight, index_add_ into the output.

    p = softmax(h Wg^T); (g, S) = topk(p, k)             g /= sum(g) only with --renorm 1 (Mixtral)
    MoE(h) = sum_{i in S} g_i W2_i (silu(W1_i h) * W3_i h)
    Delta(x) = (alpha/r) B A x,  alpha = 2r               LoRA expert, no dropout, no bias
    --strategy r (PERFT-R): q = softmax(h Wr^T); (w, j) = topk(q, Kt); w /= sum(w)
                            y = MoE(h) + sum_j w_j Delta_j(h);  aux c LB(q, j)
    --strategy e (PERFT-E): y = sum_{i in S} g_i (E_i(h) + Delta_i(h))      (one LoRA per base expert)
    --strategy s (PERFT-S): y = MoE(h) + Delta(h)                          (one always-on LoRA expert)
    loss = mean((y - target)^2) + c LB(p, S) [+ c LB(q, j)],  c = 0.01 (renorm 0) or 0.02 (renorm 1)
    LB(p, S) = M sum_e f_e P_e,  f_e = #{(t, slot): S = e} / (T k),  P_e = mean_t p[t, e]

Mode A (--mode A): h needs no gradient; the frozen experts and routers run forward only, gradients go to
the adapters. Mode B: h.requires_grad = True, so autograd also computes dL/dh through the frozen experts
and routers (perft's mode-B programs compute the same through a trainable input scale s = 1).

Subcommands:
    serve      a worker for bench/bench.py: builds the model, prints which BLAS kernel it loaded and
               `READY`, then reads `run THREADS WARMUP STEPS` lines from stdin and answers each with a
               `RESULT peer ...` line (median ms of the timed steps after the warm-up; a new h and target
               each step, drawn before the clock starts; peak RSS of the run); `mode A|B` switches the
               mode of the following runs; `quit` ends it
    time       one such run, printed for people
    gradcheck  write weights and inputs as safetensors, run the compiled program's --dump on them, and
               compare its loss, output and every gradient with this peer's (fp32 and fp64)

Use Debian's interpreter (/usr/bin/python3, python3-torch 1.13, OpenBLAS).
"""
import argparse
import ctypes
import json
import math
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as Fn
from torch.nn.utils import skip_init

NAMES = {"r": "PERFT-R", "e": "PERFT-E", "s": "PERFT-S"}


class Config:
    def __init__(self, args):
        self.T, self.D, self.E, self.K, self.F, self.N, self.Kt, self.r = (int(x) for x in args.dims.split(","))
        self.strategy, self.renorm, self.mode = args.strategy, args.renorm, args.mode
        self.c = 0.01 * (1 + self.renorm)     # bench_lib.perft: c = 0.01 (OLMoE), 0.02 (Mixtral)


# ---------------------------------------------------------------- the model, reference-code style
def linear(i, o):
    return skip_init(nn.Linear, i, o, bias=False)   # no default init: the caller fills the weights


class SwiGLUExpert(nn.Module):
    def __init__(self, D, F):
        super().__init__()
        self.w1, self.w3, self.w2 = linear(D, F), linear(D, F), linear(F, D)

    def forward(self, x):
        return self.w2(Fn.silu(self.w1(x)) * self.w3(x))


class LoraExpert(nn.Module):
    def __init__(self, D, r, alpha):
        super().__init__()
        self.lora_A, self.lora_B = linear(D, r), linear(r, D)
        self.scaling = alpha / r

    def forward(self, x):
        return self.lora_B(self.lora_A(x)) * self.scaling


def route(h, idx, weights, n, expert):
    """The reference PERFT code's routing: one Python iteration per expert, its rows gathered with
    torch.where on the one-hot mask, expert(e, rows) scaled by the routing weight, index_add_."""
    out = torch.zeros_like(h)
    mask = Fn.one_hot(idx, num_classes=n).permute(2, 1, 0)
    for e in range(n):
        slot, rows = torch.where(mask[e])
        if rows.numel() == 0:
            continue
        out.index_add_(0, rows, expert(e, h[rows]) * weights[rows, slot, None])
    return out


def load_balance(prob, idx, M, k):
    """Switch-style LB = M * sum_e f_e P_e; f counts (token, slot) assignments, carries no gradient."""
    T = prob.shape[0]
    f = Fn.one_hot(idx, num_classes=M).to(prob.dtype).sum(dim=(0, 1)) / (T * k)
    return M * (f * prob.mean(dim=0)).sum()


class MoEWithPerft(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        D, E, F, r = cfg.D, cfg.E, cfg.F, cfg.r
        self.cfg = cfg
        self.gate = linear(D, E)
        self.experts = nn.ModuleList(SwiGLUExpert(D, F) for _ in range(E))
        if cfg.strategy == "r":
            self.perft_router = linear(D, cfg.N)
            self.perft_experts = nn.ModuleList(LoraExpert(D, r, 2 * r) for _ in range(cfg.N))
        elif cfg.strategy == "e":
            self.perft_experts = nn.ModuleList(LoraExpert(D, r, 2 * r) for _ in range(E))
        else:
            self.perft_expert = LoraExpert(D, r, 2 * r)
        for p in list(self.gate.parameters()) + list(self.experts.parameters()):
            p.requires_grad_(False)

    def forward(self, h, target):
        cfg = self.cfg
        # frozen MoE block (HF OLMoE/Mixtral loop); PERFT-E adds its LoRA expert inside the loop
        p = Fn.softmax(self.gate(h), dim=1, dtype=torch.float if h.dtype == torch.float32 else h.dtype)
        g, S = torch.topk(p, cfg.K, dim=-1)
        if cfg.renorm:
            g = g / g.sum(dim=-1, keepdim=True)
        if cfg.strategy == "e":
            moe = route(h, S, g, cfg.E, lambda e, x: self.experts[e](x) + self.perft_experts[e](x))
        else:
            moe = route(h, S, g, cfg.E, lambda e, x: self.experts[e](x))
        aux = cfg.c * load_balance(p, S, cfg.E, cfg.K)
        q = None
        if cfg.strategy == "r":
            # PERFT-R: routed LoRA experts beside the block (PERFT reference code, Mixtral version)
            q = Fn.softmax(self.perft_router(h), dim=1)
            w, j = torch.topk(q, cfg.Kt, dim=-1)
            w = w / w.sum(dim=-1, keepdim=True)
            y = moe + route(h, j, w, cfg.N, lambda n, x: self.perft_experts[n](x))
            aux = aux + cfg.c * load_balance(q, j, cfg.N, cfg.Kt)
        elif cfg.strategy == "s":
            y = moe + self.perft_expert(h)
        else:
            y = moe
        loss = Fn.mse_loss(y, target) + aux
        return loss, y, p, q

    def trainable(self):
        return [p for p in self.parameters() if p.requires_grad]


# ---------------------------------------------------------------- names as the compiled program has them
def banks_of(model, grads=False):
    """Every parameter (or, with grads, every adapter gradient) stacked and named as the compiled program
    names them (docs/ABI.md, `prog --list-params`)."""
    cfg = model.cfg
    get = (lambda lin: lin.weight.grad) if grads else (lambda lin: lin.weight)
    st = lambda mods, attr: torch.stack([get(getattr(m, attr)) for m in mods])
    out = {}
    if not grads:
        out.update({"moe.router": model.gate.weight,
                    "moe.experts.w1": st(model.experts, "w1"),     # [E, F, D]
                    "moe.experts.w3": st(model.experts, "w3"),     # [E, F, D]
                    "moe.experts.w2": st(model.experts, "w2")})    # [E, D, F]
    if cfg.strategy == "r":
        out["moe.perft_r.router"] = get(model.perft_router)               # [N, D]
        out["moe.perft_r.ad.A"] = st(model.perft_experts, "lora_A")       # [N, r, D]
        out["moe.perft_r.ad.B"] = st(model.perft_experts, "lora_B")       # [N, D, r]
    elif cfg.strategy == "e":
        out["moe.perft_e.ad.A"] = st(model.perft_experts, "lora_A")       # [E, r, D]
        out["moe.perft_e.ad.B"] = st(model.perft_experts, "lora_B")       # [E, D, r]
    else:
        out["moe.perft_s.A"] = get(model.perft_expert.lora_A)             # [r, D]
        out["moe.perft_s.B"] = get(model.perft_expert.lora_B)             # [D, r]
    return out


def modules_of(model):
    """name -> list of nn.Linear whose weights stack into that bank (the inverse of banks_of)."""
    cfg = model.cfg
    out = {"moe.router": [model.gate], "moe.experts.w1": [m.w1 for m in model.experts],
           "moe.experts.w3": [m.w3 for m in model.experts], "moe.experts.w2": [m.w2 for m in model.experts]}
    if cfg.strategy == "r":
        out.update({"moe.perft_r.router": [model.perft_router],
                    "moe.perft_r.ad.A": [m.lora_A for m in model.perft_experts],
                    "moe.perft_r.ad.B": [m.lora_B for m in model.perft_experts]})
    elif cfg.strategy == "e":
        out.update({"moe.perft_e.ad.A": [m.lora_A for m in model.perft_experts],
                    "moe.perft_e.ad.B": [m.lora_B for m in model.perft_experts]})
    else:
        out.update({"moe.perft_s.A": [model.perft_expert.lora_A], "moe.perft_s.B": [model.perft_expert.lora_B]})
    return out


def stacked(name):
    return name.startswith("moe.experts.") or ".ad." in name


def from_banks(model, banks):
    with torch.no_grad():
        for name, lins in modules_of(model).items():
            if stacked(name):
                for i, lin in enumerate(lins):
                    lin.weight.copy_(torch.as_tensor(banks[name][i]))
            else:
                lins[0].weight.copy_(torch.as_tensor(banks[name]))


def init_std(cfg, name, b_std):
    """bench/programs/bench_lib.perft's inits (B's std is the caller's: 1e-6 there)."""
    if name.endswith(".A"):
        return math.sqrt(2.0 / cfg.r)
    if name.endswith(".B"):
        return b_std
    return 0.02


def init_model(model, seed):
    """Fill every weight in place from the inits of bench_lib.perft (torch's generator: fast, no copies)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, lins in modules_of(model).items():
            for lin in lins:
                lin.weight.normal_(0.0, init_std(model.cfg, name, 1e-6), generator=gen)


def init_banks(cfg, rng, b_std):
    """numpy f32 weights for the gradient check, the inits of bench_lib.perft except B's std."""
    shapes = {"moe.router": (cfg.E, cfg.D), "moe.experts.w1": (cfg.E, cfg.F, cfg.D),
              "moe.experts.w3": (cfg.E, cfg.F, cfg.D), "moe.experts.w2": (cfg.E, cfg.D, cfg.F)}
    if cfg.strategy == "r":
        shapes.update({"moe.perft_r.router": (cfg.N, cfg.D), "moe.perft_r.ad.A": (cfg.N, cfg.r, cfg.D),
                       "moe.perft_r.ad.B": (cfg.N, cfg.D, cfg.r)})
    elif cfg.strategy == "e":
        shapes.update({"moe.perft_e.ad.A": (cfg.E, cfg.r, cfg.D), "moe.perft_e.ad.B": (cfg.E, cfg.D, cfg.r)})
    else:
        shapes.update({"moe.perft_s.A": (cfg.r, cfg.D), "moe.perft_s.B": (cfg.D, cfg.r)})
    banks = {}
    for name, shape in shapes.items():
        x = rng.standard_normal(shape, dtype=np.float32)
        x *= np.float32(init_std(cfg, name, b_std))
        banks[name] = x
    return banks


# ---------------------------------------------------------------- which BLAS kernel runs; memory
def blas_report():
    libs = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            if ("blas" in path or "lapack" in path) and path not in libs:
                libs.append(path)
    info = {"libs": libs, "core": None, "config": None, "threads": None, "lib": None}
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            lib.openblas_get_config.restype = ctypes.c_char_p
        except (OSError, AttributeError):
            continue
        info.update(core=lib.openblas_get_corename().decode(), config=lib.openblas_get_config().decode(),
                    threads=lib.openblas_get_num_threads(), lib=lib)
        break
    return info


def status_mib(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    return -1.0


def reset_peak_rss():
    """Linux: writing 5 to clear_refs resets VmHWM to the current RSS, so VmHWM after a run is that
    run's peak. Returns False where the kernel refuses (then VmHWM is the process's lifetime peak)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


# ---------------------------------------------------------------- time
class Timer:
    def __init__(self, args, serve=False):
        self.cfg = cfg = Config(args)
        self.rss_start = status_mib("VmRSS")
        torch.set_num_threads(max(1, args.threads))
        torch.manual_seed(args.seed)
        self.model = MoEWithPerft(cfg)
        init_model(self.model, args.seed)
        torch.mm(torch.ones(2, 2), torch.ones(2, 2))   # BLAS loaded and initialised
        self.blas = blas_report()
        self.rss_model = status_mib("VmRSS")
        env = {k: os.environ.get(k, "(unset)") for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                                                        "OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
        self.env = env
        kernel = f"OpenBLAS {self.blas['core']} kernels" if self.blas["core"] else "no OpenBLAS (reference BLAS?)"
        print(f"peer: PyTorch {torch.__version__} eager, per-expert loop + index_add_, fp32, MoE block + "
              f"{NAMES[cfg.strategy]}{' (Mixtral routing)' if cfg.renorm else ''}, "
              + ("mode A or B per run" if serve else f"mode {cfg.mode}"))
        print(f"  BLAS         {kernel}; {self.blas['config']}")
        print("  environment  " + " ".join(f"{k}={v}" for k, v in env.items()))
        print(f"  memory       RSS {self.rss_start:.1f} MiB after importing torch, {self.rss_model:.1f} MiB with the model")
        sys.stdout.flush()

    def run(self, threads, warmup, steps, verbose):
        cfg, model = self.cfg, self.model
        torch.set_num_threads(threads)
        if self.blas["lib"] is not None:
            self.blas["lib"].openblas_set_num_threads(threads)
            self.blas["threads"] = self.blas["lib"].openblas_get_num_threads()
        peak_reset = reset_peak_rss()
        times, first = [], None
        for step in range(warmup + steps):
            h = torch.randn(cfg.T, cfg.D)          # a new input every step, outside the timed region
            target = torch.randn(cfg.T, cfg.D)
            if cfg.mode == "B":
                h.requires_grad_(True)
            for p in model.trainable():
                p.grad = None
            t0 = time.perf_counter()
            loss, _, _, _ = model(h, target)
            loss.backward()
            t1 = time.perf_counter()
            if not math.isfinite(loss.item()):
                sys.exit("peer: the loss is not finite")
            first = loss.item() if first is None else first
            if step >= warmup:
                times.append((t1 - t0) * 1e3)
        med = statistics.median(times)
        hwm = status_mib("VmHWM")
        if verbose:
            print(f"  steps        {warmup} warm-up + {steps} timed (forward + backward) on {threads} thread(s) "
                  f"(OpenBLAS {self.blas['threads']}); loss {first:.6g} (first) {loss.item():.6g} (last)")
            print(f"  time         median {med:.3f} ms/step (min {min(times):.3f}, max {max(times):.3f})")
            print(f"  memory       peak RSS {hwm:.1f} MiB during the run" + ("" if peak_reset else " (process lifetime)"))
        print(f"RESULT peer threads={threads} ms={med:.6f} min_ms={min(times):.6f} max_ms={max(times):.6f} steps={steps} "
              f"warmup={warmup} kernel={self.blas['core'] or 'none'} coretype_env={self.env['OPENBLAS_CORETYPE']} "
              f"l2_env={self.env['OPENBLAS_L2_SIZE']} hwm_mib={hwm:.1f} hwm_is_run={int(peak_reset)} "
              f"rss_start_mib={self.rss_start:.1f}")
        sys.stdout.flush()


def cmd_time(args):
    Timer(args).run(args.threads, args.warmup, args.steps, True)
    return 0


def cmd_serve(args):
    timer = Timer(args, serve=True)
    print(f"READY peer kernel={timer.blas['core'] or 'none'}")
    sys.stdout.flush()
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "quit":
            break
        if words[0] == "mode" and len(words) == 2 and words[1] in ("A", "B"):
            timer.cfg.mode = words[1]     # h.requires_grad in the following runs
            continue
        if words[0] != "run" or len(words) != 4:
            sys.exit(f"peer: unknown command {line.strip()!r}")
        timer.run(int(words[1]), int(words[2]), int(words[3]), False)
    return 0


# ---------------------------------------------------------------- safetensors (f32 only)
def write_safetensors(path, tensors):
    header, offset = {}, 0
    for name, array in tensors.items():
        n = array.size * 4
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + n]}
        offset += n
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for array in tensors.values():
            f.write(np.ascontiguousarray(array, dtype="<f4").tobytes())


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        if meta["dtype"] != "F32":
            raise SystemExit(f"peer: {path}: {name} is {meta['dtype']}, expected F32")
        a, b = meta["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype="<f4").reshape(meta["shape"] or [1])
    return out


# ---------------------------------------------------------------- gradcheck
def run_peer(banks, h, target, cfg, dtype):
    model = MoEWithPerft(cfg).to(dtype)
    from_banks(model, banks)   # copy_ converts f32 -> dtype
    ht = torch.from_numpy(h).to(dtype)
    if cfg.mode == "B":
        ht.requires_grad_(True)
    loss, y, p, q = model(ht, torch.from_numpy(target).to(dtype))
    loss.backward()
    result = {"loss": np.array([loss.item()]), "out.y": y.detach().double().numpy()}
    for name, g in banks_of(model, grads=True).items():
        result["grad." + name] = g.detach().double().numpy()
    if cfg.mode == "B":
        # perft's input is x = h * s with s = 1: dL/ds = h * dL/dx, and dL/dx is the peer's h.grad
        result["grad.s"] = (ht.grad.detach().double() * ht.detach().double()).numpy()
    p = p.detach().double().numpy()
    q = q.detach().double().numpy() if q is not None else None
    del model
    return result, p, q


def min_topk_gap(prob, k):
    """Smallest gap between the k-th and (k+1)-th probability of a row: how close routing is to a tie."""
    s = -np.sort(-prob, axis=1)
    return float((s[:, k - 1] - s[:, k]).min()) if prob.shape[1] > k else float("inf")


def rel_err(a, b):
    """max |a - b| / max |b|: the largest error measured against the tensor's largest magnitude."""
    scale = float(np.abs(b).max())
    return float(np.abs(a - b).max()) / (scale if scale > 0 else 1.0)


def cmd_gradcheck(args):
    cfg = Config(args)
    torch.set_num_threads(args.threads)
    os.makedirs(args.dir, exist_ok=True)
    # What the compiled program says it holds; every name and shape must agree with the peer's banks.
    listing = subprocess.run([args.prog, "--list-params"], capture_output=True, text=True, check=True).stdout.split("\n")
    rng = np.random.default_rng(args.seed)
    # bench_lib's inits, except B ~ N(0, 0.05) (not 1e-6): dL/dA and the routers' gradients scale with
    # B, and near-zero gradients would make relative errors meaningless.
    banks = init_banks(cfg, rng, 0.05)
    h = rng.standard_normal((cfg.T, cfg.D), dtype=np.float32)
    target = rng.standard_normal((cfg.T, cfg.D), dtype=np.float32)
    weights = dict(banks)
    if cfg.mode == "B":
        weights["s"] = np.ones((cfg.T, cfg.D), dtype=np.float32)
    shapes = {**{k: v.shape for k, v in weights.items()}, "input h": h.shape, "input target": target.shape}
    seen = set()
    for line in filter(None, listing):
        words = line.split()
        key = " ".join(words[:2]) if words[0] == "input" else words[0]
        dims_text = words[2] if words[0] == "input" else words[1]
        want = tuple(int(x) for x in dims_text.split("x"))
        if key not in shapes or tuple(shapes[key]) != want:
            raise SystemExit(f"gradcheck: the program's {key} {dims_text} is not the peer's {shapes.get(key)}")
        seen.add(key)
    if seen != set(shapes):
        raise SystemExit(f"gradcheck: the program lacks {sorted(set(shapes) - seen)}")
    wfile, xfile, dump = (os.path.join(args.dir, f) for f in ("W.safetensors", "X.safetensors", "out.safetensors"))
    write_safetensors(wfile, weights)
    write_safetensors(xfile, {"h": h, "target": target})
    del weights
    cmd = [args.prog, "--dump", dump, "--weights", wfile, "--inputs", xfile]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"gradcheck: {' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()}")
    for f in (wfile,):
        os.unlink(f)   # the OLMoE-sized weights are 1.6 GB
    perft = read_safetensors(dump)
    peer32, p, q = run_peer(banks, h, target, cfg, torch.float32)
    peer64, p64, q64 = run_peer(banks, h, target, cfg, torch.float64)
    gaps = f"base {min_topk_gap(p64, cfg.K):.2e}"
    if q64 is not None:
        gaps += f", PERFT-R {min_topk_gap(q64, cfg.Kt):.2e}"
    print(f"gradient check, {NAMES[cfg.strategy]} mode {cfg.mode}: same weights and inputs on both sides ({args.dir}); "
          "B ~ N(0, 0.05) so every grad is O(1)")
    print(f"  routing      smallest top-k margin (k-th minus (k+1)-th prob, fp64): {gaps}")
    print(f"  {'tensor':26s} {'shape':>12s} {'max|peer|':>10s} {'perft vs peer32':>16s} {'perft vs peer64':>16s} {'peer32 vs peer64':>17s}")
    worst, worst_name, floor_worst = 0.0, "", 0.0
    ok = True
    for name in peer32:
        if name not in perft:
            print(f"  {name:26s} missing from the --dump file")
            ok = False
            continue
        a = perft[name].astype(np.float64).reshape(peer32[name].shape)
        e32, e64, floor = rel_err(a, peer32[name]), rel_err(a, peer64[name]), rel_err(peer32[name], peer64[name])
        if not np.isfinite(e32):
            e32 = math.inf
        if e32 > worst:
            worst, worst_name = e32, name
        floor_worst = max(floor_worst, floor)
        shape = "x".join(str(s) for s in peer32[name].shape)
        print(f"  {name:26s} {shape:>12s} {np.abs(peer32[name]).max():10.4g} {e32:16.2e} {e64:16.2e} {floor:17.2e}")
    extra = sorted(set(perft) - set(peer32))
    if extra:
        print(f"  (in the --dump file, not compared: {', '.join(extra)})")
    if perft.get("loss") is not None:
        print(f"  loss         perft {float(perft['loss'][0]):.9g}  peer fp32 {float(peer32['loss'][0]):.9g}  "
              f"peer fp64 {float(peer64['loss'][0]):.9g}")
    verdict = "PASS" if ok and worst < args.tol else "FAIL"
    print(f"  verdict      {verdict}: largest error of perft against the fp32 peer {worst:.2e} ({worst_name}; "
          f"max |perft - peer| / max |peer| per tensor; tolerance {args.tol:g})")
    print(f"RESULT gradcheck verdict={verdict} worst={worst:.3e} worst_tensor={worst_name or '-'} tol={args.tol:g} "
          f"fp32_floor={floor_worst:.3e}")
    return 0 if verdict == "PASS" else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dims", required=True, help="T,D,E,K,F,N,Kt,r (N and Kt are used by PERFT-R only)")
    common.add_argument("--strategy", choices=["r", "e", "s"], default="r", help="PERFT-R, PERFT-E or PERFT-S")
    common.add_argument("--renorm", type=int, choices=[0, 1], default=0, help="1: Mixtral routing (top-k renormalised, aux 0.02)")
    common.add_argument("--mode", choices=["A", "B"], default="A", help="B: the input gradient flows through everything")
    for name in ("serve", "time"):
        t = sub.add_parser(name, parents=[common])
        t.add_argument("--threads", type=int, default=1)
        t.add_argument("--steps", type=int, default=30)
        t.add_argument("--warmup", type=int, default=3)
        t.add_argument("--seed", type=int, default=1)
    g = sub.add_parser("gradcheck", parents=[common])
    g.add_argument("--prog", required=True, help="the executable perftc built from the same program and -D sizes")
    g.add_argument("--dir", required=True, help="where W/X/out.safetensors are written")
    g.add_argument("--seed", type=int, default=7)
    g.add_argument("--tol", type=float, default=1e-4)
    g.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    sys.exit({"time": cmd_time, "serve": cmd_serve, "gradcheck": cmd_gradcheck}[args.cmd](args))


if __name__ == "__main__":
    main()
