#!/usr/bin/env python3
"""Every diagnostic of perft-tokenize, each from a file or input made to cause it: malformed JSON,
tokenizer.json features that are not implemented, bad input text and ids, bad command lines.

    check_errors.py PERFT_TOKENIZE WORK_DIR

Each case must exit 1 with one line on stderr that matches its pattern; for the cases in a
tokenizer.json, the PATH:LINE:COLUMN of the message must point at the text named (so a wrong
position fails too). A valid tokenizer built here (all 256 byte characters and a few merges)
must encode and decode. Needs no PyPI. Ends with one line: "N passed, N failed".
"""
import copy
import json
import os
import re
import subprocess
import sys

from checks import Checks

GPT2_PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"


def byte_level_chars():
    """GPT-2's bytes_to_unicode, as data/byte_level.c implements it."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    chars, extra = {}, 0
    for byte in range(256):
        if byte in printable:
            chars[byte] = chr(byte)
        else:
            chars[byte] = chr(256 + extra)
            extra += 1
    return chars


def valid_tokenizer():
    chars = byte_level_chars()
    vocab = {chars[byte]: byte for byte in range(256)}
    merges = [["h", "e"], ["l", "l"], ["he", "ll"], ["\u0120", "w"]]
    for left, right in merges:
        vocab[left + right] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": vocab["<|endoftext|>"], "content": "<|endoftext|>", "single_word": False,
                          "lstrip": False, "rstrip": False, "normalized": False, "special": True}],
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": merges},
    }


def changed(change):
    tokenizer = valid_tokenizer()
    change(tokenizer)
    return json.dumps(tokenizer, indent=1, ensure_ascii=False)


def set_path(path, value):
    def change(tokenizer):
        target = tokenizer
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


def add_token(**fields):
    def change(tokenizer):
        token = {"id": 261, "content": "<x>", "single_word": False, "lstrip": False, "rstrip": False,
                 "normalized": False, "special": False}
        token.update(fields)
        tokenizer["added_tokens"].append(token)
    return change


TEMPLATE = {"type": "TemplateProcessing", "single": [{"Sequence": {"id": "A", "type_id": 0}},
                                                      {"SpecialToken": {"id": "<eos>", "type_id": 0}}],
            "pair": [], "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [261], "tokens": ["<|endoftext|>"]}}}
SPLIT = {"type": "Split", "pattern": {"Regex": GPT2_PATTERN}, "behavior": "Isolated", "invert": False}
BYTE_LEVEL = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}

# (name, tokenizer.json text, message pattern, the text the position must point at)
FILE_CASES = [
    ("trailing comma", '{"version": "1.0",\n "model": {},\n}', r"trailing comma before '\}'", ","),
    ("comment", '{\n  // a comment\n}', r"expected a string key, found '/'", "//"),
    ("leading zero", '{"a": 012}', r"a number may not start with a leading zero", "012"),
    ("unterminated string", '{"a": "abc', r"unterminated string", '"abc'),
    ("control character", '{"a": "x\ty"}', r"control character U\+0009 in a string", "\t"),
    ("lone surrogate", '{"a": "\\ud800x"}', r"lone high surrogate \\uD800", "\\ud800"),
    ("invalid escape", '{"a": "\\q"}', r"invalid escape '\\' followed by 'q'", "\\q"),
    ("duplicate key", '{"a": 1,\n "b": 2,\n "a": 3}', r'duplicate key "a" in one object', '"a": 3'),
    ("NaN", '{"a": NaN}', r"expected a value, found 'N'", "NaN"),
    ("empty file", "", r"expected a value, found the end of the file", ""),
    ("after the value", '{} {}', r"expected the end of the file after the value, found '\{'", "{}"),
    ("missing colon", '{"a" 1}', r"expected ':' after the key \"a\", found '1'", "1}"),
    ("missing comma", '[1 2]', r"expected ',' or '\]', found '2'", "2]"),
    ("too deep", "[" * 300 + "]" * 300, r"arrays and objects nested deeper than 256", "["),
    ("not an object", '[]', r"a tokenizer.json must be an object, not an array", "[]"),
    ("unknown top-level key", changed(set_path(["extra"], 1)), r'the tokenizer has the key "extra", which is not supported', '"extra"'),
    ("version", changed(set_path(["version"], "2.0")), r'tokenizer version "2.0" is not supported \(supported: 1.0\)', '"2.0"'),
    ("truncation", changed(set_path(["truncation"], {"max_length": 8})), r'"truncation" is not supported', "{"),
    ("padding", changed(set_path(["padding"], {"length": 8})), r'"padding" is not supported', "{"),
    ("model type", changed(set_path(["model", "type"], "WordPiece")), r'model type "WordPiece" is not supported \(supported: BPE\)', "{"),
    ("no merges", changed(lambda t: t["model"].pop("merges")), r'the model has no "merges"', "{"),
    ("dropout", changed(set_path(["model", "dropout"], 0.1)), r'model "dropout" is not supported', "0.1"),
    ("byte_fallback", changed(set_path(["model", "byte_fallback"], True)), r'model "byte_fallback": true is not supported', "true"),
    ("subword prefix", changed(set_path(["model", "continuing_subword_prefix"], "##")), r'model "continuing_subword_prefix" is not supported', '"##"'),
    ("unk_token missing", changed(set_path(["model", "unk_token"], "<unk>")), r'unk_token "<unk>" is not in the vocabulary', '"<unk>"'),
    ("vocab id", changed(set_path(["model", "vocab", "he"], -3)), r"a vocabulary id must be a non-negative integer", "-3"),
    ("vocab id too large", changed(set_path(["model", "vocab", "he"], 1 << 23)), r"a vocabulary id 8388608 is above the largest supported id 4194303", "8388608"),
    ("vocab id twice", changed(set_path(["model", "vocab", "he"], 5)), r'id 5 is given to both "\u0105" and "he"', "5"),
    ("merge not in vocab", changed(lambda t: t["model"]["merges"].append(["x", "yz"])), r'merge 4: "yz" is not in the vocabulary', "["),
    ("merge result not in vocab", changed(lambda t: t["model"]["merges"].append(["x", "y"])), r'merge 4: "xy" is not in the vocabulary', "["),
    ("merge string", changed(set_path(["model", "merges"], ["h e", "l l x"])), r'the merge "l l x" must be two tokens separated by one space', '"l l x"'),
    ("merges mixed", changed(set_path(["model", "merges"], [["h", "e"], "l l"])), r'a merge must be \["left", "right"\] like the first one', '"l l"'),
    ("normalizer", changed(set_path(["normalizer"], {"type": "NFKC"})), r'normalizer type "NFKC" is not supported \(supported: null, NFC\)', "{"),
    ("pre_tokenizer null", changed(set_path(["pre_tokenizer"], None)), r"byte-level BPE needs a pre_tokenizer", "null"),
    ("pre_tokenizer type", changed(set_path(["pre_tokenizer"], {"type": "Metaspace"})), r'pre_tokenizer type "Metaspace" is not supported', "{"),
    ("split pattern", changed(set_path(["pre_tokenizer"], {"type": "Sequence", "pretokenizers": [dict(SPLIT, pattern={"Regex": r"\p{L}+"}), BYTE_LEVEL]})),
     r"Split pattern is not supported: only \{\"Regex\"", "{"),
    ("split behavior", changed(set_path(["pre_tokenizer"], {"type": "Sequence", "pretokenizers": [dict(SPLIT, behavior="Removed"), BYTE_LEVEL]})),
     r'Split behavior "Removed" is not supported \(supported: Isolated\)', '"Removed"'),
    ("split invert", changed(set_path(["pre_tokenizer"], {"type": "Sequence", "pretokenizers": [dict(SPLIT, invert=True), BYTE_LEVEL]})),
     r'Split with "invert": true is not supported', "{"),
    ("byte level first", changed(set_path(["pre_tokenizer"], {"type": "Sequence", "pretokenizers": [BYTE_LEVEL, SPLIT]})),
     r'pre-tokenizer "ByteLevel" at place 1 of the Sequence is not supported', "{"),
    ("byte level key", changed(set_path(["pre_tokenizer", "prefix"], True)), r'the ByteLevel pre-tokenizer has the key "prefix", which is not supported', '"prefix"'),
    ("single_word", changed(add_token(single_word=True)), r'added token "<x>": "single_word": true is not supported', "{"),
    ("added id", changed(add_token(id=300)), r'added token "<x>" has id 300 here, but the tokenizers library gives it id 261', "300"),
    ("added twice", changed(add_token(content="<|endoftext|>", id=261)), r'added token "<\|endoftext\|>" appears twice', '"<|endoftext|>"'),
    ("added empty", changed(add_token(content="")), r"an added token's content may not be empty", '""'),
    ("added flag", changed(add_token(lstrip="yes")), r'"lstrip" of an added token must be a boolean, not a string', '"yes"'),
    ("added missing flag", changed(lambda t: t["added_tokens"][0].pop("special")), r'an added token has no "special"', "{"),
    ("post_processor", changed(set_path(["post_processor"], {"type": "RobertaProcessing"})), r'post_processor type "RobertaProcessing" is not supported', "{"),
    ("template token", changed(set_path(["post_processor"], TEMPLATE)), r'template special token "<eos>" is not in "special_tokens"', '"<eos>"'),
    ("template B", changed(set_path(["post_processor"], dict(TEMPLATE, single=[{"Sequence": {"id": "B", "type_id": 0}}]))),
     r'the single template uses sequence "B"; only "A" is supported', '"B"'),
    ("template id", changed(set_path(["post_processor"], dict(TEMPLATE, single=[{"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}],
                                                              special_tokens={"<|endoftext|>": {"id": "<|endoftext|>", "ids": [999], "tokens": ["?"]}}))),
     r'template special token "<\|endoftext\|>" has id 999, which is not a token', "999"),
    ("decoder", changed(set_path(["decoder"], {"type": "WordPiece"})), r'decoder type "WordPiece" is not supported \(supported: null, ByteLevel\)', "{"),
]


def text_at(text, line, column):
    """text from 1-based line:column (columns count characters)."""
    lines = text.split("\n")
    return "\n".join(lines[line - 1:])[column - 1:] if line <= len(lines) else None



def run(tool, arguments, input_bytes=b""):
    result = subprocess.run([tool] + arguments, input=input_bytes, capture_output=True)
    return result.returncode, result.stdout.decode("utf-8", errors="replace"), result.stderr.decode("utf-8", errors="replace")


def check_file_case(checks, tool, work, name, text, pattern, pointed_text):
    path = os.path.join(work, re.sub(r"\W+", "_", name) + ".json")
    with open(path, "w", encoding="utf-8", newline="") as file:
        file.write(text)
    status, _, stderr = run(tool, [path], b"hello")
    match = re.fullmatch(r"%s:(\d+):(\d+): error: (.*)\n" % re.escape(path), stderr, re.S)
    if status != 1 or not match or not re.search(pattern, match.group(3)):
        checks.check("file: " + name, False, "exit %d, stderr %r, expected %r" % (status, stderr, pattern))
        return
    at = text_at(text, int(match.group(1)), int(match.group(2)))
    checks.check("file: %s (%s:%s)" % (name, match.group(1), match.group(2)), at is not None and at.startswith(pointed_text),
                 "the position points at %r, expected %r" % ((at or "")[:20], pointed_text))


def check_other_case(checks, tool, name, arguments, input_bytes, pattern):
    status, _, stderr = run(tool, arguments, input_bytes)
    checks.check(name, status == 1 and stderr.count("\n") <= 3 and re.search(pattern, stderr),
                 "exit %d, stderr %r, expected %r" % (status, stderr, pattern))


def main():
    tool, work = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    os.makedirs(work, exist_ok=True)
    checks = Checks()
    valid = os.path.join(work, "valid.json")
    with open(valid, "w", encoding="utf-8") as file:
        json.dump(valid_tokenizer(), file, indent=1)
    status, stdout, stderr = run(tool, [valid], "hello wörld<|endoftext|>".encode())
    checks.check("valid tokenizer encodes: %s" % stdout.strip(), status == 0 and stdout == "258 111 259 195 182 114 108 100 260\n",
                 "exit %d, stdout %r, stderr %r" % (status, stdout, stderr))
    status, stdout, stderr = run(tool, [valid, "--decode"], b"258 111 259 195 182 114 108 100 260")
    checks.check("valid tokenizer decodes", status == 0 and stdout == "hello wörld<|endoftext|>",
                 "exit %d, stdout %r, stderr %r" % (status, stdout, stderr))
    status, stdout, stderr = run(tool, [valid, "--decode", "--lines"], "\n".join(map(str, range(256))).encode())
    expected = "".join(bytes([byte]).decode("utf-8", errors="replace") + "\n" for byte in range(256))
    checks.check("valid tokenizer decodes each of the 256 byte tokens alone", status == 0 and stdout == expected,
                 "exit %d, stderr %r" % (status, stderr))
    status, stdout, stderr = run(tool, [valid, "--decode"], " ".join(map(str, range(255, -1, -1))).encode())
    expected = bytes(range(255, -1, -1)).decode("utf-8", errors="replace")
    checks.check("valid tokenizer decodes the 256 byte tokens as one text (U+FFFD as Rust puts it)",
                 status == 0 and stdout == expected, "exit %d, stderr %r" % (status, stderr))
    for case in FILE_CASES:
        check_file_case(checks, tool, work, *case)
    check_other_case(checks, tool, "missing file", [os.path.join(work, "missing.json")], b"",
                     r"^%s: error: cannot open: No such file or directory\n$" % re.escape(os.path.join(work, "missing.json")))
    check_other_case(checks, tool, "a directory", [work], b"", r"^%s: error: cannot read" % re.escape(work))
    invalid_utf8 = os.path.join(work, "invalid_utf8.json")
    with open(invalid_utf8, "wb") as file:
        file.write(b'{"a":\n "x\xffy"}')
    check_other_case(checks, tool, "file: invalid UTF-8 in a string", [invalid_utf8], b"",
                     r"^%s:2:4: error: invalid UTF-8 byte 0xFF in a string\n$" % re.escape(invalid_utf8))
    bom = os.path.join(work, "bom.json")
    with open(bom, "wb") as file:
        file.write(b"\xef\xbb\xbf{}")
    check_other_case(checks, tool, "file: byte order mark", [bom], b"",
                     r"^%s:1:1: error: a byte order mark \(U\+FEFF\) before the value is not allowed\n$" % re.escape(bom))
    check_other_case(checks, tool, "input: invalid UTF-8", [valid], "ab\nc\u00e9\xff".encode("utf-8")[:-2] + b"\xff",
                     r"^<stdin>:2:3: error: invalid UTF-8 byte 0xFF \(the text must be UTF-8\)\n$")
    check_other_case(checks, tool, "decode: unknown id", [valid, "--decode"], b"1 2 999",
                     r"^<stdin>: error: id 999 \(number 3 of the input\) is not a token of ")
    check_other_case(checks, tool, "decode: not an id", [valid, "--decode"], b"1\n 2x 3",
                     r"^<stdin>:2:2: error: expected a token id \(0 to 4194303\)\n$")
    check_other_case(checks, tool, "decode: id too large", [valid, "--decode"], b"99999999999",
                     r"^<stdin>:1:1: error: expected a token id")
    check_other_case(checks, tool, "usage: no tokenizer", [], b"", r"^perft-tokenize: error: no tokenizer file given\nusage:")
    check_other_case(checks, tool, "usage: unknown option", [valid, "--bogus"], b"",
                     r"^perft-tokenize: error: unknown option '--bogus'\nusage:")
    check_other_case(checks, tool, "usage: two tokenizers", [valid, valid], b"",
                     r"^perft-tokenize: error: more than one tokenizer file given\nusage:")
    sys.exit(checks.summary())


if __name__ == "__main__":
    main()
