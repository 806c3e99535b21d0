"""Validation loss over fixed windows, and loading a trained model back from a checkpoint."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch

from scratchlm.model import checkpoint
from scratchlm.model.classify import add_classifier_head
from scratchlm.model.config import GPTConfig
from scratchlm.model.data import BatchLoader, ShardSet
from scratchlm.model.errors import ModelError
from scratchlm.model.gpt import GPT


def autocast(device: torch.device, dtype: torch.dtype | None):
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext()


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """bf16 for ``bf16``, and for ``auto`` on CUDA; None (plain fp32) otherwise."""
    if precision == "bf16" or (precision == "auto" and device.type == "cuda"):
        return torch.bfloat16
    return None


@torch.no_grad()
def loss_sum(
    model: GPT,
    batches: list[tuple[torch.Tensor, torch.Tensor]],
    device: torch.device,
    amp: torch.dtype | None,
) -> torch.Tensor:
    """(sum of per-token losses, token count) over the batches, on the device."""
    was_training = model.training
    model.eval()
    total = torch.zeros(2, device=device, dtype=torch.float64)
    with autocast(device, amp):
        for x, y in batches:
            total[0] += model(x, y).double() * y.numel()
            total[1] += y.numel()
    model.train(was_training)
    return total


Batches = list[tuple[torch.Tensor, torch.Tensor]]


def validation_sets(
    shards: ShardSet,
    block_size: int,
    batch: int,
    device: torch.device,
    max_tokens: int,
    world: int = 1,
    rank: int = 0,
) -> dict[str | None, Batches]:
    """The fixed validation windows: for a mixture one set per source, each up to
    ``max_tokens`` divided by the number of sources; else one set (key None) for the split."""
    names = shards.val_sources
    if not names:
        loader = BatchLoader(shards, "val", block_size, batch, device, seed=0)
        return {None: loader.eval_batches(max_tokens, world, rank)}
    return {
        name: BatchLoader(
            shards, "val", block_size, batch, device, seed=0, source=name
        ).eval_batches(max_tokens // len(names), world, rank)
        for name in names
    }


@dataclass(frozen=True)
class ValidationLoss:
    """The loss over all validation windows, and each source's (empty for a plain folder)."""

    loss: float
    tokens: int
    by_source: dict[str, float]


def validation_loss(
    model: GPT,
    sets: dict[str | None, Batches],
    device: torch.device,
    amp: torch.dtype | None,
    reduce: Callable[[torch.Tensor], None] | None = None,
) -> ValidationLoss:
    """Mean per-token loss over every set and over each; ``reduce`` sums the (loss, tokens)
    totals across processes in place."""
    totals = {}
    for name, batches in sets.items():
        totals[name] = loss_sum(model, batches, device, amp)
        if reduce is not None:
            reduce(totals[name])
    grand = sum(totals.values())
    return ValidationLoss(
        (grand[0] / grand[1]).item(),
        int(grand[1].item()),
        {name: (t[0] / t[1]).item() for name, t in totals.items() if name is not None},
    )


def pick_device(name: str | None = None) -> torch.device:
    """The named device, or cuda when available, else cpu."""
    return torch.device(name or ("cuda" if torch.cuda.is_available() else "cpu"))


def build_model(saved: checkpoint.Checkpoint, device: torch.device) -> GPT:
    """The model a checkpoint holds: a plain GPT, or one with a classifier head."""
    model = GPT(GPTConfig(**saved.model_config))
    task = saved.state.get("finetune", {}).get("task")
    if task == "classify":
        add_classifier_head(model, len(saved.state["finetune"]["labels"]))
        if checkpoint.TIED not in saved.weights:
            raise ModelError(
                f"{saved.folder}: classifier checkpoint without its head {checkpoint.TIED}"
            )
    try:
        checkpoint.load_weights(model, saved.weights)
    except RuntimeError as err:  # shapes that do not fit
        raise ModelError(
            f"{saved.folder}: weights do not fit the model ({str(err).splitlines()[0]})"
        ) from None
    return model.to(device)


def load_model(path: Path | str, device: torch.device) -> tuple[GPT, checkpoint.Checkpoint]:
    """The model of a checkpoint folder (or of a training folder's newest checkpoint), in eval
    mode."""
    saved = checkpoint.load(Path(path))
    if saved.state.get("finetune", {}).get("task") == "classify":
        raise ModelError(f"{saved.folder}: a classifier (finetune classify), not a language model")
    return build_model(saved, device).eval(), saved
