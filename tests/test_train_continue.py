"""``scratchlm train`` into a folder holding a run: Ctrl-C and SIGTERM save a checkpoint, the same
command continues from it, another configuration is refused, ``--restart`` starts over."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

from scratchlm.model.errors import ModelError
from scratchlm.model.train import LOG_NAME, train
from scratchlm.pipelines.cli import main
from train_shards import brown_shards
from training_helpers import start_one_thread, tiny_command, tiny_config

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> Path:
    return brown_shards(tmp_path_factory.mktemp("continue") / "shards", chars=60_000)


def train_args(
    shards: Path, out: Path, max_steps: int = 1_000_000, log_every: int = 1
) -> list[str]:
    return tiny_command(
        shards,
        out,
        max_steps=max_steps,
        micro_batch=2,
        log_every=log_every,
        checkpoint_every=0,
        eval_tokens=256,
        warmup_steps=2,
        device="cpu",
    )


def step_records(out: Path) -> list[int]:
    return [
        r["step"] for r in map(json.loads, (out / LOG_NAME).read_text().splitlines()) if "loss" in r
    ]


def interrupt(
    args: list[str], out: Path, signum: int, after_step: int
) -> subprocess.CompletedProcess:
    """Run ``scratchlm ARGS``, send ``signum`` once the log shows a step past ``after_step``."""
    proc = start_one_thread(*args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if (out / LOG_NAME).exists() and max(step_records(out)[-1:], default=-1) > after_step:
            break
        time.sleep(0.05)
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def saved_steps(out: Path) -> list[int]:
    return sorted(int(p.name.removeprefix("step-")) for p in out.glob("step-*"))


def test_signals_save_a_checkpoint_and_the_same_command_continues(shards, tmp_path, capsys) -> None:
    out = tmp_path / "run"
    first = interrupt(train_args(shards, out), out, signal.SIGINT, after_step=3)
    assert first.returncode == 130, first.stderr
    [stopped] = saved_steps(out)
    assert (
        f"stopped after step {stopped} of 1000000, saved {out / f'step-{stopped:07d}'}"
        in first.stderr
    )

    # the same command (a session setting changed: log every 2 steps) continues; SIGTERM saves too
    second = interrupt(
        train_args(shards, out, log_every=2), out, signal.SIGTERM, after_step=stopped + 4
    )
    assert second.returncode == 143, second.stderr
    assert f"from step {stopped}" in second.stdout and "from step 0" not in second.stdout
    assert saved_steps(out)[0] == stopped and saved_steps(out)[-1] > stopped + 4
    steps = step_records(out)
    assert steps == sorted(set(steps)) and steps[:stopped] == list(range(1, stopped + 1))

    # another configuration is refused, and the folder left as it was
    before = (out / LOG_NAME).read_text()
    assert main(train_args(shards, out, max_steps=6)) == 2
    assert (
        f"{out} holds a training run of another configuration (max_steps: 1000000 -> 6, "
        f"step-{saved_steps(out)[-1]:07d}); to start over pass --restart"
    ) in capsys.readouterr().err
    assert (out / LOG_NAME).read_text() == before

    # --restart says what it removes, then trains from step 0
    removed = ", ".join([*(f"step-{s:07d}" for s in saved_steps(out)), LOG_NAME])
    assert main([*train_args(shards, out, max_steps=6), "--restart"]) == 0
    printed = capsys.readouterr().out
    assert f"restart: removed {removed} from {out}" in printed and "from step 0" in printed
    assert saved_steps(out) == [6] and len(step_records(out)) == 6


def test_a_folder_holding_a_run_is_refused_unless_continued(shards, tmp_path) -> None:
    cfg = tiny_config(max_steps=2, micro_batch=2, log_every=1, eval_tokens=256, warmup_steps=1)
    train(cfg, shards, tmp_path / "run")
    with pytest.raises(ModelError, match=r"holds a training run \(step-0000002\); continue it"):
        train(cfg, shards, tmp_path / "run")
    other = brown_shards(tmp_path / "other", chars=40_000)
    with pytest.raises(ModelError, match=r"\(data: other shards, step-0000002\)"):
        train(cfg, other, tmp_path / "run", resume=True)


def test_log_lines_and_checkpoints_fall_on_the_steps_asked(shards, tmp_path, capsys) -> None:
    out = tmp_path / "run"
    args = [
        *train_args(shards, out, max_steps=12, log_every=4),
        "--eval-every",
        "6",
        "--checkpoint-every",
        "5",
        "--keep-checkpoints",
        "9",
    ]
    assert main(args) == 0
    assert "warning" not in capsys.readouterr().err
    logged = [json.loads(line) for line in (out / LOG_NAME).read_text().splitlines()]
    # every 4th step, and each evaluation (6, 12) and checkpoint (5, 10, 12) step, counted alike
    assert step_records(out) == [4, 5, 6, 8, 10, 12]
    assert [r["step"] for r in logged if "val_loss" in r] == [6, 12]
    assert saved_steps(out) == [5, 10, 12]


def test_a_warmup_as_long_as_the_run_is_warned_about(shards, tmp_path, capsys) -> None:
    args = [*train_args(shards, tmp_path / "run", max_steps=3), "--warmup-steps", "3"]
    assert main(args) == 0
    assert "warning: warmup_steps (3) >= max_steps (3)" in capsys.readouterr().err
