"""Evaluation files: JSONL records in one of three layouts, read into ``EvalItem``.

* HellaSwag (Zellers et al. 2019): ``ctx``, ``endings``, ``label`` (an int or a digit string;
  absent or empty in the unlabelled test split);
* plain multiple choice: ``context``, ``choices``, ``answer`` (the index of the right choice);
* passages (LAMBADA-style, last-word prediction): ``text``.

HellaSwag's WikiHow contexts carry markup (``[title]``, ``[step]``, ``[header]``); it is cleaned as
lm-evaluation-harness does for its ``hellaswag`` task (``tasks/hellaswag/utils.py: preprocess``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from scratchlm.curate.errors import ConfigError

Layout = Literal["hellaswag", "choices", "passage"]
# "[" up to the first "]" of its line: markup when the "]" is there, else kept as it is (as every
# later "[" of that stretch would be); one match per stretch keeps "[[[[..." linear
_MARKUP_RE = re.compile(r"\[[^\]\n]*+(\])?")


@dataclass(frozen=True)
class EvalItem:
    """One test item; ``line`` is its 1-based line number in the file."""

    line: int
    layout: Layout
    context: str
    choices: tuple[str, ...] = ()
    answer: int | None = None


def clean_hellaswag(text: str) -> str:
    """HellaSwag text without its WikiHow markup and doubled spaces (what lm-evaluation-harness
    removes with ``\\[.*?\\]``). Worst case: O(n) in the text's length."""
    text = text.strip().replace(" [title]", ". ")
    return _MARKUP_RE.sub(_unless_markup, text).replace("  ", " ")


def _unless_markup(match: re.Match[str]) -> str:
    return "" if match.group(1) else match.group()


def _answer(value: object, count: int, where: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < count:
        raise ConfigError(
            f"{where}: answer/label {value!r} is not an index into the {count} choices"
        )
    return value


def _strings(value: object, key: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: '{key}' must be a non-empty list of strings")
    return tuple(value)


def parse_record(record: object, line: int, where: str) -> EvalItem:
    """One JSON record as an item, its layout told by its keys."""
    if not isinstance(record, dict):
        raise ConfigError(f"{where}: expected a JSON object")
    if "endings" in record:
        endings = _strings(record["endings"], "endings", where)
        ctx = record.get("ctx")
        if not isinstance(ctx, str):
            raise ConfigError(f"{where}: HellaSwag record without a string 'ctx'")
        return EvalItem(
            line,
            "hellaswag",
            clean_hellaswag(ctx),
            tuple(clean_hellaswag(e) for e in endings),
            _answer(record.get("label"), len(endings), where),
        )
    if "choices" in record:
        choices = _strings(record["choices"], "choices", where)
        context = record.get("context")
        if not isinstance(context, str):
            raise ConfigError(f"{where}: multiple-choice record without a string 'context'")
        return EvalItem(
            line, "choices", context, choices, _answer(record.get("answer"), len(choices), where)
        )
    if isinstance(record.get("text"), str):
        return EvalItem(line, "passage", record["text"])
    raise ConfigError(
        f"{where}: unknown layout (expected ctx/endings/label, context/choices/answer, or text)"
    )


def iter_eval_file(path: str | Path) -> Iterator[EvalItem]:
    """The items of a JSONL evaluation file, streamed; blank lines are skipped, a bad line stops
    with file:line."""
    path = Path(path)
    count = 0
    try:
        with path.open(encoding="utf-8") as handle:
            for line_no, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                where = f"{path}:{line_no}"
                try:
                    record = json.loads(line)
                except ValueError as err:
                    raise ConfigError(f"{where}: not valid JSON ({err})") from None
                count += 1
                yield parse_record(record, line_no, where)
    except OSError as err:
        raise ConfigError(f"{path}: cannot read evaluation file ({err.strerror})") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 ({err.reason})") from None
    if not count:
        raise ConfigError(f"{path}: no evaluation items")


def read_eval_file(path: str | Path) -> list[EvalItem]:
    """Every item of a JSONL evaluation file."""
    return list(iter_eval_file(path))
