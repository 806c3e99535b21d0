"""Reading scratchlm's own Parquet shards back, in batches, as documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pyarrow.parquet as pq

from scratchlm.curate import layout
from scratchlm.curate.document import Document

BATCH_ROWS = 1024


def iter_documents(path: Path | str, batch_rows: int = BATCH_ROWS) -> Iterator[Document]:
    """Every document of a shard written by ``curate.writer.ShardWriter``, in order."""
    parquet = pq.ParquetFile(path)
    for batch in parquet.iter_batches(batch_size=batch_rows, columns=["id", "text", "meta"]):
        columns = batch.to_pydict()
        for doc_id, text, meta in zip(columns["id"], columns["text"], columns["meta"]):
            yield Document(doc_id, text, json.loads(meta))


def iter_texts(path: Path | str, batch_rows: int = BATCH_ROWS) -> Iterator[str]:
    """Only the ``text`` column of a shard, which is cheaper when the rest is not needed."""
    parquet = pq.ParquetFile(path)
    for batch in parquet.iter_batches(batch_size=batch_rows, columns=["text"]):
        yield from batch.column(0).to_pylist()


def done_shards(step_dir: Path | str) -> list[Path]:
    """The complete ``part-*.parquet`` shards of a step folder, in order."""
    step = Path(step_dir)
    return [p for p in sorted(step.glob(layout.SHARDS)) if p.with_suffix(layout.DONE).exists()]
