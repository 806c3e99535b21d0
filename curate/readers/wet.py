"""Common Crawl WET files: WARC conversion records whose block is the page's extracted text."""

from __future__ import annotations

from typing import Iterator

from scratchlm.curate.readers.base import ReaderOptions, ReadItem
from scratchlm.curate.readers.spans import Span
from scratchlm.curate.readers.warc import plan, read_records

__all__ = ["plan", "read"]


def read(path: str, source: str, options: ReaderOptions, span: Span = Span()) -> Iterator[ReadItem]:
    return read_records(path, source, options, "conversion", span)
