"""The fine-tuning loop shared by classification, instruction and preference (DPO) tuning, and
its checkpoints.

A fine-tuned model is saved as an ordinary checkpoint (``OUT/step-NNNNNNN``, so ``sample``,
``export`` and further fine-tuning read it as they read a pretrained one) whose state carries a
``finetune`` record: the task, the labels of a classifier, the base checkpoint, the options and
the per-epoch history. With LoRA, the weights there have the adapters merged in, and
``OUT/adapters.safetensors`` + ``OUT/adapters.json`` hold the adapters on their own.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch

from scratchlm.model import checkpoint
from scratchlm.model.classify import (
    add_classifier_head,
    classification_loss,
    correct_count,
    parse_train_layers,
    set_trainable,
)
from scratchlm.model.dpo import (
    Preference,
    answer_logprobs,
    dpo_terms,
    preference_batch,
    preference_metrics,
    sequence_logprobs,
)
from scratchlm.model.errors import ModelError
from scratchlm.model.evaluate import autocast, autocast_dtype, build_model
from scratchlm.model.finetune_config import FinetuneConfig
from scratchlm.model.gpt import GPT
from scratchlm.model.instruct import IGNORE_INDEX, collate, response_loss
from scratchlm.model.lora import LoraConfig, add_lora, load_adapters, merge_lora, trainable_state
from scratchlm.model.safetensors_io import load_file, save_file
from scratchlm.model.train import decay_groups, step_seed

ADAPTERS, ADAPTERS_INFO = "adapters.safetensors", "adapters.json"
RESUME = "resume"  # OUT/resume/step-*: what a killed run continues from; removed at the end
POOL = 32  # batches per pool sorted by length (padding-aware batching)
Item = TypeVar("Item")


def load_base(path: Path, device: torch.device) -> tuple[GPT, checkpoint.Checkpoint]:
    """A language-model checkpoint to fine-tune and its model (a classifier cannot be a base)."""
    saved = checkpoint.load(path)
    if saved.state.get("finetune", {}).get("task") == "classify":
        raise ModelError(
            f"{saved.folder}: a classifier cannot be fine-tuned further; "
            "start from a language model"
        )
    return build_model(saved, device), saved


def length_batches(
    lengths: Sequence[int], batch_size: int, rng: np.random.Generator
) -> list[list[int]]:
    """Index batches of similar lengths: shuffle, sort pools of ``POOL`` batches by length, shuffle
    batches."""
    order = rng.permutation(len(lengths))
    batches = []
    for start in range(0, len(order), batch_size * POOL):
        pool = sorted(order[start : start + batch_size * POOL], key=lambda i: lengths[i])
        batches += [
            [int(i) for i in pool[j : j + batch_size]] for j in range(0, len(pool), batch_size)
        ]
    return [batches[i] for i in rng.permutation(len(batches))]


@dataclass
class Resumable:
    """Where a training saves what it needs to continue after a kill (``folder/step-NNNNNNN``: the
    trained tensors, the optimizer, the history so far), and the newest such state if any."""

    folder: Path
    settings: dict[str, Any]  # the options and inputs; a state saved under others is refused
    saved: checkpoint.Checkpoint | None = None

    @classmethod
    def open(cls, folder: Path, settings: dict[str, Any]) -> Resumable:
        found = checkpoint.list_checkpoints(folder)
        saved = checkpoint.load(found[-1]) if found else None
        if saved is not None and saved.state["run"] != settings:
            raise ModelError(
                f"{saved.folder}: saved by a training with other options, base or data; "
                "continue it with the same ones, or choose another --out"
            )
        return cls(folder, settings, saved)

    @property
    def step(self) -> int:
        return self.saved.state["step"] if self.saved else 0

    def restore(
        self, model: GPT, optimizer: torch.optim.Optimizer
    ) -> tuple[int, list[dict[str, Any]], float]:
        """Load the saved tensors and optimizer; (step, history, the current epoch's loss sum)."""
        assert self.saved is not None
        load_adapters(model, self.saved.weights)
        optimizer.load_state_dict(self.saved.state["optimizer"])
        state = self.saved.state
        return state["step"], state["history"], state["epoch_loss"]

    def save(
        self,
        model: GPT,
        optimizer: torch.optim.Optimizer,
        step: int,
        history: list[dict[str, Any]],
        epoch_loss: float,
    ) -> None:
        state = {
            "step": step,
            "history": history,
            "epoch_loss": epoch_loss,
            "run": self.settings,
            "optimizer": optimizer.state_dict(),
        }
        checkpoint.save(self.folder, step, trainable_state(model), state, keep=1)


def fit(
    model: GPT,
    items: Sequence[Item],
    lengths: Sequence[int],
    make_batch: Callable[[list[Item]], tuple[torch.Tensor, ...]],
    loss_fn: Callable[[GPT, tuple[torch.Tensor, ...]], dict[str, torch.Tensor]],
    evaluate: Callable[[], dict[str, Any]],
    cfg: FinetuneConfig,
    log: Callable[[dict[str, Any]], None] = lambda record: None,
    resumable: Resumable | None = None,
) -> list[dict[str, Any]]:
    """Train the parameters that require gradients for ``cfg.epochs``; one history record per epoch.

    ``loss_fn`` gives a batch's ``loss`` and any other terms to log; their means are logged every
    ``cfg.log_every`` steps. ``evaluate`` runs before the first step, every ``cfg.eval_every`` steps
    and after each epoch (that record, with the epoch's mean ``train_loss``, joins the history).
    With ``resumable``, the state is saved every ``cfg.checkpoint_every`` steps and a saved state is
    continued from; batches and dropout depend on (seed, epoch, step) alone, so the continued run
    computes what an unbroken run computes.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ModelError("nothing to train: every parameter is frozen")
    device = params[0].device
    optimizer = torch.optim.AdamW(decay_groups(model, cfg.weight_decay), lr=cfg.lr)

    def evaluation(record: dict[str, Any]) -> dict[str, Any]:
        model.eval()
        with torch.no_grad():
            record = {**record, **evaluate()}
        model.train()
        return record

    start, history, epoch_loss = 0, [], 0.0
    if resumable is not None and resumable.saved is not None:
        start, history, epoch_loss = resumable.restore(model, optimizer)
    else:
        first = evaluation({"epoch": 0, "step": 0})
        if len(first) > 2:
            log(first)
    step, pending = 0, []
    for epoch in range(1, cfg.epochs + 1):
        batches = length_batches(lengths, cfg.batch_size, np.random.default_rng([cfg.seed, epoch]))
        if step + len(batches) <= start:
            step += len(batches)
            continue
        model.train()
        # read once per epoch (and when saving): no device sync per step
        loss_total = torch.full((), epoch_loss if step < start else 0.0, device=device)
        for number, batch in enumerate(batches, 1):
            step += 1
            if step <= start:
                continue
            torch.manual_seed(step_seed(cfg.seed, 0, step))  # dropout
            tensors = tuple(t.to(device) for t in make_batch([items[i] for i in batch]))
            with autocast(device, autocast_dtype("auto", device)):
                terms = loss_fn(model, tensors)
            optimizer.zero_grad(set_to_none=True)
            terms["loss"].backward()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            optimizer.step()
            loss_total += terms["loss"].detach().float()
            pending.append(torch.stack([t.detach().float() for t in terms.values()]))
            end = number == len(batches)
            eval_due = end or (cfg.eval_every > 0 and step % cfg.eval_every == 0)
            save_due = (
                resumable is not None
                and cfg.checkpoint_every > 0
                and step % cfg.checkpoint_every == 0
            )
            if len(pending) == cfg.log_every or eval_due or save_due:
                means = dict(zip(terms, torch.stack(pending).mean(dim=0).tolist()))
                if not math.isfinite(means["loss"]):
                    raise ModelError(
                        f"step {step}: training loss is not finite; lower the learning rate"
                    )
                log({"epoch": epoch, "step": step, **means})
                pending = []
            if eval_due:
                record: dict[str, Any] = {"epoch": epoch, "step": step}
                if end:
                    record["train_loss"] = loss_total.item() / len(batches)
                record = evaluation(record)
                if end:
                    history.append(record)
                if len(record) > 2:
                    log(record)
            if save_due:
                resumable.save(model, optimizer, step, history, loss_total.item())
    return history


def setup(model: GPT, cfg: FinetuneConfig, train_layers: str = "all", classes: int = 0) -> None:
    """Add a classifier head when ``classes`` is given, then choose what trains.

    With LoRA: the adapters (and a new classifier head) and nothing else; without: the layers
    ``train_layers`` names (see ``parse_train_layers``).
    """
    if classes:
        add_classifier_head(model, classes)
    if cfg.lora_rank:
        add_lora(model, LoraConfig(cfg.lora_rank, cfg.lora_alpha))
        if classes:
            model.head.out_head.requires_grad_(True)
    else:
        set_trainable(model, parse_train_layers(train_layers, model.config.n_layer))


def save(
    out: Path,
    model: GPT,
    base: checkpoint.Checkpoint,
    finetune: dict[str, Any],
    cfg: FinetuneConfig,
    steps: int,
) -> Path:
    """Write the adapters (with LoRA), merge them, and save the model as a checkpoint; its
    folder."""
    out.mkdir(parents=True, exist_ok=True)
    finetune = {**finetune, "base": str(base.folder), "config": dataclasses.asdict(cfg)}
    if cfg.lora_rank:
        save_file(trainable_state(model), out / ADAPTERS)
        info = {
            "finetune": finetune,
            "steps": steps,
            "base_sha256": base.digests[checkpoint.WEIGHTS],
            "model_config": base.model_config,
        }
        (out / ADAPTERS_INFO).write_text(json.dumps(info, indent=1), encoding="utf-8")
        merge_lora(model)
    tied = model.head.out_head.weight is model.tok_emb.weight
    weights = checkpoint.weights_for_saving(
        {k: v.detach().cpu() for k, v in model.state_dict().items()}, tied
    )
    state = {"step": steps, "tokens": 0, "model_config": base.model_config, "finetune": finetune}
    extra = [base.tokenizer_path] if base.tokenizer_path.exists() else []
    return checkpoint.save(out, steps, weights, state, extra, keep=1)


def merge_adapters(adapters_dir: Path, out: Path, base_path: Path | None = None) -> Path:
    """Rebuild a fine-tuned checkpoint from its base checkpoint and saved adapters; its folder."""
    info_path = Path(adapters_dir) / ADAPTERS_INFO
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
        finetune = info["finetune"]
    except (OSError, ValueError, KeyError) as err:
        raise ModelError(f"{info_path}: unreadable adapter description ({err})") from None
    model, base = load_base(base_path or Path(finetune["base"]), torch.device("cpu"))
    if base.digests[checkpoint.WEIGHTS] != info["base_sha256"]:
        raise ModelError(
            f"{base.folder}: not the base checkpoint these "
            "adapters were trained on (sha256 differs)"
        )
    cfg = FinetuneConfig(**finetune["config"])
    setup(model, cfg, classes=len(finetune.get("labels", [])))
    load_adapters(model, load_file(Path(adapters_dir) / ADAPTERS))
    return save(
        out,
        model,
        base,
        {k: v for k, v in finetune.items() if k not in ("base", "config")},
        cfg,
        info["steps"],
    )


def pad(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded (batch, longest) token ids and each row's length."""
    width = max(len(r) for r in rows)
    ids = torch.tensor([list(r) + [pad_id] * (width - len(r)) for r in rows])
    return ids, torch.tensor([len(r) for r in rows])


Labelled = tuple[list[int], int]


def classifier_batch(
    examples: list[Labelled], block_size: int, pad_id: int
) -> tuple[torch.Tensor, ...]:
    """(ids, lengths, labels); texts longer than the context keep their first ``block_size``
    tokens."""
    ids, lengths = pad([ids[:block_size] for ids, _ in examples], pad_id)
    return ids, lengths, torch.tensor([label for _, label in examples])


def accuracy(model: GPT, examples: Sequence[Labelled], pad_id: int, batch_size: int = 32) -> float:
    """Share of ``examples`` whose most likely class is their label."""
    was_training = model.training
    model.eval()
    device, correct = model.tok_emb.weight.device, 0
    with torch.no_grad():
        for start in range(0, len(examples), batch_size):
            ids, lengths, labels = classifier_batch(
                list(examples[start : start + batch_size]), model.config.block_size, pad_id
            )
            with autocast(device, autocast_dtype("auto", device)):
                correct += correct_count(
                    model, ids.to(device), lengths.to(device), labels.to(device)
                )
    model.train(was_training)
    return correct / max(len(examples), 1)


def finetune_classifier(
    model: GPT,
    train: Sequence[Labelled],
    val: Sequence[Labelled],
    pad_id: int,
    cfg: FinetuneConfig,
    log: Callable[[dict[str, Any]], None] = lambda r: None,
) -> list[dict[str, Any]]:
    """Train a model prepared by ``setup(..., classes=N)``; per epoch: train loss and val
    accuracy."""
    block = model.config.block_size
    return fit(
        model,
        train,
        [min(len(ids), block) for ids, _ in train],
        lambda batch: classifier_batch(batch, block, pad_id),
        lambda m, t: {"loss": classification_loss(m, *t)},
        lambda: {"val_accuracy": accuracy(model, val, pad_id)},
        cfg,
        log,
    )


Pair = tuple[list[int], list[int]]


def response_loss_of(
    model: GPT, examples: Sequence[Pair], pad_id: int, batch_size: int = 16
) -> float:
    """Mean loss per response token over ``examples``."""
    device, total, count = model.tok_emb.weight.device, 0.0, 0
    with torch.no_grad():
        for start in range(0, len(examples), batch_size):
            x, y = collate(
                list(examples[start : start + batch_size]), pad_id, model.config.block_size
            )
            tokens = int((y != IGNORE_INDEX).sum())
            with autocast(device, autocast_dtype("auto", device)):
                total += response_loss(model(x.to(device)), y.to(device)).item() * tokens
            count += tokens
    return total / max(count, 1)


def finetune_instruct(
    model: GPT,
    train: Sequence[Pair],
    val: Sequence[Pair],
    pad_id: int,
    cfg: FinetuneConfig,
    log: Callable[[dict[str, Any]], None] = lambda r: None,
) -> list[dict[str, Any]]:
    """Train on (prompt ids, response ids + EOS) pairs; per epoch: train loss, val response loss."""
    block = model.config.block_size
    return fit(
        model,
        train,
        [min(len(p) + len(r), block + 1) for p, r in train],
        lambda batch: collate(batch, pad_id, block),
        lambda m, t: {"loss": response_loss(m(t[0]), t[1])},
        lambda: {"val_loss": response_loss_of(model, val, pad_id)} if val else {},
        cfg,
        log,
    )


def finetune_dpo(
    model: GPT,
    train: Sequence[Preference],
    train_reference: torch.Tensor,
    val: Sequence[Preference],
    val_reference: torch.Tensor,
    pad_id: int,
    beta: float,
    cfg: FinetuneConfig,
    log: Callable[[dict[str, Any]], None] = lambda r: None,
    resumable: Resumable | None = None,
) -> list[dict[str, Any]]:
    """DPO on preference pairs against reference log-probabilities computed beforehand
    (``answer_logprobs`` of the starting model, (pairs, 2) each); logs the held-out DPO loss,
    reward accuracy and reward margin."""
    block = model.config.block_size

    def batch(indices: list[int]) -> tuple[torch.Tensor, ...]:
        x, y = preference_batch([train[i] for i in indices], pad_id, block)
        return x, y, train_reference[indices].T.flatten()  # chosen rows, then rejected rows

    def held_out() -> dict[str, Any]:
        if not val:
            return {}
        metrics = preference_metrics(answer_logprobs(model, val, pad_id), val_reference, beta)
        return {f"val_{name}": value for name, value in metrics.items()}

    lengths = [min(len(p) + max(len(c), len(r)), block + 1) for p, c, r in train]
    return fit(
        model,
        range(len(train)),
        lengths,
        batch,
        lambda m, t: dpo_terms(sequence_logprobs(m(t[0]), t[1]), t[2], beta),
        held_out,
        cfg,
        log,
        resumable,
    )
