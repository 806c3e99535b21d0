"""Reading registry packages (Debian ``.deb``, npm ``.tgz``) and turning their files into text.

Every reader yields archive members in name order and every extractor is a pure function of the
member's bytes, so a corpus built from the same package files is the same byte for byte.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

AR_MAGIC = b"!<arch>\n"
AR_HEADER = 60


def ar_members(data: bytes) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of each member of a Unix ``ar`` archive (the container of a ``.deb``)."""
    if not data.startswith(AR_MAGIC):
        raise ValueError("not an ar archive (no !<arch> magic)")
    offset = len(AR_MAGIC)
    while offset + AR_HEADER <= len(data):
        header = data[offset : offset + AR_HEADER]
        name = header[:16].decode("ascii").strip().rstrip("/")
        size = int(header[48:58].decode("ascii").strip())
        start = offset + AR_HEADER
        yield name, data[start : start + size]
        offset = start + size + (size % 2)  # members are 2-byte aligned


def tar_files(data: bytes) -> Iterator[tuple[str, bytes]]:
    """(path, bytes) of the regular files of a (compressed) tar archive, sorted by path (read in
    archive order: a compressed stream read out of order is decompressed again from its start)."""
    files = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r|*") as archive:
        for member in archive:
            handle = archive.extractfile(member) if member.isfile() else None
            if handle is not None:
                files[member.name.removeprefix("./")] = handle.read()
    yield from sorted(files.items())


def deb_files(path: Path) -> Iterator[tuple[str, bytes]]:
    """(path, bytes) of the files a Debian package installs, sorted by path."""
    for name, body in ar_members(path.read_bytes()):
        if name.startswith("data.tar"):
            yield from tar_files(body)
            return
    raise ValueError(f"{path}: a .deb without a data.tar member")


def npm_files(path: Path) -> Iterator[tuple[str, bytes]]:
    """(path, bytes) of the files of an npm package tarball, sorted by path."""
    yield from tar_files(path.read_bytes())


# ---- text from one file ----------------------------------------------------------------------

Piece = tuple[str, str]  # (suffix of the document id, text); one file may give several documents


def html_text(body: bytes) -> list[Piece]:
    """The main text of an HTML page, as the project's own extractor gives it."""
    from scratchlm.curate.extract import decode_html, extract_main_text

    return [("", extract_main_text(decode_html(body)))]


def plain_text(body: bytes) -> list[Piece]:
    """A text file (gzip looked through), invalid UTF-8 replaced."""
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    return [("", body.decode("utf-8", errors="replace"))]


_ROFF_ESCAPES = [
    (re.compile(r"\\f(\[[^\]]*\]|\(..|.)"), ""),
    (re.compile(r"\\\((..)"), " "),
    (re.compile(r"\\\[[^\]]*\]"), " "),
    (re.compile(r"\\[&|^%:]"), ""),
    (re.compile(r"\\[-e]"), "-"),
    (re.compile(r"\\(.)"), r"\1"),
]
_TEXT_MACROS = {
    "SH",
    "SS",
    "B",
    "I",
    "BI",
    "BR",
    "IB",
    "IR",
    "RB",
    "RI",
    "TP",
    "IP",
    "HP",
    "Nm",
    "Nd",
    "Sh",
    "Ss",
    "Fl",
    "Ar",
    "Pa",
    "Xr",
    "It",
    "Op",
    "Em",
    "Dq",
    "Ql",
    "Va",
    "Cm",
    "Fn",
}


def roff_text(body: bytes) -> list[Piece]:
    """A manual page's roff source as text: request lines dropped except those carrying words
    (headings, fonts), escapes removed. A crude reader, like a crawler's view of a rendered page."""
    lines = []
    for line in plain_text(body)[0][1].splitlines():
        if line.startswith((".", "'")):
            macro, _, rest = line[1:].strip().partition(" ")
            if macro.startswith('\\"') or macro not in _TEXT_MACROS:
                continue
            line = rest.replace('"', "")
        for pattern, replacement in _ROFF_ESCAPES:
            line = pattern.sub(replacement, line)
        lines.append(line)
    return [("", "\n".join(lines).strip())]


def chunk_lines(text: str, lines_per_doc: int) -> list[Piece]:
    """A long list cut into documents of ``lines_per_doc`` lines (a word list's pages)."""
    lines = text.splitlines()
    return [
        (f"#{i // lines_per_doc}", "\n".join(lines[i : i + lines_per_doc]))
        for i in range(0, len(lines), lines_per_doc)
    ]


def word_list(body: bytes) -> list[Piece]:
    """A word list, 2,000 words a document."""
    return chunk_lines(plain_text(body)[0][1], 2000)


def dictd_entries(dictionary: bytes, index: bytes) -> list[str]:
    """The entries of a dictd database: ``index`` lines are ``word<TAB>offset<TAB>length`` in base64
    digits; ``dictionary`` is the (dictzip, i.e. gzip) data file."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

    def number(digits: str) -> int:
        value = 0
        for digit in digits:
            value = value * 64 + alphabet.index(digit)
        return value

    data = gzip.decompress(dictionary)
    entries = []
    for line in index.decode("utf-8", errors="replace").splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and not parts[0].startswith("00database"):
            start, length = number(parts[1]), number(parts[2])
            entries.append(data[start : start + length].decode("utf-8", errors="replace").strip())
    return entries


def json_field(field: str) -> Callable[[bytes], list[Piece]]:
    """The ``field`` of a JSON object file (the npm data sets' records)."""

    def extract(body: bytes) -> list[Piece]:
        return [("", str(json.loads(body)[field]))]

    return extract


def json_pronunciations(body: bytes) -> list[Piece]:
    """A ``{word: pronunciation}`` JSON dictionary as lines ``WORD  P R O N``, 2,000 a document."""
    table = json.loads(body)
    return chunk_lines("\n".join(f"{word}  {pron}" for word, pron in table.items()), 2000)


EXTRACTORS: dict[str, Callable[[bytes], list[Piece]]] = {
    "html": html_text,
    "text": plain_text,
    "roff": roff_text,
    "words": word_list,
    "sotu": json_field("text"),
    "mail": json_field("text"),
    "pronunciations": json_pronunciations,
}
