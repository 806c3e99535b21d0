"""Readers: the fetch stage's formats. Each turns one input file into documents and rejects."""
from curate.readers.base import FileError, Rejected, ReadItem, ReaderOptions, read_file, detect_format

__all__ = ["FileError", "Rejected", "ReadItem", "ReaderOptions", "read_file", "detect_format"]
