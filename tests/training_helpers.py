"""Test helper: the small training settings the trainer's tests share, and ``scratchlm`` started
on one thread as those tests run it."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from conftest import REPO, cli, cli_env, run_cli
from scratchlm.model.config import TrainConfig

TINY_MODEL = {"n_layer": 1, "n_head": 2, "n_embd": 32, "block_size": 32}
SMALL_MODEL = {"n_layer": 2, "n_head": 2, "n_embd": 64, "block_size": 64, "dropout": 0.0}
QUIET = {"eval_every": 0, "samples": 0}  # evaluate only at the end, log no samples


def quiet_config(**fields: Any) -> TrainConfig:
    """A TrainConfig of the ``QUIET`` settings, unless ``fields`` say otherwise."""
    return TrainConfig(**{**QUIET, **fields})


def tiny_config(model: dict[str, Any] | None = None, **fields: Any) -> TrainConfig:
    """``quiet_config`` of ``TINY_MODEL``, ``model``: entries to add or change."""
    return quiet_config(model={**TINY_MODEL, **(model or {})}, **fields)


def six_step_config(**fields: Any) -> TrainConfig:
    """``tiny_config`` of six steps of four sequences (two of warmup), no dropout, saved only at
    the end."""
    return tiny_config(
        {"dropout": 0.0}, max_steps=6, micro_batch=4, warmup_steps=2, checkpoint_every=0, **fields
    )


def ablation_train(**fields: Any) -> dict[str, Any]:
    """An ablation's ``train:`` section for ``TINY_MODEL``, one checkpoint kept, saved only at the
    end, no samples; ``fields`` set the rest."""
    return {
        "preset": "tiny",
        "model": TINY_MODEL,
        "samples": 0,
        "checkpoint_every": 0,
        "keep_checkpoints": 1,
        **fields,
    }


def train_command(data: Path, out: Path, model: dict[str, Any], **options: Any) -> list[str]:
    """``train --data DATA --out OUT``, each option as ``--name value``, then each model entry as
    ``--set key=value``."""
    words = ["train", "--data", str(data), "--out", str(out)]
    for name, value in options.items():
        words += [f"--{name.replace('_', '-')}", str(value)]
    for key, value in model.items():
        words += ["--set", f"{key}={value}"]
    return words


def tiny_command(data: Path, out: Path, **options: Any) -> list[str]:
    """``train_command`` of what ``tiny_config(**options)`` sets (``device`` too)."""
    return train_command(data, out, TINY_MODEL, **{**QUIET, **options})


ONE_THREAD = {"OMP_NUM_THREADS": "1"}


def start_one_thread(*args: str, **popen: Any) -> subprocess.Popen:
    """``scratchlm ARGS`` started from the repository on one thread."""
    return subprocess.Popen(cli(*args), cwd=REPO, env=cli_env(**ONE_THREAD), **popen)


def run_one_thread(*args: str) -> subprocess.CompletedProcess:
    """``scratchlm ARGS`` run from the repository on one thread, its output captured."""
    return run_cli(*args, env=ONE_THREAD)
