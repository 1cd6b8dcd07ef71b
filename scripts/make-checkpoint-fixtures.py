#!/usr/bin/env python3
"""Hugging Face-layout checkpoint fixtures, and an independent reader for checkpoints we write.

Two modes, run from the repository root:

    /usr/bin/python3 scripts/make-checkpoint-fixtures.py
        Needs PyTorch (apt-get install python3-torch). Writes, under src/model/__fixtures__/checkpoints/:
        - tiny-llama-sharded/: a Llama checkpoint as `save_pretrained` lays it out, in three shards
          with model.safetensors.index.json, mostly BF16 with one F32 and one F16 tensor, plus
          config.json and reference.json (token ids and the logits at every position);
        - tiny-qwen2/: a single-file F16 Qwen2 checkpoint (q/k/v biases, tied embeddings) with its
          reference.json.
        Weights are drawn from a seeded torch generator and rounded to their stored dtype; the
        reference logits are computed in float64 from the stored values by the plain PyTorch decoder
        below (Hugging Face's rotate-half rotary embedding, grouped-query attention, SwiGLU).

    python3 scripts/make-checkpoint-fixtures.py --check <directory> <expected.json>
        Standard library only. Reads every .safetensors file in <directory> (and the index when
        sharded) and checks them against <expected.json> ({"tensors": {name: {"dtype", "shape"}},
        "metadata": {...}}): header length and 8-byte alignment, JSON header, metadata, names,
        dtypes, shapes, data offsets that tile the data section exactly, the index's weight_map and
        total_size, and that F32 values are finite. Prints one line per problem; exit status 1 if any.

The safetensors writing and reading here are written from the format description, independently of
the TypeScript code they test.
"""
import glob
import json
import math
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "src", "model", "__fixtures__", "checkpoints")
DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


# ---------------------------------------------------------------- independent reader (stdlib only)


def read_safetensors(path):
    with open(path, "rb") as handle:
        data = handle.read()
    problems = []
    (length,) = struct.unpack("<Q", data[:8])
    if (8 + length) % 8 != 0:
        problems.append("%s: data section starts at %d, not 8-byte aligned" % (path, 8 + length))
    header = json.loads(data[8 : 8 + length].decode("utf-8"))
    metadata = header.pop("__metadata__", None)
    body = len(data) - 8 - length
    spans = []
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        size = DTYPE_BYTES[entry["dtype"]] * math.prod(entry["shape"])
        if end - begin != size:
            problems.append("%s: %s spans %d bytes, needs %d" % (path, name, end - begin, size))
        spans.append((begin, end, name))
        if entry["dtype"] == "F32":
            raw = data[8 + length + begin : 8 + length + end]
            values = struct.unpack("<%df" % (len(raw) // 4), raw)
            if not all(math.isfinite(value) for value in values):
                problems.append("%s: %s has non-finite values" % (path, name))
    cursor = 0
    for begin, end, name in sorted(spans):
        if begin != cursor:
            problems.append("%s: %s starts at %d, expected %d (gap or overlap)" % (path, name, begin, cursor))
        cursor = end
    if cursor != body:
        problems.append("%s: tensors end at %d but the data section has %d bytes" % (path, cursor, body))
    return header, metadata, problems


def check(directory, expected_path):
    with open(expected_path) as handle:
        expected = json.load(handle)
    problems = []
    found = {}
    files = sorted(glob.glob(os.path.join(directory, "*.safetensors")))
    if not files:
        problems.append("%s: no .safetensors files" % directory)
    for path in files:
        header, metadata, file_problems = read_safetensors(path)
        problems += file_problems
        if metadata != expected.get("metadata", {"format": "pt"}):
            problems.append("%s: __metadata__ is %r" % (path, metadata))
        for name, entry in header.items():
            if name in found:
                problems.append("%s appears in two files" % name)
            found[name] = (os.path.basename(path), entry)
    index_path = os.path.join(directory, "model.safetensors.index.json")
    if len(files) > 1 or os.path.exists(index_path):
        with open(index_path) as handle:
            index = json.load(handle)
        mapped = index["weight_map"]
        if set(mapped) != set(found):
            problems.append("index weight_map names differ from the shards' tensors")
        for name, shard in mapped.items():
            if name in found and found[name][0] != shard:
                problems.append("index maps %s to %s, found in %s" % (name, shard, found[name][0]))
        total = sum(DTYPE_BYTES[entry["dtype"]] * math.prod(entry["shape"]) for _, entry in found.values())
        if index["metadata"]["total_size"] != total:
            problems.append("index total_size %s, tensors hold %d bytes" % (index["metadata"]["total_size"], total))
    for name, want in expected["tensors"].items():
        if name not in found:
            problems.append("missing tensor %s" % name)
            continue
        entry = found[name][1]
        if entry["dtype"] != want["dtype"] or entry["shape"] != want["shape"]:
            problems.append("%s is %s %s, expected %s %s" % (name, entry["dtype"], entry["shape"], want["dtype"], want["shape"]))
    for name in found:
        if name not in expected["tensors"]:
            problems.append("unexpected tensor %s" % name)
    for problem in problems:
        print(problem)
    print("checked %d tensors in %d files: %d problems" % (len(found), len(files), len(problems)))
    return 1 if problems else 0


# ---------------------------------------------------------------- fixture writer (PyTorch)


def tensor_names(config):
    d, f, v = config["hidden_size"], config["intermediate_size"], config["vocab_size"]
    head_dimension = d // config["num_attention_heads"]
    kv = config["num_key_value_heads"] * head_dimension
    biases = config["model_type"] == "qwen2"
    names = [("model.embed_tokens.weight", (v, d))]
    for layer in range(config["num_hidden_layers"]):
        p = "model.layers.%d." % layer
        names.append((p + "input_layernorm.weight", (d,)))
        for projection, rows in (("q_proj", d), ("k_proj", kv), ("v_proj", kv)):
            names.append((p + "self_attn.%s.weight" % projection, (rows, d)))
            if biases:
                names.append((p + "self_attn.%s.bias" % projection, (rows,)))
        names += [
            (p + "self_attn.o_proj.weight", (d, d)),
            (p + "post_attention_layernorm.weight", (d,)),
            (p + "mlp.gate_proj.weight", (f, d)),
            (p + "mlp.up_proj.weight", (f, d)),
            (p + "mlp.down_proj.weight", (d, f)),
        ]
    names.append(("model.norm.weight", (d,)))
    if not config["tie_word_embeddings"]:
        names.append(("lm_head.weight", (v, d)))
    return names


def reference_logits(torch, config, weights, tokens):
    """A plain float64 PyTorch llama/qwen2 decoder, written from the Hugging Face modeling description."""
    w = {name: value.to(torch.float64) for name, value in weights.items()}
    d = config["hidden_size"]
    heads, kv_heads = config["num_attention_heads"], config["num_key_value_heads"]
    hd = d // heads
    eps = config["rms_norm_eps"]
    n = len(tokens)

    def norm(x, weight):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight

    inverse = 1.0 / (config["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    angles = torch.outer(torch.arange(n, dtype=torch.float64), inverse)
    cos, sin = torch.cat((angles, angles), -1).cos(), torch.cat((angles, angles), -1).sin()

    def rotate(x):  # x [heads, n, hd]
        half = torch.cat((-x[..., hd // 2 :], x[..., : hd // 2]), -1)
        return x * cos + half * sin

    def linear(x, name):
        y = x @ w[name + ".weight"].T
        return y + w[name + ".bias"] if name + ".bias" in w else y

    x = w["model.embed_tokens.weight"][torch.tensor(tokens)]
    mask = torch.full((n, n), float("-inf"), dtype=torch.float64).triu(1)
    for layer in range(config["num_hidden_layers"]):
        p = "model.layers.%d." % layer
        h = norm(x, w[p + "input_layernorm.weight"])
        q = rotate(linear(h, p + "self_attn.q_proj").view(n, heads, hd).transpose(0, 1))
        k = rotate(linear(h, p + "self_attn.k_proj").view(n, kv_heads, hd).transpose(0, 1))
        v = linear(h, p + "self_attn.v_proj").view(n, kv_heads, hd).transpose(0, 1)
        k = k.repeat_interleave(heads // kv_heads, 0)
        v = v.repeat_interleave(heads // kv_heads, 0)
        attention = ((q @ k.transpose(1, 2)) / math.sqrt(hd) + mask).softmax(-1) @ v
        x = x + attention.transpose(0, 1).reshape(n, d) @ w[p + "self_attn.o_proj.weight"].T
        h = norm(x, w[p + "post_attention_layernorm.weight"])
        gate = h @ w[p + "mlp.gate_proj.weight"].T
        x = x + (torch.nn.functional.silu(gate) * (h @ w[p + "mlp.up_proj.weight"].T)) @ w[p + "mlp.down_proj.weight"].T
    head = w["model.embed_tokens.weight" if config["tie_word_embeddings"] else "lm_head.weight"]
    return norm(x, w["model.norm.weight"]) @ head.T


def tensor_bytes(torch, tensor, dtype):
    if dtype == "F32":
        return tensor.to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
    if dtype == "F16":
        return tensor.to(torch.float16).contiguous().numpy().astype("<f2").tobytes()
    return tensor.to(torch.bfloat16).contiguous().view(torch.int16).numpy().astype("<i2").tobytes()


def write_safetensors(path, entries):
    """entries: [(name, dtype, shape, bytes)] written in order, header padded with spaces to 8 bytes."""
    header = {"__metadata__": {"format": "pt"}}
    cursor = 0
    for name, dtype, shape, raw in entries:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [cursor, cursor + len(raw)]}
        cursor += len(raw)
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(encoded)))
        handle.write(encoded)
        for _, _, _, raw in entries:
            handle.write(raw)


def make_checkpoint(torch, name, config, dtype_of, shard_of, seed, tokens):
    directory = os.path.join(FIXTURES, name)
    os.makedirs(directory, exist_ok=True)
    for stale in glob.glob(os.path.join(directory, "*.safetensors")) + glob.glob(os.path.join(directory, "*.json")):
        os.remove(stale)
    generator = torch.Generator().manual_seed(seed)
    weights, shards = {}, {}
    for tensor_name, shape in tensor_names(config):
        values = torch.randn(shape, generator=generator, dtype=torch.float32)
        if tensor_name.endswith("norm.weight"):
            values = 1.0 + 0.1 * values
        elif tensor_name.endswith(".bias"):
            values = 0.1 * values
        elif tensor_name == "model.embed_tokens.weight":
            values = 0.5 * values
        else:
            values = values / math.sqrt(shape[-1])
        dtype = dtype_of(tensor_name)
        stored = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}[dtype]
        weights[tensor_name] = values.to(stored).to(torch.float32)
        shards.setdefault(shard_of(tensor_name), []).append((tensor_name, dtype, shape, tensor_bytes(torch, values, dtype)))
    count = len(shards)
    weight_map = {}
    if count == 1:
        write_safetensors(os.path.join(directory, "model.safetensors"), shards[0])
    else:
        for index in range(count):
            file_name = "model-%05d-of-%05d.safetensors" % (index + 1, count)
            write_safetensors(os.path.join(directory, file_name), shards[index])
            for entry in shards[index]:
                weight_map[entry[0]] = file_name
        total = sum(len(entry[3]) for shard in shards.values() for entry in shard)
        with open(os.path.join(directory, "model.safetensors.index.json"), "w") as handle:
            json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, handle, indent=2)
    with open(os.path.join(directory, "config.json"), "w") as handle:
        json.dump(config, handle, indent=2)
    logits = reference_logits(torch, config, weights, tokens)
    reference = {
        "generator": {"script": "scripts/make-checkpoint-fixtures.py", "torch": torch.__version__},
        "tokens": tokens,
        "logits": [[float("%.9g" % value) for value in row] for row in logits.tolist()],
    }
    with open(os.path.join(directory, "reference.json"), "w") as handle:
        json.dump(reference, handle, separators=(",", ":"))
    size = sum(os.path.getsize(path) for path in glob.glob(os.path.join(directory, "*")))
    print("wrote", os.path.relpath(directory, ROOT), size, "bytes")


def make_fixtures():
    import torch

    torch.set_num_threads(1)
    base = {
        "hidden_size": 32,
        "intermediate_size": 48,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "vocab_size": 64,
        "max_position_embeddings": 64,
        "rms_norm_eps": 1e-5,
        "hidden_act": "silu",
        "rope_scaling": None,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "torch_dtype": "bfloat16",
    }
    llama = {
        **base,
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "rope_theta": 10000.0,
        "tie_word_embeddings": False,
        "attention_bias": False,
        "mlp_bias": False,
    }
    special = {"model.layers.0.input_layernorm.weight": "F32", "model.layers.1.mlp.up_proj.weight": "F16"}
    make_checkpoint(
        torch,
        "tiny-llama-sharded",
        llama,
        dtype_of=lambda name: special.get(name, "BF16"),
        shard_of=lambda name: 0 if name.startswith("model.embed") else (1 if ".layers.0." in name else 2),
        seed=20240601,
        tokens=[1, 17, 5, 42, 63, 0, 8, 8, 30, 12, 2, 51],
    )
    qwen2 = {
        **base,
        "architectures": ["Qwen2ForCausalLM"],
        "model_type": "qwen2",
        "rope_theta": 1000000.0,
        "tie_word_embeddings": True,
        "use_sliding_window": False,
        "sliding_window": 64,
        "torch_dtype": "float16",
    }
    make_checkpoint(
        torch,
        "tiny-qwen2",
        qwen2,
        dtype_of=lambda name: "F16",
        shard_of=lambda name: 0,
        seed=20240602,
        tokens=[3, 9, 27, 50, 50, 1, 33, 60, 7],
    )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--check":
        sys.exit(check(sys.argv[2], sys.argv[3]))
    if len(sys.argv) != 1:
        print(__doc__)
        sys.exit(2)
    make_fixtures()
