#!/usr/bin/env python3
"""perft-data against the official PERFT recipe computed with the tokenizers library, and its
error messages.

    check_perft_data.py PERFT_DATA WORK_DIR VENV_WORK_DIR

Makes (or reuses) the virtual environment of check_tokenizer.py in VENV_WORK_DIR/venv; in it,
perft_data_reference.py writes the tokenizers, two small data sets (Commonsense- and Math10K-
style) and the rows expected for each case. For each case perft-data must write a safetensors
file (read here by hand) whose tokens and labels equal the reference's, whose rows keep the
documented rules (padding = the pad id with label -100; labels[t] is tokens[t + 1] or -100; no
label before the prompt ends), whose metadata and summary line give the same counts, and which
leaves no temporary file behind. Then malformed data and bad command lines must fail with one
line naming the file, line:column and record, and leave an existing output file untouched.
Ends with one line: "N passed, N failed".
"""
import json
import os
import re
import struct
import subprocess
import sys
from array import array

from check_tokenizer import venv_python
from checks import Checks

HERE = os.path.dirname(os.path.abspath(__file__))


def read_safetensors(path):
    """(metadata, {name: (shape, flat list of int32)}); a file that breaks the format raises."""
    with open(path, "rb") as file:
        data = file.read()
    (header_length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_length].decode("utf-8"))
    assert (8 + header_length) % 8 == 0, "data section not 8-byte aligned"
    body = data[8 + header_length:]
    metadata = header.pop("__metadata__")
    tensors, end = {}, 0
    for name, entry in sorted(header.items(), key=lambda item: item[1]["data_offsets"][0]):
        begin, stop = entry["data_offsets"]
        assert entry["dtype"] == "I32" and begin == end, "%s: dtype %s at %d" % (name, entry["dtype"], begin)
        values = array("i")
        values.frombytes(body[begin:stop])
        if sys.byteorder == "big":
            values.byteswap()
        assert len(values) == entry["shape"][0] * entry["shape"][1], name
        tensors[name], end = (entry["shape"], values.tolist()), stop
    assert end == len(body), "bytes after the last tensor"
    return metadata, tensors


def run(tool, arguments, cwd):
    return subprocess.run([tool] + arguments, cwd=cwd, capture_output=True, text=True)


def rows_follow_the_rules(tokens, labels, expected_rows, pad_id):
    """The documented layout, checked on perft-data's own rows: where a rule breaks, or None."""
    for index, (token_row, label_row, expected) in enumerate(zip(tokens, labels, expected_rows)):
        length, prompt_length = expected["length"], expected["prompt_length"]
        if any(token != pad_id for token in token_row[length:]):
            return "example %d: padding is not the pad id %d" % (index, pad_id)
        if any(label != -100 for label in label_row[max(length - 1, 0):]):
            return "example %d: a label at the last token or in the padding" % index
        if any(label != -100 for label in label_row[:max(prompt_length - 1, 0)]):
            return "example %d: a label inside the prompt (prompt length %d)" % (index, prompt_length)
        for t, label in enumerate(label_row[:-1]):
            if label != -100 and label != token_row[t + 1]:
                return "example %d: labels[%d] = %d is not tokens[%d] = %d" % (index, t, label, t + 1, token_row[t + 1])
        if any(label == -100 for label in label_row[max(prompt_length - 1, 0):length - 1]):
            return "example %d: a response token without its label" % index
    return None


def check_case(checks, tool, work, name, case):
    output = os.path.join(work, name + ".safetensors")
    if os.path.exists(output):
        os.remove(output)
    result = run(tool, case["arguments"], work)
    if result.returncode != 0:
        checks.check("%s: perft-data runs" % name, False, result.stderr.strip())
        return
    rows = case["rows"]
    metadata, tensors = read_safetensors(output)
    length = case["max_length"]
    tokens = [tensors["tokens"][1][row * length:(row + 1) * length] for row in range(len(rows))]
    labels = [tensors["labels"][1][row * length:(row + 1) * length] for row in range(len(rows))]
    shapes_right = tensors["tokens"][0] == tensors["labels"][0] == [len(rows), length]
    checks.check("%s: tokens equal the template's ids from the library" % name,
                 shapes_right and tokens == [row["tokens"] for row in rows],
                 "shape %s, first differing row %s" % (tensors["tokens"][0], next(
                     (index for index, row in enumerate(rows) if index >= len(tokens) or tokens[index] != row["tokens"]), None)))
    checks.check("%s: labels equal the official code's, shifted by one" % name,
                 labels == [row["labels"] for row in rows],
                 "first differing row %s" % next((index for index, row in enumerate(rows) if labels[index] != row["labels"]), None))
    broken = rows_follow_the_rules(tokens, labels, rows, case["pad_id"])
    checks.check("%s: padding and masking as documented" % name, broken is None, broken)
    loss_tokens = sum(label != -100 for row in labels for label in row)
    cut = sum(row["cut"] for row in rows)
    wanted = {"perft.kind": "tokens", "perft.template": "perft-alpaca", "perft.max_length": str(length),
              "perft.examples": str(len(rows)), "perft.loss_tokens": str(loss_tokens), "perft.cut_examples": str(cut),
              "perft.pad_id": str(case["pad_id"]), "perft.eos": "<|endoftext|>" if case["eos"] else "none",
              "perft.train_on_inputs": "true" if case["train_on_inputs"] else "false"}
    differing = {key: (metadata.get(key), value) for key, value in wanted.items() if metadata.get(key) != value}
    checks.check("%s: metadata" % name, not differing, "got/wanted %s" % differing)
    mean = sum(row["length"] for row in rows) / len(rows)
    summary = "perft-data: %s: %d examples, mean length %.1f tokens, %d cut at %d, %d tokens in the loss -> %s" % (
        case["arguments"][1], len(rows), mean, cut, length, loss_tokens, case["arguments"][2])
    checks.check("%s: summary line (%s)" % (name, summary.split(": ", 2)[2].split(" ->")[0]),
                 result.stdout.strip() == summary, "got %r, wanted %r" % (result.stdout.strip(), summary))
    leftovers = [entry for entry in os.listdir(work) if ".tmp." in entry]
    checks.check("%s: no temporary file left" % name, not leftovers, leftovers)


def line_column(text, offset):
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def record_file(work, name, records_text):
    """Writes a data set given as JSON text; returns its path and text."""
    path = os.path.join(work, name)
    with open(path, "w", encoding="utf-8") as file:
        file.write(records_text)
    return path, records_text


GOOD = '  {"instruction": "Add 1 and 1.", "input": "", "output": "2"}'


def error_cases(work):
    """(name, arguments, data file text or None, the text the message must point at or None,
    pattern)."""
    missing_output = '[\n' + GOOD + ',\n  {"instruction": "Caf\u00e9?", "input": "",\n   "answer": "x"}\n]\n'
    number = '[\n' + GOOD + ',\n' + GOOD + ',\n  {"instruction": "x", "input": "", "output": 42}\n]\n'
    return [
        ("missing output", missing_output, '{"instruction": "Caf',
         r'record 1 \(0-based\): missing field "output" \(a string\)$'),
        ("a number for a string", number, "42", r'record 2 \(0-based\): field "output" is a number, expected a string$'),
        ("null input", '[\n  {"instruction": "x", "input": null, "output": "y"}]', "null",
         r'record 0 \(0-based\): field "input" is null, expected a string$'),
        ("instruction an array", '[' + GOOD + ', {"instruction": ["x"], "output": "y"}]', '["x"]',
         r'record 1 \(0-based\): field "instruction" is an array, expected a string$'),
        ("record not an object", '[' + GOOD + ',\n "just text"]', '"just text"',
         r'record 1 \(0-based\): expected an object with string fields "instruction", "output" and \(optionally\) '
         r'"input", found a string$'),
        ("not an array", '{"instruction": "x", "output": "y"}', '{', r'expected a JSON array of records'),
        ("empty array", '  []', '[]', r'the array holds no records'),
        ("malformed JSON", '[' + GOOD + ',\n]', ',', r"trailing comma before '\]'$"),
    ]


def check_errors(checks, tool, work):
    existing = os.path.join(work, "kept.safetensors")
    for name, text, target, pattern in error_cases(work):
        with open(existing, "wb") as file:
            file.write(b"before")
        path, _ = record_file(work, "bad.json", text)
        result = run(tool, ["gpt2.json", "bad.json", "kept.safetensors"], work)
        message = result.stderr.strip()
        line, column = line_column(text, text.rfind(target) if name == "malformed JSON" else text.index(target))
        prefix = "bad.json:%d:%d: error: " % (line, column)
        with open(existing, "rb") as file:
            untouched = file.read() == b"before"
        checks.check("data: %s (%d:%d)" % (name, line, column),
                     result.returncode == 1 and "\n" not in message and message.startswith(prefix)
                     and re.search(pattern, message[len(prefix):]) is not None and untouched,
                     "exit %d, stderr %r, wanted %s + /%s/, output untouched: %s" % (
                         result.returncode, message, prefix, pattern, untouched))
    with open(os.path.join(work, "gpt2.json"), encoding="utf-8") as file:
        tokenizer = json.load(file)
    for token in tokenizer["added_tokens"]:
        token["content"] = token["content"].replace("<|endoftext|>", "<|end|>")
    tokenizer["model"]["vocab"] = {("<|end|>" if key == "<|endoftext|>" else key): value
                                   for key, value in tokenizer["model"]["vocab"].items()}
    with open(os.path.join(work, "no_eos.json"), "w", encoding="utf-8") as file:
        json.dump(tokenizer, file)
    record_file(work, "good.json", "[" + GOOD + "]")
    command_cases = [
        ("--eos without <|endoftext|>", ["no_eos.json", "good.json", "out.safetensors", "--eos"],
         r'^no_eos.json: error: --eos needs the token "<\|endoftext\|>", which this tokenizer does not have$'),
        ("--max-length leaves no room", ["neox.json", "good.json", "out.safetensors", "--max-length", "1"],
         r"^perft-data: error: --max-length 1 leaves no room for text \(the tokenizer's post-processor adds 1 tokens\)$"),
        ("--max-length not a number", ["gpt2.json", "good.json", "out.safetensors", "--max-length", "12x"],
         r"^perft-data: error: --max-length wants a whole number from 1 to \d+, not '12x'\n"),
        ("unknown option", ["gpt2.json", "good.json", "out.safetensors", "--shuffle"],
         r"^perft-data: error: unknown option '--shuffle'\nusage: "),
        ("two files only", ["gpt2.json", "good.json"], r"^perft-data: error: three files are needed"),
        ("missing data file", ["gpt2.json", "absent.json", "out.safetensors"], r"^absent.json: error: cannot open: "),
        ("output directory missing", ["gpt2.json", "good.json", "no/such/dir/out.safetensors"],
         r"^no/such/dir/out.safetensors: error: cannot create no/such/dir/out.safetensors.tmp.\d+: "),
    ]
    for name, arguments, pattern in command_cases:
        result = run(tool, arguments, work)
        checks.check("command: %s" % name, result.returncode == 1 and re.search(pattern, result.stderr) is not None,
                     "exit %d, stderr %r, wanted /%s/" % (result.returncode, result.stderr, pattern))


def main():
    tool, work, venv_work = (os.path.abspath(argument) for argument in sys.argv[1:4])
    os.makedirs(work, exist_ok=True)
    os.makedirs(venv_work, exist_ok=True)
    python = venv_python(venv_work)
    reference = subprocess.run([python, os.path.join(HERE, "perft_data_reference.py"), work],
                               env=dict(os.environ, PYTHONPATH=HERE), capture_output=True, text=True)
    if reference.returncode != 0:
        sys.exit("FAIL: perft_data_reference.py failed:\n" + reference.stdout + reference.stderr)
    print(reference.stdout.strip())
    with open(os.path.join(work, "expected.json"), encoding="utf-8") as file:
        expected = json.load(file)
    checks = Checks()
    for name, case in expected.items():
        check_case(checks, tool, work, name, case)
    check_errors(checks, tool, work)
    sys.exit(checks.summary())


if __name__ == "__main__":
    main()
