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
from collections.abc import Callable, Iterator
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


@dataclass(frozen=True)
class _ChoiceLayout:
    """Where a multiple-choice layout keeps an item's parts, and how its texts are cleaned."""

    layout: Layout
    context: str  # the key of the context
    choices: str  # of the list of choices
    answer: str  # of the right choice's index
    record: str  # what messages call a record of this layout
    clean: Callable[[str], str]

    def parse(self, record: dict[str, object], line: int, where: str) -> EvalItem:
        """The item of a record holding ``choices``."""
        choices = _strings(record[self.choices], self.choices, where)
        context = record.get(self.context)
        if not isinstance(context, str):
            raise ConfigError(f"{where}: {self.record} without a string '{self.context}'")
        return EvalItem(
            line,
            self.layout,
            self.clean(context),
            tuple(self.clean(c) for c in choices),
            _answer(record.get(self.answer), len(choices), where),
        )


_CHOICE_LAYOUTS = (
    _ChoiceLayout("hellaswag", "ctx", "endings", "label", "HellaSwag record", clean_hellaswag),
    # str: the texts as written
    _ChoiceLayout("choices", "context", "choices", "answer", "multiple-choice record", str),
)


def parse_record(record: object, line: int, where: str) -> EvalItem:
    """One JSON record as an item, its layout told by its keys."""
    if not isinstance(record, dict):
        raise ConfigError(f"{where}: expected a JSON object")
    for layout in _CHOICE_LAYOUTS:
        if layout.choices in record:
            return layout.parse(record, line, where)
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
