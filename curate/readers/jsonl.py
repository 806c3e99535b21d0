"""JSON Lines: one record per line; a bad line becomes a reject and reading goes on."""

from __future__ import annotations

import json
import os
from typing import Any, Iterator

from scratchlm.curate.document import Document
from scratchlm.curate.readers.base import (
    BLANK_LINE,
    FileError,
    ReaderOptions,
    ReadItem,
    Rejected,
    derived_id,
)
from scratchlm.curate.readers.compression import DECOMPRESSION_ERRORS, UTF8_BOM, open_binary
from scratchlm.curate.readers.line_cuts import line_cuts
from scratchlm.curate.readers.spans import Span, spans_from_cuts


def record_to_item(
    record: Any, source: str, index: int, options: ReaderOptions
) -> Document | Rejected:
    """Turn one parsed record into a document, or a reject saying what is wrong with it."""
    position = f"{source}#{index}"
    if not isinstance(record, dict):
        return Rejected(
            Document(derived_id(source, index), json.dumps(record), {"source": position}),
            "read:not_an_object",
        )
    raw_id = record.get(options.id_field)
    doc_id = str(raw_id) if raw_id is not None else derived_id(source, index)
    meta = {
        k: v for k, v in record.items() if k not in (options.id_field, options.text_field, "source")
    }
    if "source" in record:  # the record's own field keeps its value under another name
        meta["record_source"] = record["source"]
    meta["source"] = position
    if options.text_field not in record:
        return Rejected(
            Document(doc_id, json.dumps(record, ensure_ascii=False), meta), "read:missing_text"
        )
    text = record[options.text_field]
    if not isinstance(text, str):
        return Rejected(
            Document(doc_id, json.dumps(record, ensure_ascii=False), meta), "read:text_not_string"
        )
    return Document(doc_id, text, meta)


def read(path: str, source: str, options: ReaderOptions, span: Span = Span()) -> Iterator[ReadItem]:
    """One document per non-blank line (a blank one is counted: ``BLANK_LINE``); ``index`` counts
    records (ids), ``line`` counts lines (errors). A ``span`` reads its part of the file only,
    numbering records, lines and bytes as the whole file does."""
    index = span.records
    offset, line_number = span.offset, span.lines
    end = None if span.length is None else span.offset + span.length
    with open_binary(path, options.remote, span.seek) as stream:
        try:
            while offset != end and (line := stream.readline()):
                line_number += 1
                start, offset = offset, offset + len(line)
                if line_number == 1:
                    line = line.removeprefix(UTF8_BOM)
                if not line.strip():
                    yield BLANK_LINE
                    continue
                index += 1
                item = _line_item(line, start, line_number, source, index, options)
                if isinstance(item, Rejected):
                    item.doc.meta["line"] = line_number
                yield item
        except DECOMPRESSION_ERRORS as err:
            yield FileError(
                source,
                f"byte {offset} (after line {line_number})",
                f"corrupt or truncated stream: {err}",
            )
            return
    if index == 0 and end is None:
        yield FileError(source, "byte 0", "empty file: no records")


def plan(path: str, options: ReaderOptions, task_bytes: int) -> list[Span]:
    """Parts of about ``task_bytes`` cut at line starts (``curate.readers.line_cuts``)."""
    return spans_from_cuts(line_cuts(path, task_bytes), os.path.getsize(path))


def _line_item(
    line: bytes, start: int, line_number: int, source: str, index: int, options: ReaderOptions
) -> Document | Rejected:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as err:
        bad = line.decode("utf-8", errors="replace").rstrip("\n")
        meta = {"source": f"{source}#{index}", "error": f"byte {start + err.start}: {err.reason}"}
        return Rejected(Document(derived_id(source, index), bad, meta), "read:invalid_utf8")
    try:
        record = json.loads(text)
    except json.JSONDecodeError as err:
        meta = {"source": f"{source}#{index}", "error": f"line {line_number}: {err.msg}"}
        return Rejected(
            Document(derived_id(source, index), text.rstrip("\n"), meta), "read:bad_json"
        )
    return record_to_item(record, source, index, options)
