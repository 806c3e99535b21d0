"""Training end to end on real text: the loss falls, kill -9 and resume is bit-exact, bad steps stop
or skip."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from scratchlm.model.config import TrainConfig
from scratchlm.model.errors import ModelError
from scratchlm.model.train import LOG_NAME, Trainer, train
from train_shards import brown_shards
from training_helpers import SMALL_MODEL, run_one_thread, start_one_thread, train_command

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> Path:
    return brown_shards(tmp_path_factory.mktemp("train") / "shards")


def unigram_cross_entropy(folder: Path) -> float:
    """Validation cross-entropy of the training split's token frequencies (add-one smoothed)."""
    counts = np.bincount(np.load(folder / "train-00000.npy"), minlength=512) + 1
    return float(-np.log(counts / counts.sum())[np.load(folder / "val-00000.npy")].mean())


def records(out: Path, key: str) -> list[tuple]:
    lines = [json.loads(line) for line in (out / LOG_NAME).read_text().splitlines()]
    return [(r["step"], r[key]) for r in lines if key in r]


def test_loss_falls_below_a_unigram_model(shards, tmp_path) -> None:
    cfg = TrainConfig(
        max_steps=120,
        model=SMALL_MODEL,
        micro_batch=8,
        lr=3e-3,
        warmup_steps=10,
        log_every=20,
        eval_every=120,
        checkpoint_every=0,
        eval_tokens=4096,
        samples=1,
        sample_tokens=8,
    )
    result = train(cfg, shards, tmp_path / "out")
    losses = [loss for _, loss in records(tmp_path / "out", "loss")]
    # ln(512) = 6.24 at the start; the unigram model of this text scores about 5.36
    assert losses[0] > losses[-1] + 0.8
    assert result["val_loss"] < unigram_cross_entropy(shards) - 0.3
    assert (
        len(records(tmp_path / "out", "samples")[0][1][0]) > 16
    )  # a continuation of the 16-token prompt


# the run that is killed and resumed, as settings of the command line and of TrainConfig alike
RESUMED = {
    "max_steps": 30,
    "micro_batch": 4,
    "log_every": 1,
    "eval_every": 15,
    "checkpoint_every": 10,
    "eval_tokens": 1024,
    "sample_tokens": 8,
}
RESUMED_MODEL = {"n_layer": 2, "n_embd": 32, "block_size": 32, "dropout": 0.1}


def train_args(shards: Path, out: Path) -> list[str]:
    return train_command(shards, out, RESUMED_MODEL, **RESUMED, device="cpu")


def test_kill_and_resume_matches_an_unbroken_run(shards, tmp_path) -> None:
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    # the unbroken run, in this process, with what the command line below asks for
    train(TrainConfig(**RESUMED, model=RESUMED_MODEL), shards, whole, device="cpu")
    proc = start_one_thread(
        *train_args(shards, broken), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while (
        not (broken / "step-0000010").exists()
        and proc.poll() is None
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (broken / "step-0000010").exists() and not (broken / "step-0000030").exists()
    with open(broken / "log.jsonl", "a", encoding="utf-8") as log:
        log.write('{"step": 17, "loss": 4.1')  # as if the kill came in the middle of a log write
    resumed = run_one_thread(*train_args(shards, broken), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "from step 0" not in resumed.stdout
    assert records(broken, "loss") == records(whole, "loss")  # every step, bit for bit
    assert records(broken, "val_loss") == records(whole, "val_loss")
    assert len(records(whole, "loss")) == 30 and (broken / "loss.png").stat().st_size > 0
    assert sorted(p.name for p in broken.glob("step-*")) == [
        "step-0000020",
        "step-0000030",
    ]  # the last 2 kept

    sample = run_one_thread(
        "sample",
        "--checkpoint",
        str(whole),
        "--prompt",
        "The jury said",
        "--max-new-tokens",
        "12",
        "--device",
        "cpu",
    )
    assert sample.returncode == 0, sample.stderr
    assert (
        sample.stdout.startswith("The jury said") and len(sample.stdout) > len("The jury said") + 5
    )
    ev = run_one_thread(
        "eval",
        "--checkpoint",
        str(whole / "step-0000030"),
        "--data",
        str(shards),
        "--max-tokens",
        "2048",
        "--device",
        "cpu",
        "--json",
        "-",
    )
    assert ev.returncode == 0, ev.stderr
    figures = json.loads(ev.stdout)
    assert figures["tokens"] == 2048 - 2048 % 32 and figures["perplexity"] == pytest.approx(
        np.exp(figures["loss"])
    )


def poison(trainer: Trainer) -> torch.Tensor:
    """Make every forward pass produce NaN; returns the untouched copy of another weight."""
    with torch.no_grad():
        trainer.model.head.final_norm.weight.fill_(float("nan"))
    return trainer.model.blocks[0].ff.up.weight.detach().clone()


def test_nonfinite_loss_stops_naming_the_step_or_is_skipped(shards, tmp_path) -> None:
    cfg = TrainConfig(
        max_steps=4, model=SMALL_MODEL, micro_batch=2, log_every=2, checkpoint_every=0, samples=0
    )
    trainer = Trainer(cfg, shards, tmp_path / "stop")
    poison(trainer)
    with pytest.raises(ModelError, match=r"step 1: loss is nan; stopping"):
        trainer.run()
    assert not list((tmp_path / "stop").glob("step-*"))  # nothing saved from a broken model

    skipping = Trainer(
        TrainConfig(**{**cfg.__dict__, "skip_nonfinite": True, "eval_tokens": 256}),
        shards,
        tmp_path / "skip",
    )
    before = poison(skipping)
    skipping.run()
    assert torch.equal(skipping.model.blocks[0].ff.up.weight, before)  # no update was applied
    assert (
        sum(
            r["skipped"]
            for r in map(json.loads, (tmp_path / "skip" / LOG_NAME).read_text().splitlines())
            if "skipped" in r
        )
        == 4
    )
