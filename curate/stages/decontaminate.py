"""The ``decontaminate`` step: training documents that share a word n-gram with a test item.

The evaluation files named in ``eval_files`` (HellaSwag, plain multiple-choice or passage JSONL,
see ``curate.decontam.evalfile``) are indexed by their 13-grams of normalised words (GPT-3,
Brown et al. 2020, appendix C; NeMo Curator's default), see ``curate.decontam.ngrams``.
A document holding one of those n-grams is

* ``drop``: rejected with the reason ``decontaminate:<evaluation file name>``;
* ``annotate``: kept, the same reason recorded in ``meta.filter_reasons``;
* ``cut``: kept with every matching span of text cut out (the pieces joined by a newline);
  rejected as in ``drop`` when no word remains.

In every case ``meta.contaminated_by`` names the first matching item as ``<file name>#<line>``
and ``meta.contaminated_ngrams`` counts the matching windows.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

from scratchlm.curate.atomic import AtomicPath
from scratchlm.curate.checksum import file_sha256
from scratchlm.curate.decontam.ngrams import (
    INDEX_FILE,
    WORD_RE,
    Match,
    NgramIndex,
    word_spans,
    words_of,
)
from scratchlm.curate.document import Document
from scratchlm.curate.signals import Signal
from scratchlm.curate.stage import Executor, Filtering, GlobalStage, MapStage, StageResult


@dataclass(frozen=True)
class Decontaminate(Filtering, GlobalStage):
    """Drop, annotate or cut documents sharing an ``n``-word n-gram with an item of
    ``eval_files``."""

    # evaluation JSONL files whose n-grams no training document may share
    eval_files: tuple[str, ...] = ()
    n: int = 13  # n-gram length in words
    action: Literal["drop", "annotate", "cut"] = "drop"

    SIGNALS: ClassVar[tuple[Signal, ...]] = (
        Signal("contaminated_ngrams", "n-grams shared with the first matching evaluation item"),
        Signal("contamination_cut_chars", "characters cut (action: cut)"),
    )

    def __post_init__(self) -> None:
        if not self.eval_files:
            raise ValueError("eval_files: name at least one evaluation file")
        missing = [f for f in self.eval_files if not os.path.isfile(f)]
        if missing:
            raise ValueError(f"eval_files: no such file: {', '.join(missing)}")
        if self.n < 1:
            raise ValueError(f"n must be at least 1, got {self.n}")

    def prepare(
        self, inputs: Sequence[Path], workdir: Path, executor: Executor
    ) -> ContaminationFilter:
        """Build the index once, into a folder named by a digest of the files and n; workers
        memory-map it."""
        folder = workdir / f"index-{index_digest(self.eval_files, self.n)}"
        if not (folder / INDEX_FILE).exists():
            with AtomicPath(folder) as tmp:
                NgramIndex.build(self.eval_files, self.n).save(tmp)
        return ContaminationFilter(self, str(folder))


@dataclass(frozen=True)
class ContaminationFilter(MapStage):
    """A decontaminate step's per-document pass, against the index ``prepare`` saved in
    ``index_dir`` (None: the index built from the files in this process, outside a run)."""

    stage: Decontaminate
    index_dir: str | None = None

    @property
    def index(self) -> NgramIndex:
        return _cached_index(self.stage.eval_files, self.stage.n, self.index_dir)

    def __call__(self, doc: Document) -> StageResult:
        """Worst case: O(n * self.stage.n + m log H) for a text of n characters: words found in
        one pass, ``self.stage.n`` vectorised multiply-adds per window, a binary search among the
        H indexed hashes for each of the m windows the bitmap lets through."""
        index = self.index
        if self.stage.action != "cut":
            match = index.find(words_of(doc.text))
            return None if match is None else self._record(doc, index, match)
        words, spans = word_spans(doc.text)
        match = index.find(words)
        if match is None:
            return None
        reason = self._record(doc, index, match)
        pieces, end = [], 0
        for start, stop in cut_ranges(match, spans, index.n):
            pieces.append(doc.text[end:start])
            end = stop
        pieces.append(doc.text[end:])
        text = "\n".join(p for p in pieces if p.strip())
        if not WORD_RE.search(text):
            return reason
        doc.meta["contamination_cut_chars"] = len(doc.text) - sum(map(len, pieces))
        return Document(doc.id, text, doc.meta)

    @staticmethod
    def _record(doc: Document, index: NgramIndex, match: Match) -> str:
        doc.meta["contaminated_by"] = index.item_name(match.item)
        doc.meta["contaminated_ngrams"] = len(match.windows)
        return f"decontaminate:{index.file_name(match.item)}"


def cut_ranges(match: Match, spans: Sequence[tuple[int, int]], n: int) -> list[tuple[int, int]]:
    """Character ranges covered by the matching windows, overlapping ones merged, in order.
    Worst case: O(windows)."""
    ranges: list[tuple[int, int]] = []
    for first in match.windows.tolist():
        start, stop = spans[first][0], spans[first + n - 1][1]
        if ranges and start <= ranges[-1][1]:
            ranges[-1] = (ranges[-1][0], max(stop, ranges[-1][1]))
        else:
            ranges.append((start, stop))
    return ranges


def index_digest(paths: Sequence[str], n: int) -> str:
    """A digest of n and the evaluation files' names and bytes: a changed file gets a new index."""
    digest = hashlib.sha256(f"n={n}".encode())
    for path in paths:
        digest.update(f"{Path(path).name}\0{file_sha256(Path(path))}".encode())
    return digest.hexdigest()[:16]


@functools.lru_cache(maxsize=2)
def _cached_index(paths: tuple[str, ...], n: int, folder: str | None) -> NgramIndex:
    """One index per worker process: loaded from ``prepare``'s folder, else built from the files."""
    return NgramIndex.load(Path(folder)) if folder else NgramIndex.build(paths, n)


STAGE = Decontaminate
