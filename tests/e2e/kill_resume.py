#!/usr/bin/env python3
"""kill_resume.py PERFTC EXAMPLES_DIR WORKDIR [KILLS]: exact resume after SIGKILL (issue 9).

For each program: one uninterrupted run with checkpoints, then the same run killed with SIGKILL
at a random moment KILLS times, each time continued with `--resume DIR`. After every kill the
metrics file must be a prefix of the uninterrupted run's (timings left out), the newest checkpoint
must load, and at the end the whole loss sequence and the saved adapters must equal the
uninterrupted run's bit for bit. Ends with one verdict line.
"""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

perftc, examples, work = sys.argv[1], sys.argv[2], sys.argv[3]
kills = int(sys.argv[4]) if len(sys.argv) > 4 else 20
random.seed(20261201)

PROGRAMS = [
    # (name, example, sizes, run options): a token model (task data, dropout, evaluation) and
    # the MoE block trained toward its teacher
    ("token_perft_r", "token_perft_r.perft", [],
     ["--steps", "400", "--lr", "0.01", "--eval-every", "20", "--eval-batches", "2", "--seed", "3"]),
    ("moe_perft_r", "moe_perft_r.perft", ["-Dtokens=64", "-DD=48", "-DF=32"],
     ["--steps", "400", "--lr", "0.03", "--seed", "5"]),
]


def losses(path):
    """The metrics file without timings: what must match bit for bit."""
    if not os.path.exists(path):
        return []
    out = []
    for line in open(path):
        record = json.loads(line)
        record.pop("ms", None)
        record.pop("tok_s", None)
        out.append(json.dumps(record, sort_keys=True))
    return out


def checkpoints(directory):
    return sorted(f for f in os.listdir(directory) if f.endswith(".safetensors")) if os.path.isdir(directory) else []


failures = 0
for name, example, sizes, options in PROGRAMS:
    base = os.path.join(work, name)
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    exe = os.path.join(base, "prog")
    subprocess.run([perftc, os.path.join(examples, example), *sizes, "-o", exe], check=True)

    def command(run):
        d = os.path.join(base, run)
        return [exe, *options, "--checkpoint-dir", d + "/ckpt", "--checkpoint-every", "7", "--keep", "2",
                "--metrics", d + "/metrics.jsonl", "--save", d + "/adapters.safetensors"]

    os.makedirs(os.path.join(base, "ref"))
    start = time.time()
    subprocess.run(command("ref"), check=True, stdout=subprocess.DEVNULL)
    wall = time.time() - start
    reference = losses(os.path.join(base, "ref/metrics.jsonl"))
    reference_adapters = open(os.path.join(base, "ref/adapters.safetensors"), "rb").read()

    killed = resumed = rounds = 0
    while killed < kills and failures == 0:  # rounds: each one a whole run, killed until it ends
        rounds += 1
        run = os.path.join(base, "run%d" % rounds)
        os.makedirs(run)
        while True:
            has_checkpoint = bool(checkpoints(run + "/ckpt"))
            if has_checkpoint:
                argv = [exe, "--resume", run + "/ckpt"]
            else:  # killed before its first checkpoint: the user starts over
                shutil.rmtree(run)
                os.makedirs(run)
                argv = command(os.path.basename(run))
            process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            resumed += has_checkpoint
            time.sleep(random.uniform(0.0, wall * 0.4))
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                killed += 1
            stderr = process.communicate()[1]
            now = losses(run + "/metrics.jsonl")
            if process.returncode not in (0, -signal.SIGKILL):
                print(f"FAIL: {name}: {' '.join(argv)} exited {process.returncode}: {stderr.strip()}")
                failures += 1
                break
            if now != reference[:len(now)]:
                print(f"FAIL: {name}: after kill {killed}, the metrics differ from the uninterrupted run's")
                failures += 1
                break
            if process.returncode == 0:
                break
        if process.returncode != 0:
            break
        adapters = open(run + "/adapters.safetensors", "rb").read()
        same = losses(run + "/metrics.jsonl") == reference and adapters == reference_adapters
        kept = checkpoints(run + "/ckpt")
        if not same or len(kept) != 2:
            print(f"FAIL: {name}: round {rounds}: metrics or adapters differ, or --keep 2 left {kept}")
            failures += 1
    if failures == 0:
        print(f"ok: {name}: {killed} SIGKILLs at random moments in {rounds} runs, {resumed} resumes; every "
              f"resumed run's {len(reference)} metrics lines and its adapters identical to the uninterrupted run's")

print("kill and resume: PASS" if failures == 0 else f"kill and resume: FAIL ({failures})")
sys.exit(1 if failures else 0)
