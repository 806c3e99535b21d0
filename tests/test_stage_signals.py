"""A stage declares the meta fields it writes (``SIGNALS``): a new stage's signal reaches the
report's thresholds from its own declaration, with no table to edit elsewhere."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import scratchlm.curate.stages as stages
from scratchlm.curate.signals import Signal
from scratchlm.curate.stages import stage_signals
from tests.conftest import DATA, curate_in_process
from tests.test_report_page import _parse

LETTERS_STAGE = '''\
"""The ``letters`` step: keep documents with enough letters."""
from dataclasses import dataclass
from typing import ClassVar

from scratchlm.curate.signals import Signal
from scratchlm.curate.stage import FilterStage


@dataclass(frozen=True)
class Letters(FilterStage):
    min_letters: int = 2_000

    SIGNALS: ClassVar[tuple[Signal, ...]] = (
        Signal("letter_count", "letters in the text", ("min_letters",)),
    )

    def __call__(self, doc):
        doc.meta["letter_count"] = sum(c.isalpha() for c in doc.text)
        return "letters:few" if doc.meta["letter_count"] < self.min_letters else None


STAGE = Letters
'''


@pytest.fixture
def letters_stage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stage module outside the repository, found by the stage registry as a file of its own
    (in this process: the test runs its curation without the deadline's child process, which an
    earlier test of this process may have forked before the module existed)."""
    folder = tmp_path / "more_stages"
    folder.mkdir()
    (folder / "letters.py").write_text(LETTERS_STAGE, encoding="utf-8")
    monkeypatch.setattr(stages, "__path__", [*stages.__path__, str(folder)])
    monkeypatch.delitem(sys.modules, f"{stages.__name__}.letters", raising=False)
    yield
    sys.modules.pop(f"{stages.__name__}.letters", None)


def test_a_new_stages_declared_signal_is_in_the_report_with_its_threshold(
    letters_stage: None, tmp_path: Path
) -> None:
    assert stage_signals("letters") == (
        Signal("letter_count", "letters in the text", ("min_letters",)),
    )
    out = curate_in_process(
        tmp_path,
        "name: letters\nsteps:\n  - read: {}\n  - letters: {min_letters: 3000}\n",
        DATA / "prose" / "kjv.jsonl.gz",
        *("--workers", "1", "--doc-timeout", "0"),
    )
    rows = {(r[0], r[1]): r for r in _parse(out / "report" / "index.html").tables["signals"][1:]}
    step, field, kept, dropped, limits, beyond = rows[("02_letters", "letter_count")]
    assert limits == "min_letters = 3000"
    assert int(dropped) > 0 and beyond == dropped, "every dropped document is below the bound"


def test_signals_name_only_their_own_fields() -> None:
    (top,) = [
        s for s in stage_signals("gopher_repetition") if s.field == "gopher_top_{n}gram_char_frac"
    ]
    stage = stages.stage_class("gopher_repetition")(max_top_ngram_char_fraction={2: 0.3, 3: 0.25})
    assert top.limits(stage, "gopher_top_3gram_char_frac") == {
        "max_top_ngram_char_fraction[3]": 0.25
    }
    assert top.limits(stage, "gopher_top_4gram_char_frac") == {}
    assert top.limits(stage, "gopher_dup_3gram_char_frac") == {}
    assert top.limits(None, "gopher_top_3gram_char_frac") == {}
    assert stage_signals("read") == ()
