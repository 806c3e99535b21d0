"""What readers yield, how a file's format is chosen, and the dispatch to a format's reader."""

from __future__ import annotations

import dataclasses
import importlib
import os
from array import array
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterator, Union

import numpy as np
import xxhash

from scratchlm.curate.document import Document
from scratchlm.curate.extract import WebOptions
from scratchlm.curate.readers.compression import BROKEN_STREAM_ERRORS, UTF8_BOM, open_binary
from scratchlm.curate.remote import RemoteOptions, is_remote, suffix_name
from scratchlm.curate.text.clean import clean_document, clean_id

if TYPE_CHECKING:
    from scratchlm.curate.readers.spans import Span


@dataclass(slots=True)
class Rejected:
    """A record that was read but cannot become a document; it goes to the rejects."""

    doc: Document
    reason: str


@dataclass(slots=True)
class FileError:
    """A problem with the file itself (empty, truncated, corrupt): reading stops or skips there."""

    file: str
    offset: str
    error: str

    def as_dict(self) -> dict[str, str]:
        return {"file": self.file, "offset": self.offset, "error": self.error}


@dataclass(frozen=True, slots=True)
class Counted:
    """One occurrence of something the read step counts that is no document (a blank line, a
    repeated id): ``name`` is its key in the step's ``counted`` statistics."""

    name: str


BLANK_LINE = Counted("read:blank_lines")
REPEATED_ID = Counted("read:repeated_ids")
ORIGINAL_ID = "original_id"  # meta field of a record whose repeated id was made unique

ReadItem = Union[Document, Rejected, FileError, Counted]


@dataclass(frozen=True)
class ReaderOptions:
    """Options every reader understands (the recipe's ``read`` step fills them)."""

    format: str = "auto"
    id_field: str = "id"
    text_field: str = "text"
    extra: dict = field(default_factory=dict)
    web: WebOptions = WebOptions()  # HTML pages and web archives
    remote: RemoteOptions = RemoteOptions()  # URLs (http, https, fsspec schemes)


# format name -> module under curate.readers providing ``read(path, source, options)``
FORMAT_MODULES: dict[str, str] = {
    "jsonl": "jsonl",
    "parquet": "parquet",
    "txt": "text",
    "warc": "warc",
    "wet": "wet",
    "html": "html",
    "hf": "hf",
}

# the formats whose module also provides ``plan(path, options, task_bytes)``: the parts of a big
# file that ``read`` takes as its ``span`` (curate.readers.spans), each read as a task of its own
SPLIT_FORMATS = frozenset({"jsonl", "parquet", "warc", "wet"})
# the split formats whose records carry their own ids, which may repeat across a file's parts
# (WARC and WET ids are record numbers): their parts are planned with ``seen_across_parts``
RECORD_ID_FORMATS = frozenset({"jsonl", "parquet"})

# file suffix (after any compression suffix is removed) -> format name
SUFFIX_FORMATS: dict[str, str] = {
    ".jsonl": "jsonl",
    ".json": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".txt": "txt",
    ".text": "txt",
    ".md": "txt",
    ".warc": "warc",
    ".wet": "wet",  # Common Crawl's *.warc.wet.gz
    ".html": "html",
    ".htm": "html",
    ".arrow": "hf",  # a Hugging Face datasets cache file
}

COMPRESSION_SUFFIXES = (".gz", ".zst", ".zstd")
SNIFF_BYTES = 8192  # what sniff_format reads of a file whose name tells nothing


def detect_format(path: str, remote: RemoteOptions = RemoteOptions()) -> str:
    """The format of a file: from its first bytes when they carry a clear signature (Parquet's
    ``PAR1``, a web archive's ``WARC/``), else from its name, looking through a compression suffix
    (and a URL's query), else from what its first bytes look like (JSON, HTML)."""
    if os.path.isdir(path):
        return "hf"  # inputs.py passes a folder only when it is a saved Hugging Face dataset
    by_name = _format_by_name(path)
    by_bytes = sniff_format(path, remote) if by_name is None or not is_remote(path) else None
    if by_bytes == "parquet" or (by_bytes in ("warc", "wet") and by_name not in ("warc", "wet")):
        return by_bytes
    if by_name is not None:
        return by_name
    if by_bytes is None:
        raise ValueError(
            f"{path}: cannot tell the format from the file name or its first bytes; set read.format"
        )
    return by_bytes


def _format_by_name(path: str) -> str | None:
    name = suffix_name(path)
    for suffix in COMPRESSION_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    for suffix, fmt in SUFFIX_FORMATS.items():
        if name.endswith(suffix):
            return fmt
    return None


def sniff_format(path: str, remote: RemoteOptions = RemoteOptions()) -> str | None:
    """The format that a file's first (decompressed) bytes show, or None (an unreadable file's
    error is raised: the caller reports it)."""
    try:
        with open_binary(path, remote) as stream:
            head = stream.read(SNIFF_BYTES)
    except BROKEN_STREAM_ERRORS:  # an empty or damaged compressed file: its reader will say so
        return None
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"WARC/"):
        return "wet" if b"WARC-Type: conversion" in head else "warc"
    text = head.removeprefix(UTF8_BOM).lstrip()
    if text.startswith(b"{"):
        return "jsonl"
    if text[:1] == b"<":
        return "html"
    return None


def reader_for(fmt: str) -> Callable[[str, str, ReaderOptions], Iterator[ReadItem]]:
    if fmt not in FORMAT_MODULES:
        raise ValueError(f"unknown format {fmt!r}; known: {', '.join(sorted(FORMAT_MODULES))}")
    module = importlib.import_module(f"scratchlm.curate.readers.{FORMAT_MODULES[fmt]}")
    return module.read


def read_file(
    path: str, source: str, options: ReaderOptions, span: Span | None = None
) -> Iterator[ReadItem]:
    """Stream the documents, rejects, file errors and counts of one input file (of its part
    ``span``, a ``curate.readers.spans.Span`` planned for its format), every document made
    writable (``curate.text.clean``: lone surrogates replaced, control characters removed) and its
    id unique within the file (``unique_ids``; a part starts from the ids of earlier parts that its
    reading looks up, ``Span.seen``, found by ``seen_across_parts`` when the file was split)."""
    read = reader_for(file_format(path, options))
    if span is None:
        return unique_ids(_cleaned(read(path, source, options)))
    return unique_ids(_cleaned(read(path, source, options, span)), span.records, set(span.seen))


def file_format(path: str, options: ReaderOptions) -> str:
    """The format a file is read in: ``options.format``, or the one ``detect_format`` finds."""
    return detect_format(path, options.remote) if options.format == "auto" else options.format


def _id_hash(doc_id: str) -> int:
    return xxhash.xxh64_intdigest(doc_id.encode("utf-8", errors="surrogatepass"))


def unique_ids(
    items: Iterator[ReadItem], position: int = 0, seen: set[int] | None = None
) -> Iterator[ReadItem]:
    """The items with each record's id unique among the records of this stream: a record whose id
    an earlier one has is preceded by ``REPEATED_ID`` and renamed ``ID~N`` (N: its position among
    the file's records, ``position`` being the records before the stream, the lowest free one after
    it), ``meta.original_id`` keeping ``ID``. ``seen``: the id hashes taken before the stream.
    Memory: one 64-bit id hash a record (a Python set: about 70 bytes a record). Two distinct
    ids with the same hash would count as a repeat (odds about n**2 / 2**65): still unique."""
    seen = set() if seen is None else seen
    for item in items:
        if isinstance(item, (Document, Rejected)):
            position += 1
            doc = item if isinstance(item, Document) else item.doc
            key = _id_hash(doc.id)
            if key in seen:
                yield REPEATED_ID
                doc.meta[ORIGINAL_ID] = doc.id
                suffix = position
                while (key := _id_hash(f"{doc.id}~{suffix}")) in seen:
                    suffix += 1
                doc.id = f"{doc.id}~{suffix}"
            seen.add(key)
        yield item


class _Queried(set):
    """A set of id hashes that records every key looked up in it."""

    def __init__(self, keys: tuple[int, ...]) -> None:
        super().__init__(keys)
        self.queried = array("Q")

    def __contains__(self, key: object) -> bool:
        self.queried.append(key)  # type: ignore[arg-type]
        return super().__contains__(key)


def part_ids(job: tuple[str, str, ReaderOptions, Span]) -> tuple[np.ndarray, np.ndarray]:
    """The id hashes that reading ``(path, source, options, span)`` looks up and those it adds
    (both sorted, unique), its set of seen ids starting with ``span.seen``."""
    path, source, options, span = job
    seen = _Queried(span.seen)
    for _ in unique_ids(
        _cleaned(reader_for(file_format(path, options))(path, source, options, span), _clean_id),
        span.records,
        seen,
    ):
        pass
    before = set(span.seen)
    added = np.fromiter((key for key in seen if key not in before), np.uint64)
    return np.unique(np.frombuffer(seen.queried, np.uint64)), np.sort(added)


def seen_across_parts(
    path: str,
    source: str,
    options: ReaderOptions,
    spans: list[Span],
    first: list[tuple[np.ndarray, np.ndarray]],
) -> list[Span]:
    """The parts of a split file, each with the hashes of earlier parts' ids that its reading looks
    up (``Span.seen``), so that each renames as a reading of the whole file does. ``first``: each
    part's ``part_ids`` read on its own. A part that looks up an earlier part's id is read again
    with the ids it found there (until it finds no more): each of its checks then answers as in the
    whole file. Memory: the earlier parts' added hashes, one sorted array (8 bytes a record)."""
    earlier = np.empty(0, np.uint64)
    planned = []
    for span, (queried, added) in zip(spans, first):
        seen = np.array(span.seen, np.uint64)
        while len(np.setdiff1d(hits := np.intersect1d(queried, earlier), seen)):
            seen = np.union1d(hits, seen)
            span = dataclasses.replace(span, seen=tuple(int(key) for key in seen))
            queried, added = part_ids((path, source, options, span))
        planned.append(span)
        earlier = np.sort(
            np.concatenate([earlier, added]), kind="stable"
        )  # a merge of two sorted runs
    return planned


def _cleaned(
    items: Iterator[ReadItem], clean: Callable[[Document], object] = clean_document
) -> Iterator[ReadItem]:
    """``items`` with each document, kept or rejected, passed through ``clean``."""
    for item in items:
        if isinstance(item, Document):
            clean(item)
        elif isinstance(item, Rejected):
            clean(item.doc)
        yield item


def _clean_id(doc: Document) -> None:
    """Only the id as ``clean_document`` leaves it: planning hashes ids, not texts."""
    doc.id = clean_id(doc.id)


def derived_id(source: str, index: int) -> str:
    """Stable id for a record without one: its source file and position."""
    return f"{source}#{index}"
