"""The training log reader: a torn last line (a crash mid-write) is dropped, other damage is
refused."""
from __future__ import annotations

from pathlib import Path

import pytest

from scratchlm.model.errors import ModelError
from scratchlm.model.train_log import append_record, read_records


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
    log.write_text('{"event": "start"}\n{"step": 0, "lo\n{"step": 1, "loss": 5.0}\n', encoding="utf-8")
    with pytest.raises(ModelError, match=r"log\.jsonl: line 2 is not JSON"):
        read_records(log)
