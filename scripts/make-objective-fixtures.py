#!/usr/bin/env python3
"""Writes the PyTorch reference fixtures for the training objectives (SPEC 3) that have hand-written
gradients: DPO and Stable Alignment. Run from the repository root with Debian's PyTorch:

    /usr/bin/python3 scripts/make-objective-fixtures.py

Each objective is written here from its formula, independently of src/train/objectives, in float64
autograd. The inputs are what our objectives read per response (rating, mean token NLL, token count,
and for DPO the reference model's summed log-likelihood); the fixture holds the loss, its named terms
and the gradient with respect to each response's mean NLL. Each file records the torch version and
the SHA-256 of this script; src/train/objectives/objective-fixtures.test.ts checks both.
"""
import hashlib
import json
import os
import sys

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.abspath(__file__)
FIXTURES = os.path.join(ROOT, "src", "train", "objectives", "__fixtures__")
DOUBLE = torch.float64


def header(name):
    with open(SCRIPT, "rb") as handle:
        sha256 = hashlib.sha256(handle.read()).hexdigest()
    return {
        "fixture": name,
        "generator": {
            "script": "scripts/make-objective-fixtures.py",
            "sha256": sha256,
            "torch": torch.__version__,
            "python": sys.version.split()[0],
        },
    }


def best_index(ratings):
    """The highest rating; the first one on ties (SPEC 3)."""
    return ratings.index(max(ratings))


def stable_alignment(case):
    """L = L_b + lambda * relu(mean_i or max_i (L_b - L_i + (r_b - r_i) / R * M)), i != b by rating."""
    ratings = case["ratings"]
    nll = torch.tensor(case["meanNlls"], dtype=DOUBLE, requires_grad=True)
    settings = case["settings"]
    best = best_index(ratings)
    others = [index for index in range(len(ratings)) if index != best]
    if others:
        gaps = torch.tensor(
            [(ratings[best] - ratings[index]) / settings["ratingScale"] * settings["margin"] for index in others],
            dtype=DOUBLE,
        )
        differences = nll[best] - nll[others] + gaps
        aggregate = differences.max() if settings["maxFlow"] else differences.mean()
        penalty = torch.relu(aggregate)
    else:
        penalty = torch.zeros((), dtype=DOUBLE)
    loss = nll[best] + settings["ratio"] * penalty
    loss.backward()
    return {
        **case,
        "loss": loss.item(),
        "terms": {"sft": nll[best].item(), "penalty": penalty.item()},
        "gradients": nll.grad.tolist(),
    }


def preference_pairs(ratings, pairs):
    """(chosen, rejected): best vs worst by rating (first on ties), or every pair whose ratings differ."""
    if pairs == "best-worst":
        best = best_index(ratings)
        worst = ratings.index(min(ratings))
        return [(best, worst)] if ratings[best] > ratings[worst] else []
    result = []
    for first in range(len(ratings)):
        for second in range(first + 1, len(ratings)):
            if ratings[first] > ratings[second]:
                result.append((first, second))
            elif ratings[second] > ratings[first]:
                result.append((second, first))
    return result


def dpo(case):
    """Mean over pairs of -(1 - eps) log sigmoid(z) - eps log sigmoid(-z), z = beta * (reward gap)."""
    ratings = case["ratings"]
    nll = torch.tensor(case["meanNlls"], dtype=DOUBLE, requires_grad=True)
    counts = torch.tensor(case["tokenCounts"], dtype=DOUBLE)
    reference = torch.tensor(case["referenceLogProbabilities"], dtype=DOUBLE)
    settings = case["settings"]
    beta, smoothing = settings["beta"], settings["labelSmoothing"]
    policy = -nll * counts  # summed log-likelihood of each response
    pairs = preference_pairs(ratings, settings["pairs"])
    chosen = torch.tensor([pair[0] for pair in pairs])
    rejected = torch.tensor([pair[1] for pair in pairs])
    z = beta * ((policy[chosen] - reference[chosen]) - (policy[rejected] - reference[rejected]))
    losses = -(1 - smoothing) * F.logsigmoid(z) - smoothing * F.logsigmoid(-z)
    loss = losses.mean()
    loss.backward()
    return {
        **case,
        "loss": loss.item(),
        "terms": {
            "dpo": loss.item(),
            "rewardMargin": z.mean().item(),
            "rewardAccuracy": (z > 0).to(DOUBLE).mean().item(),
        },
        "gradients": nll.grad.tolist(),
    }


def random_values(generator, count, low, high):
    return (torch.rand(count, generator=generator, dtype=DOUBLE) * (high - low) + low).tolist()


def stable_alignment_cases(generator):
    card = {"margin": 1, "ratio": 0.2, "ratingScale": 7, "maxFlow": False}
    cases = [
        # SPEC 3's worked example: 1.650 (the reference code's indexing gives 1.507).
        {"name": "spec example", "ratings": [2, 7, 5], "meanNlls": [1.0, 1.2, 1.5],
         "settings": {**card, "ratio": 1}},
        {"name": "rating tie: first best", "ratings": [5, 5, 3], "meanNlls": [2.0, 1.0, 3.0], "settings": card},
        {"name": "max flow", "ratings": [3, 6, 1, 6], "meanNlls": [1.3, 1.1, 0.4, 2.0],
         "settings": {**card, "margin": 2, "maxFlow": True}},
        {"name": "mean flow, margin 2", "ratings": [3, 6, 1, 6], "meanNlls": [1.3, 1.1, 0.4, 2.0],
         "settings": {**card, "margin": 2}},
        {"name": "negative aggregate: SFT alone", "ratings": [7, 1], "meanNlls": [0.5, 3.0], "settings": card},
        {"name": "one response", "ratings": [4], "meanNlls": [2.5], "settings": card},
    ]
    for index in range(4):
        count = 3 + index
        ratings = [int(value) for value in torch.randint(1, 8, (count,), generator=generator).tolist()]
        cases.append({
            "name": f"random {index}",
            "ratings": ratings,
            "meanNlls": random_values(generator, count, 0.2, 4.0),
            "settings": {"margin": 1 + index * 0.5, "ratio": 0.2 + 0.3 * index, "ratingScale": 7,
                         "maxFlow": index % 2 == 1},
        })
    return [stable_alignment(case) for case in cases]


def dpo_cases(generator):
    cases = [
        {"name": "one pair, beta 0.1", "ratings": [7, 1], "meanNlls": [1.0, 2.0], "tokenCounts": [4, 2],
         "referenceLogProbabilities": [-5.0, -3.0],
         "settings": {"beta": 0.1, "labelSmoothing": 0, "pairs": "best-worst"}},
        {"name": "label smoothing 0.1", "ratings": [7, 1], "meanNlls": [1.0, 2.0], "tokenCounts": [4, 2],
         "referenceLogProbabilities": [-5.0, -3.0],
         "settings": {"beta": 0.1, "labelSmoothing": 0.1, "pairs": "best-worst"}},
        {"name": "all pairs with smoothing", "ratings": [3, 6, 1], "meanNlls": [1.4, 0.9, 2.2],
         "tokenCounts": [5, 3, 4], "referenceLogProbabilities": [-6.0, -2.5, -9.0],
         "settings": {"beta": 0.5, "labelSmoothing": 0.2, "pairs": "all"}},
        {"name": "best-worst among ties", "ratings": [6, 2, 6, 2], "meanNlls": [1.1, 0.7, 0.3, 2.5],
         "tokenCounts": [7, 2, 9, 3], "referenceLogProbabilities": [-8.0, -1.0, -3.5, -6.0],
         "settings": {"beta": 0.1, "labelSmoothing": 0, "pairs": "best-worst"}},
        {"name": "rejected preferred: negative margin", "ratings": [1, 7], "meanNlls": [0.2, 3.0],
         "tokenCounts": [10, 10], "referenceLogProbabilities": [-20.0, -20.0],
         "settings": {"beta": 0.1, "labelSmoothing": 0, "pairs": "best-worst"}},
        {"name": "large |z| stays finite", "ratings": [7, 1], "meanNlls": [0.1, 5.0], "tokenCounts": [40, 40],
         "referenceLogProbabilities": [-100.0, -100.0],
         "settings": {"beta": 1.0, "labelSmoothing": 0.05, "pairs": "best-worst"}},
    ]
    for index in range(4):
        count = 2 + index
        ratings = [int(value) for value in torch.randint(1, 8, (count,), generator=generator).tolist()]
        ratings[0] = 7 if ratings[-1] != 7 else 1  # at least two different ratings
        nlls = random_values(generator, count, 0.2, 4.0)
        counts = [int(value) for value in torch.randint(1, 60, (count,), generator=generator).tolist()]
        # The reference model near the policy (as at the start of training), so z stays moderate.
        shifts = random_values(generator, count, -3.0, 3.0)
        cases.append({
            "name": f"random {index}",
            "ratings": ratings,
            "meanNlls": nlls,
            "tokenCounts": counts,
            "referenceLogProbabilities": [-nll * n + shift for nll, n, shift in zip(nlls, counts, shifts)],
            "settings": {"beta": [0.1, 0.5, 0.05, 1.0][index], "labelSmoothing": [0, 0.1, 0.3, 0][index],
                         "pairs": "all" if index % 2 == 0 else "best-worst"},
        })
    return [dpo(case) for case in cases]


def write(name, cases):
    os.makedirs(FIXTURES, exist_ok=True)
    with open(os.path.join(FIXTURES, name + ".json"), "w") as handle:
        json.dump({**header(name), "cases": cases}, handle, indent=1)
        handle.write("\n")


def main():
    generator = torch.Generator().manual_seed(20261129)
    write("stable-alignment-objective", stable_alignment_cases(generator))
    write("dpo-objective", dpo_cases(generator))


if __name__ == "__main__":
    main()
