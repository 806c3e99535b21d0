"""What each variant kept, by input file: documents and characters of its final curated documents.

A document's input file is its ``meta.source`` without the record number (``file#record``). The
counts are one pass over the final step's shards, kept in ``curated/kept_by_input.json`` beside
that run's ``stats.json`` and made again when the curation's ``stats.json`` changes.
"""

from __future__ import annotations

import json
from pathlib import Path

from scratchlm.curate import layout
from scratchlm.curate.checksum import file_sha256
from scratchlm.curate.shards import done_shards, iter_documents
from scratchlm.curate.writer import write_atomic

KEPT_FILE = "kept_by_input.json"


def input_of(source: str) -> str:
    """The input file of a document's ``meta.source``."""
    return source.rsplit("#", 1)[0]


def count_by_input(final: Path) -> dict[str, dict[str, int]]:
    """{input file: {"docs", "chars"}} over the documents of a finished step folder, in input
    order."""
    counts: dict[str, dict[str, int]] = {}
    for shard in done_shards(final):
        for doc in iter_documents(shard):
            entry = counts.setdefault(
                input_of(str(doc.meta.get("source", "?"))), {"docs": 0, "chars": 0}
            )
            entry["docs"] += 1
            entry["chars"] += len(doc.text)
    return counts


def kept_by_input(curated: Path) -> dict[str, dict[str, int]]:
    """The counts of a curation run folder's final step (the last in its ``stats.json``), cached."""
    stats_path, cache = curated / layout.STATS, curated / KEPT_FILE
    digest = file_sha256(stats_path)
    if cache.exists():
        cached = json.loads(cache.read_text(encoding="utf-8"))
        if cached.get("stats_sha256") == digest:
            return cached["inputs"]
    final = list(json.loads(stats_path.read_text(encoding="utf-8")))[-1]
    counts = count_by_input(curated / final)
    write_atomic(
        cache, json.dumps({"stats_sha256": digest, "step": final, "inputs": counts}, indent=1)
    )
    return counts
