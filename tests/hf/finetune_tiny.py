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
    check_exports(exe, folder, model, vocab, work)


def dump_logits(exe, folder, weights, tokens, work):
    """Our logits for tokens [B, S] (labels: the next tokens), from --dump."""
    from safetensors.torch import load_file, save_file
    inputs = os.path.join(work, "export_inputs.safetensors")
    labels = torch.full_like(tokens, -100)
    labels[:, :-1] = tokens[:, 1:]
    save_file({"tokens": tokens.to(torch.int32).contiguous(), "labels": labels.to(torch.int32).contiguous()}, inputs)
    out = os.path.join(work, "export_dump.safetensors")
    run([exe, "--dump", out, "--inputs", inputs, "--base", folder, "--weights", weights])
    return load_file(out)["out.logits"]


def perft_r_hooks(model, adapters, config):
    """PERFT-R (PERFT.md) on transformers' OLMoE, written here from the equations with the tensors and
    config fields of the official code's names: each layer's sparse block gets, on its input h,
    Σ_{j in top-k(q)} w_j (α/r) B_j A_j h with q = softmax(h · gateᵀ), w renormalised only when the
    model's norm_topk_prob says so."""
    n = config["shared_routing_adapter_num_experts"]
    k = config["shared_routing_adapter_num_experts_per_tok"]
    scale = config["shared_routing_adapter_args"]["lora_alpha"] / config["shared_routing_adapter_args"]["r"]
    handles = []
    for l, layer in enumerate(model.model.layers):
        prefix = "model.layers.%d.mlp.shared_routing_adapter" % l
        gate = adapters[prefix + "_gate.weight"]
        A = [adapters["%s.%d.unit.lora_A.weight" % (prefix, j)] for j in range(n)]
        B = [adapters["%s.%d.unit.lora_B.weight" % (prefix, j)] for j in range(n)]

        def hook(module, inputs, output, gate=gate, A=A, B=B):
            h = inputs[0].reshape(-1, inputs[0].shape[-1])
            q = torch.softmax(h @ gate.t(), dim=-1)
            w, j = torch.topk(q, k, dim=-1)
            if config.get("norm_topk_prob"):
                w = w / w.sum(-1, keepdim=True)
            extra = torch.zeros_like(h)
            for slot in range(k):
                for e in range(n):
                    rows = j[:, slot] == e
                    extra[rows] += w[rows, slot, None] * scale * ((h[rows] @ A[e].t()) @ B[e].t())
            return (output[0] + extra.reshape(output[0].shape),) + tuple(output[1:])

        handles.append(layer.mlp.register_forward_hook(hook))
    return handles


def hooked_logits(model, handles, tokens, ours):
    """transformers' logits with the hooks on, then the hooks removed; the relative error against ours."""
    with torch.no_grad():
        theirs = model(input_ids=tokens).logits.reshape(ours.shape)
    for handle in handles:
        handle.remove()
    return float((ours - theirs).abs().max() / theirs.abs().max())


def random_trainable(exe, scale, path):
    """Random values (normal, times scale) for every trainable parameter of exe, saved to path."""
    from safetensors.torch import save_file
    weights = {}
    for line in run([exe, "--list-params"]).splitlines():
        words = line.split()
        if len(words) >= 3 and words[2] == "trainable":
            weights[words[0]] = torch.randn([int(d) for d in words[1].split("x")]) * scale
    save_file(weights, path)
    return path


def safetensors_header(path):
    import struct
    with open(path, "rb") as f:
        header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
    header.pop("__metadata__", None)
    return {name: entry["shape"] for name, entry in header.items()}


def exported(program, folder, work):
    """Compiles tests/hf/PROGRAM.perft for folder's config, gives its adapters random values and
    exports them (--export-perft): the exported names with their shapes, and the exported config."""
    exe = os.path.join(work, program)
    run([PERFTC[0], os.path.join(HERE, program + ".perft"), "--config", os.path.join(folder, "config.json"),
         "-Dr=8", "-o", exe])
    adapters = random_trainable(exe, 1.0, os.path.join(work, program + ".safetensors"))
    export = os.path.join(work, "export_" + program)
    run([exe, "--export-perft", export, "--weights", adapters, "--base", folder])
    return safetensors_header(os.path.join(export, "model.safetensors")), json.load(open(os.path.join(export, "config.json")))


def check_perft_es_export(folder, work):
    """PERFT-E and PERFT-S adapters exported under the official code's module names: every expected
    name (written here from its module layout), its shape, and the config fields."""
    found, exported_config = exported("olmoe_perft_es", folder, work)
    config = json.load(open(os.path.join(folder, "config.json")))
    L, E, D = config["num_hidden_layers"], config["num_experts"], config["hidden_size"]
    expected = {}
    for l in range(L):
        for e in range(E):
            expected["model.layers.%d.mlp.experts.%d.embedded_routing_adapter.unit.lora_A.weight" % (l, e)] = [8, D]
            expected["model.layers.%d.mlp.experts.%d.embedded_routing_adapter.unit.lora_B.weight" % (l, e)] = [D, 8]
        expected["model.layers.%d.mlp.shared_adapter.0.unit.lora_A.weight" % l] = [8, D]
        expected["model.layers.%d.mlp.shared_adapter.0.unit.lora_B.weight" % l] = [D, 8]
    fields = {k: exported_config.get(k) for k in ("model_type", "embedded_routing_adapter", "shared_adapter",
                                                   "shared_adapter_num", "adapter_args")}
    print("--export-perft of PERFT-E + PERFT-S: %d tensors, config %s" % (len(found), fields))
    if found != expected or fields != {"model_type": "olmoe-adapter", "embedded_routing_adapter": True,
                                       "shared_adapter": True, "shared_adapter_num": 1,
                                       "adapter_args": {"r": 8, "lora_alpha": 16, "lora_dropout": 0.05}}:
        sys.exit("FAIL: PERFT-E/S export: names %s, config %s"
                 % (sorted(set(found) ^ set(expected))[:6], fields))

    # PERFT-R with parallel adapters: the official Parallel_Adapter unit's names and config
    found, exported_config = exported("olmoe_perft_pa", folder, work)
    expected = {}
    for l in range(L):
        expected["model.layers.%d.mlp.shared_routing_adapter_gate.weight" % l] = [3, D]
        for j in range(3):
            expected["model.layers.%d.mlp.shared_routing_adapter.%d.unit.adapter_w1.weight" % (l, j)] = [8, D]
            expected["model.layers.%d.mlp.shared_routing_adapter.%d.unit.adapter_w2.weight" % (l, j)] = [D, 8]
    fields = {k: exported_config.get(k) for k in ("shared_routing_adapter_num_experts", "shared_routing_adapter_num_experts_per_tok",
                                            "shared_routing_adapter_type", "shared_routing_adapter_args")}
    print("--export-perft of PERFT-R with parallel adapters: %d tensors, config %s" % (len(found), fields))
    if found != expected or fields != {"shared_routing_adapter_num_experts": 3, "shared_routing_adapter_num_experts_per_tok": 2,
                                       "shared_routing_adapter_type": "Parallel_Adapter",
                                       "shared_routing_adapter_args": {"hidden_dim": 8, "hidden_act": "silu",
                                                                       "dropout": 0.05}}:
        sys.exit("FAIL: parallel-adapter export: names %s, config %s" % (sorted(set(found) ^ set(expected))[:6], fields))


def check_perft_d_export(folder, model, vocab, work):
    """PERFT-D (stored stacked: A [N·r, D], B [D, N·r]) exported as the official code's N shared
    adapters: applied by PyTorch (Σ_j (α/r) B_j A_j h beside each sparse block, written here from
    PERFT.md) on transformers' OLMoE, they give our logits."""
    from safetensors.torch import load_file, save_file
    exe = os.path.join(work, "olmoe_perft_d")
    run([PERFTC[0], os.path.join(HERE, "olmoe_perft_d.perft"), "--config", os.path.join(folder, "config.json"),
         "-DSq=192", "-DB=4", "-Dr=8", "-o", exe])
    adapters = random_trainable(exe, 0.1, os.path.join(work, "perft_d.safetensors"))
    torch.manual_seed(6)
    tokens = torch.randint(0, vocab, (4, 192))
    ours = dump_logits(exe, folder, adapters, tokens, work)
    export = os.path.join(work, "export_perft_d")
    run([exe, "--export-perft", export, "--weights", adapters, "--base", folder])
    config = json.load(open(os.path.join(export, "config.json")))
    tensors = load_file(os.path.join(export, "model.safetensors"))
    n, scale = config["shared_adapter_num"], config["shared_adapter_args"]["lora_alpha"] / config["shared_adapter_args"]["r"]
    handles = []
    for l, layer in enumerate(model.model.layers):
        A = [tensors["model.layers.%d.mlp.shared_adapter.%d.unit.lora_A.weight" % (l, j)] for j in range(n)]
        B = [tensors["model.layers.%d.mlp.shared_adapter.%d.unit.lora_B.weight" % (l, j)] for j in range(n)]

        def hook(module, inputs, output, A=A, B=B):
            h = inputs[0]
            return (output[0] + sum(scale * ((h @ a.t()) @ b.t()) for a, b in zip(A, B)),) + tuple(output[1:])

        handles.append(layer.mlp.register_forward_hook(hook))
    error = hooked_logits(model, handles, tokens, ours)
    print("--export-perft of PERFT-D: %d tensors, shared_adapter_num %d; logits of PERFT-D applied in PyTorch with "
          "them: relative error %.1e" % (len(tensors), n, error))
    if not error <= 1e-4 or n != 3:
        sys.exit("FAIL: the exported PERFT-D adapters do not give our logits")


def check_exports(exe, folder, model, vocab, work):
    """--export-perft: the trained PERFT-R adapters under the official names, applied by an independent
    PERFT-R on transformers' OLMoE, give our logits. --export-peft: a LoRA on q/v with random weights
    loaded by PEFT (if it installs) gives our logits."""
    from safetensors.torch import load_file, save_file
    torch.manual_seed(4)
    tokens = torch.randint(0, vocab, (4, 192))
    export = os.path.join(work, "export_perft")
    run([exe, "--export-perft", export, "--weights", os.path.join(work, "adapters.safetensors"), "--base", folder])
    config = json.load(open(os.path.join(export, "config.json")))
    ours = dump_logits(exe, folder, os.path.join(work, "adapters.safetensors"), tokens, work)
    handles = perft_r_hooks(model, load_file(os.path.join(export, "model.safetensors")), config)
    error = hooked_logits(model, handles, tokens, ours)
    print("--export-perft: %d tensors, config %s; logits of an independent PERFT-R on transformers' OLMoE "
          "with them: relative error %.1e" % (len(load_file(os.path.join(export, "model.safetensors"))),
                                               {k: v for k, v in config.items() if "shared_routing" in k}, error))
    if not error <= 1e-4:
        sys.exit("FAIL: the exported PERFT-R adapters do not give our logits")

    check_perft_es_export(folder, work)
    check_perft_d_export(folder, model, vocab, work)

    qv = os.path.join(work, "olmoe_lora_qv")
    run([PERFTC[0], os.path.join(ROOT, "examples", "olmoe_lora_qv.perft"), "--config",
         os.path.join(folder, "config.json"), "--frozen-dtype=bf16", "-DSq=192", "-DB=4", "-Dr=8", "-o", qv])
    lora = random_trainable(qv, 0.05, os.path.join(work, "lora_qv.safetensors"))
    ours = dump_logits(qv, folder, lora, tokens, work)
    export = os.path.join(work, "export_peft")
    run([qv, "--export-peft", export, "--weights", lora, "--base", folder])
    # PEFT 0.10.0 and accelerate 0.34.2 work with Debian's torch 1.13; installed without their
    # dependencies, which would otherwise pull a new torch (gigabytes) from PyPI over Debian's
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--quiet",
                                "--timeout", "30", "--no-deps", "peft==0.10.0", "accelerate==0.34.2"],
                               capture_output=True, text=True)
    try:
        import peft
    except Exception as problem:  # the issue: "if PEFT installs"
        print("--export-peft: written; PEFT did not install or import (%s), its load was not checked: %s"
              % (problem, installed.stderr[-500:]))
        return
    peft_model = peft.PeftModel.from_pretrained(copy.deepcopy(model), export)
    peft_model.eval()
    with torch.no_grad():
        theirs = peft_model(input_ids=tokens).logits.reshape(ours.shape)
    error = float((ours - theirs).abs().max() / theirs.abs().max())
    print("--export-peft: PEFT %s loads it (%s); logits relative error %.1e"
          % (peft.__version__, json.load(open(os.path.join(export, "adapter_config.json")))["target_modules"], error))
    if not error <= 1e-4:
        sys.exit("FAIL: the PEFT export does not give our logits")


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


PERFTC = []

if __name__ == "__main__":
    PERFTC.append(sys.argv[1])
    finetune(*sys.argv[1:4])
