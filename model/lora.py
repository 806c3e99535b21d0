"""Low-rank adaptation (LoRA, Hu et al. 2021; the book's appendix E).

Each adapted ``nn.Linear`` keeps its frozen weight ``W`` and learns ``A`` (rank x in) and ``B``
(out x rank); its output is ``x W^T + b + (alpha / rank) * x A^T B^T``. ``B`` starts at zero, so an
adapted model starts out computing exactly what the base model computes. Merging folds
``(alpha / rank) * B A`` into ``W`` and leaves plain ``nn.Linear`` layers behind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from scratchlm.model.errors import ModelError

# the attention and MLP projections of model.gpt.TransformerBlock
DEFAULT_TARGETS = ("att.qkv", "att.out_proj", "ff.up", "ff.down")


@dataclass(frozen=True)
class LoraConfig:
    rank: int
    alpha: float
    targets: tuple[str, ...] = DEFAULT_TARGETS

    def __post_init__(self) -> None:
        if self.rank < 1:
            raise ModelError(f"LoRA rank must be at least 1, got {self.rank}")
        if self.alpha <= 0:
            raise ModelError(f"LoRA alpha must be positive, got {self.alpha}")

    @property
    def scale(self) -> float:
        return self.alpha / self.rank


class LoRALinear(nn.Linear):
    """An ``nn.Linear`` (same parameter names, so base weights load as they are) plus a low-rank
    update."""

    def __init__(self, base: nn.Linear, config: LoraConfig) -> None:
        super().__init__(
            base.in_features, base.out_features, bias=base.bias is not None, device="meta"
        )
        self.weight = base.weight
        self.bias = base.bias
        self.scale = config.scale
        self.lora_A = nn.Parameter(
            torch.empty(config.rank, base.in_features, device=base.weight.device)
        )
        self.lora_B = nn.Parameter(
            torch.zeros(base.out_features, config.rank, device=base.weight.device)
        )
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))  # as nn.Linear initialises its weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (
            super().forward(x)
            + (x @ self.lora_A.T.to(x.dtype)) @ self.lora_B.T.to(x.dtype) * self.scale
        )

    def merged(self) -> nn.Linear:
        """A plain ``nn.Linear`` computing the same function."""
        out = nn.Linear(
            self.in_features,
            self.out_features,
            bias=self.bias is not None,
            device=self.weight.device,
            dtype=self.weight.dtype,
        )
        with torch.no_grad():
            out.weight.copy_(
                self.weight + self.scale * (self.lora_B @ self.lora_A).to(self.weight.dtype)
            )
            if self.bias is not None:
                out.bias.copy_(self.bias)
        return out


def _targets(model: nn.Module, suffixes: tuple[str, ...]) -> list[tuple[nn.Module, str, nn.Module]]:
    """(parent, attribute, module) of each module whose qualified name ends with one of
    ``suffixes``."""
    found = []
    for name, module in model.named_modules():
        if name and name.endswith(suffixes):
            parent_name, _, attr = name.rpartition(".")
            found.append((model.get_submodule(parent_name), attr, module))
    return found


def add_lora(model: nn.Module, config: LoraConfig) -> int:
    """Freeze every parameter of ``model`` and wrap the target ``nn.Linear`` layers; the count
    wrapped.

    Parameters made trainable afterwards (a new classifier head) are trained alongside the adapters.
    """
    for param in model.parameters():
        param.requires_grad_(False)
    targets = _targets(model, tuple("." + t for t in config.targets))
    for parent, attr, module in targets:
        if type(module) is not nn.Linear:
            raise ModelError(
                f"LoRA target {attr!r} is a {type(module).__name__}, not a Linear layer"
            )
        setattr(parent, attr, LoRALinear(module, config))
    if not targets:
        raise ModelError(f"no layer matches the LoRA targets {', '.join(config.targets)}")
    return len(targets)


def merge_lora(model: nn.Module) -> int:
    """Fold every adapter into its layer's weight, in place; the count merged."""
    adapted = [
        (parent, attr, module)
        for parent, attr, module in _targets(model, ("",))
        if isinstance(module, LoRALinear)
    ]
    for parent, attr, module in adapted:
        setattr(parent, attr, module.merged())
    return len(adapted)


def trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The tensors that fine-tuning changed: the adapters and any other trainable parameter."""
    return {name: p.detach().cpu() for name, p in model.named_parameters() if p.requires_grad}


def load_adapters(model: nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    """Copy saved adapter (and head) tensors into a model that ``add_lora`` prepared the same
    way."""
    params = dict(model.named_parameters())
    missing = sorted(n for n, p in params.items() if p.requires_grad and n not in tensors)
    unknown = sorted(set(tensors) - set(params))
    if missing or unknown:
        raise ModelError(f"adapters do not fit the model: missing {missing}, unexpected {unknown}")
    with torch.no_grad():
        for name, tensor in tensors.items():
            if params[name].shape != tensor.shape:
                raise ModelError(
                    f"adapter {name}: shape {tuple(tensor.shape)}, the model has "
                    f"{tuple(params[name].shape)}"
                )
            params[name].copy_(tensor)
