#!/usr/bin/env python3
"""perft-tokenize against the tokenizers library: the same ids, and the text back.

    check_tokenizer.py PERFT_TOKENIZE LINE_FILTER WORK_DIR

Makes (or reuses) a virtual environment WORK_DIR/venv over the system site-packages with
tokenizers==0.20.3 from PyPI; without PyPI the test fails, saying so. In it,
tokenizer_reference.py trains the test tokenizers (no model-hub download) and writes the
library's ids for the sample text. Then, for each tokenizer, perft-tokenize must give:
  whole file        the same ids as encode(text).ids (and with --no-special-tokens, as
                    encode(text, add_special_tokens=False).ids)
  each line         the same ids as encode(line).ids (--lines), the empty line included
  empty input       the same ids as encode("")
  decode            decode(ids) equal to the library's, and (where lossless) to the text as
                    normalized
  decode per line   each line's ids decoded as the library decodes them (--decode --lines)
  skip special      decode(ids, skip_special_tokens=True) equal to the library's
  random ids        random id lists (bytes of split characters too) decoded as the library does
The neox sample 40 times over (2.6 MB) as one text: the same ids, and the time taken.
And line_filter's GPT-2 split of every assigned code point (among letters, digits, spaces and
punctuation) must be the library's: the Unicode tables agree with Oniguruma's.
Ends with one line: "N passed, N failed".
"""
import json
import os
import subprocess
import sys

from checks import Checks
import time

TOKENIZERS_VERSION = "0.20.3"
HERE = os.path.dirname(os.path.abspath(__file__))
NAMES = ["neox", "gpt2", "split_sequence"]


def venv_python(work):
    """The virtual environment's python, with tokenizers installed; exits 1 when that fails."""
    venv = os.path.join(work, "venv")
    python = os.path.join(venv, "bin", "python")
    probe = [python, "-c", "import tokenizers, sys; sys.exit(tokenizers.__version__ != %r)" % TOKENIZERS_VERSION]
    if os.path.exists(python) and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    created = subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", venv],
                             capture_output=True, text=True)
    if created.returncode != 0:
        sys.exit("FAIL: cannot make a virtual environment with %s -m venv (on Debian: apt-get install "
                 "python3-venv):\n%s" % (sys.executable, created.stderr))
    started = time.time()
    command = [python, "-m", "pip", "install", "--disable-pip-version-check", "--quiet", "--timeout", "30",
               "tokenizers==" + TOKENIZERS_VERSION]
    try:
        installed = subprocess.run(command, capture_output=True, text=True, timeout=400)
        reason = installed.stderr[-3000:]
    except subprocess.TimeoutExpired:
        installed, reason = None, "pip did not finish in 400 s"
    if not installed or installed.returncode != 0 or subprocess.run(probe, capture_output=True).returncode != 0:
        sys.exit("FAIL: cannot install tokenizers==%s from PyPI into %s; this test needs PyPI to compare "
                 "with the tokenizers library.\n%s" % (TOKENIZERS_VERSION, venv, reason))
    print("installed tokenizers==%s into %s in %.1f s" % (TOKENIZERS_VERSION, venv, time.time() - started))
    return python


def run_tool(tool, arguments, input_bytes):
    """perft-tokenize's stdout; a failure stops the test with its stderr."""
    result = subprocess.run([tool] + arguments, input=input_bytes, capture_output=True)
    if result.returncode != 0:
        raise AssertionError("perft-tokenize %s exited %d: %s" % (" ".join(arguments), result.returncode,
                                                                  result.stderr.decode(errors="replace")))
    return result.stdout


def parse_ids(line):
    return [int(word) for word in line.split()]


def first_difference(got, expected):
    for index, (left, right) in enumerate(zip(got, expected)):
        if left != right:
            return index
    return min(len(got), len(expected))


def describe_difference(what, got, expected):
    index = first_difference(got, expected)
    return "%s: %d ids, expected %d; first difference at %d: got %s, expected %s" % (
        what, len(got), len(expected), index, got[max(0, index - 3):index + 5], expected[max(0, index - 3):index + 5])



def check_tokenizer(checks, tool, work, name):
    tokenizer = os.path.join(work, name + ".json")
    with open(os.path.join(work, name + ".sample.txt"), "rb") as file:
        text = file.read()
    with open(os.path.join(work, name + ".expected.json"), encoding="utf-8") as file:
        expected = json.load(file)
    lines = text.decode("utf-8").split("\n")[:-1]

    started = time.time()
    whole = parse_ids(run_tool(tool, [tokenizer], text).decode())
    seconds = time.time() - started
    checks.check("%s: whole file, %d bytes -> %d ids (%.3f s)" % (name, len(text), len(whole), seconds),
                 whole == expected["whole"], describe_difference("ids", whole, expected["whole"]))
    plain = parse_ids(run_tool(tool, [tokenizer, "--no-special-tokens"], text).decode())
    checks.check("%s: whole file, --no-special-tokens" % name, plain == expected["whole_plain"],
                 describe_difference("ids", plain, expected["whole_plain"]))

    got_lines = [parse_ids(line) for line in run_tool(tool, [tokenizer, "--lines"], text).decode().split("\n")[:-1]]
    wrong = [index for index, ids in enumerate(expected["lines"])
             if index >= len(got_lines) or got_lines[index] != ids]
    detail = "" if not wrong else "%d of %d lines differ; first, line %d %r: %s" % (
        len(wrong), len(lines), wrong[0] + 1, lines[wrong[0]][:80],
        describe_difference("ids", got_lines[wrong[0]] if wrong[0] < len(got_lines) else [],
                            expected["lines"][wrong[0]]))
    checks.check("%s: each of %d lines alone (--lines)" % (name, len(lines)),
                 not wrong and len(got_lines) == len(lines), detail)

    empty = parse_ids(run_tool(tool, [tokenizer], b"").decode())
    checks.check("%s: empty input -> %s" % (name, empty), empty == expected["empty"], "expected %s" % expected["empty"])

    ids_text = " ".join(map(str, expected["whole_plain"])).encode()
    decoded = run_tool(tool, [tokenizer, "--decode"], ids_text).decode("utf-8")
    checks.check("%s: decode equals the library's decode" % name, decoded == expected["decoded"],
                 "first difference at character %d" % first_difference(decoded, expected["decoded"]))
    if expected["lossless"]:
        checks.check("%s: decode(encode(text)) == text%s" % (name, " (NFC)" if expected["normalized"] != text.decode() else ""),
                     decoded == expected["normalized"],
                     "first difference at character %d" % first_difference(decoded, expected["normalized"]))
    skip = run_tool(tool, [tokenizer, "--decode", "--skip-special-tokens"],
                    " ".join(map(str, expected["whole"])).encode()).decode("utf-8")
    checks.check("%s: decode --skip-special-tokens equals the library's" % name, skip == expected["decoded_skip"],
                 "first difference at character %d" % first_difference(skip, expected["decoded_skip"]))

    wrong = []
    for ids, text_expected in zip(expected["random_ids"], expected["random_decoded"]):
        if run_tool(tool, [tokenizer, "--decode"], " ".join(map(str, ids)).encode()).decode("utf-8") != text_expected:
            wrong.append(ids)
    checks.check("%s: %d lists of random ids decoded as the library decodes them" % (name, len(expected["random_ids"])),
                 not wrong, "%d differ, first %s" % (len(wrong), wrong[:1]))

    per_line_ids = "\n".join(" ".join(map(str, ids)) for ids in run_lines_plain(tool, tokenizer, text)) + "\n"
    back = run_tool(tool, [tokenizer, "--decode", "--lines"], per_line_ids.encode()).decode("utf-8").split("\n")[:-1]
    wrong = [index for index, line in enumerate(expected["decoded_lines"]) if index >= len(back) or back[index] != line]
    checks.check("%s: each line decoded (--decode --lines) as the library decodes it" % name, not wrong,
                 "" if not wrong else "%d lines differ, first line %d: %r, expected %r" % (
                     len(wrong), wrong[0] + 1, back[wrong[0]][:60] if wrong[0] < len(back) else None,
                     expected["decoded_lines"][wrong[0]][:60]))


def check_large(checks, tool, work):
    with open(os.path.join(work, "large.expected.json"), encoding="utf-8") as file:
        expected = json.load(file)
    with open(os.path.join(work, "neox.sample.txt"), "rb") as file:
        text = file.read() * expected["copies"]
    started = time.time()
    ids = parse_ids(run_tool(tool, [os.path.join(work, "neox.json")], text).decode())
    seconds = time.time() - started
    megabytes = len(text) / 1e6
    checks.check("neox: %.1f MB as one text -> %d ids in %.2f s (%.1f MB/s; the library's encode: %.2f s)" % (
        megabytes, len(ids), seconds, megabytes / seconds, expected["library_seconds"]),
        ids == expected["ids"], describe_difference("ids", ids, expected["ids"]))


def check_unicode_classes(checks, line_filter, work):
    with open(os.path.join(work, "unicode_classes.txt"), "rb") as file:
        text = file.read()
    with open(os.path.join(work, "unicode_classes.expected.txt"), encoding="utf-8") as file:
        expected = file.read().split("\n")[:-1]
    result = subprocess.run([line_filter, "split"], input=text, capture_output=True)
    got = result.stdout.decode("utf-8").split("\n")[:-1]
    lines = text.decode("utf-8").split("\n")
    wrong = [index for index in range(len(expected)) if index >= len(got) or got[index] != expected[index]]
    detail = result.stderr.decode(errors="replace") if result.returncode else ""
    if wrong:
        detail = "%d lines differ; first %r: %r, expected %r" % (
            len(wrong), lines[wrong[0]][:40], got[wrong[0]][:80] if wrong[0] < len(got) else None,
            expected[wrong[0]][:80])
    checks.check("GPT-2 split of every assigned code point (%d lines of 8)" % len(expected),
                 result.returncode == 0 and not wrong, detail)


def run_lines_plain(tool, tokenizer, text):
    output = run_tool(tool, [tokenizer, "--lines", "--no-special-tokens"], text).decode()
    return [parse_ids(line) for line in output.split("\n")[:-1]]


def main():
    tool, line_filter, work = (os.path.abspath(argument) for argument in sys.argv[1:4])
    os.makedirs(work, exist_ok=True)
    started = time.time()
    python = venv_python(work)
    environment = dict(os.environ, PYTHONPATH=HERE)
    reference = subprocess.run([python, os.path.join(HERE, "tokenizer_reference.py"), work], env=environment,
                               capture_output=True, text=True)
    if reference.returncode != 0:
        sys.exit("FAIL: tokenizer_reference.py failed:\n" + reference.stdout + reference.stderr)
    print(reference.stdout.strip())
    checks = Checks()
    for name in NAMES:
        try:
            check_tokenizer(checks, tool, work, name)
        except AssertionError as error:
            checks.check("%s: perft-tokenize runs" % name, False, str(error))
    try:
        check_large(checks, tool, work)
    except AssertionError as error:
        checks.check("neox: large text", False, str(error))
    check_unicode_classes(checks, line_filter, work)
    print("tokenizer checks took %.1f s" % (time.time() - started))
    sys.exit(checks.summary())


if __name__ == "__main__":
    main()
