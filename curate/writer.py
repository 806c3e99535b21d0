"""Parquet shard writer: zstd, columns ``id``, ``text``, ``meta`` (JSON), plus ``reason`` for
rejects.

Rows are buffered into row groups so memory stays bounded; the file is written under a temporary
name and renamed into place on ``close``, so a crash never leaves a half shard under the real name.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from scratchlm.curate.atomic import AtomicPath
from scratchlm.curate.document import Document
from scratchlm.curate.errors import ConfigError
from scratchlm.curate.text.clean import clean_document

DOC_SCHEMA = pa.schema([("id", pa.string()), ("text", pa.string()), ("meta", pa.string())])
REJECT_SCHEMA = DOC_SCHEMA.append(pa.field("reason", pa.string()))
ROW_GROUP_ROWS = 2048
ROW_GROUP_BYTES = 64 * 1024 * 1024


def meta_json(meta: dict) -> str:
    """Canonical JSON for ``meta`` (sorted keys) so reruns write identical bytes."""
    return json.dumps(meta, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def text_bytes(doc: Document) -> int:
    """The UTF-8 size of a document's text, as the run's byte counts take it."""
    return len(doc.text.encode("utf-8", errors="replace"))


class ShardWriter:
    """Writes documents (and, for rejects, their reasons) to one Parquet shard."""

    def __init__(
        self,
        path: Path,
        rejects: bool = False,
        row_group_rows: int = ROW_GROUP_ROWS,
        row_group_bytes: int = ROW_GROUP_BYTES,
    ) -> None:
        self.path = Path(path)
        # a row group is written when this many rows, or this many bytes of text, are buffered
        self.row_group_rows, self.row_group_bytes = row_group_rows, row_group_bytes
        self.schema = REJECT_SCHEMA if rejects else DOC_SCHEMA
        self.target = AtomicPath(self.path)
        self.columns: dict[str, list[str]] = {name: [] for name in self.schema.names}
        self.buffered_bytes = 0
        self.rows = 0
        self.bytes = 0
        self._writer: pq.ParquetWriter | None = None

    def write(self, doc: Document, reason: str | None = None) -> None:
        """Buffer one row; the document is cleaned first (``curate.text.clean``), so whatever a
        stage wrote into it, Parquet can hold it."""
        clean_document(doc)
        self.columns["id"].append(doc.id)
        self.columns["text"].append(doc.text)
        self.columns["meta"].append(meta_json(doc.meta))
        if "reason" in self.columns:
            self.columns["reason"].append(reason or "")
        size = text_bytes(doc)
        self.bytes += size
        self.buffered_bytes += size
        self.rows += 1
        if (
            len(self.columns["id"]) >= self.row_group_rows
            or self.buffered_bytes >= self.row_group_bytes
        ):
            self._flush()

    def _flush(self) -> None:
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.target.begin(), self.schema, compression="zstd")
        if self.columns["id"]:
            table = pa.table(
                {k: pa.array(v, pa.string()) for k, v in self.columns.items()}, schema=self.schema
            )
            self._writer.write_table(table)
        self.columns = {name: [] for name in self.schema.names}
        self.buffered_bytes = 0

    def close(self) -> None:
        """Finish the file and move it into place (an empty shard is still a valid file)."""
        self._flush()
        assert self._writer is not None
        self._writer.close()
        self.target.commit()

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self.target.discard()


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write a small file (text as UTF-8) under a temporary name, then rename it into place."""
    with AtomicPath(path) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def claim_folder(
    record: Path,
    plan: str,
    holds: str,
    where: Path | None = None,
    error: type[ConfigError] = ConfigError,
) -> None:
    """Record ``plan`` in the file ``record``, or refuse (``error``) when it records another one:
    work of another plan is never resumed into. The message is "``where`` holds ``holds``; choose
    another --output" (``where``: by default the folder of ``record``)."""
    if record.exists() and record.read_text(encoding="utf-8") != plan:
        raise error(f"{where or record.parent} holds {holds}; choose another --output")
    write_atomic(record, plan)
