"""Splitting a multi-member gzip stream (a WARC as Common Crawl ships it) into its members.

Each member is decompressed on its own, so a damaged member costs only itself: the splitter
reports it and resynchronises on the next gzip header whose data decompresses. Only the current
member is held in memory, and a member larger than the cap is skipped without being held (a
first member over the cap is reported at once: the file is not gzipped per record).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import BinaryIO, Iterator, Union

GZIP_MAGIC = b"\x1f\x8b\x08"
CHUNK = 1 << 20
FEED = 1 << 16


@dataclass(slots=True)
class Member:
    offset: int  # byte offset of the member in the compressed stream
    data: bytes


@dataclass(slots=True)
class Damage:
    offset: int  # where the bad bytes start
    error: str  # what went wrong, and where reading went on


@dataclass(slots=True)
class Oversized:
    offset: int
    size: int  # decompressed bytes seen before giving up on the member


Piece = Union[Member, Damage, Oversized]


class _Buffer:
    """The unread compressed bytes (``data[pos:]``) and their offset in the stream.

    Dropping bytes only moves ``pos``; the consumed head is cut off when the next chunk is
    appended, so a chunk holding many small members is copied once, not once per member.
    """

    def __init__(self, stream: BinaryIO, offset: int = 0) -> None:
        self.stream = stream
        self.data = b""
        self.pos = 0
        self.offset = offset
        self.eof = False

    def __len__(self) -> int:
        return len(self.data) - self.pos

    def peek(self, start: int, count: int) -> bytes:
        """``count`` unread bytes from ``start`` (relative to the unread head)."""
        return self.data[self.pos + start : self.pos + start + count]

    def find(self, pattern: bytes) -> int:
        """Where ``pattern`` first occurs in the unread bytes, or -1."""
        found = self.data.find(pattern, self.pos)
        return found - self.pos if found >= 0 else -1

    def fill(self) -> bool:
        """Append one chunk; False at end of stream."""
        if self.eof:
            return False
        chunk = self.stream.read(CHUNK)
        if not chunk:
            self.eof = True
            return False
        self.data = self.data[self.pos :] + chunk
        self.pos = 0
        return True

    def drop(self, count: int) -> None:
        self.pos += count
        self.offset += count


def _inflate(buffer: _Buffer, max_size: int) -> Piece | None:
    """Decompress the member at the buffer's start; None at a clean end of stream."""
    while not len(buffer):
        if not buffer.fill():
            return None
    start = buffer.offset
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    parts: list[bytes] = []
    size, used = 0, 0
    while True:
        if used == len(buffer) and not buffer.fill():
            return Damage(
                start,
                f"truncated gzip member ({size:,} bytes decompressed before the end of the file)",
            )
        # fed in slices so that the copy zlib makes of the unused input stays small
        piece = buffer.peek(used, FEED)
        try:
            out = inflater.decompress(piece)
        except zlib.error as err:
            return Damage(start, f"corrupt gzip member: {err}")
        used += len(piece) - len(inflater.unused_data)
        size += len(out)
        if size <= max_size:
            parts.append(out)
        else:  # too large: hold neither its output nor its input any longer
            if start == 0:
                return Oversized(
                    start, size
                )  # the whole file is one member: the caller streams it instead
            parts = []
            buffer.drop(used)
            used = 0
        if inflater.eof:
            buffer.drop(used)
            if size > max_size:
                return Oversized(start, size)
            return Member(start, b"".join(parts))


def _resync(buffer: _Buffer, prefix: bytes) -> int | None:
    """Skip to the next gzip header after the buffer's first byte whose data inflates to
    ``prefix``..."""
    buffer.drop(1)
    while True:
        found = buffer.find(GZIP_MAGIC)
        if found < 0:
            keep = len(GZIP_MAGIC) - 1
            buffer.drop(max(0, len(buffer) - keep))
            if not buffer.fill():
                return None
            continue
        buffer.drop(found)
        probe = zlib.decompressobj(zlib.MAX_WBITS | 16)
        while len(buffer) < 512 and buffer.fill():
            pass
        try:
            if probe.decompress(buffer.peek(0, 512)).startswith(prefix):
                return buffer.offset
        except zlib.error:
            pass
        buffer.drop(1)


def iter_members(
    stream: BinaryIO, max_size: int, prefix: bytes = b"", start: int = 0
) -> Iterator[Piece]:
    """The members of a gzip stream in order, with damaged stretches reported and skipped.

    After damage, reading goes on at the next member whose data starts with ``prefix``. A stream
    opened at byte ``start`` of a file (a member's start) reports the file's offsets.
    """
    buffer = _Buffer(stream, start)
    while True:
        piece = _inflate(buffer, max_size)
        if piece is None:
            return
        if isinstance(piece, Damage):
            resumed = _resync(buffer, prefix)
            where = (
                f"went on at byte {resumed:,}"
                if resumed is not None
                else "nothing readable after it"
            )
            yield Damage(piece.offset, f"{piece.error}; {where}")
            if resumed is None:
                return
            continue
        yield piece
