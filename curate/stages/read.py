"""The ``read`` step: turns input files into documents (the fetch stage)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from curate.readers import ReaderOptions, ReadItem, read_file


@dataclass(frozen=True)
class Read:
    """Read JSONL, Parquet or plain text (gzip/zstd too); ``format: auto`` goes by file name."""

    format: str = "auto"
    id_field: str = "id"
    text_field: str = "text"

    def read(self, path: str, source: str) -> Iterator[ReadItem]:
        options = ReaderOptions(format=self.format, id_field=self.id_field, text_field=self.text_field)
        return read_file(path, source, options)


STAGE = Read
