"""The global passes of a dedup step, in order, each skipped when its output exists.

1. per shard: keys, ids and sorted spills (``corpus.scan_shard``), in worker processes;
2. per band: candidate pairs from the merged spills (``clusters.candidate_pairs``), in workers;
3. union-find over all pairs and the drop list (``clusters.cluster_drops``), in this process.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Sequence

from scratchlm.curate.dedup.clusters import PairTask, candidate_pairs, cluster_drops
from scratchlm.curate.dedup.corpus import SHARD_DONE, Corpus, ScanSpec, doc_key, scan_shard
from scratchlm.curate.dedup.droplist import DROPS, DropList
from scratchlm.curate.dedup.store import load_json, save_json
from scratchlm.curate.document import Document
from scratchlm.curate.layout import part_name
from scratchlm.curate.stage import BatchStage, Executor, GlobalStage, StageResult

# key + id, the sort's index arrays and temporaries: 86 bytes measured, with a margin
# (benchmarks/merge_memory.py)
BYTES_PER_MERGE_ITEM = 160
SIGNATURES = "shards"  # the per-shard pass's folders, in a step's work folder or an index


def scan(
    inputs: Sequence[Path], folder: Path, spec: ScanSpec, executor: Executor, desc: str
) -> list[Path]:
    """The per-shard pass over ``inputs`` into ``folder/part-NNNNN``; returns the shard folders."""
    folders = [folder / part_name(i) for i in range(len(inputs))]
    executor.map(scan_shard, [(str(p), str(f), spec) for p, f in zip(inputs, folders)], desc=desc)
    return folders


def shard_counts(folders: list[Path]) -> list[int]:
    return [int(load_json(f / SHARD_DONE)["docs"]) for f in folders]


def run_dedup(
    inputs: Sequence[Path],
    workdir: Path,
    executor: Executor,
    spec: ScanSpec,
    *,
    memory_bytes: int,
    threshold: float = 0.0,
    by_score: bool = False,
    earlier: tuple[list[Path], list[int]] = ([], []),
) -> None:
    """All passes, their summary in ``WORKDIR/summary.json`` (a finished workdir is left as it is);
    ``earlier`` are the shard folders and counts of an index to dedup against."""
    summary_file = workdir / "summary.json"
    if summary_file.exists():
        return
    folders = scan(
        inputs, workdir / SIGNATURES, spec, executor, desc=f"{workdir.parent.name} signatures"
    )
    index_folders, index_counts = earlier
    corpus = Corpus(
        index_folders + folders,
        index_counts + shard_counts(folders),
        first_new=sum(index_counts),
        num_perm=spec.num_perm,
    )
    chunk_items = max(16, memory_bytes // BYTES_PER_MERGE_ITEM)
    bands = max(spec.bands, 1)
    tasks = [
        PairTask(corpus, b, str(workdir / "pairs" / f"run-{b:03d}.i64"), chunk_items, threshold)
        for b in range(bands)
    ]
    (workdir / "pairs").mkdir(parents=True, exist_ok=True)
    executor.map(candidate_pairs, tasks, desc=f"{workdir.parent.name} candidate pairs")
    summary = cluster_drops(
        corpus, [Path(t.out) for t in tasks], workdir, memory_bytes, chunk_items, by_score
    )
    save_json(summary_file, summary)


@functools.lru_cache(maxsize=4)
def load_droplist(workdir: str) -> DropList:
    """The drop list a finished ``run_dedup`` left in ``workdir`` (loaded once per process)."""
    return DropList(Path(workdir) / DROPS)


@dataclass(frozen=True)
class DedupStage(GlobalStage):
    """What ``exact_dedup`` and ``minhash`` share: ``prepare`` runs the passes into the step's work
    folder and returns the lookup of each batch in the drop list. A subclass declares ``memory_mb``
    and ``REASON`` and returns ``_run_dedup`` from its ``prepare``."""

    REASON: ClassVar[str]
    # ``memory_mb`` is not declared here: a field here would come first in every subclass, and the
    # order of the fields is the order of the options in a run's recipe.yaml

    def __post_init__(self) -> None:
        if self.memory_mb <= 0:
            raise ValueError("memory_mb must be positive")

    def _run_dedup(
        self,
        inputs: Sequence[Path],
        workdir: Path,
        executor: Executor,
        spec: ScanSpec,
        **options: Any,
    ) -> DropListLookup:
        memory_bytes = int(self.memory_mb * (1 << 20))
        run_dedup(inputs, workdir, executor, spec, memory_bytes=memory_bytes, **options)
        return DropListLookup(str(workdir), self.REASON)


@dataclass(frozen=True)
class DropListLookup(BatchStage):
    """A dedup step's per-document pass: ``reason`` for each document on the drop list that
    ``run_dedup`` left in ``workdir``, else None. A dropped document's meta gets ``duplicate_of``
    (the kept document's id), ``cluster_size`` and, when the kept document is in this step's
    output, ``duplicate_part``: the output shard holding it (``part-00003``)."""

    workdir: str
    reason: str

    def map_batch(self, docs: list[Document]) -> list[StageResult]:
        hits = load_droplist(self.workdir).lookup_many([doc_key(d.id, d.meta) for d in docs])
        results: list[StageResult] = []
        for doc, hit in zip(docs, hits):
            if hit is not None:
                doc.meta["duplicate_of"], doc.meta["cluster_size"], part = hit
                if part:
                    doc.meta["duplicate_part"] = part
            results.append(None if hit is None else self.reason)
        return results
