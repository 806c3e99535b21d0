"""A training run's log: ``OUT/log.jsonl``, one JSON record a line (start, steps, evaluations).

A record's ``step`` counts the optimizer steps done, as checkpoint names do: the line logged after
the 100th step and the checkpoint ``step-0000100`` both say 100.

Records are appended one whole line per write. A crash can still leave the last line torn; readers
drop such a last line (the resumed run logs that step again) and refuse damage anywhere else.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scratchlm.model.errors import ModelError

LOG_NAME = "log.jsonl"


def append_record(path: Path, record: dict[str, Any]) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def read_records(path: Path) -> list[dict[str, Any]]:
    """Every record of a log (none when the file does not exist)."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    records = []
    for number, line in enumerate(lines, 1):
        if not line:
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as err:
            if number == len(lines):  # a torn last write
                break
            raise ModelError(f"{path}: line {number} is not JSON ({err.msg})") from None
    return records
