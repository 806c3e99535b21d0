"""A local mirror of remote files (``scratchlm fetch``): resumable downloads with SHA-256 checksums.

A file is downloaded to a hidden ``.NAME.part`` beside its final path (resumed from its length
with a ``Range`` request on the next run), renamed into place once complete, and its checksum
is recorded in ``DIR/.sha256sums`` (``sha256sum -c`` format). A file whose checksum is recorded
is complete and skipped. Hidden names keep partial files and the checksums out of ``curate``'s
view of the folder.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Callable
from urllib.parse import unquote, urljoin, urlparse

from scratchlm.curate.atomic import AtomicPath
from scratchlm.curate.checksum import file_sha256
from scratchlm.curate.errors import InputError
from scratchlm.curate.inputs import list_lines
from scratchlm.curate.readers.compression import open_binary
from scratchlm.curate.remote import (
    HTTP_SCHEMES,
    HttpStream,
    RemoteError,
    RemoteOptions,
    ResumeRefused,
    is_remote,
    open_source,
)

SUMS_FILE = ".sha256sums"
CHUNK = 1 << 20


@dataclass(frozen=True)
class Entry:
    url: str
    path: str  # relative path in the mirror (POSIX)


def _relative_path(url: str, listed: str) -> str:
    """Where a listed entry lands in the mirror: its listed relative path, or the URL's path."""
    raw = listed if not is_remote(listed) else unquote(urlparse(url).path)
    parts = PurePosixPath(raw.lstrip("/")).parts
    if not parts or any(p in ("..", ".") for p in parts):
        raise InputError(f"{listed}: cannot be placed inside the mirror folder")
    return PurePosixPath(*parts).as_posix()


def _listing_lines(listing: str, options: RemoteOptions) -> list[str]:
    with open_binary(listing, options) as stream:
        return list_lines(stream.read().decode("utf-8"))


def list_entries(
    target: str, base_url: str | None, options: RemoteOptions = RemoteOptions()
) -> list[Entry]:
    """The files to mirror: one URL, or each line of a list (``@FILE``, a local file, or a URL).

    A listed line that is not a URL is a path appended to ``base_url`` (as in Common Crawl's
    ``wet.paths.gz``); a target is read as a list when it starts with ``@``, is a local file, or
    its name ends in ``.paths``/``.txt`` (gzip looked through).
    """
    listing = target[1:] if target.startswith("@") else target
    name = urlparse(listing).path.lower().removesuffix(".gz")
    is_list = target.startswith("@") or os.path.isfile(listing) or name.endswith((".paths", ".txt"))
    lines = _listing_lines(listing, options) if is_list else [target]
    entries = []
    for line in lines:
        if is_remote(line):
            url = line
        elif base_url:
            url = urljoin(base_url.rstrip("/") + "/", line.lstrip("/"))
        else:
            raise InputError(f"{line}: a relative path in the list needs --base-url")
        entries.append(Entry(url, _relative_path(url, line)))
    if not entries:
        raise InputError(f"{target}: names no files")
    return entries


def read_sums(folder: Path) -> dict[str, str]:
    """relative path -> hex SHA-256 of the files already complete."""
    sums = folder / SUMS_FILE
    if not sums.exists():
        return {}
    found = {}
    for line in sums.read_text(encoding="utf-8").splitlines():
        digest, _, path = line.partition("  ")
        if path:
            found[path] = digest
    return found


def _record_sum(folder: Path, path: str, digest: str) -> None:
    with open(folder / SUMS_FILE, "a", encoding="utf-8") as sums:
        sums.write(f"{digest}  {path}\n")


def _open_at(url: str, start: int, options: RemoteOptions) -> tuple[BinaryIO, int | None]:
    """A stream of ``url`` from byte ``start`` and its total size when known."""
    if url.startswith(HTTP_SCHEMES):
        stream = HttpStream(url, options, start=start)
        return stream, stream.size  # type: ignore[return-value]
    if start:
        raise ResumeRefused(f"{url}: resuming is only supported over http(s)")
    return open_source(url, options), None


def download(
    entry: Entry, folder: Path, options: RemoteOptions, on_bytes: Callable[[int, int | None], None]
) -> str:
    """Fetch one entry into the mirror, resuming a partial download; its hex SHA-256.

    ``on_bytes(count, total)`` is called as data arrives (``total`` None when unknown).
    """
    final = folder / entry.path
    target = AtomicPath(final, ".part")  # kept on failure: the next try resumes from its length
    part = target.tmp
    final.parent.mkdir(parents=True, exist_ok=True)
    start = part.stat().st_size if part.exists() else 0
    try:
        stream, total = _open_at(entry.url, start, options)
    except (
        ResumeRefused
    ):  # the partial file does not fit the remote one (416, changed file): start over
        if not start:
            raise
        part.unlink()
        start = 0
        stream, total = _open_at(entry.url, 0, options)
    digest = hashlib.sha256()
    if start:
        with open(part, "rb") as existing:
            while chunk := existing.read(CHUNK):
                digest.update(chunk)
        on_bytes(start, total)
    written = start
    with stream, open(part, "ab") as out:
        while chunk := stream.read(CHUNK):
            out.write(chunk)
            digest.update(chunk)
            written += len(chunk)
            on_bytes(len(chunk), total)
    if total is not None and written != total:
        raise RemoteError(f"{entry.url}: got {written:,} of {total:,} bytes")
    target.commit()
    hexdigest = digest.hexdigest()
    _record_sum(folder, entry.path, hexdigest)
    return hexdigest


def is_complete(entry: Entry, folder: Path, sums: dict[str, str], verify: bool) -> bool:
    """Whether the mirror already holds the entry (its checksum recorded; re-hashed with
    ``verify``)."""
    final = folder / entry.path
    if entry.path not in sums or not final.exists():
        return False
    return not verify or file_sha256(final) == sums[entry.path]
