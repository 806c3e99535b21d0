"""Validation loss over fixed windows, and loading a trained model back from a checkpoint."""
from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import torch

from model import checkpoint
from model.config import GPTConfig
from model.errors import ModelError
from model.gpt import GPT


def autocast(device: torch.device, dtype: torch.dtype | None):
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext()


@torch.no_grad()
def loss_sum(model: GPT, batches: list[tuple[torch.Tensor, torch.Tensor]], device: torch.device,
             amp: torch.dtype | None) -> torch.Tensor:
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


def load_model(path: Path | str, device: torch.device) -> tuple[GPT, checkpoint.Checkpoint]:
    """The model of a checkpoint folder (or of a training folder's newest checkpoint), in eval mode."""
    saved = checkpoint.load(Path(path))
    if saved.state.get("finetune", {}).get("task") == "classify":
        raise ModelError(f"{saved.folder}: a classifier (finetune classify), not a language model")
    model = GPT(GPTConfig(**saved.model_config))
    checkpoint.load_weights(model, saved.weights)
    return model.to(device).eval(), saved
