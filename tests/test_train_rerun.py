"""Rerunning a finished training does no steps and reports the finished run's last evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from scratchlm.model.train import LOG_NAME, train
from train_shards import brown_shards
from training_helpers import six_step_config

torch.set_num_threads(1)


def test_rerun_of_a_finished_run_reports_its_last_validation(tmp_path: Path) -> None:
    shards = brown_shards(tmp_path / "shards")
    cfg = six_step_config(log_every=3, eval_tokens=1024)
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
