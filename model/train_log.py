"""A training run's log: ``OUT/log.jsonl``, one JSON record a line, and its record types.

Each record is one of three kinds, named by its ``event`` field: ``start`` (a session begins),
``step`` (the mean training figures since the last step record) and ``eval`` (a validation).
A record's ``step`` counts the optimizer steps done, as checkpoint names do: the line logged after
the 100th step and the checkpoint ``step-0000100`` both say 100. Logs written before step and
evaluation records carried ``event`` are read as they were written: a record holding
``val_loss`` is an evaluation, one holding ``loss`` a step.

Records are appended one whole line per write. A crash can still leave the last line torn; readers
drop such a last line (the resumed run logs that step again) and refuse damage anywhere else.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Union

from scratchlm.model.errors import ModelError

LOG_NAME = "log.jsonl"


@dataclass(frozen=True)
class Start:
    """A training session begins at ``step``: what trains, on what, and how."""

    KIND: ClassVar[str] = "start"
    step: int
    max_steps: int
    world: int
    accumulation: int
    batch_tokens: int
    device: str
    params: int
    model: dict[str, Any]
    train: dict[str, Any]
    data_id: str | None = None  # a digest of the shards' checksums
    loss_chunk: int | None = None  # the head's loss chunk in use (0: the whole logits)
    kernels: dict[str, str] = field(default_factory=dict)  # the kernel of each part (mlp, loss...)


@dataclass(frozen=True)
class Step:
    """The means over the steps since the previous step record, after ``step`` steps."""

    KIND: ClassVar[str] = "step"
    step: int
    loss: float
    lr: float
    grad_norm: float
    tokens: int  # tokens seen since step 0
    tokens_per_s: float
    mfu: float | None  # model FLOPs utilisation; None off a GPU
    skipped: int  # steps skipped for a non-finite loss


@dataclass(frozen=True)
class Evaluation:
    """The validation loss after ``step`` steps, and continuations of validation documents."""

    KIND: ClassVar[str] = "eval"
    step: int
    val_loss: float
    val_ppl: float
    samples: list[Any]  # decoded texts, or token ids without a tokenizer
    val_loss_by_source: dict[str, float] | None = None  # a mixture's, per source

    def figures(self) -> dict[str, Any]:
        """The record's fields, without the kind (``val_loss_by_source`` only for a mixture)."""
        return {k: v for k, v in to_json(self).items() if k != "event"}


LogRecord = Union[Start, Step, Evaluation]
KINDS: dict[str, type] = {kind.KIND: kind for kind in (Start, Step, Evaluation)}


def to_json(record: LogRecord) -> dict[str, Any]:
    """The record as logged: ``event`` first, then its fields (a mixture's per-source losses only
    when there are some)."""
    fields = dataclasses.asdict(record)
    if isinstance(record, Evaluation) and record.val_loss_by_source is None:
        del fields["val_loss_by_source"]
    return {"event": record.KIND, **fields}


def kind_of(raw: dict[str, Any]) -> str | None:
    """A logged record's kind: its ``event``, else (a log of before records carried one) ``eval``
    for one holding ``val_loss`` and ``step`` for one holding ``loss``; None for none of these."""
    if "event" in raw:
        return raw["event"]
    if "val_loss" in raw:
        return Evaluation.KIND
    return Step.KIND if "loss" in raw else None


def from_json(raw: dict[str, Any]) -> LogRecord | None:
    """The typed record of a logged one, keeping the fields its type has; None for a kind this
    version does not know. KeyError naming a missing field."""
    kind = KINDS.get(kind_of(raw) or "")
    if kind is None:
        return None
    names = {f.name: f for f in dataclasses.fields(kind)}
    missing = [
        n
        for n, f in names.items()
        if n not in raw
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise KeyError(", ".join(missing))
    return kind(**{n: raw[n] for n in names if n in raw})


def append_record(path: Path, record: LogRecord | dict[str, Any]) -> None:
    """Append one record as one line (a typed record, or a fine-tuning log's dict)."""
    raw = record if isinstance(record, dict) else to_json(record)
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(raw) + "\n")


def read_records(path: Path) -> list[dict[str, Any]]:
    """Every record of a log as logged (none when the file does not exist)."""
    return [raw for _, raw in _numbered_records(path)]


def read_log(path: Path) -> list[LogRecord]:
    """Every record of a training log, typed; records of kinds this version does not know are
    left out."""
    records = []
    for number, raw in _numbered_records(path):
        try:
            record = from_json(raw)
        except KeyError as err:
            raise ModelError(
                f"{path}: line {number}: a {kind_of(raw)} record without {err.args[0]}"
            ) from None
        if record is not None:
            records.append(record)
    return records


def _numbered_records(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, record) of every line of a log; a torn last line is left out."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    records = []
    for number, line in enumerate(lines, 1):
        if not line:
            continue
        try:
            records.append((number, json.loads(line)))
        except json.JSONDecodeError as err:
            if number == len(lines):  # a torn last write
                break
            raise ModelError(f"{path}: line {number} is not JSON ({err.msg})") from None
    return records
