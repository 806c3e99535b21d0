"""Continued pretraining: ``init_from`` starts from a checkpoint's weights and architecture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from scratchlm.model import checkpoint
from scratchlm.model.errors import ModelError
from scratchlm.model.train import LOG_NAME, Trainer, train
from train_shards import brown_shards
from training_helpers import SMALL_MODEL, quiet_config

torch.set_num_threads(1)
SHORT = dict(
    micro_batch=8, lr=3e-3, warmup_steps=5, log_every=1, eval_tokens=2048, checkpoint_every=0
)


def first_loss(out: Path) -> float:
    return next(
        json.loads(line)["loss"]
        for line in (out / LOG_NAME).read_text().splitlines()
        if "loss" in json.loads(line)
    )


def test_init_from_loads_the_checkpoint_and_continues_from_its_loss(tmp_path: Path) -> None:
    shards = brown_shards(tmp_path / "shards")
    base = tmp_path / "base"
    train(quiet_config(max_steps=80, model=SMALL_MODEL, **SHORT), shards, base)
    saved = checkpoint.load(checkpoint.resolve(base))

    # the preset names another architecture: the checkpoint's wins
    continued = quiet_config(preset="gpt2-124m", init_from=str(base), max_steps=5, **SHORT)
    trainer = Trainer(continued, shards, tmp_path / "continued")
    assert trainer.mc.n_embd == 64 and trainer.mc.n_layer == 2
    for name, tensor in trainer.model.state_dict().items():
        if name in saved.weights:
            assert torch.equal(tensor, saved.weights[name]), name

    fresh = tmp_path / "fresh"
    train(quiet_config(max_steps=5, model=SMALL_MODEL, **SHORT), shards, fresh)
    train(continued, shards, tmp_path / "continued")
    assert first_loss(tmp_path / "continued") < first_loss(fresh) - 1.0


def test_init_from_a_missing_checkpoint_is_refused(tmp_path: Path) -> None:
    shards = brown_shards(tmp_path / "shards")
    with pytest.raises(ModelError, match="no checkpoint here"):
        Trainer(
            quiet_config(init_from=str(tmp_path / "nothing"), max_steps=1, **SHORT),
            shards,
            tmp_path / "o",
        )
