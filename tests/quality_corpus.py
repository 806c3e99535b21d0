"""Real documents for the quality-filter tests: the sample WARC's pages (extracted by the fetch
stage's reader), the prose corpora and the language-ID fortunes, looked up by URL or id."""

from __future__ import annotations

import copy
import gzip
import json
from functools import cache
from pathlib import Path

from scratchlm.curate.document import Document
from scratchlm.curate.readers import ReaderOptions, read_file

DATA = Path(__file__).resolve().parent / "data"


@cache
def _web() -> dict[str, Document]:
    path = DATA / "web-sample.warc.gz"
    docs = (d for d in read_file(str(path), path.name, ReaderOptions()) if isinstance(d, Document))
    return {d.meta["url"]: d for d in docs}


@cache
def _jsonl(name: str) -> dict[str, Document]:
    with gzip.open(DATA / name, "rt", encoding="utf-8") as stream:
        records = [json.loads(line) for line in stream]
    return {
        r["id"]: Document(
            r["id"], r["text"], {k: v for k, v in r.items() if k not in ("id", "text")}
        )
        for r in records
    }


def web(url: str) -> Document:
    """A fresh copy of the extracted page of ``url``."""
    return copy.deepcopy(_web()[url])


def web_all() -> list[Document]:
    return [copy.deepcopy(d) for d in _web().values()]


def prose(doc_id: str) -> Document:
    """``brown/ca01`` or ``kjv/01-Genesis``."""
    return copy.deepcopy(_jsonl(f"prose/{doc_id.split('/')[0]}.jsonl.gz")[doc_id])


def fortune(doc_id: str) -> Document:
    return copy.deepcopy(_jsonl("langid-dev.jsonl.gz")[doc_id])


def fortunes() -> list[Document]:
    return [copy.deepcopy(d) for d in _jsonl("langid-dev.jsonl.gz").values()]
