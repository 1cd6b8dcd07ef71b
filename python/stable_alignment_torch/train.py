"""Entry point torchrun launches: `train.py --job <run>/torch-job.json`. Trains the prepared micro-batches
with the TypeScript trainer's step (summed gradients over the step's prompts, mean, global-norm clip,
AdamW on the warmup + cosine rate), prints one JSON metrics line per step on stdout (rank 0), saves
checkpoints (weights, optimizer, cursor) in the run directory; the last one is the final model."""
import contextlib
import json
import math
import os
import shutil
import sys
import time
import traceback

import torch
import torch.distributed as dist

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from stable_alignment_torch.batch_file import micro_batch_ratings, micro_batch_tensors, read_batch_file  # noqa: E402
from stable_alignment_torch.model import (  # noqa: E402
    LlamaForCausalLm,
    apply_lora,
    is_adapter,
    module_name,
    peft_name,
    sequence_losses,
    set_dropout_seed,
)
from stable_alignment_torch.objectives import contributes, objective  # noqa: E402
from stable_alignment_torch.parallel import (  # noqa: E402
    clean_name,
    full_state,
    load_full_state,
    load_optimizer_state,
    optimizer_state,
    wrap,
)
from stable_alignment_torch.safetensors_io import read_checkpoint, read_safetensors, write_safetensors  # noqa: E402


# torch 1.13's gloo can deadlock when DDP's reducer is destroyed: the main thread holds the GIL while it
# joins the process group's worker thread, and that thread is freeing a tensor, which needs the GIL (seen
# in about one two-process CPU run in twenty under load). The wrapped model is kept here and the process
# leaves with os._exit (see the end of this file), so it is never destroyed.
NEVER_DESTROYED = []


def learning_rate_at(step, total_steps, peak, warmup):
    warmup_steps = math.ceil(warmup * total_steps)
    if step < warmup_steps:
        return peak * step / max(1, warmup_steps)
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return max(0.0, peak * 0.5 * (1 + math.cos(math.pi * progress)))


def autocast(device, precision):
    """bf16 mixed precision (weights, optimizer and loss stay fp32), or nothing for fp32."""
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def emit(record):
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def checkpoint_name(step):
    return f"step-{step:06d}"


def latest_checkpoint(directory):
    if not os.path.isdir(directory):
        return None
    complete = [name for name in sorted(os.listdir(directory)) if os.path.exists(os.path.join(directory, name, "cursor.json"))]
    return os.path.join(directory, complete[-1]) if complete else None


def save_checkpoint(directory, weights, optimizer_state, cursor, start, lora):
    """Hugging Face layout (weights, plus config and tokenizer files copied from the start model), or
    with LoRA the adapter in PEFT's layout; optimizer.pt and cursor.json; written into a temporary
    directory renamed into place."""
    temporary = f"{directory}.tmp-{os.getpid()}"
    os.makedirs(temporary, exist_ok=True)
    if lora:
        adapters = {peft_name(name): value for name, value in weights.items()}
        write_safetensors(os.path.join(temporary, "adapter_model.safetensors"), adapters)
        shutil.copyfile(os.path.join(start, "adapter_config.json"), os.path.join(temporary, "adapter_config.json"))
    else:
        for name in os.listdir(start):
            source = os.path.join(start, name)
            if os.path.isfile(source) and not name.endswith(".safetensors") and name != "model.safetensors.index.json":
                shutil.copyfile(source, os.path.join(temporary, name))
        write_safetensors(os.path.join(temporary, "model.safetensors"), weights)
    torch.save(optimizer_state, os.path.join(temporary, "optimizer.pt"))
    with open(os.path.join(temporary, "cursor.json"), "w", encoding="utf-8") as handle:
        json.dump(cursor, handle)
    os.replace(temporary, directory)


def restore(parallel, latest, lora, fsdp):
    """The newest checkpoint's weights (or adapters) into the wrapped model; returns its cursor."""
    with open(os.path.join(latest, "cursor.json"), encoding="utf-8") as handle:
        cursor = json.load(handle)
    if (cursor.get("fsdp", "none") == "none") != (fsdp == "none"):
        raise SystemExit(f"{latest}: written with --fsdp {cursor.get('fsdp', 'none')}; resume with it (not --fsdp {fsdp})")
    if lora:
        saved = read_safetensors(os.path.join(latest, "adapter_model.safetensors"))
        tensors = {module_name(name): value for name, value in saved.items()}
    else:
        tensors = read_safetensors(os.path.join(latest, "model.safetensors"))
    load_full_state(parallel, tensors, latest)
    return cursor


def idle_pass(parallel, device, precision):
    """A rank with no prompt left in the step still takes part in the wrapper's collectives: one token
    forward, zero loss backward (its gradients add nothing)."""
    with autocast(device, precision):
        logits = parallel.wrapped(torch.zeros((1, 1), dtype=torch.long, device=device))
    (logits.float().sum() * 0).backward()


def main():
    job_path = sys.argv[sys.argv.index("--job") + 1]
    with open(job_path, encoding="utf-8") as handle:
        job = json.load(handle)
    settings = job["settings"]
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    fsdp = job.get("fsdp", "none")
    precision = job.get("precision", "fp32")
    device = torch.device(job.get("device", "cpu"))
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if world > 1 or fsdp != "none":
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if not os.access(job["batchFile"], os.R_OK):
        raise SystemExit(f"rank {rank} cannot read {job['batchFile']}: the run directory must be on storage every node sees")
    header, region = read_batch_file(job["batchFile"])
    torch.manual_seed(settings["seed"])
    model = LlamaForCausalLm(job["config"])
    model.load_weights(read_checkpoint(job["model"]), job["model"])
    lora = job.get("lora")
    if lora is not None:
        apply_lora(model, lora, read_safetensors(os.path.join(job["loraInit"], "adapter_model.safetensors")), job["loraInit"])
    # Weight decay by dimension, decided before wrapping: FSDP's parameters are flat shards after it.
    decayed = {name for name, p in model.named_parameters() if p.requires_grad and p.dim() >= 2}
    parallel = wrap(model, fsdp, device, precision, world)
    NEVER_DESTROYED.append(parallel)
    trainable = [(clean_name(name), p) for name, p in parallel.wrapped.named_parameters() if p.requires_grad]
    decay = [p for name, p in trainable if name in decayed]
    no_decay = [p for name, p in trainable if name not in decayed]
    if decayed and not decay and settings["weightDecay"] > 0:
        raise SystemExit("--weight-decay above 0 with --fsdp needs torch >= 2.0 (FSDP's use_orig_params)")
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": settings["weightDecay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=settings["learningRate"],
        betas=(0.9, 0.999),
        eps=1e-8,
    )
    # DPO's reference is the start model, computed before any update (also on a resume).
    forward_model = parallel.forward_model()
    references = compute_references(forward_model, header["microBatches"], region, device, precision) if settings["loss"] == "dpo" else None
    held_out_references = compute_references(forward_model, header.get("heldOut", []), region, device, precision) if settings["loss"] == "dpo" else None
    checkpoints = os.path.join(job["out"], "torch-checkpoints")
    step = 0
    latest = latest_checkpoint(checkpoints) if job.get("resume") else None
    if latest is not None:
        step = restore(parallel, latest, lora is not None, fsdp)["step"]
        load_optimizer_state(parallel, optimizer, torch.load(os.path.join(latest, "optimizer.pt")))
    total_steps = header["totalSteps"]
    by_step = {}
    for index, entry in enumerate(header["microBatches"]):
        by_step.setdefault(entry["step"], []).append((index, entry))
    parameters = [p for p in parallel.wrapped.parameters() if p.requires_grad]
    if parallel.mode != "fsdp":
        for parameter in parameters:
            parameter.grad = torch.zeros_like(parameter)
    while step < total_steps:
        started = time.time()
        optimizer.zero_grad(set_to_none=parallel.mode == "fsdp")
        # The loss sum stays on the device (no synchronisation per micro-batch) until the step ends.
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        passed, tokens_seen = 0, 0
        terms = {}
        skipped = {}
        # Each rank takes every world-th micro-batch of the step; all ranks run as many passes as the
        # busiest one (idle passes for the others) so the wrapper's collectives line up.
        assigned = [[] for _ in range(world)]
        for order, (index, entry) in enumerate(by_step.get(step, [])):
            if "skip" in entry:
                skipped[entry["skip"]] = skipped.get(entry["skip"], 0) + 1
            elif contributes(settings, micro_batch_ratings(entry, region)):
                assigned[order % world].append((index, entry))
        mine = assigned[rank]
        passes = max(len(part) for part in assigned)
        for number in range(passes):
            with parallel.accumulate(number == passes - 1):
                if number >= len(mine):
                    idle_pass(parallel, device, precision)
                    continue
                index, entry = mine[number]
                tokens, targets, ratings = micro_batch_tensors(entry, region)
                if "dropoutSeed" in entry:
                    set_dropout_seed(parallel.model, entry["dropoutSeed"], device)
                with autocast(device, precision):
                    mean_nll, counts = sequence_losses(parallel.wrapped, tokens.to(device), targets.to(device))
                if "dropoutSeed" in entry:
                    set_dropout_seed(parallel.model, None, device)
                loss, named = objective(settings, mean_nll, counts, ratings, None if references is None else references[index])
                loss.backward()
            loss_sum += loss.detach().double()
            passed += 1
            tokens_seen += entry["tokens"]
            for name, term in named.items():
                terms[name] = terms.get(name, 0.0) + term
        statistics = torch.tensor([float(passed), float(loss_sum), float(tokens_seen)], dtype=torch.float64)
        term_names = sorted(terms)
        if world > 1:
            # NCCL reduces CUDA tensors only.
            reduced = statistics.to(device)
            dist.all_reduce(reduced)
            statistics = reduced.cpu()
            names = [None] * world
            dist.all_gather_object(names, terms)
            terms = {}
            for part in names:
                for name, term in part.items():
                    terms[name] = terms.get(name, 0.0) + term
            term_names = sorted(terms)
        contributing = int(statistics[0])
        if not math.isfinite(float(statistics[1])):
            raise SystemExit(f"training diverged at step {step + 1}: loss is not finite")
        learning_rate = learning_rate_at(step, total_steps, settings["learningRate"], settings["warmup"])
        norm = 0.0
        if contributing > 0:
            # The wrappers average over ranks: multiplying by world turns that back into the sum over prompts.
            norm = math.sqrt(parallel.gradient_square_sum(parameters)) * world / contributing
            if not math.isfinite(norm):
                raise SystemExit(f"training diverged at step {step + 1}: gradient norm is not finite")
            clip = min(1.0, settings["maxGradientNorm"] / (norm + 1e-6))
            with torch.no_grad():
                parallel.scale_gradients(parameters, clip * world / contributing)
            for group in optimizer.param_groups:
                group["lr"] = learning_rate
            optimizer.step()
        step += 1
        if device.type == "cuda":
            torch.cuda.synchronize(device)  # the step's queued kernels count in its time
        seconds = time.time() - started
        if rank == 0:
            emit(
                {
                    "type": "step",
                    "step": step,
                    "totalSteps": total_steps,
                    "loss": float(statistics[1]) / contributing if contributing > 0 else None,
                    "terms": {name: terms[name] / contributing for name in term_names},
                    "learningRate": learning_rate,
                    "gradientNorm": norm,
                    "prompts": contributing,
                    "skipped": skipped,
                    "tokensPerSecond": float(statistics[2]) / seconds if seconds > 0 else 0,
                    **({"peakMemoryBytes": torch.cuda.max_memory_allocated(device)} if device.type == "cuda" else {}),
                }
            )
        last = step == total_steps
        eval_every = settings["evalEvery"]
        if header.get("heldOut") and ((eval_every > 0 and step % eval_every == 0) or last):
            # FSDP forward passes gather parameters from every rank, so all ranks run them together.
            if rank == 0 or parallel.mode == "fsdp":
                record = evaluate(forward_model, settings, header["heldOut"], region, device, precision, held_out_references, step)
                if rank == 0:
                    emit(record)
        save_every = settings["saveEvery"]
        if (save_every > 0 and step % save_every == 0) or last:
            if rank == 0 or parallel.mode == "fsdp":
                # FSDP gathers the full weights and optimizer state to rank 0 (every rank takes part).
                weights = full_state(parallel, keep=is_adapter if lora is not None else lambda name: True)
                state = optimizer_state(parallel, optimizer)
                if rank == 0:
                    directory = os.path.join(checkpoints, checkpoint_name(step))
                    start = job["model"] if lora is None else job["loraInit"]
                    save_checkpoint(directory, weights, state, {"step": step, "fsdp": fsdp}, start, lora is not None)
                    emit({"type": "checkpoint", "step": step, "directory": directory})
        if world > 1:
            dist.barrier()
    if dist.is_initialized():
        dist.destroy_process_group()


def evaluate(model, settings, entries, region, device, precision, references, step):
    """Held-out loss and preference accuracy, as the engine computes them (forward passes only)."""
    loss_sum, counted, outcomes = 0.0, 0, []
    with torch.no_grad():
        for index, entry in enumerate(entries):
            tokens, targets, ratings = micro_batch_tensors(entry, region)
            with autocast(device, precision):
                mean_nll, counts = sequence_losses(model, tokens.to(device), targets.to(device))
            best, worst = ratings.index(max(ratings)), ratings.index(min(ratings))
            if ratings[best] > ratings[worst]:
                best_nll, worst_nll = float(mean_nll[best]), float(mean_nll[worst])
                outcomes.append(1.0 if best_nll < worst_nll else 0.0 if best_nll > worst_nll else 0.5)
            chosen = entry["objectiveResponses"]
            if not chosen:
                continue
            value = objective(
                settings,
                mean_nll[chosen],
                counts[chosen],
                [ratings[i] for i in chosen],
                None if references is None else references[index][chosen],
            )
            if value is None:
                continue
            loss_sum += float(value[0])
            counted += 1
    return {
        "type": "eval",
        "step": step,
        "loss": loss_sum / counted if counted else None,
        "preferenceAccuracy": sum(outcomes) / len(outcomes) if outcomes else None,
        "prompts": counted,
    }


def compute_references(model, entries, region, device, precision):
    """DPO's reference: the start model's summed log-likelihood of each micro-batch's responses."""
    references = {}
    with torch.no_grad():
        for index, entry in enumerate(entries):
            if "skip" in entry:
                continue
            tokens, targets, _ = micro_batch_tensors(entry, region)
            with autocast(device, precision):
                mean_nll, counts = sequence_losses(model, tokens.to(device), targets.to(device))
            references[index] = (-mean_nll * counts.to(mean_nll.dtype)).detach()
    return references


def exit_without_teardown():
    """Runs main and leaves with its exit status through os._exit, skipping the interpreter's teardown
    (see NEVER_DESTROYED). Every file the run writes is closed by then; stdout and stderr are flushed."""
    status = 0
    try:
        main()
    except SystemExit as stop:
        # As Python exits on SystemExit: None is 0, a number is the status, anything else is printed and 1.
        if stop.code is None or isinstance(stop.code, int):
            status = stop.code or 0
        else:
            print(stop.code, file=sys.stderr)
            status = 1
    except BaseException:  # reported as Python would report it, with the same exit status
        traceback.print_exc()
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    exit_without_teardown()
