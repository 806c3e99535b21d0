"""Parquet, in batches of rows; also reads back scratchlm's own shards (``meta`` as JSON)."""

from __future__ import annotations

import json
from typing import Iterator

import pyarrow.parquet as pq

from scratchlm.curate.document import Document
from scratchlm.curate.readers.base import FileError, ReaderOptions, ReadItem, Rejected
from scratchlm.curate.readers.jsonl import record_to_item
from scratchlm.curate.readers.spans import Span
from scratchlm.curate.remote import open_seekable
from scratchlm.curate.shards import BATCH_ROWS


def merge_meta(item: Document | Rejected, meta: object, index: int) -> Document | Rejected:
    """The record's ``meta`` column (a JSON object, as scratchlm's shards write it) under the fields
    the record gave; a ``meta`` that is not a JSON object makes the record a ``read:bad_meta``
    reject."""
    doc = item if isinstance(item, Document) else item.doc
    try:
        fields = json.loads(meta) if isinstance(meta, str) else meta
        cause = "" if isinstance(fields, dict) else f"a {type(fields).__name__}"
    except json.JSONDecodeError as err:
        cause = f"{err.msg} at char {err.pos}"
    if cause:
        doc.meta["error"] = f"row {index}: meta is not a JSON object ({cause})"
        return item if isinstance(item, Rejected) else Rejected(doc, "read:bad_meta")
    merged = {**fields, **{k: v for k, v in doc.meta.items() if k != "source"}}
    merged.setdefault("source", doc.meta["source"])
    doc.meta.clear()
    doc.meta.update(merged)
    return item


def read(path: str, source: str, options: ReaderOptions, span: Span = Span()) -> Iterator[ReadItem]:
    """Every row as a document; a ``span`` reads its row groups only, numbering rows as the whole
    file does."""
    try:
        parquet = pq.ParquetFile(open_seekable(path))
    except Exception as err:  # pyarrow raises several types for a broken footer
        yield FileError(source, "footer", f"not a readable Parquet file: {err}")
        return
    if parquet.metadata.num_rows == 0:
        yield FileError(source, "row 0", "empty file: no rows")
        return
    groups = range(span.seek, parquet.num_row_groups if span.stop is None else span.stop)
    index = span.records
    try:
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS, row_groups=groups):
            for record in batch.to_pylist():
                index += 1
                meta = record.pop("meta", None)
                item = record_to_item(record, source, index, options)
                yield merge_meta(item, meta, index) if meta is not None else item
    except Exception as err:
        yield FileError(source, f"row {index}", f"corrupt Parquet data: {err}")


def plan(path: str, options: ReaderOptions, task_bytes: int) -> list[Span]:
    """Parts of whole row groups, each part at least ``task_bytes`` of the file but the last."""
    metadata = pq.ParquetFile(path).metadata
    sizes = [
        sum(group.column(c).total_compressed_size for c in range(group.num_columns))
        for group in (metadata.row_group(g) for g in range(metadata.num_row_groups))
    ]
    rows = [metadata.row_group(g).num_rows for g in range(metadata.num_row_groups)]
    spans: list[Span] = []
    first = before = rows_in = size = 0
    for group, (group_size, group_rows) in enumerate(zip(sizes, rows)):
        size, rows_in = size + group_size, rows_in + group_rows
        if size >= task_bytes and group + 1 < len(sizes):
            spans.append(Span(first, group + 1, before, size=size))
            first, before, rows_in, size = group + 1, before + rows_in, 0, 0
    spans.append(Span(first, None, before, size=size))
    return spans
