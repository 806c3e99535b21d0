"""Parquet, in batches of rows; also reads back scratchlm's own shards (``meta`` as JSON)."""
from __future__ import annotations

import json
from typing import Iterator

import pyarrow.parquet as pq

from curate.document import Document
from curate.readers.base import FileError, ReadItem, ReaderOptions
from curate.readers.jsonl import record_to_item
from curate.remote import open_seekable

BATCH_ROWS = 1024


def read(path: str, source: str, options: ReaderOptions) -> Iterator[ReadItem]:
    try:
        parquet = pq.ParquetFile(open_seekable(path))
    except Exception as err:  # pyarrow raises several types for a broken footer
        yield FileError(source, "footer", f"not a readable Parquet file: {err}")
        return
    if parquet.metadata.num_rows == 0:
        yield FileError(source, "row 0", "empty file: no rows")
        return
    index = 0
    try:
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
            for record in batch.to_pylist():
                index += 1
                meta = record.pop("meta", None)
                item = record_to_item(record, source, index, options)
                if isinstance(meta, str):
                    meta = json.loads(meta)
                if isinstance(meta, dict):
                    target = item.meta if isinstance(item, Document) else item.doc.meta
                    merged = {**meta, **{k: v for k, v in target.items() if k != "source"}}
                    merged.setdefault("source", target["source"])
                    target.clear()
                    target.update(merged)
                yield item
    except Exception as err:
        yield FileError(source, f"row {index}", f"corrupt Parquet data: {err}")
