"""The training log reader: a torn last line (a crash mid-write) is dropped, other damage is
refused; records are typed by their kind, and logs written before step and evaluation records
named their kind are read as they were."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scratchlm.model.errors import ModelError
from scratchlm.model.train_log import (
    Evaluation,
    Start,
    Step,
    append_record,
    read_log,
    read_records,
    to_json,
)


def start_record(**later: Any) -> Start:
    """The start record of these logs; ``later``: the fields that start records gained later
    (data digest, loss chunk, kernels)."""
    return Start(
        step=0,
        max_steps=10,
        world=1,
        accumulation=2,
        batch_tokens=512,
        device="cpu",
        params=1000,
        model={"n_layer": 1},
        train={"preset": "tiny"},
        **later,
    )


START = start_record(data_id="ab12", loss_chunk=0, kernels={"mlp": "plain"})
STEP = Step(
    step=5, loss=5.5, lr=1e-3, grad_norm=0.8, tokens=2560, tokens_per_s=900.0, mfu=None, skipped=0
)
EVALUATION = Evaluation(step=5, val_loss=5.25, val_ppl=190.6, samples=["the end"])


def test_records_round_trip_and_a_torn_last_line_is_dropped(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    assert read_records(log) == []
    append_record(log, {"event": "start"})
    append_record(log, {"step": 0, "loss": 5.5})
    assert read_records(log) == [{"event": "start"}, {"step": 0, "loss": 5.5}]
    with open(log, "a", encoding="utf-8") as f:
        f.write('{"step": 1, "lo')  # the process died here
    assert read_records(log) == [{"event": "start"}, {"step": 0, "loss": 5.5}]


def test_a_damaged_line_before_the_last_names_the_file_and_line(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text(
        '{"event": "start"}\n{"step": 0, "lo\n{"step": 1, "loss": 5.0}\n', encoding="utf-8"
    )
    with pytest.raises(ModelError, match=r"log\.jsonl: line 2 is not JSON"):
        read_records(log)


def test_typed_records_round_trip_with_their_kind(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    mixture = Evaluation(
        step=10, val_loss=5.0, val_ppl=148.4, samples=[], val_loss_by_source={"a": 4.9}
    )
    for record in (START, STEP, EVALUATION, mixture):
        append_record(log, record)
    assert read_log(log) == [START, STEP, EVALUATION, mixture]
    assert [r["event"] for r in read_records(log)] == ["start", "step", "eval", "eval"]
    assert "val_loss_by_source" not in to_json(EVALUATION), "only a mixture's evaluation has it"
    assert EVALUATION.figures() == {
        "step": 5,
        "val_loss": 5.25,
        "val_ppl": 190.6,
        "samples": ["the end"],
    }


def test_a_log_of_before_records_named_their_kind_is_read_as_before(tmp_path: Path) -> None:
    """Lines as the trainer wrote them before step and evaluation records carried ``event``
    (and before the start record had a data digest, loss chunk and kernels)."""
    log = tmp_path / "log.jsonl"
    log.write_text(
        '{"event": "start", "step": 0, "max_steps": 10, "world": 1, "accumulation": 2, '
        '"batch_tokens": 512, "device": "cpu", "params": 1000, "model": {"n_layer": 1}, '
        '"train": {"preset": "tiny"}}\n'
        '{"step": 5, "loss": 5.5, "lr": 0.001, "grad_norm": 0.8, "tokens": 2560, '
        '"tokens_per_s": 900.0, "mfu": null, "skipped": 0}\n'
        '{"step": 5, "val_loss": 5.25, "val_ppl": 190.6, "samples": ["the end"]}\n'
        '{"event": "a kind of a later version", "step": 6}\n',
        encoding="utf-8",
    )
    start, step, evaluation = read_log(log)
    assert start == start_record()
    assert start.data_id is None and start.kernels == {}
    assert step == STEP and evaluation == EVALUATION


def test_a_record_without_a_field_of_its_kind_names_the_line(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text('{"step": 5, "loss": 5.5}\n', encoding="utf-8")
    with pytest.raises(
        ModelError, match=r"log\.jsonl: line 1: a step record without lr, grad_norm"
    ):
        read_log(log)
