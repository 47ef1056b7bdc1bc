#!/usr/bin/python3
"""The peer for bench/run.sh: PyTorch eager, computed the way the reference PERFT code does it.

One training step of a frozen MoE block + PERFT-R beside it (examples/moe_perft_r.perft), fp32, mode A:
the base experts run forward only (frozen, and h needs no gradient); gradients go to the PEFT router and
the LoRA A/B banks only. The MoE block and the adapters are both computed HF/PERFT style: one Python
iteration per expert, torch.where on the one-hot routing mask, gather the expert's rows, run the
expert, scale by the routing weight, index_add_ into the output.

    p = softmax(h Wg^T); (g, S) = topk(p, k)              no renormalisation (OLMoE)
    MoE(h) = sum_{i in S} g_i W2_i (silu(W1_i h) * W3_i h)
    q = softmax(h Wr^T); (w, j) = topk(q, Kt); w /= sum(w)
    y = MoE(h) + sum_{j} w_j (alpha/r) B_j A_j h            alpha = 2r
    loss = mean((y - target)^2) + 0.01 LB(p, S) + 0.01 LB(q, j)
    LB(p, S) = M sum_e f_e P_e,  f_e = #{(t, slot): S = e} / (T k),  P_e = mean_t p[t, e]

Subcommands:
    time       time forward + backward (median of --steps after --warmup; a new h and target each step,
               drawn before the clock starts); prints which BLAS kernel ran; last line `RESULT peer ...`
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

LB_COEF = 0.01


# ---------------------------------------------------------------- the model, reference-code style
class SwiGLUExpert(nn.Module):
    def __init__(self, D, F):
        super().__init__()
        self.w1 = nn.Linear(D, F, bias=False)
        self.w3 = nn.Linear(D, F, bias=False)
        self.w2 = nn.Linear(F, D, bias=False)

    def forward(self, x):
        return self.w2(Fn.silu(self.w1(x)) * self.w3(x))


class LoraExpert(nn.Module):
    def __init__(self, D, r, alpha):
        super().__init__()
        self.lora_A = nn.Linear(D, r, bias=False)
        self.lora_B = nn.Linear(r, D, bias=False)
        self.scaling = alpha / r

    def forward(self, x):
        return self.lora_B(self.lora_A(x)) * self.scaling


def load_balance(prob, idx, M, k):
    """Switch-style LB = M * sum_e f_e P_e; f counts (token, slot) assignments, carries no gradient."""
    T = prob.shape[0]
    f = Fn.one_hot(idx, num_classes=M).to(prob.dtype).sum(dim=(0, 1)) / (T * k)
    return M * (f * prob.mean(dim=0)).sum()


class MoEWithPerftR(nn.Module):
    def __init__(self, D, E, K, F, N, Kt, r):
        super().__init__()
        self.E, self.K, self.N, self.Kt = E, K, N, Kt
        self.gate = nn.Linear(D, E, bias=False)
        self.experts = nn.ModuleList(SwiGLUExpert(D, F) for _ in range(E))
        self.perft_router = nn.Linear(D, N, bias=False)
        self.perft_experts = nn.ModuleList(LoraExpert(D, r, 2 * r) for _ in range(N))
        for p in list(self.gate.parameters()) + list(self.experts.parameters()):
            p.requires_grad_(False)

    def forward(self, h, target):
        T, D = h.shape
        # frozen MoE block (HF OLMoE/Mixtral loop)
        p = Fn.softmax(self.gate(h), dim=1, dtype=torch.float if h.dtype == torch.float32 else h.dtype)
        g, S = torch.topk(p, self.K, dim=-1)
        moe = torch.zeros((T, D), dtype=h.dtype)
        mask = Fn.one_hot(S, num_classes=self.E).permute(2, 1, 0)
        for e in range(self.E):
            slot, rows = torch.where(mask[e])
            if rows.numel() == 0:
                continue
            out = self.experts[e](h[rows]) * g[rows, slot, None]
            moe.index_add_(0, rows, out)
        # PERFT-R: routed LoRA experts beside the block (PERFT reference code, Mixtral version)
        q = Fn.softmax(self.perft_router(h), dim=1)
        w, j = torch.topk(q, self.Kt, dim=-1)
        w = w / w.sum(dim=-1, keepdim=True)
        adapters = torch.zeros((T, D), dtype=h.dtype)
        mask = Fn.one_hot(j, num_classes=self.N).permute(2, 1, 0)
        for n in range(self.N):
            slot, rows = torch.where(mask[n])
            if rows.numel() == 0:
                continue
            out = self.perft_experts[n](h[rows]) * w[rows, slot, None]
            adapters.index_add_(0, rows, out)
        y = moe + adapters
        loss = Fn.mse_loss(y, target) + LB_COEF * load_balance(p, S, self.E, self.K) \
            + LB_COEF * load_balance(q, j, self.N, self.Kt)
        return loss, y, p, q

    def trainable(self):
        return [p for p in self.parameters() if p.requires_grad]


# banks as the compiled program names and shapes them (docs/ABI.md, `prog --list-params`)
def to_banks(model):
    st = lambda mods, attr: torch.stack([getattr(m, attr).weight for m in mods])
    return {
        "moe.router": model.gate.weight,
        "moe.experts.w1": st(model.experts, "w1"),             # [E, F, D]
        "moe.experts.w3": st(model.experts, "w3"),             # [E, F, D]
        "moe.experts.w2": st(model.experts, "w2"),             # [E, D, F]
        "moe.perft_r.router": model.perft_router.weight,      # [N, D]
        "moe.perft_r.ad.A": st(model.perft_experts, "lora_A"),  # [N, r, D]
        "moe.perft_r.ad.B": st(model.perft_experts, "lora_B"),  # [N, D, r]
    }


def bank_grads(model):
    st = lambda mods, attr: torch.stack([getattr(m, attr).weight.grad for m in mods])
    return {
        "moe.perft_r.router": model.perft_router.weight.grad,
        "moe.perft_r.ad.A": st(model.perft_experts, "lora_A"),
        "moe.perft_r.ad.B": st(model.perft_experts, "lora_B"),
    }


def from_banks(model, banks):
    with torch.no_grad():
        model.gate.weight.copy_(banks["moe.router"])
        model.perft_router.weight.copy_(banks["moe.perft_r.router"])
        for e, ex in enumerate(model.experts):
            ex.w1.weight.copy_(banks["moe.experts.w1"][e])
            ex.w3.weight.copy_(banks["moe.experts.w3"][e])
            ex.w2.weight.copy_(banks["moe.experts.w2"][e])
        for n, ad in enumerate(model.perft_experts):
            ad.lora_A.weight.copy_(banks["moe.perft_r.ad.A"][n])
            ad.lora_B.weight.copy_(banks["moe.perft_r.ad.B"][n])


def init_banks(dims, rng, b_std):
    """The manifest's init rules (examples/moe_perft_r.perft), except B's std (see callers)."""
    T, D, E, K, F, N, Kt, r = dims
    n = lambda shape, std: (rng.standard_normal(shape) * std).astype(np.float32)
    return {
        "moe.router": n((E, D), 0.1),
        "moe.experts.w1": n((E, F, D), 0.1),
        "moe.experts.w3": n((E, F, D), 0.1),
        "moe.experts.w2": n((E, D, F), 0.1),
        "moe.perft_r.router": n((N, D), 0.02),
        "moe.perft_r.ad.A": n((N, r, D), math.sqrt(2.0 / r)),
        "moe.perft_r.ad.B": n((N, D, r), b_std),
    }


# ---------------------------------------------------------------- which BLAS kernel runs
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


# ---------------------------------------------------------------- time
def cmd_time(args):
    dims = [int(x) for x in args.dims.split(",")]
    T, D, E, K, F, N, Kt, r = dims
    torch.set_num_threads(args.threads)
    blas = blas_report()
    if blas["lib"] is not None and blas["threads"] != args.threads:
        blas["lib"].openblas_set_num_threads(args.threads)
        blas["threads"] = blas["lib"].openblas_get_num_threads()
    torch.manual_seed(args.seed)
    model = MoEWithPerftR(D, E, K, F, N, Kt, r)
    from_banks(model, {k: torch.from_numpy(v) for k, v in init_banks(dims, np.random.default_rng(args.seed), 1e-6).items()})
    env = {k: os.environ.get(k, "(unset)") for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                                                    "OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    kernel = f"OpenBLAS {blas['core']} kernels" if blas["core"] else "no OpenBLAS (reference BLAS?)"
    print(f"peer: PyTorch {torch.__version__} eager, per-expert loop + index_add_, fp32, mode A, "
          f"{torch.get_num_threads()} thread(s), OpenBLAS threads {blas['threads']}")
    print(f"  BLAS         {kernel}; {blas['config']}")
    print("  environment  " + " ".join(f"{k}={v}" for k, v in env.items()))
    times, first = [], None
    for step in range(args.warmup + args.steps):
        h = torch.randn(T, D)          # a new input every step, outside the timed region
        target = torch.randn(T, D)
        for p in model.trainable():
            p.grad = None
        t0 = time.perf_counter()
        loss, _, _, _ = model(h, target)
        loss.backward()
        t1 = time.perf_counter()
        if not math.isfinite(loss.item()):
            sys.exit("peer: the loss is not finite")
        first = loss.item() if first is None else first
        if step >= args.warmup:
            times.append((t1 - t0) * 1e3)
    med = statistics.median(times)
    print(f"  steps        {args.warmup} warm-up + {args.steps} timed (forward + backward); loss {first:.6g} (first) "
          f"{loss.item():.6g} (last)")
    print(f"  time         median {med:.3f} ms/step (min {min(times):.3f}, max {max(times):.3f})")
    print(f"RESULT peer threads={torch.get_num_threads()} ms={med:.6f} min_ms={min(times):.6f} max_ms={max(times):.6f} "
          f"kernel={blas['core'] or 'none'} coretype_env={env['OPENBLAS_CORETYPE']} l2_env={env['OPENBLAS_L2_SIZE']}")


# ---------------------------------------------------------------- safetensors (f32 only)
def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for blob in blobs:
            f.write(blob)


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
def run_peer(banks, h, target, dims, dtype):
    T, D, E, K, F, N, Kt, r = dims
    model = MoEWithPerftR(D, E, K, F, N, Kt, r).to(dtype)
    from_banks(model, {k: torch.from_numpy(v).to(dtype) for k, v in banks.items()})
    loss, y, p, q = model(torch.from_numpy(h).to(dtype), torch.from_numpy(target).to(dtype))
    loss.backward()
    result = {"loss": np.array([loss.item()]), "out.y": y.detach().double().numpy()}
    for name, g in bank_grads(model).items():
        result["grad." + name] = g.detach().double().numpy()
    return result, p.detach().double().numpy(), q.detach().double().numpy()


def min_topk_gap(prob, k):
    """Smallest gap between the k-th and (k+1)-th probability of a row: how close routing is to a tie."""
    s = -np.sort(-prob, axis=1)
    return float((s[:, k - 1] - s[:, k]).min()) if prob.shape[1] > k else float("inf")


def rel_err(a, b):
    """max |a - b| / max |b|: the largest error measured against the tensor's largest magnitude."""
    scale = float(np.abs(b).max())
    return float(np.abs(a - b).max()) / (scale if scale > 0 else 1.0)


def cmd_gradcheck(args):
    dims = [int(x) for x in args.dims.split(",")]
    T, D, E, K, F, N, Kt, r = dims
    torch.set_num_threads(1)
    os.makedirs(args.dir, exist_ok=True)
    # What the compiled program says it holds; every name and shape must agree with the peer's banks.
    listing = subprocess.run([args.prog, "--list-params"], capture_output=True, text=True, check=True).stdout.split("\n")
    rng = np.random.default_rng(args.seed)
    # The manifest's inits, except B ~ N(0, 0.05) (not 1e-6): dL/dA and dL/dw~ scale with B, and near-zero
    # gradients would make relative errors meaningless.
    banks = init_banks(dims, rng, 0.05)
    h = rng.standard_normal((T, D)).astype(np.float32)
    target = rng.standard_normal((T, D)).astype(np.float32)
    shapes = {**{k: v.shape for k, v in banks.items()}, "input h": h.shape, "input target": target.shape}
    for line in filter(None, listing):
        words = line.split()
        key = " ".join(words[:2]) if words[0] == "input" else words[0]
        dims_text = words[2] if words[0] == "input" else words[1]
        want = tuple(int(x) for x in dims_text.split("x"))
        if key not in shapes or tuple(shapes[key]) != want:
            raise SystemExit(f"gradcheck: the program's {key} {dims_text} is not the peer's {shapes.get(key)}")
    weights, inputs, dump = (os.path.join(args.dir, f) for f in ("W.safetensors", "X.safetensors", "out.safetensors"))
    write_safetensors(weights, banks)
    write_safetensors(inputs, {"h": h, "target": target})
    cmd = [args.prog, "--dump", dump, "--weights", weights, "--inputs", inputs]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"gradcheck: {' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()}")
    perft = read_safetensors(dump)
    peer32, p, q = run_peer(banks, h, target, dims, torch.float32)
    peer64, p64, q64 = run_peer(banks, h, target, dims, torch.float64)
    gap_base, gap_perft = min_topk_gap(p64, K), min_topk_gap(q64, Kt)
    print(f"gradient check: same weights and inputs on both sides ({args.dir}); B ~ N(0, 0.05) so every grad is O(1)")
    print(f"  routing      smallest top-k margin (k-th minus (k+1)-th prob, fp64): base {gap_base:.2e}, PERFT {gap_perft:.2e}")
    print(f"  {'tensor':26s} {'shape':>12s} {'max|peer|':>10s} {'perft vs peer32':>16s} {'perft vs peer64':>16s} {'peer32 vs peer64':>17s}")
    worst = 0.0
    ok = True
    for name in ["loss", "out.y"] + ["grad." + k for k in bank_grads_names()]:
        if name not in perft:
            print(f"  {name:26s} missing from the --dump file")
            ok = False
            continue
        a = perft[name].astype(np.float64).reshape(peer32[name].shape)
        e32, e64, floor = rel_err(a, peer32[name]), rel_err(a, peer64[name]), rel_err(peer32[name], peer64[name])
        worst = max(worst, e32)
        shape = "x".join(str(s) for s in peer32[name].shape)
        print(f"  {name:26s} {shape:>12s} {np.abs(peer32[name]).max():10.4g} {e32:16.2e} {e64:16.2e} {floor:17.2e}")
    if perft.get("loss") is not None:
        print(f"  loss         perft {float(perft['loss'][0]):.9g}  peer fp32 {float(peer32['loss'][0]):.9g}  "
              f"peer fp64 {float(peer64['loss'][0]):.9g}")
    verdict = "PASS" if ok and worst < args.tol else "FAIL"
    print(f"  verdict      {verdict}: largest error of perft against the fp32 peer {worst:.2e} "
          f"(max |perft - peer| / max |peer| per tensor; tolerance {args.tol:g})")
    print(f"RESULT gradcheck verdict={verdict} worst={worst:.3e} tol={args.tol:g}")
    return 0 if verdict == "PASS" else 1


def bank_grads_names():
    return ["moe.perft_r.router", "moe.perft_r.ad.A", "moe.perft_r.ad.B"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("time")
    t.add_argument("--dims", required=True, help="T,D,E,K,F,N,Kt,r")
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--steps", type=int, default=30)
    t.add_argument("--warmup", type=int, default=3)
    t.add_argument("--seed", type=int, default=1)
    g = sub.add_parser("gradcheck")
    g.add_argument("--dims", required=True, help="T,D,E,K,F,N,Kt,r")
    g.add_argument("--prog", required=True, help="the executable perftc built from the same program and -D sizes")
    g.add_argument("--dir", required=True, help="where W/X/out.safetensors are written")
    g.add_argument("--seed", type=int, default=7)
    g.add_argument("--tol", type=float, default=1e-4)
    args = parser.parse_args()
    sys.exit(cmd_time(args) if args.cmd == "time" else cmd_gradcheck(args))


if __name__ == "__main__":
    main()
