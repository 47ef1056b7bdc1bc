#!/usr/bin/env python3
"""random_checkpoint.py FAMILY OUT_DIR [--layers N | --config-only]: a Hugging Face checkpoint folder at the full size
of OLMoE-1B-7B-0924 (FAMILY olmoe) or Mixtral-8x7B-v0.1 (mixtral) with random bf16 weights:
config.json (the published sizes), model.safetensors.index.json and one shard per layer, under the
published tensor names. For measuring perft's step time and memory at full size when no real
checkpoint is at hand (README: "Real models"). Needs numpy (Debian: python3-numpy); writes
~14 GB for OLMoE (~93 GB for Mixtral). --layers N keeps only the first N layers.
"""
import json
import os
import struct
import sys

CONFIGS = {
    "olmoe": {"architectures": ["OlmoeForCausalLM"], "model_type": "olmoe", "vocab_size": 50304,
              "hidden_size": 2048, "intermediate_size": 1024, "num_hidden_layers": 16,
              "num_attention_heads": 16, "num_key_value_heads": 16, "num_experts": 64,
              "num_experts_per_tok": 8, "norm_topk_prob": False, "rope_theta": 10000.0, "rms_norm_eps": 1e-05,
              "max_position_embeddings": 4096, "router_aux_loss_coef": 0.01, "output_router_logits": False,
              "tie_word_embeddings": False, "torch_dtype": "bfloat16"},
    "mixtral": {"architectures": ["MixtralForCausalLM"], "model_type": "mixtral", "vocab_size": 32000,
                "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
                "num_attention_heads": 32, "num_key_value_heads": 8, "num_local_experts": 8,
                "num_experts_per_tok": 2, "rope_theta": 1000000.0, "rms_norm_eps": 1e-05,
                "max_position_embeddings": 32768, "router_aux_loss_coef": 0.02, "tie_word_embeddings": False,
                "torch_dtype": "bfloat16"},
}


def tensors_of_layer(family, c, l):
    D, F, hd = c["hidden_size"], c["intermediate_size"], c["hidden_size"] // c["num_attention_heads"]
    Q, KV = c["num_attention_heads"] * hd, c["num_key_value_heads"] * hd
    p = "model.layers.%d." % l
    out = [(p + "input_layernorm.weight", [D], "ones"), (p + "post_attention_layernorm.weight", [D], "ones"),
           (p + "self_attn.q_proj.weight", [Q, D], D), (p + "self_attn.k_proj.weight", [KV, D], D),
           (p + "self_attn.v_proj.weight", [KV, D], D), (p + "self_attn.o_proj.weight", [D, Q], Q)]
    if family == "olmoe":
        out += [(p + "self_attn.q_norm.weight", [Q], "ones"), (p + "self_attn.k_norm.weight", [KV], "ones"),
                (p + "mlp.gate.weight", [c["num_experts"], D], D)]
        for e in range(c["num_experts"]):
            q = p + "mlp.experts.%d." % e
            out += [(q + "gate_proj.weight", [F, D], D), (q + "up_proj.weight", [F, D], D),
                    (q + "down_proj.weight", [D, F], F)]
    else:
        out += [(p + "block_sparse_moe.gate.weight", [c["num_local_experts"], D], D)]
        for e in range(c["num_local_experts"]):
            q = p + "block_sparse_moe.experts.%d." % e
            out += [(q + "w1.weight", [F, D], D), (q + "w3.weight", [F, D], D), (q + "w2.weight", [D, F], F)]
    return out


def bf16(rng, shape, fan_in):
    import numpy as np
    if fan_in == "ones":
        return np.full(shape, 0x3F80, dtype=np.uint16)
    values = rng.standard_normal(size=shape, dtype=np.float32) * np.float32(fan_in ** -0.5)
    return (values.view(np.uint32) >> 16).astype(np.uint16)  # truncated to bf16: random anyway


def write_shard(path, tensors, rng):
    import numpy as np
    header, offset = {}, 0
    for name, shape, _ in tensors:
        size = 2 * int(np.prod(shape))
        header[name] = {"dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for name, shape, fan_in in tensors:
            f.write(bf16(rng, shape, fan_in).tobytes())


def main():
    if len(sys.argv) not in (3, 4, 5) or sys.argv[1] not in CONFIGS:
        sys.exit(__doc__)
    family, out = sys.argv[1], sys.argv[2]
    c = dict(CONFIGS[family])
    if sys.argv[3:] == ["--config-only"]:  # the published sizes alone, for perftc --config
        os.makedirs(out, exist_ok=True)
        json.dump(c, open(os.path.join(out, "config.json"), "w"), indent=1)
        return
    if len(sys.argv) == 5:
        c["num_hidden_layers"] = int(sys.argv[4])
    import numpy as np  # only for the weights
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(1)
    L, D, V = c["num_hidden_layers"], c["hidden_size"], c["vocab_size"]
    shards = [[("model.embed_tokens.weight", [V, D], D)]] + [tensors_of_layer(family, c, l) for l in range(L)]
    shards[-1] += [("model.norm.weight", [D], "ones"), ("lm_head.weight", [V, D], D)]
    weight_map, total = {}, 0
    for i, tensors in enumerate(shards):
        name = "model-%05d-of-%05d.safetensors" % (i + 1, len(shards))
        write_shard(os.path.join(out, name), tensors, rng)
        for t in tensors:
            weight_map[t[0]] = name
            total += 2 * int(np.prod(t[1]))
        print("wrote %s (%d tensors)" % (name, len(tensors)), flush=True)
    json.dump({"metadata": {"total_size": total}, "weight_map": weight_map},
              open(os.path.join(out, "model.safetensors.index.json"), "w"), indent=1)
    json.dump(c, open(os.path.join(out, "config.json"), "w"), indent=1)
    print("%s: %d layers, %.2f GB of bf16 weights" % (out, L, total / 1e9))


if __name__ == "__main__":
    main()
