"""The ``exact_dedup`` step: drop documents whose normalised text repeats an earlier one."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from curate.dedup.corpus import ScanSpec
from curate.dedup.normalize import Normalization
from curate.dedup.pipeline import drop_reasons, run_dedup
from curate.document import Document
from curate.stage import Executor


@dataclass(frozen=True)
class ExactDedup:
    """Keep the first document (input file order, then position) of each normalised text; 64-bit hash."""

    normalize: Normalization = field(default_factory=Normalization)
    memory_mb: float = 1024  # merge slices and the union-find array stay within this; beyond, they spill to disk
    _workdir: str = field(default="", init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.memory_mb <= 0:
            raise ValueError("memory_mb must be positive")

    def prepare(self, inputs: Sequence[Path], workdir: Path, executor: Executor) -> None:
        object.__setattr__(self, "_workdir", str(workdir))
        run_dedup(inputs, workdir, executor, ScanSpec(self.normalize), memory_bytes=int(self.memory_mb * (1 << 20)))

    def map_batch(self, docs: list[Document]) -> list[str | None]:
        return drop_reasons(self._workdir, docs, "exact_dedup:duplicate")

    def __call__(self, doc: Document) -> str | None:
        return self.map_batch([doc])[0]


STAGE = ExactDedup
