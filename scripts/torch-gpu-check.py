#!/usr/bin/env python3
"""GPU check of `train --backend torch` (run by scripts/torch-gpu-check.sh; no network).

Trains with the package's own Python trainer through torchrun, on seeded Qwen2.5-0.5B-shape weights made
here (random init, Hugging Face layout, the package's safetensors writer) and the prepared batch file
carried in the repository (scripts/fixtures/torch-gpu-check-batches.bin, written by
scripts/make-torch-gpu-check-batches.ts):
  0. the run without FSDP learns (its loss falls by 10% or more in 10 steps: the fixture's token ids come
     from 256 of the vocabulary), so the comparisons below are not between flat trajectories;
  a. 10 steps with --fsdp full --precision bf16 against the same without FSDP (bf16 autocast): per-step
     losses within bf16 tolerance (5e-2 relative);
  b. the FSDP run saved at step 5, SIGKILLed, resumed: steps 6-10 continue the uninterrupted trajectory
     (1e-3 relative) and the final optimizer state has counted all 10 steps;
  c. tokens/s and peak GPU memory of the trainer (no FSDP) against a plain PyTorch loop over the same
     model, precision and micro-batches (ratio >= 0.95).
Prints one JSON summary line; exits 1 when a check fails. With one GPU torch runs FSDP as NO_SHARD (world
size 1): wrapping, mixed precision, no_sync and the gathered checkpoint and optimizer state are exercised,
sharding across several ranks stays untested.

`--dry --device cpu`: a smoke run of the same plumbing on CPU (a tiny model, the fixture's first 3
steps cut to 32 positions, fp32, no FSDP: torch on CPU cannot run it; no throughput verdict).
"""
import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python"))

import torch  # noqa: E402

from stable_alignment_torch.batch_file import MAGIC, micro_batch_tensors, read_batch_file  # noqa: E402
from stable_alignment_torch.model import LlamaForCausalLm, sequence_losses  # noqa: E402
from stable_alignment_torch.objectives import objective  # noqa: E402
from stable_alignment_torch.safetensors_io import read_checkpoint, write_safetensors  # noqa: E402
from stable_alignment_torch.train import checkpoint_name  # noqa: E402

TRAINER = os.path.join(os.path.dirname(HERE), "python", "stable_alignment_torch", "train.py")
FIXTURES = os.path.join(HERE, "fixtures")
DRY_CONFIG = {"hiddenSize": 64, "layers": 2, "heads": 4, "kvHeads": 2, "intermediateSize": 128, "vocabularySize": 512}


def write_batch_file(path, header, tensors):
    """The batch file layout of src/train/torch-batch-file.ts from [(tokens, targets, ratings)]."""
    blobs, offset = [], 0
    for entry, (tokens, targets, ratings) in zip(header["microBatches"], tensors):
        blob = tokens.to(torch.int32).numpy().tobytes() + targets.to(torch.int32).numpy().tobytes()
        blob += struct.pack(f"<{len(ratings)}d", *ratings)
        entry.update(offset=offset, batchSize=tokens.shape[0], sequenceLength=tokens.shape[1])
        offset += len(blob)
        blobs.append(blob)
    encoded = json.dumps(header).encode("utf-8")
    padding = b"\0" * ((8 - (12 + len(encoded)) % 8) % 8)
    with open(path, "wb") as handle:
        handle.write(MAGIC + struct.pack("<I", len(encoded)) + encoded + padding + b"".join(blobs))


def prepare(work, dry):
    """Weights, batch file and the job's config and settings in `work`."""
    with open(os.path.join(FIXTURES, "torch-gpu-check-job.json"), encoding="utf-8") as handle:
        fixture = json.load(handle)
    config, settings = fixture["config"], fixture["settings"]
    batches = os.path.join(FIXTURES, "torch-gpu-check-batches.bin")
    if dry:
        config = {**config, **DRY_CONFIG}
        header, region = read_batch_file(batches)
        entries = [entry for entry in header["microBatches"] if entry["step"] < 3]
        tensors = []
        for entry in entries:
            tokens, targets, ratings = micro_batch_tensors(entry, region)
            tokens = tokens[:, :32] % DRY_CONFIG["vocabularySize"]
            targets = torch.where(targets[:, :32] >= 0, targets[:, :32] % DRY_CONFIG["vocabularySize"], targets[:, :32])
            tensors.append((tokens, targets, ratings))
        batches = os.path.join(work, "batches.bin")
        write_batch_file(batches, {**header, "totalSteps": 3, "microBatches": entries, "heldOut": []}, tensors)
        settings = {**settings, "saveEvery": 2}
    torch.manual_seed(0)
    model = LlamaForCausalLm(config)
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() >= 2:
                parameter.normal_(0, 0.02)
    os.makedirs(os.path.join(work, "start"))
    write_safetensors(os.path.join(work, "start", "model.safetensors"), model.checkpoint_tensors())
    with open(os.path.join(work, "start", "config.json"), "w", encoding="utf-8") as handle:
        json.dump({"model_type": "qwen2"}, handle)
    return config, settings, batches


RUNNING = []  # the torchrun job in flight (its own process group), ended with this script


def end_running(signum, _frame):
    for process in RUNNING:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    raise SystemExit(f"torch-gpu-check: stopped by signal {signum} (a timeout?)")


def train(work, name, job, kill_after=None, discard=True, timeout=150):
    """Runs the trainer through torchrun on one device; returns its step records. `kill_after`: SIGKILL
    the whole job once that step's checkpoint is written."""
    out = os.path.join(work, name)
    os.makedirs(out, exist_ok=True)
    job_path = os.path.join(out, "job.json")
    with open(job_path, "w", encoding="utf-8") as handle:
        json.dump({**job, "out": out}, handle)
    rendezvous = ["--nnodes=1", "--rdzv_backend=c10d", f"--rdzv_endpoint=127.0.0.1:{free_port()}", f"--rdzv_id={name}"]
    command = [sys.executable, "-m", "torch.distributed.run", *rendezvous, "--nproc_per_node=1",
               "--redirects=2", "--tee=2", f"--log_dir={out}/logs", TRAINER, "--job", job_path]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, start_new_session=True,
                               env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "4")})
    RUNNING[:] = [process]
    deadline = time.time() + timeout
    records = []
    killed = False
    for line in process.stdout:
        if time.time() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            raise SystemExit(f"torch-gpu-check: {name} ran past {timeout} s")
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if record["type"] == "step":
            records.append(record)
        if kill_after is not None and record["type"] == "checkpoint" and record["step"] == kill_after:
            os.killpg(process.pid, signal.SIGKILL)
            killed = True
            break
    code = process.wait(timeout=max(1, deadline - time.time()))
    if not killed and code != 0:
        raise SystemExit(f"torch-gpu-check: {name} failed (exit {code}); see the worker log above")
    if discard:
        # A 0.5B checkpoint with its optimizer state is about 6 GB: keep only the metrics.
        shutil.rmtree(os.path.join(out, "torch-checkpoints"), ignore_errors=True)
    return records


def largest_relative(first, second):
    return max(abs(a["loss"] - b["loss"]) / abs(b["loss"]) for a, b in zip(first, second))


def plain_loop(work, config, settings, batches, device, precision, steps):
    """The same model, precision, micro-batches and objective in a bare loop (AdamW, no clipping, no
    metrics, no checkpoints): tokens/s over steps 2.. (the first warms up) and peak memory."""
    model = LlamaForCausalLm(config)
    model.load_weights(read_checkpoint(os.path.join(work, "start")), "start")
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings["learningRate"], weight_decay=0)
    header, region = read_batch_file(batches)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    tokens_seen, seconds = 0, 0.0
    for step in range(steps):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        started = time.time()
        entries = [entry for entry in header["microBatches"] if entry["step"] == step]
        for entry in entries:
            tokens, targets, ratings = micro_batch_tensors(entry, region)
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
                mean_nll, counts = sequence_losses(model, tokens.to(device), targets.to(device))
            loss, _ = objective(settings, mean_nll, counts, ratings, None)
            loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if step > 0:
            seconds += time.time() - started
            tokens_seen += sum(entry["tokens"] for entry in entries)
    peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else 0
    return tokens_seen / seconds, peak


def trainer_speed(records):
    """Tokens/s over steps 2.. of a run's step records (every fixture step has the same tokens, so the
    harmonic mean of the per-step rates is tokens over time), and its peak memory."""
    later = [record["tokensPerSecond"] for record in records[1:]]
    rate = len(later) / sum(1 / value for value in later) if later and min(later) > 0 else 0.0
    return rate, max(record.get("peakMemoryBytes", 0) for record in records)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    parser.add_argument("--dry", action="store_true", help="tiny model, 3 steps, no FSDP (CPU smoke run)")
    options = parser.parse_args()
    if options.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("torch-gpu-check: no CUDA device visible to torch; not run (--dry --device cpu for a smoke run)")
    if options.device == "cpu" and not options.dry:
        raise SystemExit("torch-gpu-check: --device cpu needs --dry (torch cannot run FSDP on CPU)")
    signal.signal(signal.SIGTERM, end_running)
    began = time.time()
    device = torch.device(options.device, 0) if options.device == "cuda" else torch.device("cpu")
    precision = "fp32" if options.dry else "bf16"
    sharded = "none" if options.dry else "full"
    summary = {"device": torch.cuda.get_device_name(0) if options.device == "cuda" else "cpu",
               "torch": torch.__version__, "dry": options.dry}
    with tempfile.TemporaryDirectory(prefix="torch-gpu-check-") as work:
        config, settings, batches = prepare(work, options.dry)
        job = {"config": config, "settings": {**settings, "saveEvery": 0}, "model": os.path.join(work, "start"),
               "batchFile": batches, "device": options.device, "precision": precision, "resume": True}
        plain = train(work, "no-fsdp", {**job, "fsdp": "none"})
        steps = len(plain)
        # The check means something only if training moves the loss well beyond bf16 noise.
        fall = 1 - plain[-1]["loss"] / plain[0]["loss"]
        checks = {"learns": {"firstLoss": plain[0]["loss"], "lastLoss": plain[-1]["loss"], "relativeFall": fall,
                             "ok": fall >= (0.002 if options.dry else 0.1)}}
        if not options.dry:
            sharded_run = train(work, "fsdp", {**job, "fsdp": "full"})
            difference = largest_relative(sharded_run, plain)
            checks["fsdpVsNoFsdp"] = {"steps": len(sharded_run), "largestRelativeLossDifference": difference,
                                      "limit": 5e-2, "ok": len(sharded_run) == steps and difference <= 5e-2}
        reference = plain if options.dry else sharded_run
        save_at = settings["saveEvery"]
        resumable = {**job, "settings": {**job["settings"], "saveEvery": save_at}, "fsdp": sharded}
        before = train(work, "killed", resumable, kill_after=save_at, discard=False)
        # The SIGKILL follows the step-`save_at` checkpoint's line on stdout; a fast trainer may have
        # written later checkpoints (the last step always saves) before it lands. Drop them, so the
        # resume starts where the kill was meant to be and has steps to continue.
        killed_checkpoints = os.path.join(work, "killed", "torch-checkpoints")
        # Names are zero-padded, so later ones (and their unfinished ".tmp-<pid>" folders) sort after.
        for name in os.listdir(killed_checkpoints):
            if name > checkpoint_name(save_at):
                shutil.rmtree(os.path.join(killed_checkpoints, name))
        after = train(work, "killed", resumable, discard=False)
        continued = [record["step"] for record in after]
        difference = largest_relative(after, reference[save_at:])
        # AdamW's step count in the final checkpoint: `steps` only if the resume restored the optimizer.
        final = os.path.join(work, "killed", "torch-checkpoints", checkpoint_name(steps), "optimizer.pt")
        optimizer_steps = int(float(next(iter(torch.load(final, map_location="cpu")["state"].values()))["step"]))
        shutil.rmtree(os.path.join(work, "killed", "torch-checkpoints"))
        checks["killAndResume"] = {"killedAfterStep": save_at, "stepsBefore": len(before), "resumedSteps": continued,
                                   "optimizerSteps": optimizer_steps,
                                   "largestRelativeLossDifference": difference, "limit": 1e-3,
                                   "ok": continued == list(range(save_at + 1, steps + 1)) and difference <= 1e-3
                                   and optimizer_steps == steps}
        ours, our_peak = trainer_speed(plain)
        theirs, their_peak = plain_loop(work, config, settings, batches, device, precision, steps)
        ratio = ours / theirs
        checks["throughput"] = {"trainerTokensPerSecond": ours, "plainTokensPerSecond": theirs, "ratio": ratio,
                                "limit": 0.95, "trainerPeakGiB": our_peak / 2**30, "plainPeakGiB": their_peak / 2**30,
                                "ok": None if options.dry else ratio >= 0.95}
        if not options.dry:
            fsdp_rate, fsdp_peak = trainer_speed(sharded_run)
            checks["throughput"].update(fsdpTokensPerSecond=fsdp_rate, fsdpPeakGiB=fsdp_peak / 2**30)
    summary.update(checks)
    summary["ok"] = all(check["ok"] is not False for check in checks.values())
    summary["seconds"] = round(time.time() - began, 1)
    summary["note"] = (
        "dry run: no FSDP, no throughput verdict"
        if options.dry
        else "one GPU: torch runs FSDP as NO_SHARD at world size 1 (wrapping, bf16 mixed precision, no_sync, "
        "gathered checkpoints and optimizer state are exercised); sharding across several ranks stays untested"
    )
    print(json.dumps(summary))
    sys.exit(0 if summary["ok"] else 1)


if __name__ == "__main__":
    main()
