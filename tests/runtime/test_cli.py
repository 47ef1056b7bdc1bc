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
    """tensors: {name: (shape, [floats])}"""
    header, offset, blobs = {}, 0, []
    for name, (shape, values) in tensors.items():
        blob = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + len(blob)]}
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
        assert info["dtype"] == "F32", info
        begin, end = info["data_offsets"]
        out[name] = (info["shape"], list(struct.unpack("<%df" % ((end - begin) // 4), body[begin:end])))
    return out


# ---- helpers ----------------------------------------------------------------------------------
def run(*args, check=True):
    result = subprocess.run([EXE, *map(str, args)], capture_output=True, text=True, timeout=60)
    if check and result.returncode != 0:
        raise AssertionError("exit %d: %s\n%s" % (result.returncode, " ".join(map(str, args)), result.stderr))
    return result


def expect_error(args, *parts):
    result = run(*args, check=False)
    assert result.returncode != 0, "expected failure: %s" % (args,)
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
        (["--weights", "a", "--init"], "exclude each other"),
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
    metrics = [json.loads(line) for line in open(tmp + "/m.jsonl")]
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
