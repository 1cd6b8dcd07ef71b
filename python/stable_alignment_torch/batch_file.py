"""Reads the batch file `train --backend torch` writes (layout: src/train/torch-batch-file.ts).

  bytes 0-7   "SABATCH1"
  bytes 8-11  header length H (uint32, little-endian)
  12..12+H    header: UTF-8 JSON {version, totalSteps, microBatches: [...]}
  then        zero padding to a multiple of 8, the data region
Each micro-batch {step, position, prompt, batchSize, sequenceLength, offset, tokens, skip?, dropoutSeed?} with
offset into the data region: token ids int32[batchSize*sequenceLength], targets int32[same]
(-1 masked), ratings float64[batchSize]. A skipped micro-batch (skip: reason) has no data.
"""
import json
import struct

import torch

MAGIC = b"SABATCH1"


def read_batch_file(path):
    with open(path, "rb") as handle:
        data = handle.read()
    if data[:8] != MAGIC:
        raise ValueError(f"{path}: not a stable-alignment batch file")
    (length,) = struct.unpack("<I", data[8:12])
    header = json.loads(data[12 : 12 + length].decode("utf-8"))
    start = 12 + length
    start += (8 - start % 8) % 8
    return header, memoryview(data)[start:]


def micro_batch_tensors(entry, region):
    count = entry["batchSize"] * entry["sequenceLength"]
    offset = entry["offset"]
    tokens = torch.frombuffer(bytearray(region[offset : offset + 4 * count]), dtype=torch.int32)
    offset += 4 * count
    targets = torch.frombuffer(bytearray(region[offset : offset + 4 * count]), dtype=torch.int32)
    shape = (entry["batchSize"], entry["sequenceLength"])
    return tokens.reshape(shape).long(), targets.reshape(shape).long(), micro_batch_ratings(entry, region)


def micro_batch_ratings(entry, region):
    """The ratings alone (no tensors), to plan a step before any forward pass."""
    offset = entry["offset"] + 8 * entry["batchSize"] * entry["sequenceLength"]
    return list(struct.unpack(f"<{entry['batchSize']}d", bytes(region[offset : offset + 8 * entry["batchSize"]])))
