"""Fine-tuning options (no torch import: the CLI builds its parser from these defaults)."""

from __future__ import annotations

from dataclasses import dataclass

from scratchlm.model.errors import ModelError

DPO_BETA = 0.1  # DPO's default, as in Rafailov et al. 2023 for most of their runs


@dataclass(frozen=True)
class FinetuneConfig:
    """Options common to all tasks; lr and weight decay as in the book's chapters 6 and 7 (decay on
    weights only, as in pretraining: `model.train.decay_groups`)."""

    epochs: int = 3
    batch_size: int = 8
    lr: float = 5e-5
    weight_decay: float = 0.1
    grad_clip: float = 1.0  # 0 disables clipping
    seed: int = 123
    lora_rank: int = 0  # 0: no LoRA, fine-tune the weights themselves
    lora_alpha: float = 16.0
    log_every: int = 10  # steps per logged record of the training terms
    eval_every: int = 0  # steps between evaluations besides those after each epoch (0: none)
    checkpoint_every: int = 0  # steps between saved states a killed run resumes from (0: none)

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "log_every"):
            if getattr(self, name) < 1:
                raise ModelError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("eval_every", "checkpoint_every"):
            if getattr(self, name) < 0:
                raise ModelError(f"{name} must be 0 (off) or positive, got {getattr(self, name)}")
        if self.lora_rank < 0:
            raise ModelError(f"lora_rank must be 0 (off) or positive, got {self.lora_rank}")
