#!/usr/bin/env python3
"""check_hf.py PERFTC WORK_DIR: the compiled OLMoE and Mixtral programs equal Hugging Face's.

For each family, builds a tiny model with transformers 4.46.3 (random weights, 2 layers, every
weight drawn again with a larger spread so that routing and attention are far from uniform),
saves it sharded (model.safetensors.index.json + several shards), compiles
tests/hf/{olmoe,mixtral}_all.perft with --config from that folder (every parameter trainable, no
adapter, `pool load_balance`), runs `--dump --base FOLDER`, and checks against transformers' f32
forward and backward on the same tokens and labels (some masked with -100):
  - the logits, the loss (cross-entropy + router_aux_loss_coef x load_balancing_loss_func),
    and the gradient of every parameter (experts one by one), relative error <= 1e-4;
then compiles examples/{olmoe,mixtral}_perft_r.perft (PERFT-R, `names hf`), runs it on the same
folder with its adapters' B = 0 and checks that its logits equal transformers' too.

Makes (or reuses) a virtual environment WORK_DIR/venv over the system site-packages (Debian's
python3-torch) with transformers==4.46.3 from PyPI.
"""
import copy
import json
import os
import subprocess
import sys
import time

TRANSFORMERS_VERSION = "4.46.3"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TOLERANCE = 1e-4
SEQ, BATCH = 16, 2


def venv_python(work):
    venv = os.path.join(work, "venv")
    python = os.path.join(venv, "bin", "python")
    probe = [python, "-c", "import torch, transformers, sys; sys.exit(transformers.__version__ != %r or "
             "not torch.__file__.startswith('/usr/lib/python3/'))" % TRANSFORMERS_VERSION]  # Debian's torch
    if os.path.exists(python) and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    system_python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    created = subprocess.run([system_python, "-m", "venv", "--system-site-packages", venv], capture_output=True,
                             text=True)
    if created.returncode != 0:
        sys.exit("FAIL: cannot make a virtual environment (apt-get install python3-venv):\n" + created.stderr)
    started = time.time()
    command = [python, "-m", "pip", "install", "--disable-pip-version-check", "--quiet", "--timeout", "30",
               "transformers==" + TRANSFORMERS_VERSION]
    installed = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if installed.returncode != 0 or subprocess.run(probe, capture_output=True).returncode != 0:
        sys.exit("FAIL: cannot install transformers==%s over Debian's python3-torch into %s:\n%s"
                 % (TRANSFORMERS_VERSION, venv, installed.stderr[-3000:]))
    print("installed transformers==%s into %s in %.1f s" % (TRANSFORMERS_VERSION, venv, time.time() - started))
    return python


def run(command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit("FAIL: %s exited %d:\n%s%s" % (" ".join(command), result.returncode, result.stdout, result.stderr))
    return result.stdout


# ---- inside the virtual environment ----

def our_name(family, hf_name):
    """(program name, expert or None) of a Hugging Face parameter: written here from the
    published module names, independently of the `names hf` maps of dsl/lib."""
    parts = hf_name.split(".")
    if hf_name == "lm_head.weight":
        return "lm_head", None
    if hf_name == "model.embed_tokens.weight":
        return "embed_tokens", None
    if hf_name == "model.norm.weight":
        return "norm", None
    layer = parts[2]
    rest = parts[3:-1]
    attention = "olmoe_attention" if family == "olmoe" else "mixtral_attention"
    if rest[0] in ("input_layernorm", "post_attention_layernorm"):
        return "layers.%s.%s" % (layer, rest[0]), None
    if rest[0] == "self_attn":
        return "layers.%s.%s.%s" % (layer, attention, rest[1]), None
    if rest[1] == "gate":
        return "layers.%s.moe.router" % layer, None
    which = {"gate_proj": "w1", "up_proj": "w3", "down_proj": "w2", "w1": "w1", "w2": "w2", "w3": "w3"}[rest[3]]
    return "layers.%s.moe.experts.%s" % (layer, which), int(rest[2])


def relative_error(ours, theirs):
    import torch
    scale = float(theirs.abs().max())
    return float((ours - theirs).abs().max()) / (scale if scale > 0 else 1.0)


def check_family(family, perftc, work):
    import torch
    from safetensors.torch import load_file, save_file
    import transformers
    torch.manual_seed(7 if family == "olmoe" else 11)
    common = dict(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                  max_position_embeddings=64, rms_norm_eps=1e-5, tie_word_embeddings=False,
                  output_router_logits=True, attn_implementation="eager")
    if family == "olmoe":
        config = transformers.OlmoeConfig(num_key_value_heads=4, num_experts=8, num_experts_per_tok=2,
                                          rope_theta=10000.0, norm_topk_prob=False, router_aux_loss_coef=0.01,
                                          **common)
        model = transformers.OlmoeForCausalLM(config)
        coefficient = 0.01
    else:
        config = transformers.MixtralConfig(num_key_value_heads=2, num_local_experts=8, num_experts_per_tok=2,
                                            rope_theta=1000000.0, router_aux_loss_coef=0.02, sliding_window=None,
                                            **common)
        model = transformers.MixtralForCausalLM(config)
        coefficient = 0.02
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1:
                p.copy_(1 + 0.2 * torch.randn_like(p))       # norms
            else:
                p.copy_(torch.randn_like(p) * (0.5 / p.shape[-1] ** 0.5 if "gate.weight" not in name else 0.3))
            p.copy_(p.to(torch.bfloat16).to(torch.float32))  # bf16 values, as a published checkpoint holds
    model.eval()  # no dropout; attention dropout is 0 anyway
    folder = os.path.join(work, family)
    # saved in bf16 from a copy (converting the model itself would round its rotary inv_freq too);
    # transformers computes in f32 on the same, bf16-exact, values
    copy.deepcopy(model).to(torch.bfloat16).save_pretrained(folder, max_shard_size="20KB", safe_serialization=True)
    index = os.path.join(folder, "model.safetensors.index.json")
    shards = sorted(set(json.load(open(index))["weight_map"].values()))
    with open(os.path.join(folder, shards[0]), "rb") as f:  # a published checkpoint's dtype
        assert b'"BF16"' in f.read(4096), "expected BF16 tensors in the checkpoint"
    assert len(shards) > 1, "expected a sharded checkpoint"

    tokens = torch.randint(0, 64, (BATCH, SEQ))
    hf_labels = tokens.clone()
    hf_labels[0, 3:6] = -100                                 # a masked prompt, HF style
    hf_labels[1, -2:] = -100
    ours_labels = torch.full_like(hf_labels, -100)           # ours: the next token's label at each position
    ours_labels[:, :-1] = hf_labels[:, 1:]
    inputs = os.path.join(work, family + "_inputs.safetensors")
    save_file({"tokens": tokens.to(torch.int32).contiguous(),            # [batch, sequence]
               "labels": ours_labels.to(torch.int32).contiguous()}, inputs)

    out = model(input_ids=tokens, labels=hf_labels)
    out.loss.backward()
    hf_logits = out.logits.detach().reshape(BATCH * SEQ, -1)
    router_logits = out.router_logits
    aux = transformers.models.mixtral.modeling_mixtral.load_balancing_loss_func(
        router_logits, config.num_local_experts if family == "mixtral" else config.num_experts, 2, None)

    program = os.path.join(HERE, family + "_all.perft")
    exe = os.path.join(work, family + "_all")
    run([perftc, program, "--config", os.path.join(folder, "config.json"), "-o", exe])
    dump = os.path.join(work, family + "_all_dump.safetensors")
    run([exe, "--dump", dump, "--inputs", inputs, "--base", folder])
    ours = load_file(dump)
    failures = []

    def compare(what, mine, theirs):
        error = relative_error(mine.double(), theirs.double())
        status = "ok" if error <= TOLERANCE else "FAIL"
        if error > TOLERANCE:
            failures.append(what)
        return error

    e_logits = compare("logits", ours["out.logits"], hf_logits)
    # the same weights saved in F16, in one file (model.safetensors, no index): read and widened too
    folder16 = os.path.join(work, family + "_f16")
    copy.deepcopy(model).to(torch.float16).save_pretrained(folder16, safe_serialization=True)
    dump16 = os.path.join(work, family + "_all_f16_dump.safetensors")
    run([exe, "--dump", dump16, "--inputs", inputs, "--base", folder16])
    e_f16 = compare("logits from an F16 checkpoint", load_file(dump16)["out.logits"], hf_logits)
    e_loss = compare("loss", ours["loss"].reshape(()), out.loss.detach())
    worst, worst_name, count = 0.0, "", 0
    for name, p in model.named_parameters():
        program_name, expert = our_name(family, name)
        mine = ours["grad." + program_name]
        if expert is not None:
            mine = mine[expert]
        error = compare("grad " + name, mine.reshape(p.grad.shape), p.grad)
        count += 1
        if error >= worst:
            worst, worst_name = error, name
    print("%s: %d shards; loss %.6f (transformers %.6f: cross-entropy %.6f + %.2f x load balance %.6f), "
          "relative errors: logits %.1e, loss %.1e, %d gradients at most %.1e (%s)"
          % (family, len(shards), float(ours["loss"].reshape(())), float(out.loss), float(out.loss - coefficient * aux),
             coefficient, float(aux), e_logits, e_loss, count, worst, worst_name))
    print("%s: the same weights as one F16 model.safetensors: logits relative error %.1e" % (family, e_f16))

    # PERFT-R from the example, on the same checkpoint, its frozen weights in f32 and in bf16 (exact:
    # the checkpoint's values are bf16): with B = 0 its logits are the base model's
    example = os.path.join(ROOT, "examples", family + "_perft_r.perft")
    exe_r = os.path.join(work, family + "_perft_r")
    run([perftc, example, "--config", os.path.join(folder, "config.json"), "-DSq=%d" % SEQ, "-DB=%d" % BATCH,
         "-o", exe_r])
    run([perftc, example, "--config", os.path.join(folder, "config.json"), "-DSq=%d" % SEQ, "-DB=%d" % BATCH,
         "--frozen-dtype=bf16", "-o", exe_r + "_bf16"])
    adapters = {}
    for line in run([exe_r, "--list-params"]).splitlines():
        words = line.split()
        if len(words) >= 3 and words[2] == "trainable":
            shape = [int(d) for d in words[1].split("x")]
            adapters[words[0]] = (torch.zeros(shape) if words[0].endswith(".B") else torch.randn(shape) * 0.3)
    weights = os.path.join(work, family + "_adapters.safetensors")
    save_file(adapters, weights)
    dump_r = os.path.join(work, family + "_perft_r_dump.safetensors")
    run([exe_r, "--dump", dump_r, "--inputs", inputs, "--base", folder, "--weights", weights])
    e_r = compare("PERFT-R logits", load_file(dump_r)["out.logits"], hf_logits)
    run([exe_r + "_bf16", "--dump", dump_r, "--inputs", inputs, "--base", folder, "--weights", weights])
    e_bf16 = compare("PERFT-R logits (bf16 frozen weights)", load_file(dump_r)["out.logits"], hf_logits)
    print("%s: PERFT-R example (B = 0) logits relative error %.1e; with --frozen-dtype=bf16 %.1e"
          % (family, e_r, e_bf16))
    # bf16 frozen weights holding the checkpoint's (bf16) values compute what f32 ones do, bit for bit:
    # loss, logits and every adapter gradient (adapters from their init rules, B not zero)
    dumps = []
    for suffix in ("", "_bf16"):
        dumps.append(os.path.join(work, family + "_perft_r%s_init.safetensors" % suffix))
        run([exe_r + suffix, "--dump", dumps[-1], "--inputs", inputs, "--base", folder, "--init", "--seed", "3"])
    f32, bf16 = load_file(dumps[0]), load_file(dumps[1])
    differ = [name for name in f32 if not torch.equal(f32[name], bf16[name])]
    print("%s: --frozen-dtype=bf16 against f32 frozen weights: %d tensors (loss, logits, %d gradients), %s"
          % (family, len(f32), len(f32) - 2, "all bit-identical" if not differ else "DIFFER: " + ", ".join(differ)))
    if differ:
        failures.append("bf16 frozen weights against f32: " + ", ".join(differ))
    # and they are one program on one base: adapters trained with bf16 frozen weights load into the
    # f32 program on the same checkpoint (identities hash bf16 weights as the f32 values they are)
    saved = os.path.join(work, family + "_bf16_adapters.safetensors")
    run([exe_r + "_bf16", "--base", folder, "--steps", "2", "--save", saved])
    run([exe_r, "--dump", dumps[0], "--inputs", inputs, "--base", folder, "--weights", saved])

    # a checkpoint with a tensor missing and one of the wrong shape: one error naming both
    broken = os.path.join(work, family + "_broken")
    os.makedirs(broken, exist_ok=True)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    gate = [k for k in state if k.endswith(".gate.weight")][0]
    del state["model.norm.weight"]
    state[gate] = state[gate][:, :8].contiguous()
    save_file(state, os.path.join(broken, "model.safetensors"))
    result = subprocess.run([exe, "--dump", dump, "--inputs", inputs, "--base", broken], capture_output=True, text=True)
    expected = ["'model.norm.weight' (param norm, shape [32]) is not in %s/model.safetensors" % broken,
                "'%s' (param layers.0.moe.router) in %s/model.safetensors: shape [8, 8], expected [8, 32]"
                % (gate, broken)]
    if result.returncode == 0 or any(e not in result.stderr for e in expected):
        failures.append("--base error message")
        print("unexpected --base error:\n" + result.stderr)
    else:
        print("%s: --base on a broken checkpoint: %s" % (family, result.stderr.strip().splitlines()[0]))
    return failures


def inner(perftc, work):
    failures = []
    for family in ("olmoe", "mixtral"):
        failures += ["%s: %s" % (family, f) for f in check_family(family, perftc, work)]
    if failures:
        sys.exit("FAIL: above %g: %s" % (TOLERANCE, ", ".join(failures)))
    print("transformers comparison: PASS")


def main():
    """check_hf.py PERFTC WORK_DIR: the comparison; check_hf.py PERFTC WORK_DIR --finetune PERFT_DATA:
    the short fine-tune of finetune_tiny.py (same virtual environment)."""
    if len(sys.argv) == 4 and sys.argv[3] == "--inner":
        inner(sys.argv[1], sys.argv[2])
        return
    perftc, work = (os.path.abspath(a) for a in sys.argv[1:3])
    os.makedirs(work, exist_ok=True)
    python = venv_python(work)
    if len(sys.argv) == 5 and sys.argv[3] == "--finetune":
        command = [python, os.path.join(HERE, "finetune_tiny.py"), perftc, os.path.abspath(sys.argv[4]),
                   os.path.join(work, "finetune")]
    else:
        command = [python, os.path.abspath(__file__), perftc, work, "--inner"]
    sys.exit(subprocess.run(command).returncode)


if __name__ == "__main__":
    main()
