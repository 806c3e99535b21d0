"""Open plain, gzip or zstd files as one binary stream, decompressing on the fly."""
from __future__ import annotations

import gzip
import io
import zlib
from typing import BinaryIO

import zstandard

from curate.remote import RemoteOptions, open_source, suffix_name

# what a damaged or cut-off compressed stream raises while it is being read
DECOMPRESSION_ERRORS: tuple[type[BaseException], ...] = (
    EOFError,
    gzip.BadGzipFile,
    zlib.error,
    zstandard.ZstdError,
    OSError,
)


def open_binary(path: str, remote: RemoteOptions = RemoteOptions()) -> BinaryIO:
    """A readable binary stream of the file's (or URL's) decompressed bytes."""
    lower = suffix_name(path)
    raw = open_source(path, remote)
    if lower.endswith(".gz"):
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if lower.endswith((".zst", ".zstd")):
        reader = zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
        return io.BufferedReader(reader)  # type: ignore[arg-type]
    return raw
