"""One process per device under ``torchrun``: process group set-up and model wrapping (DDP or
FSDP)."""

from __future__ import annotations

import os
from contextlib import nullcontext
from dataclasses import dataclass
from typing import ContextManager

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class Dist:
    rank: int
    local_rank: int
    world: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0


def init(device: str | None = None) -> Dist:
    """Join the process group that ``torchrun`` describes in the environment (NCCL on GPU, gloo on
    CPU)."""
    want_cuda = device == "cuda" or (device is None and torch.cuda.is_available())
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    if want_cuda:
        torch.cuda.set_device(local_rank)
        dev = torch.device("cuda", local_rank)
    else:
        dev = torch.device(device or "cpu")
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(
            backend="nccl" if dev.type == "cuda" else "gloo",
            device_id=dev if dev.type == "cuda" else None,
        )
    return Dist(rank, local_rank, world, dev)


def shutdown() -> None:
    """Leave the process group once every rank is done (gloo aborts a rank whose peer left
    first)."""
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def wrap(model: nn.Module, d: Dist, fsdp: bool) -> nn.Module:
    """DDP replicas, or FSDP2 shards (each block its own unit) for models that do not fit one
    device."""
    if d.world == 1:
        return model
    if fsdp:
        from torch.distributed.fsdp import fully_shard

        for block in model.blocks:
            fully_shard(block)
        return fully_shard(model)
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(
        model, device_ids=[d.local_rank] if d.device.type == "cuda" else None
    )


def no_grad_sync(model: nn.Module, last_micro_step: bool) -> ContextManager:
    """Skip the gradient all-reduce on all but the last micro-step of an accumulated batch."""
    if hasattr(model, "set_requires_gradient_sync"):  # FSDP2
        model.set_requires_gradient_sync(last_micro_step)
        return nullcontext()
    if hasattr(model, "no_sync") and not last_micro_step:  # DDP
        return model.no_sync()
    return nullcontext()


def all_mean(value: torch.Tensor, d: Dist) -> torch.Tensor:
    if d.world > 1:
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
        value = value / d.world
    return value
