#!/usr/bin/env python3
"""data/unicode.c's NFC against Python's unicodedata.normalize("NFC", ...), which the tables
were generated from.

    check_nfc.py LINE_FILTER

Cases: every code point alone (surrogates excepted); every composition pair of the tables after
every starter that may precede it; and seeded random sequences of starters, combining marks of
many classes, Hangul jamo and syllables, and characters with decompositions.
Ends with one line: "N passed, N failed".
"""
import random
import subprocess
import sys
import unicodedata

from checks import Checks


def run(line_filter, lines):
    text = "".join(line + "\n" for line in lines)
    result = subprocess.run([line_filter, "nfc"], input=text.encode("utf-8"), capture_output=True)
    if result.returncode != 0:
        sys.exit("FAIL: line_filter nfc exited %d: %s" % (result.returncode, result.stderr.decode(errors="replace")))
    return result.stdout.decode("utf-8").split("\n")[:-1]


def compare(checks, name, line_filter, lines):
    got = run(line_filter, lines)
    wrong = [index for index, line in enumerate(lines)
             if index >= len(got) or got[index] != unicodedata.normalize("NFC", line)]
    detail = ""
    if wrong:
        line = lines[wrong[0]]
        detail = "%d of %d lines differ; first %s -> %s, expected %s" % (
            len(wrong), len(lines), [hex(ord(c)) for c in line],
            [hex(ord(c)) for c in got[wrong[0]]] if wrong[0] < len(got) else None,
            [hex(ord(c)) for c in unicodedata.normalize("NFC", line)])
    checks.check("%s: %d lines" % (name, len(lines)), not wrong, detail)


def main():
    line_filter = sys.argv[1]
    code_points = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF and c != 0x0A]
    decomposable = [c for c in code_points if unicodedata.decomposition(c) and not unicodedata.decomposition(c).startswith("<")]
    marks = [c for c in code_points if unicodedata.combining(c)]
    starters = [c for c in code_points[:0x3000] if unicodedata.category(c).startswith("L")]
    jamo = [chr(c) for c in list(range(0x1100, 0x1113)) + list(range(0x1161, 0x1176)) + list(range(0x11A8, 0x11C3))]
    syllables = [chr(c) for c in (0xAC00, 0xAC01, 0xAC1C, 0xD7A3, 0xB098)]
    generator = random.Random(15)
    palette = decomposable + marks * 3 + starters[:400] + jamo * 20 + syllables * 20 + list("abc \t")
    random_lines = ["".join(generator.choice(palette) for _ in range(generator.randrange(0, 12)))
                    for _ in range(60000)]
    pairs = []
    for c in decomposable:
        parts = [chr(int(field, 16)) for field in unicodedata.decomposition(c).split()]
        pairs.append("".join(parts))                 # composes back (or not, if excluded)
        pairs.append(parts[0] + "\u0334" + "".join(parts[1:]))  # a blocking-or-not mark between
        pairs.append(c + "\u0316\u0301")              # a composite followed by marks to reorder
    checks = Checks()
    compare(checks, "every code point alone", line_filter, code_points)
    compare(checks, "every canonical decomposition, with marks around", line_filter, pairs)
    compare(checks, "random sequences of marks, jamo and composites", line_filter, random_lines)
    sys.exit(checks.summary())


if __name__ == "__main__":
    main()
