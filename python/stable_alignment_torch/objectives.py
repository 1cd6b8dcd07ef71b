"""The objectives of the TypeScript trainer (src/train/objectives) in PyTorch autograd, on one prompt's
per-response mean NLLs (a 1-D tensor) and ratings."""
import torch
import torch.nn.functional as F


def best_index(ratings):
    best = 0
    for index, rating in enumerate(ratings):
        if rating > ratings[best]:
            best = index
    return best


def preference_pairs(ratings, pairs):
    if pairs == "best-worst":
        best = best_index(ratings)
        worst = 0
        for index, rating in enumerate(ratings):
            if rating < ratings[worst]:
                worst = index
        return [(best, worst)] if ratings[best] > ratings[worst] else []
    result = []
    for first in range(len(ratings)):
        for second in range(first + 1, len(ratings)):
            if ratings[first] > ratings[second]:
                result.append((first, second))
            elif ratings[second] > ratings[first]:
                result.append((second, first))
    return result


def contributes(settings, ratings):
    """Whether `objective` gives a loss for a prompt with these ratings (known before any forward pass,
    so every rank knows how many backward passes each rank runs in a step)."""
    if settings["loss"] == "rrhf":
        return len(ratings) >= 2
    if settings["loss"] == "dpo":
        return len(ratings) >= 2 and len(preference_pairs(ratings, settings["dpoPairs"])) > 0
    return True


def objective(settings, mean_nll, counts, ratings, references):
    """Returns (loss tensor, {term: float}) or None when the prompt is skipped."""
    loss_name = settings["loss"]
    if not contributes(settings, ratings):
        return None
    best = best_index(ratings)
    sft = mean_nll[best]
    if loss_name == "sft":
        return sft, {"sft": float(sft)}
    if loss_name == "stable-alignment":
        if len(ratings) == 1:
            return sft, {"sft": float(sft), "penalty": 0.0}
        others = [index for index in range(len(ratings)) if index != best]
        scale = settings["margin"] / settings["ratingScale"]
        differences = torch.stack(
            [sft - mean_nll[index] + (ratings[best] - ratings[index]) * scale for index in others]
        )
        if settings["maxFlow"]:
            values = differences.tolist()
            argmax = max(range(len(values)), key=lambda index: (values[index], -index))
            aggregate = differences[argmax]
        else:
            aggregate = differences.mean()
        penalty = torch.relu(aggregate)
        return sft + settings["ratio"] * penalty, {"sft": float(sft), "penalty": float(penalty)}
    if loss_name == "rrhf":
        if len(ratings) < 2:
            return None
        ranking = torch.zeros((), dtype=mean_nll.dtype)
        for better, worse in preference_pairs(ratings, "all"):
            ranking = ranking + torch.relu(mean_nll[better] - mean_nll[worse])
        return ranking + sft, {"sft": float(sft), "ranking": float(ranking)}
    if loss_name == "dpo":
        chosen_rejected = preference_pairs(ratings, settings["dpoPairs"])
        if len(ratings) < 2 or not chosen_rejected:
            return None
        policy = -mean_nll * counts.to(mean_nll.dtype)
        beta, smoothing = settings["beta"], settings["labelSmoothing"]
        share = 1.0 / len(chosen_rejected)
        loss = torch.zeros((), dtype=mean_nll.dtype)
        margin = 0.0
        correct = 0.0
        for chosen, rejected in chosen_rejected:
            z = beta * ((policy[chosen] - references[chosen]) - (policy[rejected] - references[rejected]))
            loss = loss + share * (-(1 - smoothing) * F.logsigmoid(z) - smoothing * F.logsigmoid(-z))
            margin += share * float(z)
            if float(z) > 0:
                correct += share
        return loss, {"dpo": float(loss), "rewardMargin": margin, "rewardAccuracy": correct}
    raise ValueError(f"unknown loss {loss_name}")
