"""Pretraining on a shard folder: one process, or one per device under ``torchrun`` (DDP or FSDP).

The step loop never waits for the device: per-step losses and gradient norms stay in a device
buffer that is read once per ``log_every`` steps (and before evaluations and checkpoints), where a
non-finite loss stops the run naming its step. With ``skip_nonfinite`` every step is checked and a
bad one is skipped instead, at the cost of one device sync per step.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scratchlm.model import checkpoint, distributed
from scratchlm.model.config import (
    GPTConfig,
    TrainConfig,
    defining_fields,
    loss_chunk_for,
    model_config,
    pad_vocab,
)
from scratchlm.model.data import BatchLoader, ShardSet, open_shards
from scratchlm.model.errors import ModelError, OtherTraining, TrainingInterrupted
from scratchlm.model.evaluate import autocast, autocast_dtype, validation_loss, validation_sets
from scratchlm.model.generate import generate
from scratchlm.model.gpt import GPT, flops_per_token
from scratchlm.model.stop import StopRequest
from scratchlm.model.train_log import (
    LOG_NAME,
    Evaluation,
    LogRecord,
    Start,
    Step,
    append_record,
    read_log,
    read_records,
)
from scratchlm.model.xent_rows import kernel_available

PEAK_FLOPS = 989e12  # dense bf16 TFLOP/s of an H100 SXM (NVIDIA datasheet); the H200 has the same
LogHook = Callable[[LogRecord], None]


def resolve_model_config(
    cfg: TrainConfig, shards: ShardSet, initial: checkpoint.Checkpoint | None = None
) -> GPTConfig:
    """The preset with overrides, or the initial checkpoint's architecture; a data vocabulary
    larger than the model's is refused."""
    mc = (
        GPTConfig(**initial.model_config)
        if initial is not None
        else model_config(cfg.preset, cfg.model)
    )
    if mc.vocab_size is None:
        mc = dataclasses.replace(mc, vocab_size=pad_vocab(shards.vocab_size))
    if shards.vocab_size > mc.vocab_size:
        raise ModelError(
            f"{shards.folder / 'manifest.json'}: vocabulary of {shards.vocab_size} tokens exceeds "
            f"the model's {mc.vocab_size}"
        )
    return mc


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warmup to the peak, then cosine decay to ``peak * min_lr_ratio`` at ``max_steps``."""
    peak = cfg.peak_lr()
    if step < cfg.warmup_steps:
        return peak * (step + 1) / cfg.warmup_steps
    progress = min((step - cfg.warmup_steps) / max(cfg.max_steps - cfg.warmup_steps, 1), 1.0)
    floor = peak * cfg.min_lr_ratio
    return floor + 0.5 * (peak - floor) * (1 + math.cos(math.pi * progress))


def decay_groups(model: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """AdamW parameter groups of the trainable parameters: biases, norms and embeddings (the tied
    output head too) get no weight decay, every other weight ``weight_decay``; empty groups left
    out."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if param.requires_grad:
            plain = name.endswith("bias") or "norm" in name or "_emb." in name
            (no_decay if plain else decay).append(param)
    groups = [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return [g for g in groups if g["params"]]


def make_optimizer(
    model: torch.nn.Module, cfg: TrainConfig, device: torch.device
) -> torch.optim.AdamW:
    """AdamW (fused on CUDA) over ``decay_groups``."""
    return torch.optim.AdamW(
        decay_groups(model, cfg.weight_decay),
        lr=cfg.peak_lr(),
        betas=(cfg.beta1, cfg.beta2),
        fused=device.type == "cuda",
    )


def step_seed(seed: int, rank: int, step: int) -> int:
    """Dropout's RNG seed for one step of one rank, so resuming needs no saved generator state."""
    return int(np.random.SeedSequence([seed, rank, step, 1]).generate_state(1, np.uint64)[0] >> 1)


def loss_kernels(chunk: int, row_kernel: bool) -> str:
    """What computes the head's loss, for the log."""
    if not chunk:
        return "F.cross_entropy over the whole logits"
    rows = "Triton row kernel" if row_kernel else "PyTorch rows"
    return f"chunks of {chunk} positions, {rows} (model/xent_rows.py)"


def attention_kernels(device: torch.device) -> str:
    """The attention kernels F.scaled_dot_product_attention may choose from, for the log."""
    if device.type != "cuda":
        return "F.scaled_dot_product_attention on the CPU"
    backends = torch.backends.cuda
    choices = (
        ("cuDNN", backends.cudnn_sdp_enabled()),
        ("flash", backends.flash_sdp_enabled()),
        ("memory-efficient", backends.mem_efficient_sdp_enabled()),
        ("math", backends.math_sdp_enabled()),
    )
    enabled = [name for name, on in choices if on]
    return "F.scaled_dot_product_attention, PyTorch's choice of " + ", ".join(enabled)


@dataclass
class Metrics:
    """The device-side buffer of per-step loss and gradient norm between two reads."""

    losses: torch.Tensor
    norms: torch.Tensor
    first_step: int = 0
    count: int = 0


class Trainer:
    def __init__(
        self,
        cfg: TrainConfig,
        data: Path,
        out: Path,
        resume: bool = False,
        device: str | None = None,
        log_hook: LogHook | None = None,
        decode: Callable[[list[int]], str] | None = None,
    ) -> None:
        self.cfg, self.out, self.log_hook, self.decode = cfg, Path(out), log_hook, decode
        self.out.mkdir(parents=True, exist_ok=True)
        self.dist = distributed.init(device)
        d = self.dist
        self.shards = open_shards(data)
        initial = checkpoint.load(Path(cfg.init_from)) if cfg.init_from else None
        self.mc = resolve_model_config(cfg, self.shards, initial)
        torch.manual_seed(cfg.seed)
        model = GPT(self.mc).to(d.device)
        if initial is not None:
            checkpoint.load_weights(model, initial.weights)
        model.activation_checkpointing = cfg.activation_checkpointing
        model.head.loss_chunk = loss_chunk_for(cfg.loss_chunk, kernel_available(d.device))
        self.amp = autocast_dtype(cfg.precision, d.device)
        if cfg.bf16_residual and self.amp == torch.bfloat16:
            model.residual_dtype = torch.bfloat16
        self.start_step, self.tokens_seen = 0, 0
        saved = self._resume_point(resume)
        if saved is not None:
            checkpoint.load_weights(model, saved.weights)
            self.start_step, self.tokens_seen = saved.state["step"], saved.state["tokens"]
        off = None if cfg.fused_mlp else "fused_mlp is false"
        self.kernels = {
            "mlp": model.use_fused_mlp(d.device, off if self.amp else "no autocast"),
            "loss": loss_kernels(model.head.loss_chunk, kernel_available(d.device)),
            "attention": attention_kernels(d.device),
        }
        if cfg.compile:
            model.compile_for_training()
        self.model = model
        self.wrapped = distributed.wrap(model, d, cfg.fsdp)
        self.optimizer = make_optimizer(model, cfg, d.device)
        if saved is not None:
            from torch.distributed.checkpoint.state_dict import (
                StateDictOptions,
                set_optimizer_state_dict,
            )

            set_optimizer_state_dict(
                model,
                self.optimizer,
                saved.state["optimizer"],
                options=StateDictOptions(full_state_dict=True),
            )
        per_micro = cfg.micro_batch * self.mc.block_size * d.world
        self.accum = max(1, round((cfg.batch_tokens or per_micro) / per_micro))
        self.step_tokens = self.accum * per_micro
        self.loader = BatchLoader(
            self.shards, "train", self.mc.block_size, cfg.micro_batch, d.device, cfg.seed, d.rank
        )
        # the same windows at every evaluation; FSDP ranks must run the same forwards: each
        # evaluates every window (the share of rank 0 of 1)
        world, rank = (1, 0) if cfg.fsdp else (d.world, d.rank)
        self.val_sets = validation_sets(
            self.shards, self.mc.block_size, cfg.micro_batch, d.device, cfg.eval_tokens, world, rank
        )
        self.flops_per_token = flops_per_token(model, self.mc.block_size)
        if d.device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True

    def _settings(self) -> dict[str, Any]:
        """What defines this run: its run-defining training fields, model and data."""
        return {
            "train": defining_fields(dataclasses.asdict(self.cfg)),
            "model": dataclasses.asdict(self.mc),
            "data_id": self.shards.content_id,
        }

    def _recorded_settings(
        self, saved: checkpoint.Checkpoint | None
    ) -> tuple[str, dict[str, Any]] | None:
        """Where the folder's run is recorded (its newest checkpoint, else its log), and its
        settings; None for a folder without a run."""
        if saved is not None:
            state = saved.state
            return saved.folder.name, {
                "train": defining_fields(state["train_config"]),
                "model": state["model_config"],
                "data_id": state.get("data_id"),
            }
        starts = [r for r in read_log(self.out / LOG_NAME) if isinstance(r, Start)]
        if not starts:
            return None
        start = starts[-1]
        return LOG_NAME, {
            "train": defining_fields(start.train),
            "model": start.model,
            "data_id": start.data_id,
        }

    def _resume_point(self, resume: bool) -> checkpoint.Checkpoint | None:
        """The newest checkpoint to continue from (None: start at step 0). A folder holding a run is
        refused unless ``resume``, and a run of another configuration always."""
        found = checkpoint.list_checkpoints(self.out)
        saved = checkpoint.load(found[-1]) if found else None
        recorded = self._recorded_settings(saved)
        if recorded is None:
            return None
        where, settings = recorded
        if not resume:
            raise ModelError(
                f"{self.out} holds a training run ({where}); continue it or choose another folder"
            )
        changes = setting_changes(settings, self._settings())
        if changes:
            raise OtherTraining(
                f"{self.out} holds a training run of another configuration "
                f"({'; '.join(changes)}, {where}); to start over pass --restart "
                f"(removes its checkpoints and log), or choose another --output",
                changes,
            )
        return saved

    # ---- logging -------------------------------------------------------------------------

    def _log(self, record: LogRecord) -> None:
        if not self.dist.main:
            return
        append_record(self.out / LOG_NAME, record)
        if self.log_hook:
            self.log_hook(record)

    def _trim_log(self) -> None:
        """Drop log lines of steps after the resume point (and a start there that saved nothing):
        the resumed run logs them again."""
        path = self.out / LOG_NAME
        if not self.dist.main or not path.exists():
            return
        keep = [
            record
            for record in read_records(path)
            if record["step"] < self.start_step
            or (record["step"] == self.start_step and record.get("event") != Start.KIND)
        ]
        path.write_text("".join(json.dumps(record) + "\n" for record in keep), encoding="utf-8")

    def _flush(self, metrics: Metrics, lr: float, since: float) -> None:
        """Read the buffered steps (one device sync), stop on a non-finite loss, log their mean."""
        losses = metrics.losses[: metrics.count].tolist()
        norms = metrics.norms[: metrics.count].tolist()
        seconds = time.perf_counter() - since
        for i, loss in enumerate(losses):
            if not math.isfinite(loss) and not self.cfg.skip_nonfinite:
                raise ModelError(
                    f"step {metrics.first_step + i + 1}: loss is {loss}; stopping "
                    f"(lower the learning "
                    f"rate, or pass --skip-nonfinite to skip such steps)"
                )
        finite = [(loss, n) for loss, n in zip(losses, norms) if math.isfinite(loss)]
        step = metrics.first_step + metrics.count  # steps done, as in checkpoint names
        tokens_per_s = metrics.count * self.step_tokens / max(seconds, 1e-9)
        self._log(
            Step(
                step=step,
                loss=sum(loss for loss, _ in finite) / max(len(finite), 1),
                lr=lr,
                grad_norm=sum(n for _, n in finite) / max(len(finite), 1),
                tokens=self.tokens_seen,
                tokens_per_s=tokens_per_s,
                mfu=(
                    tokens_per_s * self.flops_per_token / (PEAK_FLOPS * self.dist.world)
                    if self.dist.device.type == "cuda"
                    else None
                ),  # the peak is a GPU's
                skipped=metrics.count - len(finite),
            )
        )
        metrics.count = 0

    # ---- evaluation and checkpoints ------------------------------------------------------

    @torch.no_grad()
    def evaluate(self, step: int) -> Evaluation:
        """Validation loss and perplexity, and a few sampled continuations of validation documents,
        after ``step`` steps."""
        reduce = torch.distributed.all_reduce if self.dist.world > 1 and not self.cfg.fsdp else None
        val = validation_loss(self.model, self.val_sets, self.dist.device, self.amp, reduce)
        loss = val.loss
        samples = []
        gen = torch.Generator(device=self.dist.device).manual_seed(self.cfg.seed + step)
        # rank 0 alone logs the samples; FSDP ranks must all run the same forwards
        wanted = self.cfg.samples if self.dist.main or self.cfg.fsdp else 0
        for opening in self.shards.document_openings("val", wanted, 16):
            prompt = torch.from_numpy(opening)[None].to(self.dist.device)
            out = generate(
                self.model,
                prompt,
                self.cfg.sample_tokens,
                temperature=0.8,
                top_k=50,
                eos_id=self.shards.eos_id,
                generator=gen,
            )[0].tolist()
            samples.append(self.decode(out) if self.decode else out)
        record = Evaluation(
            step=step,
            val_loss=loss,
            val_ppl=math.exp(min(loss, 50.0)),
            samples=samples,
            val_loss_by_source=val.by_source or None,
        )
        self._log(record)
        return record

    def save(self, next_step: int) -> None:
        """Gather full weights and optimizer state (collective under FSDP); rank 0 writes them."""
        from torch.distributed.checkpoint.state_dict import (
            StateDictOptions,
            get_model_state_dict,
            get_optimizer_state_dict,
        )

        options = StateDictOptions(full_state_dict=True, cpu_offload=True)
        weights = get_model_state_dict(self.model, options=options)
        optimizer = get_optimizer_state_dict(self.model, self.optimizer, options=options)
        if not self.dist.main:
            return
        state = {
            "step": next_step,
            "tokens": self.tokens_seen,
            "seed": self.cfg.seed,
            "optimizer": optimizer,
            "eos_id": self.shards.eos_id,
            "model_config": dataclasses.asdict(self.mc),
            "train_config": dataclasses.asdict(self.cfg),
            "data": str(self.shards.folder),
            "data_id": self.shards.content_id,
        }
        extra = [self.shards.tokenizer_path] if self.shards.tokenizer_path.exists() else []
        checkpoint.save(
            self.out,
            next_step,
            checkpoint.weights_for_saving(weights, self.mc.tie_weights),
            state,
            extra,
            keep=self.cfg.keep_checkpoints,
        )

    # ---- the loop ------------------------------------------------------------------------

    def train_step(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """One optimizer step over ``accum`` micro-batches; returns (mean loss, gradient norm) on
        the device."""
        cfg, d = self.cfg, self.dist
        lr = lr_at(step, cfg)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        torch.manual_seed(step_seed(cfg.seed, d.rank, step))
        total = torch.zeros((), device=d.device)
        for micro, (x, y) in enumerate(self.loader.step_batches(step, self.accum)):
            with (
                distributed.no_grad_sync(self.wrapped, micro == self.accum - 1),
                autocast(d.device, self.amp),
            ):
                loss = self.wrapped(x, y)
            (loss / self.accum).backward()
            total += loss.detach()
        loss = distributed.all_mean(total / self.accum, d)
        if cfg.grad_clip > 0:
            norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
            norm = (
                norm.full_tensor() if hasattr(norm, "full_tensor") else norm
            )  # FSDP gives a DTensor
        else:
            norm = torch.zeros((), device=d.device)
        if cfg.skip_nonfinite and not bool(torch.isfinite(loss) & torch.isfinite(norm)):
            self.optimizer.zero_grad(set_to_none=True)
            return loss, norm
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss, norm

    def run(self) -> dict[str, Any]:
        cfg, d = self.cfg, self.dist
        self._trim_log()
        self._log(
            Start(
                step=self.start_step,
                max_steps=cfg.max_steps,
                world=d.world,
                data_id=self.shards.content_id,
                accumulation=self.accum,
                batch_tokens=self.step_tokens,
                device=str(d.device),
                params=sum(p.numel() for p in self.model.parameters()),
                loss_chunk=self.model.head.loss_chunk,
                kernels=self.kernels,
                model=dataclasses.asdict(self.mc),
                train=dataclasses.asdict(cfg),
            )
        )
        metrics = Metrics(
            torch.zeros(cfg.log_every, device=d.device), torch.zeros(cfg.log_every, device=d.device)
        )
        last_eval: Evaluation | None = None
        tick = time.perf_counter()
        self.model.train()
        with StopRequest() as stop:
            for step in range(self.start_step, cfg.max_steps):
                loss, norm = self.train_step(step)
                self.tokens_seen += self.step_tokens
                if not metrics.count:
                    metrics.first_step = step
                metrics.losses[metrics.count] = loss
                metrics.norms[metrics.count] = norm
                metrics.count += 1
                last = step == cfg.max_steps - 1
                eval_due = last or (cfg.eval_every and (step + 1) % cfg.eval_every == 0)
                save_due = last or (cfg.checkpoint_every and (step + 1) % cfg.checkpoint_every == 0)
                flush_due = (step + 1) % cfg.log_every == 0 or eval_due or save_due
                stopping = self._stop_agreed(stop, flush_due)
                if flush_due or stopping:
                    self._flush(metrics, lr_at(step, cfg), tick)
                    if eval_due:
                        last_eval = self.evaluate(step + 1)
                    if save_due or stopping:
                        self.save(step + 1)
                    tick = time.perf_counter()
                if stopping:
                    saved = self.out / f"{checkpoint.PREFIX}{step + 1:07d}"
                    raise TrainingInterrupted(
                        f"stopped after step {step + 1} of {cfg.max_steps}, saved {saved}",
                        stop.signum,
                    )
        if last_eval is None:  # nothing left to train: report the finished run's last evaluation
            last_eval = self._logged_eval()
        return {
            "steps": cfg.max_steps,
            "tokens": self.tokens_seen,
            **(last_eval.figures() if last_eval else {}),
        }

    def _stop_agreed(self, stop: StopRequest, flush_due: bool) -> bool:
        """Whether a signal asks to stop now. One process checks after every step; several agree at
        flush points (one all-reduce there), so that every rank saves the same step."""
        if self.dist.world == 1:
            return bool(stop.signum)
        if not flush_due:
            return False
        flag = torch.tensor([stop.signum], device=self.dist.device)
        torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
        stop.signum = int(flag.item())
        return bool(stop.signum)

    def _logged_eval(self) -> Evaluation | None:
        evals = [r for r in read_log(self.out / LOG_NAME) if isinstance(r, Evaluation)]
        return evals[-1] if evals else None


def setting_changes(before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """``name: old -> new`` for each training and model field that differs, and a word on the
    data when the shards differ (old runs without a data digest are not checked)."""
    changes = []
    for group in ("train", "model"):
        old, new = before[group], now[group]
        changes += [
            f"{k}: {old.get(k)!r} -> {new.get(k)!r}"
            for k in sorted(set(old) | set(new))
            if old.get(k) != new.get(k)
        ]
    if before.get("data_id") is not None and before["data_id"] != now["data_id"]:
        changes.append("data: other shards")
    return changes


def train(
    cfg: TrainConfig,
    data: Path,
    out: Path,
    resume: bool = False,
    device: str | None = None,
    log_hook: LogHook | None = None,
    decode: Callable[[list[int]], str] | None = None,
) -> dict[str, Any]:
    """Train (or resume) and return the final step count, tokens seen and validation figures."""
    trainer = Trainer(cfg, data, out, resume, device, log_hook, decode)
    try:
        return trainer.run()
    finally:
        distributed.shutdown()
