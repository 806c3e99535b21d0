"""The tokenizer's inputs: a curated step folder (its finished ``part-*.parquet`` shards) or files.

Everything streams: documents are read in Parquet row batches or record by record, never
collected into one list.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from scratchlm.curate import layout
from scratchlm.curate.document import Document
from scratchlm.curate.errors import InputError
from scratchlm.curate.inputs import expand_inputs
from scratchlm.curate.readers import FileError, ReaderOptions, read_file
from scratchlm.curate.shards import done_shards
from scratchlm.curate.shards import iter_documents as iter_shard_documents
from scratchlm.curate.shards import iter_texts as iter_shard_texts


@dataclass(frozen=True)
class CorpusFile:
    """One input file; ``curated`` marks a scratchlm Parquet shard (columns id, text, meta)."""

    path: str
    source: str
    curated: bool


def corpus_files(inputs: list[str]) -> list[CorpusFile]:
    """A step folder stands for its finished shards; any other path goes through
    ``expand_inputs``."""
    found: list[CorpusFile] = []
    for argument in inputs:
        folder = Path(argument)
        if folder.is_dir() and any(folder.glob(layout.SHARDS)):
            shards = done_shards(folder)
            if not shards:
                raise InputError(f"step folder {argument} has no finished shard (no part-*.done)")
            found.extend(CorpusFile(str(p), f"{folder.name}/{p.name}", True) for p in shards)
        else:
            found.extend(CorpusFile(f.path, f.source, False) for f in expand_inputs([argument]))
    sources = [f.source for f in found]
    if len(set(sources)) != len(sources):
        raise InputError(
            "two inputs share a name: ids would collide; pass their parent folder instead"
        )
    return found


def iter_documents(file: CorpusFile) -> Iterator[Document]:
    """The documents of one input file; rejected records are skipped, a broken file is an error."""
    if file.curated:
        yield from iter_shard_documents(file.path)
        return
    for item in read_file(file.path, file.source, ReaderOptions()):
        if isinstance(item, FileError):
            raise InputError(f"{item.file}: {item.offset}: {item.error}")
        if isinstance(item, Document):
            yield item


def iter_texts(file: CorpusFile) -> Iterator[str]:
    """Only the texts of one input file (cheaper for curated shards)."""
    if file.curated:
        return iter_shard_texts(file.path)
    return (doc.text for doc in iter_documents(file))


@dataclass
class TextCounter:
    """Documents and UTF-8 bytes that a text stream has handed out so far."""

    docs: int = 0
    bytes: int = 0


def corpus_texts(files: list[CorpusFile]) -> Iterator[str]:
    """Texts of all files in order."""
    for file in files:
        yield from iter_texts(file)


def limited(texts: Iterable[str], limit_bytes: int | None, counter: TextCounter) -> Iterator[str]:
    """``texts`` counted in ``counter``, stopping once ``limit_bytes`` of text have been handed
    out."""
    for text in texts:
        if limit_bytes is not None and counter.bytes >= limit_bytes:
            return
        counter.docs += 1
        counter.bytes += len(text.encode("utf-8"))
        yield text
