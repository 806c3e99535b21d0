"""Common Crawl WET files: WARC conversion records whose block is the page's extracted text."""
from __future__ import annotations

from typing import Iterator

from curate.readers.base import ReadItem, ReaderOptions
from curate.readers.warc import read_records


def read(path: str, source: str, options: ReaderOptions) -> Iterator[ReadItem]:
    return read_records(path, source, options, "conversion")
