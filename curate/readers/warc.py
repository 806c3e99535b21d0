"""Web archives: WARC response records to page text, one record at a time (FastWARC parses).

A ``.gz`` archive is split into its gzip members first (one record each, as Common Crawl
ships them), so a corrupt member, a lying ``Content-Length`` or a cut-off end costs only the
records concerned: each is a file error naming its byte offset and reading goes on.
An uncompressed archive, or one compressed as a whole, is streamed through FastWARC and
reading stops at the first damage.
"""

from __future__ import annotations

import functools
import os
import re
from typing import BinaryIO, Iterator, Literal

from fastwarc.warc import ArchiveIterator, WarcRecord, WarcRecordType

from scratchlm.curate.document import Document
from scratchlm.curate.extract import decode_html, detect_charset
from scratchlm.curate.readers.base import FileError, ReaderOptions, ReadItem, Rejected, derived_id
from scratchlm.curate.readers.compression import compression, peekable
from scratchlm.curate.readers.gzip_members import Damage, Member, iter_members
from scratchlm.curate.readers.html import page_item
from scratchlm.curate.readers.spans import Cut, Span, spans_from_cuts
from scratchlm.curate.remote import open_source

RecordKind = Literal["response", "conversion"]
HTML_TYPES = ("text/html", "application/xhtml+xml")
HEADER_END = b"\r\n\r\n"
CONTENT_LENGTH = re.compile(rb"^content-length:[ \t]*(\d+)[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)
RECORD_TYPES = {"response": WarcRecordType.response, "conversion": WarcRecordType.conversion}
Located = tuple[int, int, WarcRecord]  # (record index in the file, byte offset, record)


class RecordError(ValueError):
    """A record whose framing is broken: reported with its offset, then skipped."""


def _check_framing(data: bytes) -> None:
    """A gzip member must hold exactly one record whose block is ``Content-Length`` bytes long."""
    if not data.startswith(b"WARC/"):
        raise RecordError("member does not start with a WARC header")
    header_end = data.find(HEADER_END)
    match = CONTENT_LENGTH.search(data, 0, header_end) if header_end >= 0 else None
    if match is None:
        raise RecordError("WARC header without Content-Length")
    declared = int(match.group(1))
    block = len(data) - header_end - len(HEADER_END)
    if block < declared:
        raise RecordError(
            f"Content-Length {declared:,} but the record holds {block:,} bytes (truncated or lying)"
        )
    if data[header_end + len(HEADER_END) + declared :].strip():
        raise RecordError(
            f"Content-Length {declared:,} but the record holds {block:,} bytes (lying)"
        )


def _records(
    path: str, source: str, options: ReaderOptions, wanted: RecordKind, span: Span
) -> Iterator[Located | FileError]:
    """(index, byte offset, record) of the wanted type, or file errors, in file order; a ``span``
    starts at its record and stops before the next span's, numbering records as the whole file
    does."""
    opener = functools.partial(open_source, path, options.remote)
    with opener() as opened:
        raw = peekable(opened)
        if span.seek:
            raw.seek(span.seek)
        if (
            compression(raw) != "gzip"
        ):  # plain (or one stream for the whole file): FastWARC reads it as it is
            yield from _streamed(raw, source, wanted, span)
            return
        pieces = iter_members(raw, options.web.max_record_bytes, b"WARC/", span.seek)
        for index, piece in enumerate(pieces, span.records + 1):
            if span.stop is not None and piece.offset >= span.stop:
                return
            if isinstance(piece, Damage):
                yield FileError(source, f"byte {piece.offset}", piece.error)
            elif not isinstance(piece, Member):
                if piece.offset == 0:  # one member for the whole file: not gzipped per record
                    with opener() as again:
                        yield from _streamed(again, source, wanted, span)
                    return
                error = f"record of {piece.size:,} bytes is over max_record_bytes; skipped"
                yield FileError(source, f"byte {piece.offset}", error)
            else:
                try:
                    _check_framing(piece.data)
                    record = WarcRecord.from_bytes(piece.data)
                except (RecordError, OSError) as err:
                    yield FileError(source, f"byte {piece.offset}", f"record {index}: {err}")
                    continue
                if record.record_type == RECORD_TYPES[wanted]:
                    yield index, piece.offset, record


def _streamed(
    raw: BinaryIO, source: str, wanted: RecordKind, span: Span
) -> Iterator[Located | FileError]:
    """Records straight from FastWARC's iterator (which reports the file's offsets from where the
    stream stands); the first damage ends the file."""
    index, offset = span.records, span.seek
    try:
        for record in ArchiveIterator(raw, record_types=WarcRecordType.any_type, parse_http=False):
            if span.stop is not None and record.stream_pos >= span.stop:
                return
            index, offset = index + 1, record.stream_pos
            if record.record_type == RECORD_TYPES[wanted]:
                yield index, offset, record
    except OSError as err:
        yield FileError(
            source, f"after byte {offset}", f"unreadable WARC after record {index}: {err}"
        )


def _member_starts(raw: BinaryIO, max_record_bytes: int) -> Iterator[tuple[int, bool]]:
    """Each gzip member's offset and whether a record starts there cleanly; nothing more for a file
    that is one member too large to be a record (compressed as a whole)."""
    for piece in iter_members(raw, max_record_bytes, b"WARC/"):
        if not isinstance(piece, Member) and piece.offset == 0:
            return
        yield piece.offset, isinstance(piece, Member)


def record_cuts(path: str, options: ReaderOptions, task_bytes: int) -> list[Cut]:
    """Record starts at least ``task_bytes`` apart, found in one pass that parses WARC headers only
    (each gzip member inflated, for an archive gzipped per record); none for an archive
    compressed as a whole."""
    cuts: list[Cut] = []
    last = 0
    with open(path, "rb") as opened:
        raw = peekable(opened)
        if compression(raw) == "gzip":
            starts: Iterator[tuple[int, bool]] = _member_starts(raw, options.web.max_record_bytes)
        elif compression(raw) == "":
            records = ArchiveIterator(raw, record_types=WarcRecordType.any_type, parse_http=False)
            starts = ((record.stream_pos, True) for record in records)
        else:
            return cuts
        for index, (offset, clean) in enumerate(starts):
            if clean and offset - last >= task_bytes:
                cuts.append(Cut(offset, index))
                last = offset
    return cuts


def _meta(record: WarcRecord, position: str) -> dict:
    return {
        "source": position,
        "url": record.headers.get("WARC-Target-URI", ""),
        "date": record.headers.get("WARC-Date", ""),
        "warc_record_id": record.record_id or "",
        "content_type": "",
    }


def response_item(
    record: WarcRecord, doc_id: str, meta: dict, options: ReaderOptions
) -> Document | Rejected:
    """An HTTP response record as a page document, or a reject naming why it is not one."""
    record.parse_http(auto_decode="all")
    headers = record.http_headers
    status = headers.status_code if headers is not None else 0
    content_type = (headers.get("Content-Type", "") if headers is not None else "").strip()
    meta["content_type"] = content_type
    mime = content_type.split(";")[0].strip().lower()
    if 300 <= status < 400:
        meta["location"] = headers.get("Location", "")
        return Rejected(Document(doc_id, "", meta), "read:redirect")
    if not 200 <= status < 300:
        return Rejected(Document(doc_id, "", meta), f"read:http_{status}")
    body = record.reader.read()
    declared = headers.get("Content-Length")
    if record.headers.get(
        "WARC-Truncated"
    ):  # cut by the crawler on purpose (Common Crawl: at 1 MiB)
        meta["warc_truncated"] = record.headers.get("WARC-Truncated")
    elif (
        declared
        and declared.isdigit()
        and len(body) < int(declared)
        and "Transfer-Encoding" not in headers
    ):
        return Rejected(Document(doc_id, "", meta), "read:truncated_payload")
    if mime == "text/plain":
        text = body.decode(detect_charset(body, record.http_charset), errors="replace").strip()
        if len(text) < options.web.min_text_chars:
            return Rejected(Document(doc_id, text, meta), "read:empty_extraction")
        return Document(doc_id, text, meta)
    if mime in HTML_TYPES or (
        not mime and body.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html"))
    ):
        return page_item(decode_html(body, record.http_charset), doc_id, meta, options.web)
    return Rejected(Document(doc_id, "", meta), "read:not_html")


def conversion_item(
    record: WarcRecord, doc_id: str, meta: dict, options: ReaderOptions
) -> Document | Rejected:
    """A WET conversion record: its block is the page's text already."""
    meta["content_type"] = record.headers.get("Content-Type", "")
    text = record.reader.read().decode("utf-8", errors="replace").strip()
    if len(text) < options.web.min_text_chars:
        return Rejected(Document(doc_id, text, meta), "read:empty_extraction")
    return Document(doc_id, text, meta)


def read_records(
    path: str, source: str, options: ReaderOptions, wanted: RecordKind, span: Span = Span()
) -> Iterator[ReadItem]:
    """Documents from the archive's records of one type; other record types are passed over."""
    to_item = response_item if wanted == "response" else conversion_item
    empty = True
    for entry in _records(path, source, options, wanted, span):
        empty = False
        if isinstance(entry, FileError):
            yield entry
            continue
        index, offset, record = entry
        doc_id = derived_id(source, index)
        try:
            yield to_item(record, doc_id, _meta(record, doc_id), options)
        except OSError as err:  # a malformed HTTP header block or payload encoding
            yield FileError(source, f"byte {offset}", f"record {index}: {err}")
    if empty:
        yield FileError(source, "byte 0", f"no {wanted} records")


def read(path: str, source: str, options: ReaderOptions, span: Span = Span()) -> Iterator[ReadItem]:
    return read_records(path, source, options, "response", span)


def plan(path: str, options: ReaderOptions, task_bytes: int) -> list[Span]:
    """Parts of about ``task_bytes`` that start at records (``record_cuts``)."""
    return spans_from_cuts(record_cuts(path, options, task_bytes), os.path.getsize(path))
