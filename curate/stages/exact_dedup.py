"""The ``exact_dedup`` step: drop documents whose normalised text repeats an earlier one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scratchlm.curate.dedup.corpus import ScanSpec
from scratchlm.curate.dedup.normalize import Normalization
from scratchlm.curate.dedup.pipeline import DedupStage, DropListLookup
from scratchlm.curate.stage import Executor


@dataclass(frozen=True)
class ExactDedup(DedupStage):
    """Keep the first document (input file order, then position) of each normalised text; 64-bit
    hash. Each text is read by ``curate.dedup.signatures.text_hash_batch``: O(n)."""

    REASON = "exact_dedup:duplicate"
    # what to ignore when comparing texts (case, NFKC, whitespace, ...)
    normalize: Normalization = field(default_factory=Normalization)
    memory_mb: float = (
        1024  # merge slices and the union-find array stay within this; beyond, they spill to disk
    )

    def prepare(self, inputs: Sequence[Path], workdir: Path, executor: Executor) -> DropListLookup:
        return self._run_dedup(inputs, workdir, executor, ScanSpec(self.normalize))


STAGE = ExactDedup
