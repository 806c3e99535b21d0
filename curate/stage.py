"""The stage protocol: what a recipe step is, as the runner sees it.

A **map stage** is a configured dataclass that is called on one document at a time and answers:

* ``None``: keep the document (an annotator may have written into ``doc.meta``);
* a ``str``: drop it, the string being the reason (``"gopher_quality:word_count"``);
* a ``Document``: keep this document instead (a transform such as PII scrubbing).

A stage may also define ``map_batch(docs) -> list[result]`` when batching is faster; the runner
prefers it. Stages never open output files: the runner counts, routes rejects and writes.

A **global stage** (dedup) also defines ``prepare(inputs, workdir, executor)``, run once over
all of the step's input shards before the per-document pass; its ``__call__`` then answers from
the state that ``prepare`` left under ``workdir``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Literal, Protocol, Sequence, Union, runtime_checkable

from scratchlm.curate.document import Document

StageResult = Union[None, str, Document]


class Executor(Protocol):
    """What a global stage may ask of the executor: run a picklable function over items."""

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any], desc: str = "",
            weights: Sequence[int] | None = None) -> list[Any]: ...


@runtime_checkable
class GlobalStage(Protocol):
    def prepare(self, inputs: Sequence[Path], workdir: Path, executor: Executor) -> None: ...

    def __call__(self, doc: Document) -> StageResult: ...


@dataclass(frozen=True)
class FilterStage:
    """Base of every filter: ``action: annotate`` records the reason in ``meta`` and keeps the doc."""

    action: Literal["drop", "annotate"] = "drop"


def apply_stage(stage: Callable[[Document], StageResult], docs: list[Document]) -> list[StageResult]:
    """Run a stage over a batch, through ``map_batch`` when the stage has one."""
    batch = getattr(stage, "map_batch", None)
    if batch is not None:
        return list(batch(docs))
    return [stage(doc) for doc in docs]


def iter_batches(docs: Iterable[Document], size: int) -> Iterable[list[Document]]:
    batch: list[Document] = []
    for doc in docs:
        batch.append(doc)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
