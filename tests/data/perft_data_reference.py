#!/usr/bin/env python3
"""What perft-data must write, computed with the tokenizers library as the official PERFT code
computes it; runs in the test's virtual environment (check_perft_data.py makes it).

    perft_data_reference.py WORK_DIR

Writes WORK_DIR/{neox,gpt2,split_sequence}.json (the tokenizers of tokenizer_reference.py),
WORK_DIR/commonsense.json and WORK_DIR/math.json (small data sets in the LLM-Adapters form:
empty, non-empty and absent inputs, Unicode, an example cut in its response, one whose prompt
alone fills max_length), and WORK_DIR/expected.json: for each case, the arguments and the
tokens and labels rows expected.

The reference follows the official code (github.com/liuyilun2000/PERFT, commonsense/finetune.py:
generate_prompt, tokenize, generate_and_tokenize_prompt) with the tokenizers library standing in
for transformers' fast tokenizer: encode with truncation at max_length (the library keeps room
for the post-processor's tokens), EOS appended when asked and there is room and the ids do not
end in it, labels = the ids with -100 over the first len(encode(prompt with output "")) of them
unless train_on_inputs; then the shift that a Hugging Face causal LM does in its loss (logits at
t against labels[t + 1]) is done here: row labels[t] = hf_labels[t + 1], -100 at the end and over
the padding.
"""
import json
import os
import sys

from tokenizers import Tokenizer

import tokenizer_reference

INDENT = " " * 16
FIRST_LINE_WITH_INPUT = ("Below is an instruction that describes a task, paired with an input that provides "
                         "further context. Write a response that appropriately completes the request. ")
FIRST_LINE_WITHOUT_INPUT = ("Below is an instruction that describes a task. Write a response that "
                            "appropriately completes the request.  ")


def prompt(record, with_output):
    """The template, line by line (the official f-string keeps its 16 spaces of indentation)."""
    given_input = record.get("input") or ""
    lines = [FIRST_LINE_WITH_INPUT if given_input else FIRST_LINE_WITHOUT_INPUT, "",
             INDENT + "### Instruction:", INDENT + record["instruction"], INDENT]
    if given_input:
        lines += [INDENT + "### Input:", INDENT + given_input, INDENT]
    lines += [INDENT + "### Response:", INDENT + (record["output"] if with_output else "")]
    return "\n".join(lines)


def commonsense_records():
    long_output = " ".join("step%d of the answer," % index for index in range(120))
    return [
        {"instruction": "Please choose the correct answer to fill in the blank to complete the given sentence: "
                        "Ian volunteered to eat Dennis's menudo after already having a bowl because _ despised "
                        "eating intestine.\n\nOption1: Ian\nOption2: Dennis Answer format: option1/option2",
         "input": "", "output": "the correct answer is option2", "answer": "option2"},
        {"instruction": "Caf\u00e9, na\u00efve, \u65e5\u672c\u8a9e, \U0001F642 and a combining e\u0301: which is "
                        "not Latin?", "input": "Answer with one word.", "output": "\u65e5\u672c\u8a9e \u2014 "
                        "Japanese", "answer": "Japanese"},
        {"instruction": "Summarise.", "input": "", "output": long_output, "answer": ""},
        {"instruction": "Say nothing more.", "input": "", "output": "done<|endoftext|>", "answer": ""},
        {"instruction": " ".join("word%d" % index for index in range(200)), "input": "", "output": "too late",
         "answer": ""},
    ]


def math_records():
    return [
        {"instruction": "Tom has 3 apples and buys 4 more. How many apples does he have?", "input": "",
         "output": "Tom starts with 3 apples.\n3 + 4 = 7\nThe answer is 7.", "answer": "7"},
        {"instruction": "Solve for x.", "input": "2x + 6 = 10",
         "output": "2x = 4, so x = 2.\nThe answer is 2.", "answer": "2"},
        {"instruction": "A train goes 60 km in 1.5 h. What is its speed in km/h?",
         "output": "60 / 1.5 = 40\nThe answer is 40.", "answer": "40"},
        {"instruction": "\u00bfCu\u00e1nto es 12 \u00d7 12?", "input": "",
         "output": "12 \u00d7 12 = 144. " + "Checking again: 144. " * 40 + "The answer is 144.", "answer": "144"},
    ]


# name: (tokenizer, data set, max_length or None for the default 256, --eos, --train-on-inputs)
CASES = {
    "neox_commonsense": ("neox", "commonsense", 512, False, False),
    "neox_math_eos": ("neox", "math", 300, True, False),
    "gpt2_commonsense_eos": ("gpt2", "commonsense", 400, True, False),
    # max_length = the ids of the first record: it is not cut and has no room for EOS.
    "gpt2_commonsense_eos_exact_fit": ("gpt2", "commonsense", "ids of record 0", True, False),
    "gpt2_math_default_length_train_on_inputs": ("gpt2", "math", None, False, True),
    "split_sequence_math_eos": ("split_sequence", "math", 320, True, False),
}


def encode_truncated(tokenizer, text, max_length):
    tokenizer.enable_truncation(max_length)
    ids = tokenizer.encode(text).ids
    tokenizer.no_truncation()
    return ids


def expected_rows(tokenizer, record, max_length, add_eos, train_on_inputs, pad_id):
    eos_id = tokenizer.token_to_id("<|endoftext|>")
    text = prompt(record, True)
    ids = encode_truncated(tokenizer, text, max_length)
    if add_eos and (not ids or ids[-1] != eos_id) and len(ids) < max_length:
        ids.append(eos_id)
    hf_labels = list(ids)
    prompt_length = 0 if train_on_inputs else len(encode_truncated(tokenizer, prompt(record, False), max_length))
    hf_labels = [-100] * prompt_length + hf_labels[prompt_length:]
    labels = hf_labels[1:len(ids)] + [-100] * (max_length - len(ids) + 1)
    tokens = ids + [pad_id] * (max_length - len(ids))
    room = max_length - tokenizer.post_processor.num_special_tokens_to_add(False)
    cut = len(tokenizer.encode(text, add_special_tokens=False).ids) > room
    return {"tokens": tokens, "labels": labels, "length": len(ids), "prompt_length": prompt_length, "cut": cut}


def main():
    work = sys.argv[1]
    for name, build in tokenizer_reference.BUILDERS.items():
        build()[0].save(os.path.join(work, name + ".json"))
    data = {"commonsense": commonsense_records(), "math": math_records()}
    for name, records in data.items():
        with open(os.path.join(work, name + ".json"), "w", encoding="utf-8") as file:
            json.dump(records, file, ensure_ascii=False, indent=2)
    expected = {}
    for case, (tokenizer_name, data_name, max_length, add_eos, train_on_inputs) in CASES.items():
        tokenizer = Tokenizer.from_file(os.path.join(work, tokenizer_name + ".json"))
        if max_length == "ids of record 0":
            max_length = len(tokenizer.encode(prompt(data[data_name][0], True)).ids)
        padding = tokenizer.token_to_id("<|padding|>")
        pad_id = padding if padding is not None else 0
        arguments = [tokenizer_name + ".json", data_name + ".json", case + ".safetensors"]
        arguments += ["--max-length", str(max_length)] if max_length else []
        arguments += ["--eos"] if add_eos else []
        arguments += ["--train-on-inputs"] if train_on_inputs else []
        rows = [expected_rows(tokenizer, record, max_length or 256, add_eos, train_on_inputs, pad_id)
                for record in data[data_name]]
        if case.endswith("exact_fit"):
            assert rows[0]["length"] == max_length and not rows[0]["cut"], rows[0]
            assert rows[0]["tokens"][-1] != tokenizer.token_to_id("<|endoftext|>"), "record 0 ends in EOS"
        expected[case] = {"arguments": arguments, "max_length": max_length or 256, "pad_id": pad_id,
                          "eos": add_eos, "train_on_inputs": train_on_inputs, "rows": rows}
    with open(os.path.join(work, "expected.json"), "w", encoding="utf-8") as file:
        json.dump(expected, file)
    print("perft_data_reference: wrote %d cases" % len(expected))


if __name__ == "__main__":
    main()
