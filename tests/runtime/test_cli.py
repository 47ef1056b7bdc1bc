#!/usr/bin/env python3
"""test_cli.py: end-to-end tests of the training executable built from fake_program.c.

usage: test_cli.py EXECUTABLE CASE      (CASE: one of the test_* names below, without "test_")
Plain python3, no numpy: safetensors files are read and written by hand. Ends with one verdict line.
"""
import json
import math
import os
import random
import signal
import struct
import subprocess
import sys
import tempfile
import time

EXE = None
T, D, C = 8, 4, 3


# ---- safetensors, by hand -------------------------------------------------------------------
def write_safetensors(path, tensors):
    """tensors: {name: (shape, [floats])} or {name: (shape, [ints], "I32")}"""
    header, offset, blobs = {}, 0, []
    for name, entry in tensors.items():
        shape, values = entry[0], entry[1]
        dtype = entry[2] if len(entry) > 2 else "F32"
        blob = struct.pack("<%d%s" % (len(values), "i" if dtype == "I32" else "f"), *values)
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    body = data[8 + length :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] in ("F32", "I32"), info
        begin, end = info["data_offsets"]
        code = "i" if info["dtype"] == "I32" else "f"
        out[name] = (info["shape"], list(struct.unpack("<%d%s" % ((end - begin) // 4, code), body[begin:end])))
    return out


# ---- helpers ----------------------------------------------------------------------------------
def run(*args, check=True, exe=None, env=None):
    full_env = dict(os.environ, **(env or {}))
    result = subprocess.run([exe or EXE, *map(str, args)], capture_output=True, text=True, timeout=60,
                            env=full_env)
    if check and result.returncode != 0:
        raise AssertionError("exit %d: %s\n%s" % (result.returncode, " ".join(map(str, args)), result.stderr))
    return result


def expect_error(args, *parts, exe=None, status=None):
    result = run(*args, check=False, exe=exe)
    assert result.returncode != 0, "expected failure: %s" % (args,)
    assert status is None or result.returncode == status, "exit %d, expected %d" % (result.returncode, status)
    assert result.returncode < 128 and result.returncode > 0, "crashed: %d" % result.returncode
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, "expected one error line, got %r" % result.stderr
    for part in parts:
        assert part in lines[0], "error %r lacks %r" % (lines[0], part)
    return lines[0]


def close(a, b, tolerance=1e-5):
    return abs(a - b) <= tolerance * max(1.0, abs(b))


def step_lines(stdout):
    return [line for line in stdout.splitlines() if line.startswith("step ")]


def losses(stdout):
    return [float(line.split("loss ")[1].split()[0]) for line in step_lines(stdout)]


def random_weights(rng):
    return {
        "w": ([4, 3], [rng.gauss(0, 0.5) for _ in range(12)]),
        "b": ([3], [rng.gauss(0, 0.1) for _ in range(3)]),
        "experts": ([2, 4, 3], [rng.gauss(0, 0.3) for _ in range(24)]),
    }


def random_inputs(rng):
    return {
        "x": ([8, 4], [rng.gauss(0, 1) for _ in range(32)]),
        "target": ([8, 3], [rng.gauss(0, 1) for _ in range(24)]),
    }


# ---- cases --------------------------------------------------------------------------------------
def test_list_params(tmp):
    out = run("--list-params").stdout
    expected = "w 4x3 trainable\nb 3 frozen\nexperts 2x4x3 frozen\ninput x 8x4\ninput target 8x3\n"
    assert out == expected, "got:\n%s" % out


def test_dump_values(tmp):
    rng = random.Random(5)
    weights, inputs = random_weights(rng), random_inputs(rng)
    write_safetensors(tmp + "/w.safetensors", weights)
    write_safetensors(tmp + "/x.safetensors", inputs)
    run("--dump", tmp + "/d.safetensors", "--weights", tmp + "/w.safetensors", "--inputs", tmp + "/x.safetensors")
    dump = read_safetensors(tmp + "/d.safetensors")
    assert sorted(dump) == ["grad.w", "loss", "out.y"], sorted(dump)
    assert dump["loss"][0] == [1] and dump["out.y"][0] == [8, 3] and dump["grad.w"][0] == [4, 3]
    # reference in double precision
    w, b, e = weights["w"][1], weights["b"][1], weights["experts"][1]
    x, target = inputs["x"][1], inputs["target"][1]
    weff = [w[i] + e[i] + e[12 + i] for i in range(12)]
    y = [b[c] + sum(x[t * D + d] * weff[d * C + c] for d in range(D)) for t in range(T) for c in range(C)]
    loss = sum((y[i] - target[i]) ** 2 for i in range(24)) / 24
    dy = [2 * (y[i] - target[i]) / 24 for i in range(24)]
    grad = [sum(x[t * D + d] * dy[t * C + c] for t in range(T)) for d in range(D) for c in range(C)]
    assert close(dump["loss"][1][0], loss), (dump["loss"][1][0], loss)
    assert all(close(a, b) for a, b in zip(dump["out.y"][1], y))
    assert all(close(a, b) for a, b in zip(dump["grad.w"][1], grad))
    # --init and --seed: repeatable, and different seeds differ
    run("--dump", tmp + "/i1.safetensors", "--init", "--seed", "3", "--inputs", tmp + "/x.safetensors")
    run("--dump", tmp + "/i2.safetensors", "--seed", "3", "--inputs", tmp + "/x.safetensors")
    run("--dump", tmp + "/i3.safetensors", "--seed", "4", "--inputs", tmp + "/x.safetensors")
    a, b, c = (open(tmp + "/i%d.safetensors" % i, "rb").read() for i in (1, 2, 3))
    assert a == b and a != c


def test_dump_errors(tmp):
    rng = random.Random(6)
    weights, inputs = random_weights(rng), random_inputs(rng)
    write_safetensors(tmp + "/x.safetensors", inputs)
    partial = {"w": weights["w"]}  # b and experts missing
    write_safetensors(tmp + "/missing.safetensors", partial)
    expect_error(["--dump", tmp + "/d.safetensors", "--weights", tmp + "/missing.safetensors", "--inputs",
                  tmp + "/x.safetensors"], "'b' missing", "'experts' missing", "2 parameters")
    wrong = dict(weights)
    wrong["w"] = ([3, 4], weights["w"][1])
    write_safetensors(tmp + "/wrong.safetensors", wrong)
    expect_error(["--dump", tmp + "/d.safetensors", "--weights", tmp + "/wrong.safetensors", "--inputs",
                  tmp + "/x.safetensors"], "'w' shape mismatch: expected [4x3], found [3x4]")
    write_safetensors(tmp + "/w.safetensors", weights)
    bad_inputs = {"x": ([8, 5], [0.0] * 40)}
    write_safetensors(tmp + "/badx.safetensors", bad_inputs)
    expect_error(["--dump", tmp + "/d.safetensors", "--weights", tmp + "/w.safetensors", "--inputs",
                  tmp + "/badx.safetensors"], "'x' shape mismatch: expected [8x4], found [8x5]",
                 "'target' missing")
    assert not os.path.exists(tmp + "/d.safetensors")
    with open(tmp + "/garbage.safetensors", "wb") as f:
        f.write(b"\x05\x00\x00\x00\x00\x00\x00\x00{\"a\":")
    expect_error(["--dump", tmp + "/d.safetensors", "--weights", tmp + "/garbage.safetensors", "--inputs",
                  tmp + "/x.safetensors"], "garbage.safetensors")
    expect_error(["--dump", tmp + "/d.safetensors", "--weights", tmp + "/nope.safetensors", "--inputs",
                  tmp + "/x.safetensors"], "nope.safetensors")


def test_bad_command_lines(tmp):
    for args, part in [
        (["--steps"], "--steps needs a value"),
        (["--steps", "abc"], "--steps expects an integer"),
        (["--steps", "0"], "--steps expects an integer >= 1"),
        (["--lr", "-1"], "--lr expects a number >= 0"),
        (["--lr", "nan"], "--lr expects a number >= 0"),
        (["--seed", "-3"], "--seed"),
        (["--bogus"], "unknown option '--bogus'"),
        (["stray"], "unexpected argument 'stray'"),
        (["--list-params", "--steps", "3"], "--list-params takes no other options"),
        (["--dump", tmp + "/d.safetensors"], "--dump needs --inputs"),
        (["--dump", tmp + "/d", "--inputs", "x", "--steps", "3"], "--steps is a training option"),
        (["--inputs", "x"], "--inputs is only used with --dump"),
        (["--save-every", "3"], "--save-every needs --save"),
        (["--init=3"], "--init takes no value"),
        (["--weights", tmp + "/absent.safetensors", "--steps", "1"], "absent.safetensors"),
        (["--metrics", tmp + "/no/dir/m.jsonl", "--steps", "1"], "metrics"),
    ]:
        expect_error(args, part)
    assert "usage:" in run("--help").stdout
    assert run("--steps=2", "--lr=0.01").returncode == 0


def test_training_teacher(tmp):
    # --save-every: checkpoints inside the loop; fake_program aborts if the loop allocates.
    result = run("--lr", "0.03", "--seed", "7", "--metrics", tmp + "/m.jsonl", "--save", tmp + "/a.safetensors",
                 "--save-every", "7")
    out = result.stdout
    for key in ("parameters", "trainable (", "workspace", "arena", "steps", "lr 0.03", "seed", "teacher"):
        assert key in out, "configuration table lacks %r" % key
    lines = step_lines(out)
    assert len(lines) == 300, len(lines)
    fields = lines[0].split()
    assert fields[0] == "step" and fields[1] == "1/300" and fields[2] == "loss" and fields[4] == "gnorm"
    assert fields[6] == "lr" and fields[8] == "ms" and fields[10] == "tok/s", lines[0]
    values = losses(out)
    assert values[-1] < 0.1 * values[0], "loss %g -> %g" % (values[0], values[-1])
    assert "done:" in out.splitlines()[-1]
    records = [json.loads(line) for line in open(tmp + "/m.jsonl")]
    metrics = [record for record in records if not record.get("eval")]
    evals = [record for record in records if record.get("eval")]
    assert len(evals) == 1 and evals[0]["step"] == 300 and evals[0]["acc"] is None, evals
    assert records[-1] is evals[0], "the final evaluation is the last metrics line"
    assert len(metrics) == 300 and metrics[0]["step"] == 1 and metrics[-1]["step"] == 300
    assert close(metrics[0]["loss"], values[0], 1e-5)
    for key in ("gnorm", "lr", "ms", "tok_s"):
        assert key in metrics[0]
    assert metrics[0]["lr"] < metrics[19]["lr"] and metrics[299]["lr"] < metrics[100]["lr"]
    saved = read_safetensors(tmp + "/a.safetensors")
    assert list(saved) == ["w"] and saved["w"][0] == [4, 3]
    # the saved adapter loads back as weights (trainable params from the file, frozen ones init)
    run("--steps", "1", "--seed", "7", "--weights", tmp + "/a.safetensors", check=False)
    print("loss %.6f -> %.6f" % (values[0], values[-1]))


def test_seed_repeatable(tmp):
    def train(seed, name):
        out = run("--steps", "40", "--seed", seed, "--save", tmp + "/" + name).stdout
        return [" ".join(line.split()[:8]) for line in step_lines(out)], open(tmp + "/" + name, "rb").read()
    a_lines, a_bytes = train(11, "a.safetensors")
    b_lines, b_bytes = train(11, "b.safetensors")
    c_lines, c_bytes = train(12, "c.safetensors")
    assert a_lines == b_lines and a_bytes == b_bytes, "same seed, different runs"
    assert a_lines != c_lines and a_bytes != c_bytes, "different seeds, same run"


def test_save_every_kill(tmp):
    """Kill a run that checkpoints every step at random moments: the checkpoint is always whole."""
    path = tmp + "/ckpt.safetensors"
    rng = random.Random(1)
    for attempt in range(8):
        process = subprocess.Popen([EXE, "--steps", "100000", "--save", path, "--save-every", "1"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.05 + rng.random() * 0.2)
        process.send_signal(signal.SIGKILL)
        process.wait()
        if os.path.exists(path):
            saved = read_safetensors(path)
            assert list(saved) == ["w"] and saved["w"][0] == [4, 3] and len(saved["w"][1]) == 12
    assert os.path.exists(path), "no checkpoint was ever written"


# ---- token models (token_program.c: tokens [16] range 11, labels [16], seed, classify) --------
V = 11


def token_exe(variant):
    """The token_program builds live next to runtime_fake_program."""
    return os.path.join(os.path.dirname(EXE), "runtime_token_" + variant)


def mix64(z):
    mask = (1 << 64) - 1
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return z ^ (z >> 31)


def held_out(a, b):
    """docs/ABI.md: mix64((a << 32) | b) % 5 == 0."""
    return mix64((a << 32) | (b & 0xFFFFFFFF)) % 5 == 0


def read_log(path):
    """PERFT_FAKE_LOG lines -> [(kind, seed, tokens, other, labels)]"""
    calls = []
    for line in open(path):
        head, tokens, other, labels = line.split(";")
        kind, seed = head.split()
        calls.append((kind, int(seed), [int(v) for v in tokens.split()], [int(v) for v in other.split()],
                      [int(v) for v in labels.split()]))
    return calls


def eval_lines(stdout):
    return [line for line in stdout.splitlines() if line.startswith("eval step ")]


def done_fields(stdout):
    """done: ... eval loss L acc A ... -> (L, A)"""
    line = stdout.splitlines()[-1]
    assert line.startswith("done: "), line
    loss = float(line.split("eval loss ")[1].split()[0].rstrip(","))
    accuracy = float(line.split(" acc ")[1].split()[0].rstrip(","))
    return loss, accuracy


def test_token_task_data(tmp):
    """Tokens in range, labels follow the rule, seed nonzero and fresh in training, 0 in eval."""
    log = tmp + "/calls.log"
    out = run("--task", "affine:3:1", "--steps", "30", "--eval-every", "10", "--eval-batches", "2",
              "--metrics", tmp + "/m.jsonl", exe=token_exe("base"), env={"PERFT_FAKE_LOG": log}).stdout
    calls = read_log(log)
    train = [c for c in calls if c[0] == "train"]
    evals = [c for c in calls if c[0] == "eval"]
    assert len(train) == 30 and len(evals) == 3 * 2, (len(train), len(evals))
    assert all(seed != 0 for _, seed, _, _, _ in train), "a training step got seed 0"
    assert len({seed for _, seed, _, _, _ in train}) == 30, "training seeds repeat"
    assert all(seed == 0 for _, seed, _, _, _ in evals), "an evaluation got a nonzero seed"
    for _, _, tokens, _, labels in calls:
        assert all(0 <= a < V for a in tokens) and len(tokens) == 16
        assert labels == [(3 * a + 1) % V for a in tokens], (tokens, labels)
    assert [line.split()[2] for line in eval_lines(out)] == ["10", "20", "30"], eval_lines(out)
    records = [json.loads(line) for line in open(tmp + "/m.jsonl")]
    assert [r["step"] for r in records if r.get("eval")] == [10, 20, 30]
    assert all(0 <= r["acc"] <= 1 for r in records if r.get("eval"))
    assert "task affine:3:1" in out and "adapter parameters 0" in out
    # evaluation batches are the same at every evaluation of a run (re-seeded eval stream)
    assert evals[0][2] == evals[2][2] == evals[4][2]
    # default task: affine:1:0 (label = token)
    os.unlink(log)
    run("--steps", "3", exe=token_exe("base"), env={"PERFT_FAKE_LOG": log})
    for _, _, tokens, _, labels in read_log(log):
        assert labels == tokens
    # the same seed gives the same step seeds
    os.unlink(log)
    run("--task", "affine:3:1", "--steps", "30", exe=token_exe("base"), env={"PERFT_FAKE_LOG": log})
    assert [c[1] for c in read_log(log) if c[0] == "train"] == [c[1] for c in train]


def test_token_held_out_split(tmp):
    """Two token inputs: no held-out pair is ever trained on; evaluation draws only held-out pairs."""
    log = tmp + "/calls.log"
    out = run("--task", "add:4", "--steps", "200", "--eval-every", "50", "--eval-batches", "16",
              exe=token_exe("pair"), env={"PERFT_FAKE_LOG": log}).stdout
    expected_held = sum(held_out(a, b) for a in range(V) for b in range(V))
    assert "held-out split: %d of 121" % expected_held in out, out
    calls = read_log(log)
    train_pairs = [(a, b) for kind, _, ts, os_, _ in calls if kind == "train" for a, b in zip(ts, os_)]
    eval_pairs = [(a, b) for kind, _, ts, os_, _ in calls if kind == "eval" for a, b in zip(ts, os_)]
    assert len(train_pairs) == 200 * 16 and len(eval_pairs) == 4 * 16 * 16
    leaked = [p for p in train_pairs if held_out(*p)]
    assert not leaked, "held-out pairs drawn for training: %r" % leaked[:5]
    assert all(held_out(*p) for p in eval_pairs), "evaluation drew a training pair"
    assert len(set(train_pairs)) == 121 - expected_held, "training does not cover every kept pair"
    assert len(set(eval_pairs)) == expected_held, "evaluation does not cover every held-out pair"
    for _, _, tokens, other, labels in calls:
        assert labels == [(a + b + 4) % V for a, b in zip(tokens, other)]
    print("held out %d of 121 pairs; %d training and %d evaluation draws checked"
          % (expected_held, len(train_pairs), len(eval_pairs)))


def test_token_accuracy(tmp):
    """Training the stand-in on affine:3:1 reaches held-out accuracy > 0.9."""
    out = run("--task", "affine:3:1", "--lr", "0.05", "--steps", "300", "--metrics", tmp + "/m.jsonl",
              exe=token_exe("base")).stdout
    loss, accuracy = done_fields(out)
    assert accuracy > 0.9, out.splitlines()[-1]
    final = [json.loads(line) for line in open(tmp + "/m.jsonl")][-1]
    assert final == {"eval": True, "step": 300, "loss": final["loss"], "acc": final["acc"]}, final
    assert close(final["acc"], accuracy, 1e-3) and close(final["loss"], loss, 1e-4)
    eval_line = eval_lines(out)[-1].split()
    assert eval_line[:3] == ["eval", "step", "300"] and eval_line[3] == "loss" and eval_line[5] == "acc"
    print(out.splitlines()[-1])


def test_token_eval_only(tmp):
    exe = token_exe("base")
    run("--task", "affine:3:1", "--lr", "0.05", "--steps", "300", "--save-all", tmp + "/base.safetensors",
        exe=exe)
    out = run("--eval-only", "--weights", tmp + "/base.safetensors", "--task", "affine:3:1",
              "--metrics", tmp + "/m.jsonl", exe=exe).stdout
    lines = out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("eval step 0  loss ") and "  acc " in lines[0], out
    assert float(lines[0].split()[-1]) > 0.9, lines[0]
    record = json.loads(open(tmp + "/m.jsonl").read())
    assert record["eval"] is True and record["step"] == 0 and record["acc"] > 0.9
    # an untrained model is near chance
    chance = float(run("--eval-only", "--init", "--task", "affine:3:1", exe=exe).stdout.split()[-1])
    assert chance < 0.6, chance
    expect_error(["--eval-only", "--steps", "3"], "--steps is a training option", exe=exe, status=2)
    expect_error(["--eval-only", "--save", tmp + "/x"], "--save", exe=exe, status=2)
    expect_error(["--task", "mul:3"], "--task 'mul:3'", exe=exe, status=2)
    expect_error(["--task", "add:1", "--steps", "1"], "two ranged i32 token inputs", exe=exe)
    expect_error(["--task", "affine:1:0", "--steps", "1"], "without a teacher")  # the f32 teacher program
    assert run("--eval-only", "--init", exe=token_exe("adapter")).returncode == 0


def test_init_with_weights(tmp):
    """--init with --weights: what the files hold is loaded, the rest keeps its init rule and is named;
    without --init a frozen param the files lack is an error."""
    base, adapter = token_exe("base"), token_exe("adapter")
    run("--task", "affine:1:0", "--steps", "5", "--save-all", tmp + "/b.safetensors", exe=base)
    out = run("--eval-only", "--weights", tmp + "/b.safetensors", "--init", exe=adapter).stdout
    assert "--init: not in the weights, initialised by their rule: lora.A, lora.B" in out, out
    partial = read_safetensors(tmp + "/b.safetensors")
    del partial["head"]
    write_safetensors(tmp + "/p.safetensors", partial)
    expect_error(["--eval-only", "--weights", tmp + "/p.safetensors"], "'head' missing", exe=adapter)
    out = run("--eval-only", "--weights", tmp + "/p.safetensors", "--init", exe=adapter).stdout
    assert "initialised by their rule: head, lora.A, lora.B" in out, out


def test_token_weights(tmp):
    """Pretrain (every param) -> --save-all; fine-tune a bigger program with adapters on top."""
    base, adapter = token_exe("base"), token_exe("adapter")
    out = run("--task", "affine:1:0", "--lr", "0.05", "--steps", "200", "--save-all", tmp + "/base.safetensors",
              "--save", tmp + "/trainable.safetensors", exe=base).stdout
    assert out.splitlines()[-1].endswith(", saved %s/trainable.safetensors, saved all %s/base.safetensors"
                                         % (tmp, tmp)), out.splitlines()[-1]
    saved = read_safetensors(tmp + "/base.safetensors")
    assert list(saved) == ["embed", "head"] and saved["embed"][0] == [11, 8] and saved["head"][0] == [8, 11]
    # a file with an extra tensor the fine-tuning program does not know: ignored
    extra = dict(saved)
    extra["unknown.tensor"] = ([3], [1.0, 2.0, 3.0])
    write_safetensors(tmp + "/extra.safetensors", extra)
    # adapters start at B = 0: the fine-tuning program computes the base model exactly
    base_eval = run("--eval-only", "--weights", tmp + "/base.safetensors", exe=base).stdout
    adapter_eval = run("--eval-only", "--weights", tmp + "/extra.safetensors", exe=adapter).stdout
    assert base_eval == adapter_eval, (base_eval, adapter_eval)
    out = run("--weights", tmp + "/extra.safetensors", "--task", "affine:3:1", "--lr", "0.05", "--steps", "300",
              "--save", tmp + "/adapters.safetensors", "--save-all", tmp + "/all.safetensors",
              "--metrics", tmp + "/m.jsonl", exe=adapter).stdout
    assert "adapter parameters 76 (43.18% of base)" in out, out
    _, accuracy = done_fields(out)
    adapters = read_safetensors(tmp + "/adapters.safetensors")
    assert list(adapters) == ["lora.A", "lora.B"], list(adapters)
    everything = read_safetensors(tmp + "/all.safetensors")
    assert list(everything) == ["embed", "head", "lora.A", "lora.B"], list(everything)
    assert everything["embed"] == saved["embed"] and everything["head"] == saved["head"], "frozen params moved"
    assert everything["lora.A"] == adapters["lora.A"] and everything["lora.B"] == adapters["lora.B"]
    # base + adapters (two --weights files) and --save-all evaluate the same
    two = run("--eval-only", "--weights", tmp + "/base.safetensors", "--weights", tmp + "/adapters.safetensors",
              "--task", "affine:3:1", exe=adapter).stdout
    one = run("--eval-only", "--weights", tmp + "/all.safetensors", "--task", "affine:3:1", exe=adapter).stdout
    assert one == two and close(float(one.split()[-1]), accuracy, 1e-4), (one, two, accuracy)
    # frozen params must be present
    expect_error(["--weights", tmp + "/adapters.safetensors", "--steps", "1"], "'embed' missing",
                 "'head' missing", "2 parameters", exe=adapter)
    print("fine-tuned adapters: accuracy %.4f" % accuracy)


def test_token_dump_i32(tmp):
    """--dump reads I32 inputs; the seed input may be absent; dtype and range are checked."""
    exe = token_exe("base")
    rng = random.Random(3)
    embed = [rng.gauss(0, 1) for _ in range(V * 8)]
    head = [rng.gauss(0, 0.3) for _ in range(8 * V)]
    tokens = [rng.randrange(V) for _ in range(16)]
    labels = [rng.randrange(V) for _ in range(16)]
    write_safetensors(tmp + "/w.safetensors", {"embed": ([V, 8], embed), "head": ([8, V], head)})
    write_safetensors(tmp + "/x.safetensors", {"tokens": ([16], tokens, "I32"), "labels": ([16], labels, "I32")})
    log = tmp + "/calls.log"
    run("--dump", tmp + "/d.safetensors", "--weights", tmp + "/w.safetensors", "--inputs", tmp + "/x.safetensors",
        exe=exe, env={"PERFT_FAKE_LOG": log})
    assert read_log(log)[0][1] == 0, "--dump must write seed 0"
    dump = read_safetensors(tmp + "/d.safetensors")
    total = 0.0
    for t in range(16):
        row = [sum(embed[tokens[t] * 8 + h] * head[h * V + v] for h in range(8)) for v in range(V)]
        top = max(row)
        total += math.log(sum(math.exp(x - top) for x in row)) + top - row[labels[t]]
    assert close(dump["loss"][1][0], total / 16, 1e-5), (dump["loss"][1][0], total / 16)
    assert sorted(dump) == ["grad.embed", "grad.head", "loss", "out.logits"]
    write_safetensors(tmp + "/f.safetensors", {"tokens": ([16], [float(t) for t in tokens]),
                                               "labels": ([16], labels, "I32")})
    expect_error(["--dump", tmp + "/d.safetensors", "--inputs", tmp + "/f.safetensors"],
                 "'tokens' has dtype F32, expected I32", exe=exe)
    write_safetensors(tmp + "/r.safetensors", {"tokens": ([16], [11] + tokens[1:], "I32"),
                                               "labels": ([16], labels, "I32")})
    expect_error(["--dump", tmp + "/d.safetensors", "--inputs", tmp + "/r.safetensors"],
                 "'tokens' holds 11 at element 0, outside its range [0, 11)", exe=exe)


def test_token_list_params(tmp):
    out = run("--list-params", exe=token_exe("adapter")).stdout
    # unchanged format (docs/ABI.md): no element types, no `adapter` word
    expected = ("embed 11x8 frozen\nhead 8x11 frozen\nlora.A 8x4 trainable\nlora.B 4x11 trainable\n"
                "input tokens 16\ninput labels 16\ninput seed 1\n")
    assert out == expected, "got:\n%s" % out


# ---- outputs, checkpoints and resume (issue 9) ------------------------------------------------
def expect_refused_before_work(args, *parts):
    """An output problem is found at start-up: one error line, exit 1, no step ever ran."""
    result = run(*args, check=False)
    assert result.returncode == 1, "exit %d for %s: %s" % (result.returncode, args, result.stderr)
    assert not step_lines(result.stdout), "trained before refusing: %s" % (args,)
    line = result.stderr.strip()
    for part in parts:
        assert part in line, "error %r lacks %r" % (line, part)


def test_output_paths(tmp):
    target = tmp + "/real.safetensors"
    open(target, "w").write("old")
    os.symlink(target, tmp + "/link.safetensors")
    run("--steps", "3", "--save", tmp + "/link.safetensors")
    assert os.path.islink(tmp + "/link.safetensors"), "the symlink was replaced"
    assert list(read_safetensors(target)) == ["w"], "the symlink's target was not written"
    os.symlink(tmp + "/missing", tmp + "/dangling")
    expect_refused_before_work(["--steps", "3", "--save", tmp + "/dangling"], "a symlink to a missing file")
    os.mkfifo(tmp + "/fifo")
    expect_refused_before_work(["--steps", "3", "--save", tmp + "/fifo"], "a FIFO", "regular files")
    expect_refused_before_work(["--steps", "3", "--save-all", tmp], "a directory")
    expect_refused_before_work(["--steps", "3", "--save", "/dev/null"], "a character device")
    expect_refused_before_work(["--steps", "3", "--save", tmp + "/no/such/dir/a.safetensors"], "does not exist")
    expect_refused_before_work(["--steps", "3", "--save", "/proc/perft.safetensors"], "cannot create a file in")
    expect_refused_before_work(["--steps", "3", "--metrics", tmp + "/fifo"], "no reader")
    expect_refused_before_work(["--steps", "3", "--checkpoint-dir", target], "not a directory")
    expect_refused_before_work(["--dump", tmp, "--init", "--inputs", target], "--dump", "a directory")
    run("--steps", "3", "--metrics", "/dev/null")
    os.symlink("/dev/null", tmp + "/to_device")
    expect_refused_before_work(["--steps", "3", "--save", tmp + "/to_device"], "a symlink to a character device")
    assert sorted(os.listdir(tmp)) == ["dangling", "fifo", "link.safetensors", "real.safetensors", "to_device"], \
        "files left behind: %s" % os.listdir(tmp)


def metrics_lines(path, from_step=0):
    """The metrics file without timings, from step `from_step` on."""
    out = []
    for line in open(path):
        record = json.loads(line)
        record.pop("ms", None)
        record.pop("tok_s", None)
        if record["step"] >= from_step:
            out.append(record)
    return out


def test_resume(tmp):
    common = ["--steps", "30", "--lr", "0.05", "--warmup", "5", "--eval-every", "10"]
    run(*common, "--checkpoint-dir", tmp + "/ref", "--checkpoint-every", "4", "--keep", "64",
        "--metrics", tmp + "/ref.jsonl", "--save", tmp + "/ref.safetensors")
    names = sorted(os.listdir(tmp + "/ref"))
    assert names == ["step-%09d.safetensors" % s for s in (4, 8, 12, 16, 20, 24, 28, 30)], names
    saved = read_safetensors(tmp + "/ref/step-000000012.safetensors")
    assert sorted(saved) == ["adam_m.w", "adam_v.w", "w"], sorted(saved)
    # continue from step 12 in a copy: the rest of the run is the same, bit for bit
    os.mkdir(tmp + "/part")
    with open(tmp + "/ref/step-000000012.safetensors", "rb") as source:
        open(tmp + "/part/step-000000012.safetensors", "wb").write(source.read())
    out = run("--resume", tmp + "/part", "--metrics", tmp + "/part.jsonl", "--save", tmp + "/part.safetensors",
              "--keep", "3").stdout
    assert "resume: " + tmp + "/part/step-000000012.safetensors, after step 12 of 30" in out, out
    assert "resumed after step 12" in out, out
    assert metrics_lines(tmp + "/part.jsonl") == metrics_lines(tmp + "/ref.jsonl", 13), "metrics differ"
    assert open(tmp + "/part.safetensors", "rb").read() == open(tmp + "/ref.safetensors", "rb").read()
    assert sorted(os.listdir(tmp + "/part")) == ["step-%09d.safetensors" % s for s in (24, 28, 30)], \
        "--keep 3 did not prune: %s" % os.listdir(tmp + "/part")
    # a resumed run keeps its options; wrong directories are errors
    expect_error(["--resume", tmp + "/part", "--lr", "0.1"], "--lr 0.1 differs from the run being resumed (0.05")
    expect_error(["--resume", tmp + "/part", "--steps", "40"], "--steps 40 differs")
    os.mkdir(tmp + "/empty")
    expect_error(["--resume", tmp + "/empty"], "no checkpoint there")
    expect_error(["--steps", "3", "--checkpoint-dir", tmp + "/ref"], "already holds checkpoints", "--resume")
    expect_error(["--keep", "2"], "--keep needs --checkpoint-dir", status=2)
    expect_error(["--checkpoint-dir", tmp + "/x", "--keep", "65"], "--keep expects an integer from 1 to 64", status=2)
    write_safetensors(tmp + "/other_base.safetensors", random_weights(random.Random(5)))
    expect_error(["--resume", tmp + "/part", "--weights", tmp + "/other_base.safetensors"],
                 "was trained on other base weights")
    # another program cannot resume it
    expect_error(["--resume", tmp + "/part"], "a checkpoint of another program", exe=token_exe("adapter"))
    # nor does a file that is not a checkpoint pass for one
    os.mkdir(tmp + "/adapters_only")
    with open(tmp + "/ref.safetensors", "rb") as source:
        open(tmp + "/adapters_only/step-000000001.safetensors", "wb").write(source.read())
    expect_error(["--resume", tmp + "/adapters_only"], "not a perft checkpoint (perft.kind is 'adapters')")
    # paths of any characters and two --weights files are recorded, escaped, and adopted
    odd = tmp + '/métriques "q" \\.jsonl'
    write_safetensors(tmp + "/w1.safetensors", random_weights(random.Random(7)))
    write_safetensors(tmp + "/w2.safetensors", random_weights(random.Random(8)))
    run("--steps", "6", "--weights", tmp + "/w1.safetensors", "--weights", tmp + "/w2.safetensors",
        "--checkpoint-dir", tmp + "/odd", "--checkpoint-every", "3", "--metrics", odd)
    os.remove(tmp + "/odd/step-000000006.safetensors")
    out = run("--resume", tmp + "/odd").stdout
    assert "after step 3 of 6" in out, out
    assert "weights       %s/w2.safetensors (overrides the files before it)" % tmp in out, out
    assert len(open(odd, encoding="utf-8").readlines()) == 7, "6 step lines and the evaluation's"


def test_adapter_identity(tmp):
    run("--steps", "3", "--seed", "1", "--save", tmp + "/a.safetensors")
    run("--eval-only", "--weights", tmp + "/a.safetensors", "--init", "--seed", "1")
    expect_error(["--eval-only", "--weights", tmp + "/a.safetensors", "--init", "--seed", "2"],
                 tmp + "/a.safetensors holds adapters trained on other base weights")
    expect_error(["--eval-only", "--weights", tmp + "/a.safetensors", "--init"],
                 "holds the adapters of another program", exe=token_exe("adapter"))


def test_progress(tmp):
    out = run("--steps", "5", env={"PERFT_PROGRESS": "bar"}).stdout
    assert "ETA" in out and "\033[K" in out and "step 1/5" not in out, out  # (text mode reads \r as \n)
    assert "[########################] 5/5 100%" in out, out
    out = run("--steps", "5", "--metrics", tmp + "/m.jsonl").stdout
    assert len(step_lines(out)) == 5, out
    summary = out[out.index("summary"):]
    for part in ("steps         5", "tokens        40 (8 per step)", "validation    final", "best",
                 "adapters      - (no --save)", "metrics       " + tmp + "/m.jsonl"):
        assert part in summary, "summary lacks %r:\n%s" % (part, summary)


def write_token_file(path, rows, length, bad_token_at=None):
    """A token file as perft-data writes it: tokens [rows, length], labels = (token + 1) mod V, the
    first two positions of each row -100 (a prompt)."""
    rng = random.Random(rows * 31 + length)
    tokens = [rng.randrange(V) for _ in range(rows * length)]
    labels = [-100 if i % length < 2 else (tokens[i] + 1) % V for i in range(rows * length)]
    if bad_token_at is not None:
        tokens[bad_token_at] = V
    write_safetensors(path, {"tokens": ([rows, length], tokens, "I32"), "labels": ([rows, length], labels, "I32")})


def test_token_data(tmp):
    """--data: rows of a token file as the tokens and labels; held-out rows for evaluation; exact resume."""
    write_token_file(tmp + "/train.safetensors", 40, 8)
    exe = token_exe("base")
    out = run("--data", tmp + "/train.safetensors", "--steps", "200", "--lr", "0.05", "--eval-every", "100",
              exe=exe, env={"PERFT_FAKE_LOG": tmp + "/log"}).stdout
    assert "40 rows of 8 tokens, 2 a step, drawn at random; every 20th row held out for evaluation" in out, out
    values = losses(out)
    assert values[-1] < 0.5 * values[0], "loss %g -> %g" % (values[0], values[-1])
    _, accuracy = done_fields(out)
    assert accuracy > 0.9, "accuracy %g" % accuracy  # label = token + 1: learnable, prompt positions left out
    # every training call saw rows of the file, never a held-out row (19 and 39)
    rows = {}
    saved = read_safetensors(tmp + "/train.safetensors")
    for r in range(40):
        rows[tuple(saved["tokens"][1][r * 8:(r + 1) * 8])] = r
    for line in open(tmp + "/log"):
        kind, _, rest = line.partition(" ")
        tokens = [int(x) for x in rest.split(";")[1].split()]
        used = {rows[tuple(tokens[i:i + 8])] for i in (0, 8)}
        assert all((r % 20 == 19) == (kind == "eval") for r in used), (kind, used)
    run("--eval-only", "--data", tmp + "/train.safetensors", exe=exe)
    # errors name the file, the tensor and the value
    write_token_file(tmp + "/five.safetensors", 40, 5)
    expect_error(["--data", tmp + "/five.safetensors"], "rows of 5 tokens, but the program takes 16 tokens a step",
                 exe=exe)
    write_token_file(tmp + "/bad.safetensors", 40, 8, bad_token_at=3 * 8 + 2)
    expect_error(["--data", tmp + "/bad.safetensors"], "tokens[3, 2] = 11 is outside [0, 11)", exe=exe)
    write_safetensors(tmp + "/nolabels.safetensors", {"tokens": ([2, 8], [0] * 16, "I32")})
    expect_error(["--data", tmp + "/nolabels.safetensors"], "no tensor 'labels'", exe=exe)
    expect_error(["--data", tmp + "/train.safetensors", "--task", "add:1"], "give one of them", exe=exe)
    # resume from a checkpoint in the middle: the same adapters as the run that never stopped
    common = ["--data", tmp + "/train.safetensors", "--steps", "30", "--lr", "0.05"]
    run(*common, "--checkpoint-dir", tmp + "/ref", "--checkpoint-every", "10", "--keep", "5",
        "--save", tmp + "/ref.safetensors", exe=exe)
    os.mkdir(tmp + "/part")
    with open(tmp + "/ref/step-000000010.safetensors", "rb") as source:
        open(tmp + "/part/step-000000010.safetensors", "wb").write(source.read())
    run("--resume", tmp + "/part", "--save", tmp + "/part.safetensors", exe=exe)
    assert open(tmp + "/part.safetensors", "rb").read() == open(tmp + "/ref.safetensors", "rb").read()


def main():
    global EXE
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    EXE, case = os.path.abspath(sys.argv[1]), sys.argv[2]
    test = globals().get("test_" + case)
    if not test:
        sys.exit("unknown case %s" % case)
    with tempfile.TemporaryDirectory(prefix="perft_cli_") as tmp:
        try:
            test(tmp)
        except AssertionError as error:
            print("test_cli %s: FAIL: %s" % (case, error))
            sys.exit(1)
    print("test_cli %s: PASS" % case)


if __name__ == "__main__":
    main()
