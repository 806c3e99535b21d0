"""Rerunning a finished training does no steps and reports the finished run's last evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from scratchlm.model.config import TrainConfig
from scratchlm.model.train import LOG_NAME, train
from train_shards import brown_shards

torch.set_num_threads(1)


def test_rerun_of_a_finished_run_reports_its_last_validation(tmp_path: Path) -> None:
    shards = brown_shards(tmp_path / "shards")
    cfg = TrainConfig(
        max_steps=6,
        micro_batch=4,
        log_every=3,
        eval_every=0,
        eval_tokens=1024,
        samples=0,
        checkpoint_every=0,
        warmup_steps=2,
        model={"n_layer": 1, "n_head": 2, "n_embd": 32, "block_size": 32, "dropout": 0.0},
    )
    first = train(cfg, shards, tmp_path / "out")
    losses = [
        json.loads(line)["loss"]
        for line in (tmp_path / "out" / LOG_NAME).read_text().splitlines()
        if "loss" in json.loads(line)
    ]
    again = train(cfg, shards, tmp_path / "out", resume=True)
    assert again["val_loss"] == first["val_loss"] and again["steps"] == 6
    after = [
        json.loads(line)["loss"]
        for line in (tmp_path / "out" / LOG_NAME).read_text().splitlines()
        if "loss" in json.loads(line)
    ]
    assert after == losses  # no step was trained again
