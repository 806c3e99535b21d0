"""The stage protocol: what a recipe step is, as the runner sees it.

Every step's stage is one of three kinds, each an abstract class the runner dispatches on:

* a **source** (``Source``, the ``read`` step, always first) turns input files into documents;
* a **map stage** (``MapStage``) is called on one document at a time and answers ``None`` (keep
  the document; an annotator may have written into ``doc.meta``), a ``str`` (drop it, the string
  being the reason, ``"gopher_quality:word_count"``) or a ``Document`` (keep this one instead, a
  transform such as PII scrubbing). A ``BatchStage`` is a map stage that answers a batch at once
  (``map_batch``: one model call for 256 documents); the runner always asks for batches, which a
  plain map stage answers one document at a time;
* a **global stage** (``GlobalStage``: dedup, perplexity bands, decontamination) needs every input
  shard of its step before it can answer for one document: ``prepare(inputs, workdir, executor)``
  runs that pass once (keeping its results under ``workdir``, so a resumed run reuses them) and
  returns the map stage that answers from them. The configured stage itself never changes.

Stages never open output files: the runner counts, routes rejects and writes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Callable,
    ClassVar,
    Iterable,
    Literal,
    Protocol,
    Sequence,
    TypeVar,
    Union,
)

from scratchlm.curate.document import Document
from scratchlm.curate.signals import Signal

if TYPE_CHECKING:
    from scratchlm.curate.readers import ReaderOptions, ReadItem
    from scratchlm.curate.readers.spans import Span

StageResult = Union[None, str, Document]
Item = TypeVar("Item")
Result = TypeVar("Result")


class Executor(Protocol):
    """What runs work over shards (worker processes, a Ray cluster): a picklable function over
    items."""

    def map(
        self,
        fn: Callable[[Item], Result],
        items: Sequence[Item],
        desc: str = "",
        weights: Sequence[int] | None = None,
    ) -> list[Result]:
        """``fn`` over ``items``, results in item order (``weights``: their sizes, for progress)."""
        ...


class Source(ABC):
    """The first step: input files (local or remote) into documents."""

    SIGNALS: ClassVar[tuple[Signal, ...]] = ()  # the numeric meta fields it writes

    @abstractmethod
    def options(self) -> ReaderOptions:
        """How the files are read (the run's read tasks are planned with these too)."""

    @abstractmethod
    def read(self, path: str, source: str, span: Span | None = None) -> Iterator[ReadItem]:
        """The items of file ``path`` (``source``: its name in ids and meta), or of its ``span``."""


class MapStage(ABC):
    """A step answering for one document at a time."""

    SIGNALS: ClassVar[tuple[Signal, ...]] = ()  # the numeric meta fields it writes

    @abstractmethod
    def __call__(self, doc: Document) -> StageResult: ...

    def map_batch(self, docs: list[Document]) -> list[StageResult]:
        """The answers for a batch, in order: one call per document."""
        return [self(doc) for doc in docs]


class BatchStage(MapStage):
    """A map stage answering a whole batch in one call (a model's forward pass, a table lookup)."""

    @abstractmethod
    def map_batch(self, docs: list[Document]) -> list[StageResult]: ...

    def __call__(self, doc: Document) -> StageResult:
        return self.map_batch([doc])[0]


class GlobalStage(ABC):
    """A step that reads all of its input before answering for any document; it ends a fused
    segment (the steps before it write their output, which its ``prepare`` reads)."""

    SIGNALS: ClassVar[tuple[Signal, ...]] = ()  # the numeric meta fields it writes

    @abstractmethod
    def prepare(self, inputs: Sequence[Path], workdir: Path, executor: Executor) -> MapStage:
        """Run the global pass over ``inputs`` (once: its results are kept under ``workdir``) and
        return the map stage that answers from them."""


Stage = Union[Source, MapStage, GlobalStage]  # what a recipe step names


@dataclass(frozen=True)
class Filtering:
    """The ``action`` option of a step that drops: ``annotate`` records the reason in ``meta``
    and keeps the document."""

    action: Literal["drop", "annotate"] = "drop"


@dataclass(frozen=True)
class FilterStage(Filtering, MapStage):
    """Base of every map filter: a map stage with the ``action`` option."""


def annotates(stage: object) -> bool:
    """Whether a step's reasons are recorded rather than dropped (``action: annotate``)."""
    return isinstance(stage, Filtering) and stage.action == "annotate"


def iter_batches(docs: Iterable[Document], size: int) -> Iterable[list[Document]]:
    batch: list[Document] = []
    for doc in docs:
        batch.append(doc)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
