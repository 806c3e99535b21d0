"""Where a JSON Lines file may be cut into read tasks: line starts, found in one counting pass.

Each cut carries the lines and records (non-blank lines, as the JSON Lines reader counts them)
before it, counted with ``bytes.count`` and one regular expression over large blocks, so the
pass runs at memory speed, holds one block at a time and decodes no JSON. A plain file is cut at
the first line start after every ``task_bytes``; a gzip or zstd file only where one of its
members (frames) ends at a line end, so that a task can start decompressing there. A file
compressed as one member (as ``gzip`` and ``zstd`` write a whole file) cannot be cut.
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Callable, Iterator
from typing import BinaryIO

import zstandard

from scratchlm.curate.readers.compression import UTF8_BOM, compression, peekable
from scratchlm.curate.readers.spans import Cut

BLOCK = 8 << 20  # bytes read at a time from a plain file
FEED = 1 << 16  # compressed bytes fed to a decompressor at a time (bounds its output)
WHITESPACE = rb"[ \t\r\x0b\x0c]*"  # what ``bytes.strip`` removes from a line, but its newline
BLANK_LINE_AFTER = re.compile(rb"\n" + WHITESPACE + rb"(?=\n)")  # a newline, then a blank line
ALL_WHITESPACE = re.compile(WHITESPACE)


class LineCounter:
    """Lines and records of a byte stream fed in pieces, counted as the JSON Lines reader counts
    them (a record is a line holding more than whitespace; a byte-order mark opens line 1)."""

    def __init__(self) -> None:
        self.bytes = 0
        self.lines = 0  # complete lines (ended by a newline)
        self.records = 0  # complete lines that are not blank
        self.partial = 0  # bytes of the line in progress
        self.partial_blank = True  # the line in progress holds only whitespace so far

    @property
    def at_line_start(self) -> bool:
        return self.partial == 0

    def feed(self, data: bytes) -> None:
        skip = len(UTF8_BOM) if self.bytes == 0 and data.startswith(UTF8_BOM) else 0
        self.bytes += len(data)
        first = data.find(b"\n", skip)
        if first < 0:
            self.partial += len(data)
            self.partial_blank = (
                self.partial_blank and ALL_WHITESPACE.fullmatch(data, skip) is not None
            )
            return
        last = data.rfind(b"\n")
        head_blank = self.partial_blank and ALL_WHITESPACE.fullmatch(data, skip, first) is not None
        newlines = data.count(b"\n", first)
        blanks = int(head_blank) + len(BLANK_LINE_AFTER.findall(data, first, last + 1))
        self.lines += newlines
        self.records += newlines - blanks
        self.partial = len(data) - last - 1
        self.partial_blank = ALL_WHITESPACE.fullmatch(data, last + 1) is not None

    def cut(self, seek: int) -> Cut:
        return Cut(seek, self.records, self.lines, self.bytes)


def plain_cuts(path: str, task_bytes: int) -> list[Cut]:
    """Cuts at the first line start after every ``task_bytes`` of an uncompressed file."""
    size = os.path.getsize(path)
    counter = LineCounter()
    cuts: list[Cut] = []
    with open(path, "rb") as stream:
        target = task_bytes
        while target < size:
            while counter.bytes < target and (
                block := stream.read(min(BLOCK, target - counter.bytes))
            ):
                counter.feed(block)
            while not counter.at_line_start and (rest := stream.readline(BLOCK)):
                counter.feed(rest)  # on to the end of the line the target fell in
            if counter.bytes >= size:
                break
            cuts.append(counter.cut(counter.bytes))
            target = counter.bytes + task_bytes
    return cuts


def _decompressor(kind: str) -> zlib._Decompress | zstandard.ZstdDecompressionObj:
    if kind == "gzip":
        return zlib.decompressobj(zlib.MAX_WBITS | 16)
    return zstandard.ZstdDecompressor().decompressobj()


def member_ends(
    stream: BinaryIO, kind: str, sink: Callable[[bytes], None], first_limit: int
) -> Iterator[int]:
    """The byte offset where each gzip member (zstd frame) of ``stream`` ends, its decompressed
    bytes passed to ``sink`` first; stops at the end of the stream, a cut-off member, bytes that
    do not decompress (the reader reports those) or a first member longer than ``first_limit``."""
    offset, pending, first = 0, b"", True
    while True:
        decompressor = _decompressor(kind)
        while not decompressor.eof:
            piece = pending or stream.read(FEED)
            pending = b""
            if not piece or (first and offset > first_limit):
                return
            sink(decompressor.decompress(piece))
            pending = decompressor.unused_data if decompressor.eof else b""
            offset += len(piece) - len(pending)
        yield offset
        first = False
        if not pending:
            pending = stream.read(FEED)
            if not pending:
                return


def member_cuts(path: str, kind: str, task_bytes: int) -> list[Cut]:
    """Cuts at the member ends that are line ends, at least ``task_bytes`` of the file apart; none
    when the first member is longer than ``task_bytes`` (a file compressed as a whole)."""
    size = os.path.getsize(path)
    counter = LineCounter()
    cuts: list[Cut] = []
    last = 0
    with open(path, "rb") as stream:
        for end in member_ends(stream, kind, counter.feed, task_bytes):
            if end - last >= task_bytes and end < size and counter.at_line_start:
                cuts.append(counter.cut(end))
                last = end
                if size - last <= task_bytes:  # the rest is one part: no need to read it
                    break
    return cuts


def line_cuts(path: str, task_bytes: int) -> list[Cut]:
    """Where a JSON Lines file (plain, multi-member gzip or multi-frame zstd) may be cut."""
    with open(path, "rb") as raw:
        kind = compression(peekable(raw))
    if kind == "":
        return plain_cuts(path, task_bytes)
    return member_cuts(path, kind, task_bytes)
