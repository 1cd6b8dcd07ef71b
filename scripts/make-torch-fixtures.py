#!/usr/bin/env python3
"""Writes the PyTorch reference fixtures for the training engine's ops and for the tiny llama model.

Run from the repository root with Debian's PyTorch (apt-get install python3-torch):

    /usr/bin/python3 scripts/make-torch-fixtures.py

Each fixture records the torch version and the SHA-256 of this file; a test checks that hash, so a
changed script means regenerated fixtures. References are computed in float64 from float32 inputs.
Small arrays are JSON numbers; the model's gradients are base64 little-endian float32. The model's
weights are not stored: both sides derive them from the integer hash in `hash_uniform`.
"""
import base64
import hashlib
import json
import math
import os
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.abspath(__file__)
ENGINE_FIXTURES = os.path.join(ROOT, "src", "engine", "__fixtures__")
MODEL_FIXTURES = os.path.join(ROOT, "src", "model", "llama", "__fixtures__")
DOUBLE = torch.float64


def script_sha256():
    with open(SCRIPT, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def header(name):
    return {
        "fixture": name,
        "generator": {
            "script": "scripts/make-torch-fixtures.py",
            "sha256": script_sha256(),
            "torch": torch.__version__,
            "python": sys.version.split()[0],
        },
    }


def numbers(tensor):
    """Flattened values with 9 significant digits (enough to round-trip float32)."""
    flat = tensor.detach().to(DOUBLE).reshape(-1).tolist()
    return [float("%.9g" % value) for value in flat]


def float32_base64(tensor):
    array = tensor.detach().to(torch.float32).reshape(-1).numpy().astype("<f4")
    return base64.b64encode(array.tobytes()).decode("ascii")


def hash_uniform(count, seed):
    """Uniform values in [-1, 1) from an integer hash of (seed, index), reproducible bit for bit in TypeScript."""
    x = (np.arange(count, dtype=np.uint64) + np.uint64(seed) * np.uint64(0x9E3779B1)) & np.uint64(0xFFFFFFFF)
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x7FEB352D)) & np.uint64(0xFFFFFFFF)
    x ^= x >> np.uint64(15)
    x = (x * np.uint64(0x846CA68B)) & np.uint64(0xFFFFFFFF)
    x ^= x >> np.uint64(16)
    return x.astype(np.float64) / 4294967296.0 * 2.0 - 1.0


def float32_values(shape, generator, scale=1.0):
    """Random float32-representable inputs, returned as float64 leaf tensors."""
    values = torch.randn(shape, generator=generator, dtype=torch.float32) * scale
    return values.to(DOUBLE).requires_grad_(True)


def write(directory, name, payload):
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, name + ".json")
    with open(path, "w") as handle:
        json.dump(payload, handle, separators=(",", ":"))
        handle.write("\n")
    print("wrote", os.path.relpath(path, ROOT), os.path.getsize(path), "bytes")


# ---------------------------------------------------------------- reference ops (float64)


def rms_norm(x, weight, epsilon):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + epsilon) * weight


def rotary_tables(head_dimension, positions, theta):
    inverse_frequency = 1.0 / (theta ** (torch.arange(0, head_dimension, 2, dtype=torch.float32) / head_dimension))
    angles = torch.outer(positions.to(torch.float32), inverse_frequency)
    return angles.to(DOUBLE).cos(), angles.to(DOUBLE).sin()


def rotate(x, cos, sin):
    """x [..., rows, heads, d] with cos/sin [rows, d/2]: Hugging Face's rotate_half pairing."""
    half = x.shape[-1] // 2
    cos = torch.cat((cos, cos), -1).unsqueeze(-2)
    sin = torch.cat((sin, sin), -1).unsqueeze(-2)
    rotated = torch.cat((-x[..., half:], x[..., :half]), -1)
    return x * cos + rotated * sin


def attention(qkv, batch, length, heads, kv_heads, head_dimension):
    q, k, v = qkv.view(batch, length, heads + 2 * kv_heads, head_dimension).split([heads, kv_heads, kv_heads], 2)
    group = heads // kv_heads
    q = q.transpose(1, 2)
    k = k.transpose(1, 2).repeat_interleave(group, 1)
    v = v.transpose(1, 2).repeat_interleave(group, 1)
    scores = q @ k.transpose(-1, -2) / math.sqrt(head_dimension)
    mask = torch.ones(length, length, dtype=torch.bool).triu(1)
    scores = scores.masked_fill(mask, float("-inf"))
    output = scores.softmax(-1) @ v
    return output.transpose(1, 2).reshape(batch * length, heads * head_dimension)


def swiglu(gate_up):
    gate, up = gate_up.chunk(2, -1)
    return torch.nn.functional.silu(gate) * up


def sequence_nll(logits, targets, batch):
    """Per-sequence mean negative log-likelihood over targets >= 0."""
    log_probabilities = logits.log_softmax(-1)
    mask = targets >= 0
    picked = log_probabilities.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1) * mask
    picked = picked.view(batch, -1)
    counts = mask.view(batch, -1).sum(-1)
    return -picked.sum(-1) / counts.clamp(min=1), counts


# ---------------------------------------------------------------- op fixtures


def backward(output, generator):
    """Backpropagates a random upstream gradient; returns it."""
    upstream = torch.randn(output.shape, generator=generator, dtype=torch.float32).to(DOUBLE)
    output.backward(upstream)
    return upstream


def op_fixtures():
    g = torch.Generator().manual_seed(5)

    table = float32_values((7, 5), g)
    tokens = torch.tensor([3, 0, 6, 3, 1])
    output = table[tokens]
    upstream = backward(output, g)
    write(ENGINE_FIXTURES, "embedding", {
        **header("embedding"),
        "vocabularySize": 7, "dimension": 5, "tokens": tokens.tolist(),
        "table": numbers(table), "output": numbers(output), "outputGradient": numbers(upstream),
        "tableGradient": numbers(table.grad),
    })

    x = float32_values((5, 6), g)
    weight = float32_values((4, 6), g)
    output = x @ weight.T
    upstream = backward(output, g)
    # The bias case draws from its own generator so the fixtures after this one keep their values.
    bias = float32_values((4,), torch.Generator().manual_seed(6))
    biased = x.detach() @ weight.detach().T + bias
    biased.backward(upstream)
    write(ENGINE_FIXTURES, "matmul", {
        **header("matmul"), "rows": 5, "inputSize": 6, "outputSize": 4,
        "input": numbers(x), "weight": numbers(weight), "output": numbers(output),
        "outputGradient": numbers(upstream), "inputGradient": numbers(x.grad), "weightGradient": numbers(weight.grad),
        "bias": numbers(bias), "biasedOutput": numbers(biased), "biasGradient": numbers(bias.grad),
    })

    x = float32_values((4, 8), g)
    weight = float32_values((8,), g, 0.5)
    output = rms_norm(x, weight, 1e-5)
    upstream = backward(output, g)
    write(ENGINE_FIXTURES, "rms-norm", {
        **header("rms-norm"), "rows": 4, "dimension": 8, "epsilon": 1e-5,
        "input": numbers(x), "weight": numbers(weight), "output": numbers(output),
        "outputGradient": numbers(upstream), "inputGradient": numbers(x.grad), "weightGradient": numbers(weight.grad),
    })

    # Rows of width 32 = 4 heads of 8; the first 3 heads (2 query + 1 key) rotate, the last (value) does not.
    positions = torch.tensor([0, 1, 2, 5, 0, 3])
    x = float32_values((6, 32), g)
    cos, sin = rotary_tables(8, positions, 500.0)
    heads = x.view(6, 4, 8)
    output = torch.cat((rotate(heads[:, :3], cos, sin), heads[:, 3:]), 1).reshape(6, 32)
    upstream = backward(output, g)
    write(ENGINE_FIXTURES, "rotary-embedding", {
        **header("rotary-embedding"), "rows": 6, "width": 32, "heads": 3, "headDimension": 8, "theta": 500.0,
        "maxPositions": 8, "positions": positions.tolist(),
        "input": numbers(x), "output": numbers(output), "outputGradient": numbers(upstream), "inputGradient": numbers(x.grad),
    })

    batch, length, heads, kv_heads, head_dimension = 2, 5, 4, 2, 4
    qkv = float32_values((batch * length, (heads + 2 * kv_heads) * head_dimension), g)
    output = attention(qkv, batch, length, heads, kv_heads, head_dimension)
    upstream = backward(output, g)
    write(ENGINE_FIXTURES, "causal-attention", {
        **header("causal-attention"), "batchSize": batch, "sequenceLength": length, "heads": heads,
        "kvHeads": kv_heads, "headDimension": head_dimension,
        "qkv": numbers(qkv), "output": numbers(output), "outputGradient": numbers(upstream), "qkvGradient": numbers(qkv.grad),
    })

    gate_up = float32_values((3, 10), g, 2.0)
    output = swiglu(gate_up)
    upstream = backward(output, g)
    write(ENGINE_FIXTURES, "swiglu", {
        **header("swiglu"), "rows": 3, "hidden": 5,
        "gateUp": numbers(gate_up), "output": numbers(output), "outputGradient": numbers(upstream),
        "gateUpGradient": numbers(gate_up.grad),
    })

    x = float32_values((3, 4), g)
    branch = float32_values((3, 4), g)
    output = x + branch
    upstream = backward(output, g)
    write(ENGINE_FIXTURES, "residual-add", {
        **header("residual-add"), "shape": [3, 4],
        "input": numbers(x), "branch": numbers(branch), "output": numbers(output), "outputGradient": numbers(upstream),
        "inputGradient": numbers(x.grad), "branchGradient": numbers(branch.grad),
    })

    batch, length, vocabulary = 3, 4, 7
    logits = float32_values((batch * length, vocabulary), g, 2.0)
    targets = torch.tensor([-1, 2, 6, 0, -1, -1, 3, 3, -1, -1, -1, -1])
    losses, counts = sequence_nll(logits, targets, batch)
    loss_gradients = torch.tensor([0.7, -1.3, 0.5], dtype=DOUBLE)
    losses.backward(loss_gradients)
    write(ENGINE_FIXTURES, "masked-cross-entropy", {
        **header("masked-cross-entropy"), "batchSize": batch, "sequenceLength": length, "vocabularySize": vocabulary,
        "logits": numbers(logits), "targets": targets.tolist(), "sequenceLosses": numbers(losses),
        "tokenCounts": counts.tolist(), "sequenceLossGradients": loss_gradients.tolist(), "logitsGradient": numbers(logits.grad),
    })

    logits = float32_values((6, vocabulary), g, 2.0)
    targets = torch.tensor([4, -1, 0, 6, 2, -1])
    mask = targets >= 0
    output = logits.log_softmax(-1).gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1) * mask
    upstream = backward(output, g)
    write(ENGINE_FIXTURES, "log-softmax-gather", {
        **header("log-softmax-gather"), "rows": 6, "vocabularySize": vocabulary,
        "logits": numbers(logits), "targets": targets.tolist(), "output": numbers(output),
        "outputGradient": numbers(upstream), "logitsGradient": numbers(logits.grad),
    })

    decayed = torch.randn(6, generator=g).requires_grad_(True)
    exempt = torch.randn(4, generator=g).requires_grad_(True)
    initial = torch.cat((decayed, exempt)).detach().clone()
    optimizer = torch.optim.AdamW(
        [{"params": [decayed], "weight_decay": 0.1}, {"params": [exempt], "weight_decay": 0.0}],
        lr=0.05, betas=(0.8, 0.95), eps=1e-6,
    )
    gradients = []
    for _ in range(3):
        step_gradients = torch.randn(10, generator=g)
        gradients.append(numbers(step_gradients))
        decayed.grad = step_gradients[:6].clone()
        exempt.grad = step_gradients[6:].clone()
        optimizer.step()
    state = [optimizer.state[decayed], optimizer.state[exempt]]
    write(ENGINE_FIXTURES, "adamw", {
        **header("adamw"), "learningRate": 0.05, "beta1": 0.8, "beta2": 0.95, "epsilon": 1e-6, "weightDecay": 0.1,
        "noDecay": {"offset": 6, "length": 4}, "initial": numbers(initial), "gradients": gradients,
        "parameters": numbers(torch.cat((decayed, exempt))),
        "firstMoment": numbers(torch.cat([s["exp_avg"] for s in state])),
        "secondMoment": numbers(torch.cat([s["exp_avg_sq"] for s in state])),
    })

    cases = []
    for max_norm in (1.0, 100.0):
        first = torch.randn(5, generator=g).requires_grad_(True)
        second = torch.randn(3, generator=g).requires_grad_(True)
        first.grad = torch.randn(5, generator=g)
        second.grad = torch.randn(3, generator=g)
        before = [numbers(first.grad), numbers(second.grad)]
        norm = torch.nn.utils.clip_grad_norm_([first, second], max_norm)
        cases.append({"maxNorm": max_norm, "gradients": before, "norm": float(norm),
                      "clipped": [numbers(first.grad), numbers(second.grad)]})
    write(ENGINE_FIXTURES, "clip-gradient-norm", {**header("clip-gradient-norm"), "cases": cases})


# ---------------------------------------------------------------- whole tiny model

TINY = {
    "hiddenSize": 64, "layers": 2, "heads": 4, "kvHeads": 2, "intermediateSize": 172, "vocabularySize": 256,
    "ropeTheta": 10000.0, "rmsNormEpsilon": 1e-5, "tieWordEmbeddings": True,
}
# Qwen2's shape: the tiny model plus q/k/v biases, with an untied head so lm_head is covered too.
TINY_QWEN2 = {**TINY, "tieWordEmbeddings": False, "queryKeyValueBias": True}


def parameter_specs(config):
    """(name, shape, kind) in the canonical order the TypeScript model lays its flat parameters out."""
    d, f, v = config["hiddenSize"], config["intermediateSize"], config["vocabularySize"]
    head_dimension = d // config["heads"]
    kv = config["kvHeads"] * head_dimension
    specs = [("model.embed_tokens.weight", (v, d), "matrix")]
    for layer in range(config["layers"]):
        prefix = "model.layers.%d." % layer
        specs += [
            (prefix + "input_layernorm.weight", (d,), "norm"),
            (prefix + "self_attn.q_proj.weight", (d, d), "matrix"),
            (prefix + "self_attn.k_proj.weight", (kv, d), "matrix"),
            (prefix + "self_attn.v_proj.weight", (kv, d), "matrix"),
        ]
        if config.get("queryKeyValueBias", False):
            # The biases follow the three weights, packed like them (q, k, v).
            specs += [
                (prefix + "self_attn.q_proj.bias", (d,), "bias"),
                (prefix + "self_attn.k_proj.bias", (kv,), "bias"),
                (prefix + "self_attn.v_proj.bias", (kv,), "bias"),
            ]
        specs += [
            (prefix + "self_attn.o_proj.weight", (d, d), "matrix"),
            (prefix + "post_attention_layernorm.weight", (d,), "norm"),
            (prefix + "mlp.gate_proj.weight", (f, d), "matrix"),
            (prefix + "mlp.up_proj.weight", (f, d), "matrix"),
            (prefix + "mlp.down_proj.weight", (d, f), "matrix"),
        ]
    specs.append(("model.norm.weight", (d,), "norm"))
    if not config["tieWordEmbeddings"]:
        specs.append(("lm_head.weight", (v, d), "matrix"))
    return specs


def hashed_parameters(config):
    """Weights: 0.1 * u for matrices and biases, 1 + 0.1 * u for norms, u = hash_uniform(size, seed = index)."""
    parameters = {}
    for index, (name, shape, kind) in enumerate(parameter_specs(config)):
        values = hash_uniform(int(np.prod(shape)), index) * 0.1 + (1.0 if kind == "norm" else 0.0)
        parameters[name] = torch.tensor(values.astype(np.float32), dtype=DOUBLE).view(shape).requires_grad_(True)
    return parameters


def llama_losses(config, parameters, tokens, targets, batch, length, lora=None):
    """Per-sequence mean NLL. `lora` (optional): (scaling, adapters) with adapters[(layer, module)] = (A, B),
    added as PEFT's LoRA linear does: base(x) + scaling * B(A(x)) (no dropout)."""
    d = config["hiddenSize"]
    heads, kv_heads = config["heads"], config["kvHeads"]
    head_dimension = d // heads
    epsilon = config["rmsNormEpsilon"]
    cos, sin = rotary_tables(head_dimension, torch.arange(length), config["ropeTheta"])
    cos, sin = cos.repeat(batch, 1), sin.repeat(batch, 1)
    hidden = parameters["model.embed_tokens.weight"][tokens]
    for layer in range(config["layers"]):
        p = lambda name: parameters["model.layers.%d.%s" % (layer, name)]  # noqa: E731

        def linear(x, module, layer=layer):
            y = x @ p(module + ".weight").T
            if lora is not None and (layer, module) in lora[1]:
                a, b = lora[1][(layer, module)]
                y = y + lora[0] * ((x @ a.T) @ b.T)
            return y

        normed = rms_norm(hidden, p("input_layernorm.weight"), epsilon)
        qkv = torch.cat([linear(normed, "self_attn.%s_proj" % name) for name in "qkv"], -1)
        if config.get("queryKeyValueBias", False):
            qkv = qkv + torch.cat((p("self_attn.q_proj.bias"), p("self_attn.k_proj.bias"), p("self_attn.v_proj.bias")))
        qkv = qkv.view(batch * length, heads + 2 * kv_heads, head_dimension)
        rotated = rotate(qkv[:, : heads + kv_heads], cos, sin)
        qkv = torch.cat((rotated, qkv[:, heads + kv_heads :]), 1).reshape(batch * length, -1)
        hidden = hidden + linear(attention(qkv, batch, length, heads, kv_heads, head_dimension), "self_attn.o_proj")
        normed = rms_norm(hidden, p("post_attention_layernorm.weight"), epsilon)
        gate_up = torch.cat((linear(normed, "mlp.gate_proj"), linear(normed, "mlp.up_proj")), -1)
        hidden = hidden + linear(swiglu(gate_up), "mlp.down_proj")
    head = parameters["model.embed_tokens.weight" if config["tieWordEmbeddings"] else "lm_head.weight"]
    logits = rms_norm(hidden, parameters["model.norm.weight"], epsilon) @ head.T
    return sequence_nll(logits, targets, batch)


def model_fixture(name, config):
    batch, length = 2, 8
    tokens = torch.tensor((hash_uniform(batch * length, 1000) * 0.5 + 0.5) * config["vocabularySize"]).long()
    targets = torch.cat((tokens.view(batch, length)[:, 1:], torch.full((batch, 1), -1)), 1).reshape(-1).clone()
    targets[length : length + 3] = -1  # the second sequence's prompt is masked
    parameters = hashed_parameters(config)
    losses, counts = llama_losses(config, parameters, tokens, targets, batch, length)
    loss_gradients = torch.tensor([0.6, 0.4], dtype=DOUBLE)
    (losses * loss_gradients).sum().backward()
    specs = parameter_specs(config)
    gradients = {name: float32_base64(parameters[name].grad) for name, _, _ in specs}

    # One optimizer step: clip to global norm 1, AdamW, then the losses again.
    flat = [parameters[name] for name, _, _ in specs]
    norm = torch.nn.utils.clip_grad_norm_(flat, 1.0)
    optimizer = torch.optim.AdamW(flat, lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)
    optimizer.step()
    with torch.no_grad():
        losses_after, _ = llama_losses(config, parameters, tokens, targets, batch, length)
    write(MODEL_FIXTURES, name, {
        **header(name), "config": config, "batchSize": batch, "sequenceLength": length,
        "weights": "0.1 * u for matrices and biases, 1 + 0.1 * u for norms, u = hashUniform(size, seed = parameter index)",
        "tokens": tokens.tolist(), "targets": targets.tolist(), "tokenCounts": counts.tolist(),
        "sequenceLosses": numbers(losses), "sequenceLossGradients": loss_gradients.tolist(),
        "parameterNames": [name for name, _, _ in specs], "gradients": gradients,
        "step": {"maxGradientNorm": 1.0, "learningRate": 1e-2, "weightDecay": 0.1, "gradientNorm": float(norm),
                 "sequenceLossesAfter": numbers(losses_after)},
    })


LORA_MODULES = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]


def lora_fixture(name, config, rank=4, alpha=8.0):
    """LoRA on every projection of the frozen tiny model: A [r, in] and B [out, r] hashed (B nonzero so A
    has gradients), seeds 5000 + index in PEFT-name order; gradients of every A and B; none for the base."""
    batch, length = 2, 8
    tokens = torch.tensor((hash_uniform(batch * length, 1000) * 0.5 + 0.5) * config["vocabularySize"]).long()
    targets = torch.cat((tokens.view(batch, length)[:, 1:], torch.full((batch, 1), -1)), 1).reshape(-1).clone()
    targets[length : length + 3] = -1
    parameters = {key: value.detach() for key, value in hashed_parameters(config).items()}
    shapes = {name: shape for name, shape, _ in parameter_specs(config)}
    adapters, names = {}, []
    for layer in range(config["layers"]):
        for module in LORA_MODULES:
            out_features, in_features = shapes["model.layers.%d.%s.weight" % (layer, module)]
            pair = []
            for matrix, shape in (("A", (rank, in_features)), ("B", (out_features, rank))):
                tensor_name = "base_model.model.model.layers.%d.%s.lora_%s.weight" % (layer, module, matrix)
                values = hash_uniform(int(np.prod(shape)), 5000 + len(names)) * 0.1
                pair.append(torch.tensor(values.astype(np.float32), dtype=DOUBLE).view(shape).requires_grad_(True))
                names.append(tensor_name)
            adapters[(layer, module)] = tuple(pair)
    losses, counts = llama_losses(config, parameters, tokens, targets, batch, length, (alpha / rank, adapters))
    loss_gradients = torch.tensor([0.6, 0.4], dtype=DOUBLE)
    (losses * loss_gradients).sum().backward()
    tensors = [tensor for pair in adapters.values() for tensor in pair]
    write(MODEL_FIXTURES, name, {
        **header(name), "config": config, "batchSize": batch, "sequenceLength": length,
        "rank": rank, "alpha": alpha,
        "adapterWeights": "0.1 * hashUniform(size, seed = 5000 + adapter tensor index), base as the model fixtures",
        "tokens": tokens.tolist(), "targets": targets.tolist(), "tokenCounts": counts.tolist(),
        "sequenceLosses": numbers(losses), "sequenceLossGradients": loss_gradients.tolist(),
        "adapterNames": names,
        "gradients": {name: float32_base64(tensor.grad) for name, tensor in zip(names, tensors)},
    })


if __name__ == "__main__":
    torch.set_num_threads(1)
    op_fixtures()
    model_fixture("tiny-llama", TINY)
    model_fixture("tiny-qwen2", TINY_QWEN2)
    lora_fixture("tiny-qwen2-lora", TINY_QWEN2)
