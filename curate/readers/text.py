"""Plain text: the whole file is one document."""

from __future__ import annotations

from typing import Iterator

from scratchlm.curate.document import Document
from scratchlm.curate.readers.base import FileError, ReaderOptions, ReadItem, Rejected
from scratchlm.curate.readers.compression import DECOMPRESSION_ERRORS, UTF8_BOM, open_binary


def read(path: str, source: str, options: ReaderOptions) -> Iterator[ReadItem]:
    try:
        with open_binary(path, options.remote) as stream:
            data = stream.read().removeprefix(UTF8_BOM)
    except DECOMPRESSION_ERRORS as err:
        yield FileError(source, "byte 0", f"corrupt or truncated stream: {err}")
        return
    if not data.strip():
        yield FileError(source, "byte 0", "empty file: no text")
        return
    meta = {"source": source}
    try:
        yield Document(source, data.decode("utf-8"), meta)
    except UnicodeDecodeError as err:
        meta["error"] = f"byte {err.start}: {err.reason}"
        yield Rejected(
            Document(source, data.decode("utf-8", errors="replace"), meta), "read:invalid_utf8"
        )
