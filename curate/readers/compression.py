"""Open plain, gzip or zstd files as one binary stream, decompressing on the fly.

The compression is read from the file's first bytes, not from its name: crawls hold ``.gz``
files that are plain and plain-named files that are gzipped.
"""

from __future__ import annotations

import gzip
import io
import zlib
from typing import BinaryIO

import zstandard

from scratchlm.curate.remote import RemoteOptions, open_source

# what a damaged or cut-off compressed stream raises while it is being read (without OSError:
# the ones that say nothing about the file's reachability)
BROKEN_STREAM_ERRORS: tuple[type[BaseException], ...] = (
    EOFError,
    gzip.BadGzipFile,
    zlib.error,
    zstandard.ZstdError,
)
DECOMPRESSION_ERRORS: tuple[type[BaseException], ...] = (*BROKEN_STREAM_ERRORS, OSError)
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
UTF8_BOM = b"\xef\xbb\xbf"


def peekable(raw: BinaryIO) -> io.BufferedReader:
    """``raw`` with ``peek`` (a buffered reader over it when it has none)."""
    return raw if hasattr(raw, "peek") else io.BufferedReader(raw)  # type: ignore[return-value, arg-type]


def compression(stream: io.BufferedReader) -> str:
    """``gzip``, ``zstd`` or ``""`` (none), from the stream's first bytes, which stay unread."""
    head = stream.peek(4)[:4]
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    return ""


def open_binary(path: str, remote: RemoteOptions = RemoteOptions(), start: int = 0) -> BinaryIO:
    """A readable binary stream of the file's (or URL's) decompressed bytes, from byte ``start`` of
    a local file (a gzip member's or zstd frame's start, if it is compressed)."""
    raw = peekable(open_source(path, remote))
    if start:
        raw.seek(start)
    kind = compression(raw)
    if kind == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if kind == "zstd":
        reader = zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
        return io.BufferedReader(reader)  # type: ignore[arg-type]
    return raw
