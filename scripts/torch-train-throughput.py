#!/usr/bin/env python3
"""PyTorch side of `npm run bench -- train-throughput` and `npm run bench -- train-objectives`: the same
llama decoder as our engine (RMSNorm, rotary embedding, causal grouped-query attention, SwiGLU, AdamW
with norm weights exempt from decay), started from the weights our side wrote (--weights, a
safetensors file with Hugging Face tensor names), trained on the batches our side wrote (--inputs,
JSON). Prints one JSON line: parameter count, the loss of step 0 (before any update, so the caller
can check both sides compute the same thing), and the wall and CPU seconds (all threads of the
process) of each timed step.

Two modes:
- next-token (default): --inputs {"tokens": [...], "targets": [...]}, batch x sequence, row-major;
  mean cross-entropy over all targets, like the engine's LlamaTrainer.
- --objective sft|stable-alignment|dpo: --inputs {"prompts": [{"promptTokens", "responses": [{"tokens",
  "rating"}]}], "order": [...], "settings": {...}}: one prompt per micro-batch (its responses right-padded
  in one batch, prompt tokens masked), gradientAccumulation prompts per optimizer step, each prompt's
  loss the objective of SPEC 3 on the per-response mean token NLL (written here from the formula; DPO's
  reference log-likelihoods computed from the start weights before training, untimed).

Thread counts come from the caller: --torch-threads sets torch.set_num_threads, OPENBLAS_NUM_THREADS in
the environment sets OpenBLAS's.

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 scripts/torch-train-throughput.py --config '{"hiddenSize": 256, ...}' \
        --weights initial.safetensors --inputs batch.json
"""
import argparse
import json
import math
import os
import struct
import time

import numpy as np

import torch
import torch.nn.functional as F


class Layer(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        d, hd = c["hiddenSize"], c["hiddenSize"] // c["heads"]
        self.input_norm = torch.nn.Parameter(torch.ones(d))
        self.post_norm = torch.nn.Parameter(torch.ones(d))
        self.q = torch.nn.Linear(d, c["heads"] * hd, bias=False)
        self.k = torch.nn.Linear(d, c["kvHeads"] * hd, bias=False)
        self.v = torch.nn.Linear(d, c["kvHeads"] * hd, bias=False)
        self.o = torch.nn.Linear(c["heads"] * hd, d, bias=False)
        self.gate = torch.nn.Linear(d, c["intermediateSize"], bias=False)
        self.up = torch.nn.Linear(d, c["intermediateSize"], bias=False)
        self.down = torch.nn.Linear(c["intermediateSize"], d, bias=False)


def rms_norm(x, weight, epsilon):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + epsilon) * weight


def rotate(x, cos, sin):
    half = x.shape[-1] // 2
    return x * cos + torch.cat((-x[..., half:], x[..., :half]), -1) * sin


class Llama(torch.nn.Module):
    def __init__(self, c, length):
        super().__init__()
        self.c = c
        d, hd = c["hiddenSize"], c["hiddenSize"] // c["heads"]
        self.embed = torch.nn.Embedding(c["vocabularySize"], d)
        self.layers = torch.nn.ModuleList([Layer(c) for _ in range(c["layers"])])
        self.norm = torch.nn.Parameter(torch.ones(d))
        self.head = None if c["tieWordEmbeddings"] else torch.nn.Linear(d, c["vocabularySize"], bias=False)
        inverse = 1.0 / (c["ropeTheta"] ** (torch.arange(0, hd, 2).float() / hd))
        angles = torch.outer(torch.arange(length).float(), inverse)
        angles = torch.cat((angles, angles), -1)
        self.register_buffer("cos", angles.cos())
        self.register_buffer("sin", angles.sin())
        self.register_buffer("mask", torch.full((length, length), float("-inf")).triu(1))

    def forward(self, tokens):
        c = self.c
        b, t = tokens.shape
        heads, kv, hd = c["heads"], c["kvHeads"], c["hiddenSize"] // c["heads"]
        eps = c["rmsNormEpsilon"]
        cos, sin, mask = self.cos[:t], self.sin[:t], self.mask[:t, :t]
        h = self.embed(tokens)
        for layer in self.layers:
            a = rms_norm(h, layer.input_norm, eps)
            q = rotate(layer.q(a).view(b, t, heads, hd).transpose(1, 2), cos, sin)
            k = rotate(layer.k(a).view(b, t, kv, hd).transpose(1, 2), cos, sin)
            v = layer.v(a).view(b, t, kv, hd).transpose(1, 2)
            if kv != heads:
                k = k.repeat_interleave(heads // kv, 1)
                v = v.repeat_interleave(heads // kv, 1)
            scores = q @ k.transpose(-1, -2) / math.sqrt(hd) + mask
            h = h + layer.o((scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, heads * hd))
            a = rms_norm(h, layer.post_norm, eps)
            h = h + layer.down(F.silu(layer.gate(a)) * layer.up(a))
        h = rms_norm(h, self.norm, eps)
        return h @ (self.embed.weight if self.head is None else self.head.weight).T


SAFETENSORS_DTYPES = {"F32": "<f4", "F16": "<f2"}


def read_safetensors(path):
    """Tensors by name from a safetensors file (8-byte little-endian header length, JSON header, data)."""
    with open(path, "rb") as handle:
        data = handle.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in SAFETENSORS_DTYPES:
            raise SystemExit(f"{path}: tensor {name} has dtype {info['dtype']}; expected F32 or F16")
        begin, end = info["data_offsets"]
        array = np.frombuffer(data[8 + length + begin : 8 + length + end], dtype=SAFETENSORS_DTYPES[info["dtype"]])
        tensors[name] = torch.from_numpy(array.astype(np.float32)).reshape(info["shape"])
    return tensors


def hugging_face_names(model):
    """Our module's parameters by their Hugging Face tensor names (the names our side writes)."""
    names = {"model.embed_tokens.weight": model.embed.weight, "model.norm.weight": model.norm}
    for index, layer in enumerate(model.layers):
        prefix = f"model.layers.{index}."
        names[prefix + "input_layernorm.weight"] = layer.input_norm
        names[prefix + "self_attn.q_proj.weight"] = layer.q.weight
        names[prefix + "self_attn.k_proj.weight"] = layer.k.weight
        names[prefix + "self_attn.v_proj.weight"] = layer.v.weight
        names[prefix + "self_attn.o_proj.weight"] = layer.o.weight
        names[prefix + "post_attention_layernorm.weight"] = layer.post_norm
        names[prefix + "mlp.gate_proj.weight"] = layer.gate.weight
        names[prefix + "mlp.up_proj.weight"] = layer.up.weight
        names[prefix + "mlp.down_proj.weight"] = layer.down.weight
    if model.head is not None:
        names["lm_head.weight"] = model.head.weight
    return names


def load_weights(model, path):
    """Copies every tensor of `path` into the model; a missing, extra or misshapen tensor stops the run."""
    tensors = read_safetensors(path)
    names = hugging_face_names(model)
    missing = sorted(set(names) - set(tensors))
    extra = sorted(set(tensors) - set(names))
    if missing or extra:
        raise SystemExit(f"{path}: missing tensors {missing[:3]}, unexpected tensors {extra[:3]}")
    with torch.no_grad():
        for name, parameter in names.items():
            if tuple(tensors[name].shape) != tuple(parameter.shape):
                raise SystemExit(f"{path}: {name} has shape {list(tensors[name].shape)}, expected {list(parameter.shape)}")
            parameter.copy_(tensors[name])
    return sum(tensor.numel() for tensor in tensors.values())


def optimizer_for(model, learning_rate, weight_decay):
    """AdamW as our engine's: betas 0.9/0.999, epsilon 1e-8, norm weights exempt from weight decay."""
    norms = [p for p in model.parameters() if p.dim() == 1]
    matrices = [p for p in model.parameters() if p.dim() != 1]
    return torch.optim.AdamW(
        [{"params": matrices, "weight_decay": weight_decay}, {"params": norms, "weight_decay": 0.0}],
        lr=learning_rate,
        betas=(0.9, 0.999),
        eps=1e-8,
    )


def best_index(ratings):
    """The highest rating; the first one on ties (SPEC 3)."""
    return ratings.index(max(ratings))


def batch_responses(objective, ratings, settings):
    """Which responses of a prompt enter its batch: SFT the best, DPO best and worst, Stable Alignment all."""
    best = best_index(ratings)
    if objective == "sft":
        return [best]
    if objective == "dpo":
        worst = ratings.index(min(ratings))
        return sorted({best, worst})
    if len(ratings) > settings["numComp"]:
        raise SystemExit(f"a prompt has {len(ratings)} responses; the bench sends at most numComp ({settings['numComp']})")
    return list(range(len(ratings)))


def prompt_batch(prompt, indices, max_length):
    """Our promptBatch: prompt window + response, right-padded to a multiple of 8 (at most max_length - 1);
    targets are the next tokens of the response only, -1 elsewhere. Returns (tokens, targets, sequence tokens)."""
    sequences = []
    for index in indices:
        response = prompt["responses"][index]["tokens"]
        room = max_length - len(response)
        window = prompt["promptTokens"] if len(prompt["promptTokens"]) <= room else prompt["promptTokens"][-room:]
        sequences.append((window + response, len(window)))
    longest = max(len(tokens) - 1 for tokens, _ in sequences)
    length = min(math.ceil(longest / 8) * 8, max_length - 1)
    tokens = torch.zeros((len(sequences), length), dtype=torch.long)
    targets = torch.full((len(sequences), length), -1, dtype=torch.long)
    for row, (sequence, prompt_length) in enumerate(sequences):
        for position in range(len(sequence) - 1):
            tokens[row, position] = sequence[position]
            if position + 1 >= prompt_length:
                targets[row, position] = sequence[position + 1]
    return tokens, targets, sum(min(max_length, len(sequence)) for sequence, _ in sequences)


def mean_nll(model, tokens, targets):
    """Per-sequence mean negative log-likelihood of the unmasked targets (nats) and their counts."""
    logits = model(tokens)
    vocabulary = logits.shape[-1]
    nll = F.cross_entropy(logits.view(-1, vocabulary), targets.view(-1), ignore_index=-1, reduction="none")
    counts = (targets >= 0).sum(1)
    return nll.view(targets.shape).sum(1) / counts, counts


def objective_loss(objective, ratings, nll, counts, references, settings):
    """SPEC 3 on one prompt's batch. `ratings`, `references` follow the batch rows."""
    best = best_index(ratings)
    if objective == "sft":
        return nll[best]
    if objective == "stable-alignment":
        if len(ratings) == 1:
            return nll[best]
        others = [index for index in range(len(ratings)) if index != best]
        gaps = torch.tensor(
            [(ratings[best] - ratings[index]) / settings["ratingScale"] * settings["margin"] for index in others]
        )
        differences = nll[best] - nll[others] + gaps
        aggregate = differences.max() if settings["maxFlow"] else differences.mean()
        return nll[best] + settings["ratio"] * torch.relu(aggregate)
    worst = ratings.index(min(ratings))
    policy = -nll * counts
    z = settings["beta"] * ((policy[best] - references[best]) - (policy[worst] - references[worst]))
    smoothing = settings["labelSmoothing"]
    return -(1 - smoothing) * F.logsigmoid(z) - smoothing * F.logsigmoid(-z)


def train_objective(model, optimizer, inputs, objective, steps_total):
    """Runs `steps_total` optimizer steps; returns (step-0 loss, seconds per step, CPU seconds per step,
    sequence tokens per step, DPO's reference mean token NLL or None)."""
    settings = inputs["settings"]
    prompts, order = inputs["prompts"], inputs["order"]
    accumulation, max_length = settings["gradientAccumulation"], settings["maxLength"]
    batches = []
    for prompt in prompts:
        ratings = [response["rating"] for response in prompt["responses"]]
        indices = batch_responses(objective, ratings, settings)
        tokens, targets, sequence_tokens = prompt_batch(prompt, indices, max_length)
        batches.append({"ratings": [ratings[i] for i in indices], "tokens": tokens, "targets": targets,
                        "sequenceTokens": sequence_tokens, "references": None})
    reference_mean_nll = None
    if objective == "dpo":
        with torch.no_grad():
            for batch in batches:
                nll, counts = mean_nll(model, batch["tokens"], batch["targets"])
                batch["references"] = -nll * counts
        # The start model's mean token NLL over every reference row: checks the forward pass that DPO's
        # step-0 loss (log 2 whenever policy equals reference) cannot.
        total = sum(float(batch["references"].sum()) for batch in batches)
        reference_mean_nll = -total / sum(int((batch["targets"] >= 0).sum()) for batch in batches)
    if len(order) < steps_total * accumulation:
        raise SystemExit(f"order has {len(order)} prompts; {steps_total} steps need {steps_total * accumulation}")
    first_loss, step_seconds, step_cpu, step_tokens = None, [], [], []
    for step in range(steps_total):
        start, cpu = time.perf_counter(), time.process_time()
        optimizer.zero_grad(set_to_none=True)
        members = [batches[index] for index in order[step * accumulation : (step + 1) * accumulation]]
        loss_sum, tokens = 0.0, 0
        for batch in members:
            nll, counts = mean_nll(model, batch["tokens"], batch["targets"])
            loss = objective_loss(objective, batch["ratings"], nll, counts, batch["references"], settings)
            # Gradients of the step's mean loss, as our trainer's sum scaled by 1 / prompts.
            (loss / len(members)).backward()
            loss_sum += loss.item()
            tokens += batch["sequenceTokens"]
        torch.nn.utils.clip_grad_norm_(model.parameters(), settings["maxGradientNorm"])
        optimizer.step()
        step_seconds.append(time.perf_counter() - start)
        step_cpu.append(time.process_time() - cpu)
        step_tokens.append(tokens)
        if first_loss is None:
            first_loss = loss_sum / len(members)
    return first_loss, step_seconds, step_cpu, step_tokens, reference_mean_nll


def train_next_token(model, optimizer, inputs, config, batch_size, sequence_length, steps_total):
    """Plain next-token steps on one batch; returns (step-0 loss, seconds and CPU seconds per step, tokens per step)."""
    shape = (batch_size, sequence_length)
    tokens = torch.tensor(inputs["tokens"], dtype=torch.long).view(shape)
    targets = torch.tensor(inputs["targets"], dtype=torch.long).view(shape)
    first_loss, step_seconds, step_cpu = None, [], []
    for _ in range(steps_total):
        start, cpu = time.perf_counter(), time.process_time()
        logits = model(tokens)
        loss = F.cross_entropy(logits.view(-1, config["vocabularySize"]), targets.view(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if first_loss is None:
            first_loss = loss.item()
        step_seconds.append(time.perf_counter() - start)
        step_cpu.append(time.process_time() - cpu)
    return first_loss, step_seconds, step_cpu, [batch_size * sequence_length] * steps_total


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True, help="LlamaConfig as JSON (our field names)")
    parser.add_argument("--weights", required=True, help="initial weights: safetensors with Hugging Face names")
    parser.add_argument("--inputs", required=True, help="the batches as JSON (see the module doc)")
    parser.add_argument("--objective", choices=["sft", "stable-alignment", "dpo"])
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--sequence-length", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=3e-4)
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--torch-threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.torch_threads)
    c = json.loads(args.config)
    with open(args.inputs) as handle:
        inputs = json.load(handle)
    length = inputs["settings"]["maxLength"] if args.objective else args.sequence_length
    model = Llama(c, length)
    loaded = load_weights(model, args.weights)
    optimizer = optimizer_for(model, args.learning_rate, args.weight_decay)
    total = args.warmup + args.steps
    if args.objective:
        first_loss, seconds, cpu, tokens, reference_mean_nll = train_objective(
            model, optimizer, inputs, args.objective, total
        )
    else:
        reference_mean_nll = None
        first_loss, seconds, cpu, tokens = train_next_token(
            model, optimizer, inputs, c, args.batch_size, args.sequence_length, total
        )
    timed = list(zip(seconds, cpu, tokens))[args.warmup :]
    rates = sorted(count / elapsed for elapsed, _, count in timed)
    cpu_rates = sorted(count / max(used, 1e-9) for _, used, count in timed)
    print(json.dumps({
        "tokensPerSecond": rates[len(rates) // 2],
        "tokensPerCpuSecond": cpu_rates[len(cpu_rates) // 2],
        "stepSeconds": [elapsed for elapsed, _, _ in timed],
        "stepCpuSeconds": [used for _, used, _ in timed],
        "stepTokens": [count for _, _, count in timed],
        "parameters": sum(p.numel() for p in model.parameters()),
        "loadedParameters": loaded,
        "firstLoss": first_loss,
        "referenceMeanNll": reference_mean_nll,
        "torch": torch.__version__,
        "torchThreads": args.torch_threads,
        "blasThreads": int(os.environ.get("OPENBLAS_NUM_THREADS", "0")) or None,
    }))


if __name__ == "__main__":
    main()
