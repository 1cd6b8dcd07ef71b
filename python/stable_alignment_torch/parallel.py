"""How the trainer spreads one step over processes: nothing (one process), DistributedDataParallel (the
whole model on every rank, gradients all-reduced once per step), or FullyShardedDataParallel (each
decoder block one FSDP unit, parameters, gradients and optimizer state sharded; bf16 mixed precision).

Both wrappers average the gradients over ranks; the trainer wants the sum over the step's prompts, so
it multiplies by the world size. FSDP is imported only when asked for: torch 1.13 on Python 3.11
cannot import it at all, and it needs CUDA.
"""
import contextlib
import functools
import inspect

import torch
import torch.distributed as dist


def fsdp_module():
    from torch.distributed.fsdp import FullyShardedDataParallel  # noqa: PLC0415

    return FullyShardedDataParallel


class Parallel:
    """The wrapped model and what the trainer needs to know about it."""

    def __init__(self, model, wrapped, mode):
        self.model = model  # the unwrapped model (its modules, for LoRA dropout and DDP's state)
        self.wrapped = wrapped  # what forward passes go through
        self.mode = mode  # "single", "ddp" or "fsdp"

    def accumulate(self, synchronize):
        """Context of one backward pass: no_sync for all but the step's last pass."""
        if self.mode == "single" or synchronize:
            return contextlib.nullcontext()
        return self.wrapped.no_sync()

    def gradient_square_sum(self, parameters):
        """Sum of squared gradient entries over the whole model (FSDP: over every rank's shard), with
        one fused norm over all gradients where torch has it and one device-to-host copy."""
        gradients = [p.grad for p in parameters if p.grad is not None]
        if not gradients:
            total = torch.zeros((), dtype=torch.float64)
        elif hasattr(torch, "_foreach_norm"):
            total = torch.stack(torch._foreach_norm(gradients)).double().pow(2).sum()
        else:
            total = torch.stack([torch.linalg.vector_norm(g, dtype=torch.float64) ** 2 for g in gradients]).sum()
        if self.mode == "fsdp":
            dist.all_reduce(total)
        return float(total)

    @staticmethod
    def scale_gradients(parameters, factor):
        gradients = [p.grad for p in parameters if p.grad is not None]
        if hasattr(torch, "_foreach_mul_"):
            torch._foreach_mul_(gradients, factor)
        else:
            for gradient in gradients:
                gradient.mul_(factor)

    def forward_model(self):
        """The module for passes outside training (references, held-out): the unwrapped model, or FSDP."""
        return self.wrapped if self.mode == "fsdp" else self.model


def wrap(model, fsdp, device, precision, world):
    """Moves `model` to `device` and wraps it for `world` processes; `fsdp` is full, grad-op or none."""
    if fsdp != "none":
        return Parallel(model, wrap_fsdp(model, fsdp, device, precision), "fsdp")
    model.to(device)
    if world == 1:
        return Parallel(model, model, "single")
    device_ids = [device.index] if device.type == "cuda" else None
    wrapped = torch.nn.parallel.DistributedDataParallel(model, device_ids=device_ids, broadcast_buffers=False)
    return Parallel(model, wrapped, "ddp")


def wrap_fsdp(model, fsdp, device, precision):
    from torch.distributed.fsdp import MixedPrecision, ShardingStrategy  # noqa: PLC0415
    from torch.distributed.fsdp.wrap import transformer_auto_wrap_policy  # noqa: PLC0415

    from stable_alignment_torch.model import DecoderLayer  # noqa: PLC0415

    FullyShardedDataParallel = fsdp_module()
    strategy = ShardingStrategy.FULL_SHARD if fsdp == "full" else ShardingStrategy.SHARD_GRAD_OP
    options = {
        "auto_wrap_policy": functools.partial(transformer_auto_wrap_policy, transformer_layer_cls={DecoderLayer}),
        "sharding_strategy": strategy,
        "device_id": device,
    }
    if precision == "bf16":
        # Parameters gathered and computed in bf16; gradients reduced and AdamW's state kept in fp32.
        options["mixed_precision"] = MixedPrecision(
            param_dtype=torch.bfloat16, reduce_dtype=torch.float32, buffer_dtype=torch.bfloat16
        )
    if "use_orig_params" in inspect.signature(FullyShardedDataParallel.__init__).parameters:
        # torch >= 2.0: parameters keep their names and shapes (weight decay by dimension, LoRA's frozen base).
        options["use_orig_params"] = True
    return FullyShardedDataParallel(model, **options)


_WRAPPER_PARTS = ("_fsdp_wrapped_module.", "_checkpoint_wrapped_module.", "_forward_module.")


def clean_name(name):
    """A parameter's own name without what DDP (a leading `module.`) and FSDP insert."""
    for part in _WRAPPER_PARTS:
        name = name.replace(part, "")
    return name[len("module.") :] if name.startswith("module.") else name


def full_state(parallel, keep=lambda name: True):
    """{name: float32 CPU tensor} of the model's tensors whose own name `keep` accepts (default all);
    with FSDP gathered to rank 0 (other ranks get {}), every rank must call it."""
    if parallel.mode != "fsdp":
        state = parallel.model.state_dict()
        return {name: value.detach().float().cpu() for name, value in state.items() if keep(name)}
    from torch.distributed.fsdp import FullStateDictConfig, StateDictType  # noqa: PLC0415

    FullyShardedDataParallel = fsdp_module()
    config = FullStateDictConfig(offload_to_cpu=True, rank0_only=True)
    with FullyShardedDataParallel.state_dict_type(parallel.wrapped, StateDictType.FULL_STATE_DICT, config):
        state = parallel.wrapped.state_dict()
    cleaned = ((clean_name(name), value) for name, value in state.items())
    return {name: value.detach().float().cpu() for name, value in cleaned if keep(name)}


def optimizer_state(parallel, optimizer):
    """The optimizer's state to save; with FSDP gathered unsharded to rank 0 (keyed by parameter name),
    every rank must call it."""
    if parallel.mode != "fsdp":
        return optimizer.state_dict()
    FullyShardedDataParallel = fsdp_module()
    if hasattr(FullyShardedDataParallel, "optim_state_dict"):
        from torch.distributed.fsdp import (  # noqa: PLC0415
            FullOptimStateDictConfig,
            FullStateDictConfig,
            StateDictType,
        )

        with FullyShardedDataParallel.state_dict_type(
            parallel.wrapped,
            StateDictType.FULL_STATE_DICT,
            FullStateDictConfig(offload_to_cpu=True, rank0_only=True),
            FullOptimStateDictConfig(offload_to_cpu=True, rank0_only=True),
        ):
            return FullyShardedDataParallel.optim_state_dict(parallel.wrapped, optimizer)
    # torch 1.13
    return FullyShardedDataParallel.full_optim_state_dict(parallel.wrapped, optimizer, rank0_only=True)


def load_optimizer_state(parallel, optimizer, saved):
    """Loads what optimizer_state saved (every rank reads the whole file; FSDP keeps its shard)."""
    if parallel.mode != "fsdp":
        optimizer.load_state_dict(saved)
        return
    FullyShardedDataParallel = fsdp_module()
    if hasattr(FullyShardedDataParallel, "optim_state_dict_to_load"):
        from torch.distributed.fsdp import (  # noqa: PLC0415
            FullOptimStateDictConfig,
            FullStateDictConfig,
            StateDictType,
        )

        with FullyShardedDataParallel.state_dict_type(
            parallel.wrapped,
            StateDictType.FULL_STATE_DICT,
            FullStateDictConfig(offload_to_cpu=True, rank0_only=False),
            FullOptimStateDictConfig(offload_to_cpu=True, rank0_only=False),
        ):
            # Keywords: torch 2.0 and >= 2.1 order these parameters differently.
            sharded = FullyShardedDataParallel.optim_state_dict_to_load(
                model=parallel.wrapped, optim=optimizer, optim_state_dict=saved
            )
    else:  # torch 1.13
        sharded = FullyShardedDataParallel.shard_full_optim_state_dict(saved, parallel.wrapped)
    optimizer.load_state_dict(sharded)


def load_full_state(parallel, tensors, source):
    """Copies `tensors` ({own name: tensor}, a subset of the model's state, e.g. LoRA adapters alone)
    into the wrapped model; refuses a name with no place in it or a wrong shape, naming the tensor."""
    if parallel.mode != "fsdp":
        own = parallel.model.state_dict()
        for name in tensors:
            if name not in own:
                raise SystemExit(f"{source}: tensor {name} has no place in this model")
            if tuple(own[name].shape) != tuple(tensors[name].shape):
                raise SystemExit(f"{source}: {name} has shape {list(tensors[name].shape)}, expected {list(own[name].shape)}")
        with torch.no_grad():
            for name, value in tensors.items():
                own[name].copy_(value)
        return
    from torch.distributed.fsdp import FullStateDictConfig, StateDictType  # noqa: PLC0415

    FullyShardedDataParallel = fsdp_module()
    config = FullStateDictConfig(offload_to_cpu=True, rank0_only=False)
    with FullyShardedDataParallel.state_dict_type(parallel.wrapped, StateDictType.FULL_STATE_DICT, config):
        state = parallel.wrapped.state_dict()
        by_clean_name = {clean_name(name): name for name in state}
        for name, value in tensors.items():
            if name not in by_clean_name:
                raise SystemExit(f"{source}: tensor {name} has no place in this model")
            key = by_clean_name[name]
            state[key] = value.to(dtype=state[key].dtype).reshape(state[key].shape)
        parallel.wrapped.load_state_dict(state)
