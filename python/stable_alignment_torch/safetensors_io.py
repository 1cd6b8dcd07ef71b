"""Minimal safetensors reader and writer (no extra packages): F32, F16 and BF16 read as float32;
written as F32 in name order."""
import json
import os
import struct

import torch

_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def read_safetensors(path):
    """Returns {name: float32 tensor} of one .safetensors file."""
    with open(path, "rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(length).decode("utf-8"))
        data = handle.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(info["dtype"])
        if dtype is None:
            raise ValueError(f"{path}: tensor {name} has unsupported dtype {info['dtype']}")
        start, end = info["data_offsets"]
        raw = bytearray(data[start:end])
        tensor = torch.frombuffer(raw, dtype=dtype) if end > start else torch.empty(0, dtype=dtype)
        tensors[name] = tensor.reshape(info["shape"]).to(torch.float32)
    return tensors


def read_checkpoint(directory):
    """All tensors of a Hugging Face checkpoint directory (one file or an index of shards)."""
    index = os.path.join(directory, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index, encoding="utf-8") as handle:
            files = sorted(set(json.load(handle)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    tensors = {}
    for name in files:
        tensors.update(read_safetensors(os.path.join(directory, name)))
    return tensors


def write_safetensors(path, tensors):
    """Writes {name: tensor} as F32 to `path` through a temporary file renamed into place."""
    header = {}
    offset = 0
    blobs = []
    for name in sorted(tensors):
        tensor = tensors[name].detach().to(torch.float32).contiguous().cpu()
        blob = tensor.numpy().tobytes() if hasattr(tensor, "numpy") else bytes(tensor.untyped_storage())
        header[name] = {"dtype": "F32", "shape": list(tensor.shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * ((8 - len(encoded) % 8) % 8)
    temporary = f"{path}.tmp-{os.getpid()}"
    with open(temporary, "wb") as handle:
        handle.write(struct.pack("<Q", len(encoded)))
        handle.write(encoded)
        for blob in blobs:
            handle.write(blob)
    os.replace(temporary, path)
