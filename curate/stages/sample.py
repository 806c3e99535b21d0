"""The ``sample`` step: keep a fixed share of the documents, the same ones on every run.

A document is kept when a hash of (``seed``, its id) falls under ``rate``, so the choice depends on
the id alone: not on the order of the files, their sharding or the number of workers; a larger
rate keeps a superset of a smaller one's documents for the same seed. Dropped documents are
counted as ``sample:not_sampled`` (and kept in the rejects like any drop).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from scratchlm.curate.document import Document
from scratchlm.curate.stage import FilterStage, StageResult

_SCALE = float(1 << 64)


def sample_point(seed: int, doc_id: str) -> float:
    """A uniform number in [0, 1) fixed by the seed and the document id."""
    digest = hashlib.blake2b(f"{seed}\x00{doc_id}".encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") / _SCALE


@dataclass(frozen=True)
class Sample(FilterStage):
    """Keep about ``rate`` of the documents (0 < rate <= 1), chosen by id and ``seed``."""

    rate: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.rate <= 1:
            raise ValueError(f"rate must be in (0, 1], got {self.rate}")

    def __call__(self, doc: Document) -> StageResult:
        return None if sample_point(self.seed, doc.id) < self.rate else "sample:not_sampled"


STAGE = Sample
