#!/usr/bin/env python3
"""PyTorch side of `npm run bench -- train-throughput`: trains the same llama decoder as our engine
(RMSNorm, rotary embedding, causal grouped-query attention, SwiGLU, AdamW) on random tokens and prints
one JSON line with tokens per second at the median step time. Thread counts come from the caller:
--torch-threads sets torch.set_num_threads, OPENBLAS_NUM_THREADS in the environment sets OpenBLAS's.

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 scripts/torch-train-throughput.py --config '{"hiddenSize": 256, ...}'
"""
import argparse
import json
import math
import os
import time

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
        h = self.embed(tokens)
        for layer in self.layers:
            a = rms_norm(h, layer.input_norm, eps)
            q = rotate(layer.q(a).view(b, t, heads, hd).transpose(1, 2), self.cos, self.sin)
            k = rotate(layer.k(a).view(b, t, kv, hd).transpose(1, 2), self.cos, self.sin)
            v = layer.v(a).view(b, t, kv, hd).transpose(1, 2)
            if kv != heads:
                k = k.repeat_interleave(heads // kv, 1)
                v = v.repeat_interleave(heads // kv, 1)
            scores = q @ k.transpose(-1, -2) / math.sqrt(hd) + self.mask
            h = h + layer.o((scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, heads * hd))
            a = rms_norm(h, layer.post_norm, eps)
            h = h + layer.down(F.silu(layer.gate(a)) * layer.up(a))
        h = rms_norm(h, self.norm, eps)
        return h @ (self.embed.weight if self.head is None else self.head.weight).T


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True, help="LlamaConfig as JSON (our field names)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--sequence-length", type=int, default=128)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--torch-threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.torch_threads)
    torch.manual_seed(0)
    c = json.loads(args.config)
    model = Llama(c, args.sequence_length)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.01)
    shape = (args.batch_size, args.sequence_length)
    tokens = torch.randint(0, c["vocabularySize"], shape)
    targets = torch.randint(0, c["vocabularySize"], shape)
    losses = []
    step_seconds = []
    for step in range(args.warmup + args.steps):
        start = time.perf_counter()
        logits = model(tokens)
        loss = F.cross_entropy(logits.view(-1, c["vocabularySize"]), targets.view(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
        if step >= args.warmup:
            step_seconds.append(time.perf_counter() - start)
    median = sorted(step_seconds)[len(step_seconds) // 2]
    print(json.dumps({
        "tokensPerSecond": args.batch_size * args.sequence_length / median,
        "secondsPerStep": median,
        "stepSeconds": step_seconds,
        "parameters": sum(p.numel() for p in model.parameters()),
        "torch": torch.__version__,
        "torchThreads": args.torch_threads,
        "blasThreads": int(os.environ.get("OPENBLAS_NUM_THREADS", "0")) or None,
        "finalLoss": losses[-1],
    }))


if __name__ == "__main__":
    main()
