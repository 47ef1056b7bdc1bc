"""finetune_tiny.py (run by check_hf.py --finetune, in its virtual environment): a short PERFT-R
fine-tune of a tiny OLMoE-shaped checkpoint on generated instruction data, the way a user runs one
on OLMoE-1B-7B and Commonsense170K (README: "Real models"), every step through perft's own tools:

  1. a byte-level BPE tokenizer trained with the tokenizers library (OLMoE-style: GPT-2 split,
     ByteLevel, <|endoftext|> special) and a Commonsense170K-style JSON file of generated questions
     with one right answer each (which sound an animal makes, which colour a fruit has, ...);
  2. perft-data TOKENIZER DATA OUT --max-length 192 --eos (the official prompt template, prompt
     and padding at -100);
  3. a tiny OLMoE (vocabulary of the tokenizer, 2 layers, 8 experts) saved by transformers,
     sharded, in bf16;
  4. perftc examples/olmoe_perft_r.perft --config FOLDER/config.json --frozen-dtype=bf16, then
     ./olmoe_perft_r --base FOLDER --data OUT --eval-every ...: the validation loss (held-out
     rows) must fall below half the first step's loss, and below its own first value.
"""
import copy
import json
import os
import random
import subprocess
import sys

import torch
import transformers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

FACTS = {
    "Which sound does a {} make?": {"cow": "moo", "dog": "woof", "cat": "meow", "duck": "quack", "sheep": "baa",
                                    "owl": "hoot", "lion": "roar", "bee": "buzz"},
    "Which colour does a ripe {} have?": {"banana": "yellow", "tomato": "red", "lime": "green", "plum": "purple",
                                          "orange": "orange", "blueberry": "blue", "coconut": "brown",
                                          "lychee": "pink"},
}


def examples(count, rng):
    out = []
    for _ in range(count):
        question = rng.choice(sorted(FACTS))
        subject = rng.choice(sorted(FACTS[question]))
        wrong = sorted(set(FACTS[question].values()) - {FACTS[question][subject]})
        answers = rng.sample(wrong, 3) + [FACTS[question][subject]]
        rng.shuffle(answers)
        right = answers.index(FACTS[question][subject]) + 1
        options = " ".join("Answer%d: %s" % (i + 1, a) for i, a in enumerate(answers))
        out.append({"instruction": "Please choose the correct answer to the question: %s\n\n%s\n\nAnswer format: "
                                   "answer1/answer2/..." % (question.format(subject), options),
                    "input": "", "output": "the correct answer is answer%d" % right, "answer": "answer%d" % right})
    return out


def tokenizer_file(path, texts):
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=True)
    trainer = trainers.BpeTrainer(vocab_size=1000, special_tokens=["<|endoftext|>", "<|padding|>"],
                                  show_progress=False, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(texts, trainer)
    tokenizer.save(path)
    return tokenizer.get_vocab_size()


def run(command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit("FAIL: %s exited %d:\n%s%s" % (" ".join(command), result.returncode, result.stdout, result.stderr))
    return result.stdout


def finetune(perftc, perft_data, work):
    os.makedirs(work, exist_ok=True)
    rng = random.Random(5)
    data = examples(1200, rng)
    data_path = os.path.join(work, "instructions.json")
    json.dump(data, open(data_path, "w"), indent=1)
    tokenizer_path = os.path.join(work, "tokenizer.json")
    template = ("Below is an instruction that describes a task. Write a response that appropriately completes "
                "the request.\n\n### Instruction:\n\n\n### Response:\n")
    vocab = tokenizer_file(tokenizer_path, [template + d["instruction"] + " " + d["output"] for d in data])
    tokens = os.path.join(work, "train.safetensors")
    print(run([perft_data, tokenizer_path, data_path, tokens, "--max-length", "192", "--eos"]).strip().splitlines()[-1])

    torch.manual_seed(3)
    config = transformers.OlmoeConfig(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=4, num_experts=8,
                                      num_experts_per_tok=2, max_position_embeddings=192, tie_word_embeddings=False,
                                      initializer_range=0.1)
    model = transformers.OlmoeForCausalLM(config)
    with torch.no_grad():  # bf16 values, so that the bf16 checkpoint holds exactly the f32 model's weights
        for p in model.parameters():
            p.copy_(p.to(torch.bfloat16).to(torch.float32))
    model.eval()
    folder = os.path.join(work, "tiny-olmoe")
    copy.deepcopy(model).to(torch.bfloat16).save_pretrained(folder, max_shard_size="100KB", safe_serialization=True)

    exe = os.path.join(work, "olmoe_perft_r")
    run([perftc, os.path.join(ROOT, "examples", "olmoe_perft_r.perft"), "--config", os.path.join(folder, "config.json"),
         "--frozen-dtype=bf16", "-DSq=192", "-DB=4", "-DN=4", "-Dr=8", "-o", exe])
    metrics = os.path.join(work, "metrics.jsonl")
    if os.path.exists(metrics):
        os.remove(metrics)
    out = run([exe, "--base", folder, "--data", tokens, "--steps", "300", "--lr", "3e-3", "--warmup", "20",
               "--eval-every", "25", "--eval-batches", "8", "--metrics", metrics,
               "--save", os.path.join(work, "adapters.safetensors")])
    lines = [json.loads(line) for line in open(metrics)]
    first_training_loss = lines[0]["loss"]
    losses = [(e["step"], e["loss"]) for e in lines if e.get("eval")]
    print("training loss at step 1: %.3f; validation loss (held-out rows) by step: %s"
          % (first_training_loss, ", ".join("%d: %.3f" % s for s in losses)))
    print(out.strip().splitlines()[-1])
    if len(losses) < 2 or not (losses[-1][1] < 0.5 * first_training_loss and losses[-1][1] < losses[0][1]):
        sys.exit("FAIL: the validation loss did not fall (below half the first training loss, and below its "
                 "first value): %s" % losses)
    print("tiny OLMoE fine-tune: PASS")
    evaluate(exe, folder, tokenizer_path, model, work)


def official_prompt(instruction):
    """The fine-tuning template with the output "the correct answer is" (data/prompt.h), written
    again here from the official code's generate_prompt."""
    indent = " " * 16
    return ("Below is an instruction that describes a task. Write a response that appropriately completes the "
            "request.  \n\n" + indent + "### Instruction:\n" + indent + instruction + "\n" + indent + "\n" + indent +
            "### Response:\n" + indent + "the correct answer is")


def extract(sentence):
    """commonsense_evaluate.py's extract_answer for the answer1..5 tasks."""
    import re
    found = re.findall(r'answer1|answer2|answer3|answer4|answer5', sentence.strip())
    return found[0] if found else ""


def greedy(model, ids, max_new, eos):
    """What generate(do_sample=False, num_beams=1) gives (its own import of torch.distributed.fsdp
    fails with Debian's torch 1.13 on Python 3.11): the argmax of the last position's logits, appended,
    max_new times or until eos."""
    out = list(ids)
    with torch.no_grad():
        for _ in range(max_new):
            token = int(model(input_ids=torch.tensor([out])).logits[0, -1].argmax())
            if token == eos:
                break
            out.append(token)
    return out[len(ids):]


def evaluate(exe, folder, tokenizer_path, model, work):
    """--evaluate-tasks on generated ARC-Easy- and OBQA-style test sets: with the adapters' B = 0 each
    example's prediction equals the one of transformers' greedy generate on the base model; with the
    trained adapters the accuracy is reported."""
    tasks = os.path.join(work, "tasks")
    rng = random.Random(9)
    for task in ("ARC-Easy", "openbookqa"):
        os.makedirs(os.path.join(tasks, task), exist_ok=True)
        json.dump(examples(24, rng), open(os.path.join(tasks, task, "test.json"), "w"))
    zero = os.path.join(work, "zero_adapters.safetensors")
    from safetensors.torch import load_file, save_file
    trained = load_file(os.path.join(work, "adapters.safetensors"))
    save_file({k: (torch.zeros_like(v) if k.endswith(".B") else v) for k, v in trained.items()}, zero)
    results = os.path.join(work, "base_results.json")
    run([exe, "--evaluate-tasks", tasks, "--tokenizer", tokenizer_path, "--base", folder, "--weights", zero,
         "--results", results])
    ours = json.load(open(results))
    tokenizer = Tokenizer.from_file(tokenizer_path)
    mismatches = 0
    for e in ours["examples"]:
        data = json.load(open(os.path.join(tasks, e["task"], "test.json")))[e["index"]]
        ids = tokenizer.encode(official_prompt(data["instruction"])).ids
        text = tokenizer.decode(greedy(model, ids, 32, tokenizer.token_to_id("<|endoftext|>")), skip_special_tokens=True)
        if extract(text) != e["prediction"] or not text.startswith(e["output"]):
            mismatches += 1
            print("mismatch: %s %d: transformers %r -> %r, perft %r -> %r"
                  % (e["task"], e["index"], text, extract(text), e["output"], e["prediction"]))
    print("--evaluate-tasks with B = 0: %d examples, each prediction and output as transformers' greedy "
          "generate gives them (%d mismatches); accuracy %s" % (len(ours["examples"]), mismatches,
                                                                 ", ".join("%s %.3f" % (t, v["accuracy"])
                                                                           for t, v in ours["tasks"].items())))
    if mismatches:
        sys.exit("FAIL: --evaluate-tasks differs from transformers' greedy generation")
    trained_results = os.path.join(work, "trained_results.json")
    out = run([exe, "--evaluate-tasks", tasks, "--tokenizer", tokenizer_path, "--base", folder, "--weights",
               os.path.join(work, "adapters.safetensors"), "--results", trained_results])
    print("after the fine-tune:\n" + out.strip())
    answered = sum(1 for e in json.load(open(trained_results))["examples"] if e["prediction"])
    print("after the fine-tune %d of %d outputs hold an answer (answer1..5); before it, %d"
          % (answered, len(ours["examples"]), sum(1 for e in ours["examples"] if e["prediction"])))
    if answered < 0.9 * len(ours["examples"]):
        sys.exit("FAIL: after the fine-tune the outputs should hold answers in the trained format")


if __name__ == "__main__":
    finetune(*sys.argv[1:4])
