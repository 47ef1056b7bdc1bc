#!/usr/bin/env python3
"""Builds the test tokenizers with the tokenizers library and writes what it says about the
sample text; runs in the test's virtual environment (check_tokenizer.py makes it).

    tokenizer_reference.py WORK_DIR

Writes WORK_DIR/NAME.json (a tokenizer.json saved by the library, then read back by it) for
each NAME below, WORK_DIR/NAME.sample.txt (the sample, UTF-8), and WORK_DIR/NAME.expected.json:
{"whole": ids, "whole_plain": ids without post-processor specials, "lines": [ids per line],
 "decoded_lines": [decode of each line's ids without specials], "lossless": whether
 decode(encode(text)) should give the text back, "decoded": decode(whole_plain),
 "decoded_skip": decode(whole, skip_special_tokens=True), "normalized": the sample as the
 tokenizer's normalizer sees it, "empty": ids of "", "random_ids": lists of random ids,
 "random_decoded": their decode (invalid UTF-8 replaced by U+FFFD)}.
Also WORK_DIR/large.expected.json (the ids of the neox sample 40 times over, and how long the
library took), WORK_DIR/unicode_classes.txt (every assigned code point among letters, digits, spaces and
punctuation) and unicode_classes.expected.txt (the library's GPT-2 split of each line).
No download: every tokenizer is trained here, with BpeTrainer on training_text().
"""
import json
import os
import random
import sys

import tokenizers
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from tokenizers import AddedToken

import sample_text

GPT2_PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"


def train(tokenizer, vocab_size, special_tokens):
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=special_tokens, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(sample_text.training_text(), trainer)


def neox():
    """GPT-NeoX / OLMoE style: NFC, ByteLevel(add_prefix_space=False), special tokens that are
    not normalized, PII markers and runs of spaces that are, "$A <|endoftext|>"."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    train(tokenizer, 3000, ["<|endoftext|>", "<|padding|>"])
    tokenizer.add_tokens([AddedToken("|||IP_ADDRESS|||", normalized=True, special=False),
                          AddedToken("|||EMAIL_ADDRESS|||", normalized=True, special=False),
                          AddedToken("caf\u00e9 au lait", normalized=True, special=False)]
                         + [AddedToken(" " * width, normalized=True, special=False) for width in (2, 4, 8, 24)])
    eos = tokenizer.token_to_id("<|endoftext|>")
    tokenizer.post_processor = processors.TemplateProcessing(single="$A <|endoftext|>",
                                                             special_tokens=[("<|endoftext|>", eos)])
    return tokenizer, ["<|endoftext|>", "<|padding|>", "|||IP_ADDRESS|||", "cafe\u0301 au lait", "    "]


def gpt2():
    """GPT-2 style: no normalizer, ByteLevel(add_prefix_space=False), ByteLevel post-processor,
    merges written as "a b" strings."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=True)
    train(tokenizer, 2000, ["<|endoftext|>"])
    saved = json.loads(tokenizer.to_str())
    saved["model"]["merges"] = [" ".join(pair) if isinstance(pair, list) else pair
                                for pair in saved["model"]["merges"]]
    return Tokenizer.from_str(json.dumps(saved)), ["<|endoftext|>"]


def split_sequence():
    """A Sequence pre-tokenizer: Split(GPT-2 pattern) then ByteLevel(add_prefix_space=True,
    use_regex=False); ignore_merges; a "<|endoftext|> $A" template inside a Sequence; a <mask>
    that takes the white space on both sides, and a normalized non-special token."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(GPT2_PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=False)])
    tokenizer.decoder = decoders.ByteLevel()
    train(tokenizer, 2500, ["<|endoftext|>"])
    tokenizer.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=True, normalized=False, special=True)])
    tokenizer.add_tokens([AddedToken("[[br]]", rstrip=True, normalized=True, special=False)])
    bos = tokenizer.token_to_id("<|endoftext|>")
    tokenizer.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|endoftext|> $A", special_tokens=[("<|endoftext|>", bos)])])
    saved = json.loads(tokenizer.to_str())
    saved["model"]["ignore_merges"] = True
    return Tokenizer.from_str(json.dumps(saved)), ["<|endoftext|>", "<mask>", "[[br]]"]


BUILDERS = {"neox": neox, "gpt2": gpt2, "split_sequence": split_sequence}
# decode(encode(text)) gives the text back (as normalized) for these; split_sequence adds a
# prefix space to each piece and strips the white space around <mask>.
LOSSLESS = {"neox", "gpt2"}


def unicode_class_lines():
    """Every assigned code point (private use but its first, surrogates and '\n' left out) next
    to letters, digits, spaces and punctuation, so that its class decides the GPT-2 split."""
    import unicodedata
    code_points = [chr(c) for c in range(0x110000) if c != 0x0A and unicodedata.category(chr(c)) not in ("Cn", "Cs", "Co")]
    code_points += ["\ue000", "\U000f0000"]
    snippets = ["x%s1%s %s!%s\t%s%s" % ((c,) * 6) for c in code_points]
    return ["".join(snippets[start:start + 8]) for start in range(0, len(snippets), 8)]


def write_unicode_classes(work):
    """unicode_classes.txt and the library's GPT-2 split of each of its lines, byte-level form."""
    lines = unicode_class_lines()
    with open(os.path.join(work, "unicode_classes.txt"), "w", encoding="utf-8", newline="") as file:
        file.write("".join(line + "\n" for line in lines))
    split = pre_tokenizers.ByteLevel(add_prefix_space=False)
    pieces = [" ".join(piece for piece, _ in split.pre_tokenize_str(line)) for line in lines]
    with open(os.path.join(work, "unicode_classes.expected.txt"), "w", encoding="utf-8", newline="") as file:
        file.write("".join(line + "\n" for line in pieces))


LARGE_COPIES = 40


def write_large(work):
    """The neox sample LARGE_COPIES times over, as one text: its ids and the library's time."""
    import time
    tokenizer = Tokenizer.from_file(os.path.join(work, "neox.json"))
    with open(os.path.join(work, "neox.sample.txt"), encoding="utf-8", newline="") as file:
        text = file.read() * LARGE_COPIES
    started = time.time()
    ids = tokenizer.encode(text).ids
    seconds = time.time() - started
    with open(os.path.join(work, "large.expected.json"), "w", encoding="utf-8") as file:
        json.dump({"copies": LARGE_COPIES, "ids": ids, "library_seconds": seconds}, file)


def main():
    work = sys.argv[1]
    assert tokenizers.__version__ == "0.20.3", tokenizers.__version__
    for name, build in BUILDERS.items():
        tokenizer, added_texts = build()
        tokenizer.save(os.path.join(work, name + ".json"))
        tokenizer = Tokenizer.from_file(os.path.join(work, name + ".json"))  # what the file says
        has_nfc = tokenizer.normalizer is not None
        lines = sample_text.lines(added_texts, include_not_nfc=has_nfc)
        text = "\n".join(lines) + "\n"
        with open(os.path.join(work, name + ".sample.txt"), "w", encoding="utf-8", newline="") as file:
            file.write(text)
        generator = random.Random(3)  # ids in any order: byte tokens that split characters too
        random_ids = [[generator.randrange(tokenizer.get_vocab_size()) for _ in range(generator.randrange(1, 12))]
                      for _ in range(100)]
        whole = tokenizer.encode(text).ids
        whole_plain = tokenizer.encode(text, add_special_tokens=False).ids
        expected = {
            "whole": whole,
            "whole_plain": whole_plain,
            "lines": [tokenizer.encode(line).ids for line in lines],
            "decoded_lines": [tokenizer.decode(tokenizer.encode(line, add_special_tokens=False).ids,
                                               skip_special_tokens=False) for line in lines],
            "lossless": name in LOSSLESS,
            "decoded": tokenizer.decode(whole_plain, skip_special_tokens=False),
            "decoded_skip": tokenizer.decode(whole, skip_special_tokens=True),
            "normalized": tokenizer.normalizer.normalize_str(text) if has_nfc else text,
            "empty": tokenizer.encode("").ids,
            "random_ids": random_ids,
            "random_decoded": [tokenizer.decode(ids, skip_special_tokens=False) for ids in random_ids],
        }
        with open(os.path.join(work, name + ".expected.json"), "w", encoding="utf-8") as file:
            json.dump(expected, file)
    write_large(work)
    write_unicode_classes(work)
    print("tokenizers %s: wrote %s, unicode_classes" % (tokenizers.__version__, ", ".join(BUILDERS)))


if __name__ == "__main__":
    main()
