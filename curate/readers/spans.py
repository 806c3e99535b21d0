"""Splitting a big input file into parts that separate read tasks read, with the same documents.

A part (``Span``) says where its reading starts and stops and what came before it in the file
(records, lines, decompressed bytes), so ids, line numbers and byte offsets in errors are the
file's own whatever the split. A format's reader module may offer ``plan(path, options,
task_bytes)``: the cuts it can make (JSON Lines at line starts, Parquet at row groups, WARC at
records); a format without one is always read as one task.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass

from scratchlm.curate.readers.base import (
    FORMAT_MODULES,
    RECORD_ID_FORMATS,
    SPLIT_FORMATS,
    ReaderOptions,
    file_format,
)
from scratchlm.curate.readers.compression import BROKEN_STREAM_ERRORS
from scratchlm.curate.remote import is_remote


@dataclass(frozen=True)
class Span:
    """One read task's part of a file; the default is the whole file."""

    # where reading starts: a byte offset (a line's, a gzip/zstd member's, a WARC record's) or,
    # for Parquet, a row group; and where the next part starts, in the same unit (None: the end)
    seek: int = 0
    stop: int | None = None
    records: int = 0  # records before the part: ids and record numbers go on from there
    lines: int = 0  # lines before the part (JSON Lines line numbers)
    offset: int = 0  # decompressed bytes before the part (JSON Lines byte offsets)
    length: int | None = None  # decompressed bytes in the part (JSON Lines); None: to the end
    size: int = 0  # the file's bytes in the part (progress weights)
    # hashes of earlier parts' ids that this part's records repeat (or that its renamed ids would
    # take): its reading starts with them, so ids are renamed as in the whole file
    seen: tuple[int, ...] = ()


@dataclass(frozen=True)
class Cut:
    """A place where a part may start, in the file and in the decompressed stream, and what came
    before it."""

    seek: int
    records: int
    lines: int = 0
    offset: int = 0


def spans_from_cuts(cuts: list[Cut], file_size: int) -> list[Span]:
    """The parts between consecutive byte cuts (the first at the file's start), the last to the
    end of the file."""
    starts = [Cut(0, 0), *cuts]
    spans = []
    for start, end in zip(starts, [*cuts, None]):
        if end is None:
            spans.append(
                Span(
                    start.seek,
                    None,
                    start.records,
                    start.lines,
                    start.offset,
                    None,
                    file_size - start.seek,
                )
            )
        else:
            spans.append(
                Span(
                    start.seek,
                    end.seek,
                    start.records,
                    start.lines,
                    start.offset,
                    end.offset - start.offset,
                    end.seek - start.seek,
                )
            )
    return spans


def plan_spans(path: str, options: ReaderOptions, task_bytes: int) -> list[Span] | None:
    """The parts of a local file larger than ``task_bytes``, as many as it takes for each to be at
    most about ``task_bytes`` and of about even size; or None when the file is read as one task
    (small, remote, of a format that cannot be cut, or with no place to cut). A file that cannot
    be read is left whole: its reader reports the problem."""
    if task_bytes <= 0 or is_remote(path) or not os.path.isfile(path):
        return None
    size = os.path.getsize(path)
    if size <= task_bytes:
        return None
    parts = -(-size // task_bytes)
    try:
        fmt = file_format(path, options)
        if fmt not in SPLIT_FORMATS:
            return None
        module = importlib.import_module(f"scratchlm.curate.readers.{FORMAT_MODULES[fmt]}")
        # parts of even size: a remainder part would leave a worker idle at the end
        spans = module.plan(path, options, -(-size // parts))
    except (OSError, ValueError, KeyError, *BROKEN_STREAM_ERRORS):
        return None
    return spans if len(spans) > 1 else None


def records_carry_ids(path: str, options: ReaderOptions) -> bool:
    """Whether the records of a file's format carry their own ids, which may repeat
    (``RECORD_ID_FORMATS``), so that its parts need ``Span.seen``."""
    return file_format(path, options) in RECORD_ID_FORMATS
