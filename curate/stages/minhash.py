"""The ``minhash`` step: near-duplicate removal by MinHash LSH over word n-grams.

Defaults are FineWeb's (Penedo et al. 2024, "The FineWeb Datasets", section 3.4): 5-gram word
shingles, 14 bands of 8 rows (112 hashes), which finds pairs of Jaccard similarity around 0.75
and above. With ``verify`` a candidate pair must also agree on ``threshold`` of its 112 hash
values (the estimated Jaccard), which cuts the pairs that only share a band by chance and the
chains they build (A~B~C with A and C far apart): benchmarks/dedup_quality.py measured 0.8
to keep every pair of Jaccard >= 0.85 together while every dropped document stays >= 0.6
similar to its kept one (docs/benchmarks.md, Deduplication).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scratchlm.curate.dedup.corpus import ScanSpec
from scratchlm.curate.dedup.index import open_index
from scratchlm.curate.dedup.normalize import Normalization
from scratchlm.curate.dedup.pipeline import DedupStage, DropListLookup
from scratchlm.curate.stage import Executor


@dataclass(frozen=True)
class MinHash(DedupStage):
    """Keep one document per near-duplicate cluster (``keep: first`` or ``keep: highest:<meta
    field>``). Each text is read by ``curate.dedup.signatures.signature_batch``: O(n * bands *
    rows)."""

    REASON = "minhash:duplicate"
    ngram: int = 5  # shingle length in words
    bands: int = 14  # LSH bands
    rows: int = 8  # hashes per band
    seed: int = 1  # seed of the hash permutations
    verify: bool = True  # a candidate pair must also agree on threshold of its hashes
    # with verify: least share of agreeing hashes (estimated Jaccard similarity)
    threshold: float = 0.8
    keep: str = "first"
    index: str | None = (
        None  # a `scratchlm dedup index` folder: also drop near-duplicates of its documents
    )
    memory_mb: float = (
        1024  # merge slices and the union-find array stay within this; beyond, they spill to disk
    )
    # what to ignore when comparing texts (case, punctuation, digits, ...)
    normalize: Normalization = field(
        default_factory=lambda: Normalization(punctuation=True, digits=True)
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("ngram", "bands", "rows"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError("threshold must be between 0 and 1")
        if self.keep != "first" and not (
            self.keep.startswith("highest:") and len(self.keep) > len("highest:")
        ):
            raise ValueError(f"keep must be 'first' or 'highest:<meta field>', got {self.keep!r}")

    @property
    def spec(self) -> ScanSpec:
        return ScanSpec(
            self.normalize,
            self.ngram,
            self.bands,
            self.rows,
            self.seed,
            signatures=self.verify,
            score_field=self.keep.removeprefix("highest:") if self.keep != "first" else "",
        )

    def prepare(self, inputs: Sequence[Path], workdir: Path, executor: Executor) -> DropListLookup:
        earlier = open_index(Path(self.index), self.spec) if self.index else ([], [])
        return self._run_dedup(
            inputs,
            workdir,
            executor,
            self.spec,
            threshold=self.threshold if self.verify else 0.0,
            by_score=self.keep != "first",
            earlier=earlier,
        )


STAGE = MinHash
