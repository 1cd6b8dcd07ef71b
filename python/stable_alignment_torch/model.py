"""The llama-family decoder (Llama, SmolLM2, Mistral, Qwen2 with q/k/v biases) with Hugging Face tensor
names, from the normalised config the TypeScript side writes into the job file."""
import math

import torch
import torch.nn.functional as F
from torch import nn


class RmsNorm(nn.Module):
    def __init__(self, size, epsilon):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.epsilon = epsilon

    def forward(self, x):
        variance = x.pow(2).mean(-1, keepdim=True)
        return x * torch.rsqrt(variance + self.epsilon) * self.weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Attention(nn.Module):
    def __init__(self, config):
        super().__init__()
        d = config["hiddenSize"]
        self.heads = config["heads"]
        self.kv_heads = config["kvHeads"]
        self.head_size = d // self.heads
        bias = bool(config.get("queryKeyValueBias", False))
        self.q_proj = nn.Linear(d, self.heads * self.head_size, bias=bias)
        self.k_proj = nn.Linear(d, self.kv_heads * self.head_size, bias=bias)
        self.v_proj = nn.Linear(d, self.kv_heads * self.head_size, bias=bias)
        self.o_proj = nn.Linear(self.heads * self.head_size, d, bias=False)

    def forward(self, x, cos, sin, mask):
        batch, length, _ = x.shape
        q = self.q_proj(x).view(batch, length, self.heads, self.head_size).transpose(1, 2)
        k = self.k_proj(x).view(batch, length, self.kv_heads, self.head_size).transpose(1, 2)
        v = self.v_proj(x).view(batch, length, self.kv_heads, self.head_size).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        repeat = self.heads // self.kv_heads
        if repeat > 1:
            k = k.repeat_interleave(repeat, dim=1)
            v = v.repeat_interleave(repeat, dim=1)
        scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.head_size) + mask
        weights = torch.softmax(scores.float(), dim=-1).to(q.dtype)
        out = torch.matmul(weights, v).transpose(1, 2).reshape(batch, length, -1)
        return self.o_proj(out)


class Mlp(nn.Module):
    def __init__(self, config):
        super().__init__()
        d, f = config["hiddenSize"], config["intermediateSize"]
        self.gate_proj = nn.Linear(d, f, bias=False)
        self.up_proj = nn.Linear(d, f, bias=False)
        self.down_proj = nn.Linear(f, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    """One transformer block (the unit FSDP wraps)."""

    def __init__(self, config):
        super().__init__()
        self.self_attn = Attention(config)
        self.mlp = Mlp(config)
        self.input_layernorm = RmsNorm(config["hiddenSize"], config["rmsNormEpsilon"])
        self.post_attention_layernorm = RmsNorm(config["hiddenSize"], config["rmsNormEpsilon"])

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class Backbone(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.embed_tokens = nn.Embedding(config["vocabularySize"], config["hiddenSize"])
        self.layers = nn.ModuleList([DecoderLayer(config) for _ in range(config["layers"])])
        self.norm = RmsNorm(config["hiddenSize"], config["rmsNormEpsilon"])


class LlamaForCausalLm(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.model = Backbone(config)
        self.tied = bool(config["tieWordEmbeddings"])
        if not self.tied:
            self.lm_head = nn.Linear(config["hiddenSize"], config["vocabularySize"], bias=False)

    def forward(self, tokens):
        batch, length = tokens.shape
        head_size = self.config["hiddenSize"] // self.config["heads"]
        inverse = 1.0 / (
            self.config["ropeTheta"] ** (torch.arange(0, head_size, 2, dtype=torch.float64) / head_size)
        )
        angles = torch.outer(torch.arange(length, dtype=torch.float64), inverse)
        angles = torch.cat((angles, angles), dim=-1)
        dtype = self.model.embed_tokens.weight.dtype
        cos, sin = angles.cos().to(dtype), angles.sin().to(dtype)
        mask = torch.full((length, length), float("-inf"), dtype=dtype).triu(1).to(tokens.device)
        cos, sin = cos.to(tokens.device), sin.to(tokens.device)
        x = self.model.embed_tokens(tokens)
        for layer in self.model.layers:
            x = layer(x, cos, sin, mask)
        x = self.model.norm(x)
        head = self.model.embed_tokens.weight if self.tied else self.lm_head.weight
        return F.linear(x, head)

    def load_weights(self, tensors, source):
        """Copies checkpoint tensors in; refuses a missing or unplaced tensor, naming it."""
        own = self.state_dict()
        for name in own:
            if name not in tensors:
                raise ValueError(f"{source}: missing tensor {name}")
        for name in tensors:
            if name not in own and not (name == "lm_head.weight" and self.tied):
                raise ValueError(f"{source}: tensor {name} has no place in this model")
        with torch.no_grad():
            for name, value in own.items():
                if tuple(tensors[name].shape) != tuple(value.shape):
                    raise ValueError(f"{source}: {name} has shape {list(tensors[name].shape)}, expected {list(value.shape)}")
                value.copy_(tensors[name])

    def checkpoint_tensors(self):
        """The weights under their Hugging Face names (no lm_head when tied)."""
        return {name: value.detach().float().cpu() for name, value in self.state_dict().items()}


def sequence_losses(model, tokens, targets):
    """Per row: mean NLL over target positions (targets < 0 masked) and the target count."""
    logits = model(tokens).float()
    vocabulary = logits.shape[-1]
    nll = F.cross_entropy(logits.reshape(-1, vocabulary), targets.reshape(-1), ignore_index=-1, reduction="none")
    nll = nll.reshape(targets.shape)
    counts = (targets >= 0).sum(dim=1)
    return nll.sum(dim=1) / counts.clamp(min=1).to(nll.dtype), counts


_LORA_MODULES = {
    "q": "self_attn.q_proj",
    "k": "self_attn.k_proj",
    "v": "self_attn.v_proj",
    "o": "self_attn.o_proj",
    "gate": "mlp.gate_proj",
    "up": "mlp.up_proj",
    "down": "mlp.down_proj",
}


class LoraLinear(nn.Module):
    """A frozen projection plus (alpha / r) B A dropout(x), as the TypeScript trainer adds its adapters.
    Dropout (inverted: kept inputs scaled by 1 / (1 - p)) applies only while `generator` is set, to a
    training pass, with masks drawn from that torch.Generator; they differ from the engine's masks."""

    def __init__(self, base, rank, alpha, dropout=0.0):
        super().__init__()
        self.base = base
        self.lora_A = nn.Parameter(torch.zeros(rank, base.in_features))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, rank))
        self.scaling = alpha / rank
        self.dropout = dropout
        self.generator = None

    def forward(self, x):
        adapted = x
        if self.generator is not None and self.dropout > 0:
            keep = torch.empty(x.shape, dtype=torch.float32, device=x.device).bernoulli_(1 - self.dropout, generator=self.generator)
            adapted = x * (keep / (1 - self.dropout)).to(x.dtype)
        return self.base(x) + F.linear(F.linear(adapted, self.lora_A), self.lora_B) * self.scaling


def set_dropout_seed(model, seed, device):
    """Seeds the LoRA dropout of the next training pass (one torch.Generator shared by the adapters in
    forward order); None turns dropout off (evaluation, DPO references)."""
    generator = None
    if seed is not None:
        generator = torch.Generator(device=device)
        generator.manual_seed(int(seed))
    for module in model.modules():
        if isinstance(module, LoraLinear):
            module.generator = generator


def peft_name(name):
    """A LoRA parameter's PEFT tensor name (`model.layers.0.self_attn.q_proj.lora_A` ->
    `base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`)."""
    return f"base_model.model.{name}.weight"


def module_name(peft):
    """The model's own parameter name of a PEFT tensor name (the inverse of peft_name)."""
    return peft[len("base_model.model.") : -len(".weight")]


def is_adapter(name):
    """Whether a parameter name (the model's own) is a LoRA adapter matrix."""
    return name.endswith((".lora_A", ".lora_B"))


def apply_lora(model, lora, tensors, source):
    """Freezes every weight and puts adapters on the targets, loaded from PEFT-named `tensors`."""
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    for layer_index, layer in enumerate(model.model.layers):
        for target in lora["targets"]:
            path = _LORA_MODULES[target]
            parent_name, child_name = path.split(".")
            parent = getattr(layer, parent_name)
            wrapped = LoraLinear(getattr(parent, child_name), lora["rank"], lora["alpha"], lora.get("dropout", 0.0))
            setattr(parent, child_name, wrapped)
            for matrix in ("A", "B"):
                name = peft_name(f"model.layers.{layer_index}.{path}.lora_{matrix}")
                if name not in tensors:
                    raise ValueError(f"{source}: missing adapter tensor {name}")
                parameter = getattr(wrapped, f"lora_{matrix}")
                with torch.no_grad():
                    parameter.copy_(tensors[name].reshape(parameter.shape))
