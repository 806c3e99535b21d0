"""Text classification with a GPT (the book's chapter 6): a new head read at each text's last token.

The vocabulary projection is replaced by a ``Linear(n_embd, classes)``; under causal attention the
last real token is the only position that has seen the whole text, so its logits classify it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from scratchlm.model.errors import ModelError
from scratchlm.model.gpt import GPT


def add_classifier_head(model: GPT, classes: int) -> None:
    """Replace the output projection by a fresh classifier head (unties it from the embedding)."""
    if classes < 2:
        raise ModelError(f"a classifier needs at least 2 classes, got {classes}")
    model.head.out_head = nn.Linear(
        model.config.n_embd, classes, device=model.tok_emb.weight.device
    )


def parse_train_layers(spec: str, n_layer: int) -> int | None:
    """``all`` -> None (everything trains); ``last-block+norm`` -> 1; ``N`` -> N last blocks."""
    if spec == "all":
        return None
    if spec == "last-block+norm":
        return 1
    if spec.isdigit() and 0 <= int(spec) <= n_layer:
        return int(spec)
    raise ModelError(
        f"--train-layers must be all, last-block+norm or a block count 0..{n_layer}, got {spec!r}"
    )


def set_trainable(model: GPT, last_blocks: int | None) -> None:
    """Train the head, the final norm and the last ``last_blocks`` blocks; freeze the rest (None:
    train all)."""
    for param in model.parameters():
        param.requires_grad_(last_blocks is None)
    if last_blocks is None:
        return
    trained = [model.head] + list(model.blocks)[len(model.blocks) - last_blocks :]
    for module in trained:
        for param in module.parameters():
            param.requires_grad_(True)


def last_token_logits(model: GPT, idx: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Class logits (batch, classes) at each row's last real token (rows are right-padded)."""
    logits = model(idx)
    return logits[torch.arange(idx.shape[0], device=idx.device), lengths - 1]


def classification_loss(
    model: GPT, idx: torch.Tensor, lengths: torch.Tensor, labels: torch.Tensor
) -> torch.Tensor:
    return F.cross_entropy(last_token_logits(model, idx, lengths).float(), labels)


@torch.no_grad()
def correct_count(
    model: GPT, idx: torch.Tensor, lengths: torch.Tensor, labels: torch.Tensor
) -> int:
    return int((last_token_logits(model, idx, lengths).argmax(dim=-1) == labels).sum())
