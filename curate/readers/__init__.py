"""Readers: the fetch stage's formats. Each turns one input file into documents and rejects."""

from scratchlm.curate.readers.base import (
    Counted,
    FileError,
    ReaderOptions,
    ReadItem,
    Rejected,
    detect_format,
    read_file,
)

__all__ = [
    "Counted",
    "FileError",
    "Rejected",
    "ReadItem",
    "ReaderOptions",
    "read_file",
    "detect_format",
]
