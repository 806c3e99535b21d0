"""Model presets (the book's GPT-2 sizes plus a CPU-sized ``tiny``) and the recipe's ``train:``
section."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from scratchlm.model.errors import ModelError


@dataclass(frozen=True)
class GPTConfig:
    """The architecture; ``vocab_size=None`` means the data's vocabulary padded to a multiple of
    64."""

    vocab_size: int | None = 50_304  # GPT-2's 50,257 padded to a multiple of 64 for faster matmuls
    block_size: int = 1024
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    dropout: float = 0.1
    qkv_bias: bool = False
    tie_weights: bool = True

    def __post_init__(self) -> None:
        if self.n_embd % self.n_head:
            raise ModelError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        if not 0.0 <= self.dropout < 1.0:
            raise ModelError(f"dropout must be in [0, 1), got {self.dropout}")
        for name in ("block_size", "n_layer", "n_head", "n_embd"):
            if getattr(self, name) < 1:
                raise ModelError(f"{name} must be positive, got {getattr(self, name)}")


# GPT-2 sizes (Radford et al. 2019, Table 2); learning rates from GPT-3 (Brown et al. 2020, Table
# 2.1).
PRESETS: dict[str, GPTConfig] = {
    "tiny": GPTConfig(
        vocab_size=None, block_size=128, n_layer=4, n_head=4, n_embd=128, dropout=0.0
    ),
    "gpt2-124m": GPTConfig(n_layer=12, n_head=12, n_embd=768),
    "gpt2-355m": GPTConfig(n_layer=24, n_head=16, n_embd=1024),
    "gpt2-774m": GPTConfig(n_layer=36, n_head=20, n_embd=1280),
    "gpt2-1.5b": GPTConfig(n_layer=48, n_head=25, n_embd=1600),
}
PRESET_LR: dict[str, float] = {
    "tiny": 3e-3,
    "gpt2-124m": 6e-4,
    "gpt2-355m": 3e-4,
    "gpt2-774m": 2.5e-4,
    "gpt2-1.5b": 2e-4,
}


def model_config(preset: str, overrides: dict[str, Any] | None = None) -> GPTConfig:
    """A preset with any of its fields replaced."""
    if preset not in PRESETS:
        raise ModelError(f"unknown preset {preset!r} (known: {', '.join(PRESETS)})")
    overrides = dict(overrides or {})
    known = {f.name for f in dataclasses.fields(GPTConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ModelError(
            f"unknown model field(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})"
        )
    return dataclasses.replace(PRESETS[preset], **overrides)


def pad_vocab(vocab_size: int, multiple: int = 64) -> int:
    return -(-vocab_size // multiple) * multiple


SESSION = "session"  # field metadata: may change when a run continues (see defining_fields)


def _opt(default: Any, help: str, session: bool = False) -> Any:
    """A defaulted field whose help text the CLI shows; ``session``: it changes how a session runs
    (logging, evaluation, memory, speed), not what the run trains, so a continued run may change
    it."""
    metadata = {"help": help, SESSION: session}
    if isinstance(default, dict):
        return field(default_factory=dict, metadata=metadata)
    return field(default=default, metadata=metadata)


GPU_LOSS_CHUNK = (
    32_768  # the default loss chunk on CUDA (docs/benchmarks.md, "The chunked head loss")
)


def loss_chunk_for(chunk: int | None, kernel: bool) -> int:
    """The configured loss chunk, or the default: chunks where the row kernel runs (``kernel``: a
    CUDA GPU with Triton, model/xent_rows.kernel_available), whole logits elsewhere (on a CPU the
    chunked path gives about 22% fewer tokens/s for the tiny preset:
    benchmarks/loss_path_cpu.py)."""
    if chunk is not None:
        return chunk
    return GPU_LOSS_CHUNK if kernel else 0


@dataclass
class TrainConfig:
    """The recipe's ``train:`` section; every field has a default sized for the CPU demo."""

    preset: str = _opt("tiny", f"model size: {', '.join(PRESETS)}")
    model: dict[str, Any] = _opt(
        {}, "GPTConfig fields to override, e.g. {n_layer: 6, dropout: 0.0}"
    )
    init_from: str | None = _opt(
        None,
        "start from this checkpoint's weights and architecture (continued "
        "pretraining); the preset and model overrides are then ignored",
    )
    max_steps: int = _opt(300, "optimizer steps in all")
    micro_batch: int = _opt(16, "sequences per forward pass and process")
    batch_tokens: int | None = _opt(
        None,
        "tokens per optimizer step over all processes, reached by "
        "gradient accumulation; None: one micro-batch",
    )
    lr: float | None = _opt(None, "peak learning rate; None: the preset's")
    min_lr_ratio: float = _opt(0.1, "the cosine decay ends at lr * min_lr_ratio")
    warmup_steps: int = _opt(30, "linear warmup steps")
    weight_decay: float = _opt(0.1, "AdamW weight decay (none on biases, norms, embeddings)")
    beta1: float = _opt(0.9, "AdamW beta1")
    beta2: float = _opt(0.95, "AdamW beta2")
    grad_clip: float = _opt(1.0, "gradient norm clipping threshold; 0 disables")
    seed: int = _opt(1337, "seed of initialisation, batches and dropout")
    log_every: int = _opt(10, "steps between log lines (and device syncs)", session=True)
    eval_every: int = _opt(100, "steps between validation runs; 0: only at the end", session=True)
    eval_tokens: int = _opt(65_536, "validation tokens per evaluation", session=True)
    samples: int = _opt(
        2,
        "continuations of validation documents written to the log at each evaluation",
        session=True,
    )
    sample_tokens: int = _opt(48, "tokens per logged continuation", session=True)
    checkpoint_every: int = _opt(100, "steps between checkpoints; 0: only at the end", session=True)
    keep_checkpoints: int = _opt(2, "checkpoints kept (the newest)", session=True)
    precision: str = _opt(
        "auto", "auto (bf16 autocast on CUDA, fp32 on CPU), bf16 or fp32", session=True
    )
    bf16_residual: bool = _opt(
        False,
        "under bf16 autocast keep the residual stream in bf16 too, as llm.c does "
        "(faster, less precise; fp32 otherwise)",
        session=True,
    )
    compile: bool = _opt(False, "torch.compile each block and the head", session=True)
    fused_mlp: bool = _opt(
        True,
        "under bf16 autocast on CUDA run the MLP's GELU, its "
        "derivative and the residual add in cuBLASLt epilogues "
        "(model/fused_mlp.py) where they work; false: the plain path",
        session=True,
    )
    activation_checkpointing: bool = _opt(
        False, "recompute block activations in the backward pass", session=True
    )
    loss_chunk: int | None = _opt(
        None,
        "compute the loss this many positions at a time, never holding the "
        "whole logits tensor (less memory, faster on a GPU); 0: all at once; "
        f"default: {GPU_LOSS_CHUNK} on CUDA GPUs with Triton, 0 "
        "elsewhere (slower there)",
        session=True,
    )
    fsdp: bool = _opt(
        False,
        "under torchrun, shard parameters, gradients and optimizer state (FSDP2)",
        session=True,
    )
    skip_nonfinite: bool = _opt(
        False, "skip a step whose loss or gradient is not finite instead of stopping", session=True
    )

    def __post_init__(self) -> None:
        if self.precision not in ("auto", "bf16", "fp32"):
            raise ModelError(f"precision must be auto, bf16 or fp32, got {self.precision!r}")
        for name in ("max_steps", "micro_batch", "log_every", "keep_checkpoints"):
            if getattr(self, name) < 1:
                raise ModelError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.loss_chunk is not None and self.loss_chunk < 0:
            raise ModelError(f"loss_chunk must be 0 (off) or positive, got {self.loss_chunk}")
        model_config(self.preset, self.model)  # refuse a bad preset or override now

    def peak_lr(self) -> float:
        return self.lr if self.lr is not None else PRESET_LR[self.preset]


def defining_fields(train_config: dict[str, Any]) -> dict[str, Any]:
    """The fields of a TrainConfig (as a dict) that define what a training trains: all but session
    ones."""
    session = {f.name for f in dataclasses.fields(TrainConfig) if f.metadata.get(SESSION)}
    return {k: v for k, v in train_config.items() if k not in session}
