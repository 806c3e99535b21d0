"""The training driver: train on a shard folder with a progress display and a loss plot, and the
training folder's names (``train/`` inside a run folder, ``loss.png``).

The library side of ``scratchlm train``; the run's ``train`` section and the ablation's trainings
use it too.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from scratchlm.model.config import TrainConfig
from scratchlm.model.train_log import LOG_NAME, Evaluation, LogRecord, Step
from scratchlm.pipelines.loss_plot import plot_loss
from scratchlm.tokenizer.files import load_tokenizer

TRAIN_DIR = "train"  # where ``scratchlm run`` trains, inside its run folder


def checkpoint_folder(path: Path) -> Path:
    """``path``; for a ``scratchlm run`` folder (no checkpoint of its own), its ``train/``."""
    from scratchlm.model.checkpoint import INDEX, list_checkpoints

    path, nested = Path(path), Path(path) / TRAIN_DIR
    if not (path / INDEX).exists() and not list_checkpoints(path) and list_checkpoints(nested):
        return nested
    return path


def write_line(text: str) -> None:
    """``text`` and its newline in one write: processes printing side by side (unbuffered, as under
    PYTHONUNBUFFERED=1, print writes the newline separately) cannot cut into each other's lines."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


class Progress:
    """A progress bar with loss and tokens/s on a terminal; otherwise one line per log record."""

    def __init__(self, total: int, label: str = "", bar: bool = True) -> None:
        """``label`` starts every line (runs printing side by side); ``bar=False``: lines even on
        a terminal."""
        self.label = f"[{label}] " if label else ""
        show = bar and sys.stderr.isatty()
        self.bar = tqdm(total=total, unit="step", disable=not show, leave=False)

    def __call__(self, record: LogRecord) -> None:
        if isinstance(record, Step):
            self.bar.update(record.step - self.bar.n)
            self.bar.set_postfix(loss=f"{record.loss:.3f}", tok_s=f"{record.tokens_per_s:,.0f}")
            line = (
                f"step {record.step:>6}  loss {record.loss:.4f}  lr {record.lr:.2e}  "
                f"grad norm {record.grad_norm:.2f}  {record.tokens_per_s:,.0f} tokens/s"
            )
            if record.mfu is not None:
                line += f"  MFU {record.mfu:.1%}"
        elif isinstance(record, Evaluation):
            line = (
                f"step {record.step:>6}  val loss {record.val_loss:.4f}  "
                f"val ppl {record.val_ppl:.1f}"
            )
            by_source = record.val_loss_by_source or {}
            line += "".join(f"  {name} {loss:.4f}" for name, loss in by_source.items())
            line += "".join(f"\n  sample: {s!r}" for s in record.samples)
        else:
            self.bar.update(record.step - self.bar.n)
            line = (
                f"training {record.params:,} parameters on {record.device} "
                f"x{record.world}, {record.batch_tokens:,} tokens per step, "
                f"from step {record.step}"
            )
            line += "".join(f"; {part} kernels: {name}" for part, name in record.kernels.items())
        if self.bar.disable:
            write_line(self.label + line)
        elif not isinstance(record, Step):
            self.bar.write(self.label + line)

    def close(self) -> None:
        self.bar.close()


LOSS_PLOT = "loss.png"


def clear_run(out: Path) -> list[str]:
    """Remove a training folder's checkpoints (complete or partial), log and loss plot; returns
    the names removed."""
    from scratchlm.model.checkpoint import PREFIX

    removed = []
    for path in sorted(out.glob(f"{PREFIX}*")) + sorted(out.glob(f".{PREFIX}*.tmp")):
        if path.is_dir():
            shutil.rmtree(path)
            removed.append(path.name)
    for path in (out / LOG_NAME, out / LOSS_PLOT):
        if path.exists():
            path.unlink()
            removed.append(path.name)
    return removed


def run_training(
    cfg: TrainConfig,
    data: Path,
    out: Path,
    device: str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Train, continuing the run ``out`` holds (one of another configuration is refused), with a
    progress display (a bar on a terminal by default); write ``loss.png``; return the final
    figures."""
    from scratchlm.model.data import open_shards
    from scratchlm.model.train import train

    main_process = int(os.environ.get("RANK", "0")) == 0
    if cfg.warmup_steps >= cfg.max_steps and main_process:
        print(
            f"warning: warmup_steps ({cfg.warmup_steps}) >= max_steps ({cfg.max_steps}): the "
            f"learning rate never reaches its peak nor decays; lower --warmup-steps",
            file=sys.stderr,
        )
    shards = open_shards(data, verify=False)
    tok = load_tokenizer(shards.tokenizer_path) if shards.tokenizer_path.exists() else None
    decode: Callable[[list[int]], str] | None = tok.decode if tok else None
    progress = progress or Progress(cfg.max_steps)
    try:
        result = train(cfg, data, out, resume=True, device=device, log_hook=progress, decode=decode)
    finally:
        progress.close()
    if (out / LOG_NAME).exists() and main_process:
        plot_loss(out / LOG_NAME, out / LOSS_PLOT, f"{cfg.preset} on {data}")
    return result
