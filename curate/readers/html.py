"""Saved web pages (``.html``/``.htm``): one document per file, ``meta.url`` from
``rel=canonical``."""

from __future__ import annotations

from typing import Iterator

from scratchlm.curate.document import Document
from scratchlm.curate.extract import WebOptions, canonical_url, decode_html, page_text
from scratchlm.curate.readers.base import FileError, ReaderOptions, ReadItem, Rejected
from scratchlm.curate.readers.compression import DECOMPRESSION_ERRORS, open_binary

# pages larger than this are not pages: read no further than the cap
MAX_PAGE_BYTES = 64 << 20


def page_item(html: str, doc_id: str, meta: dict, options: WebOptions) -> Document | Rejected:
    """A decoded page as a document, or as a reject with the reason it gives no text."""
    text, reason = page_text(html, options)
    if reason is not None:
        return Rejected(Document(doc_id, text, meta), reason)
    return Document(doc_id, text, meta)


def read(path: str, source: str, options: ReaderOptions) -> Iterator[ReadItem]:
    try:
        with open_binary(path, options.remote) as stream:
            body = stream.read(MAX_PAGE_BYTES + 1)
    except DECOMPRESSION_ERRORS as err:
        yield FileError(source, "byte 0", f"unreadable page: {err}")
        return
    if len(body) > MAX_PAGE_BYTES:
        yield FileError(
            source, "byte 0", f"larger than {MAX_PAGE_BYTES:,} bytes: not read as a page"
        )
        return
    if not body.strip():
        yield FileError(source, "byte 0", "empty file: no page")
        return
    html = decode_html(body)
    meta: dict = {"source": source}
    url = canonical_url(html)
    if url:
        meta["url"] = url
    yield page_item(html, source, meta, options.web)
