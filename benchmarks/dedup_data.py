"""Benchmark corpora for dedup, built from the real prose samples: chunks and edited copies of them.

An edit replaces, deletes or inserts words at a given rate (a third each), the way a
re-crawled or re-published page differs from the original; the rate sets the similarity.
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROSE = [REPO / "tests" / "data" / "prose", REPO / "tests" / "data" / "heldout"]
FILLER = [
    "the",
    "of",
    "new",
    "said",
    "page",
    "update",
    "more",
    "read",
    "home",
    "city",
    "also",
    "which",
]


def prose_texts(names: tuple[str, ...] = ("brown", "kjv", "shakespeare")) -> list[str]:
    """The prose documents of each sample file (tests/data/prose and tests/data/heldout)."""
    texts = []
    for name in names:
        for folder in PROSE:
            path = folder / f"{name}.jsonl.gz"
            if path.exists():
                with gzip.open(path, "rt", encoding="utf-8") as f:
                    texts += [json.loads(line)["text"] for line in f]
                break
    return texts


def chunks(texts: list[str], words: int) -> list[str]:
    """Each text cut into pieces of ``words`` words (the last piece of a text may be shorter)."""
    out = []
    for text in texts:
        ws = text.split()
        out += [
            " ".join(ws[i : i + words])
            for i in range(0, len(ws), words)
            if len(ws[i : i + words]) >= words // 4
        ]
    return out


def edit(text: str, rate: float, rng: random.Random) -> str:
    out = []
    for word in text.split():
        r = rng.random()
        if r < rate / 3:
            out.append(rng.choice(FILLER))
        elif r < 2 * rate / 3:
            continue
        elif r < rate:
            out += [word, rng.choice(FILLER)]
        else:
            out.append(word)
    return " ".join(out)


def warc_pages(
    path: Path = REPO / "tests" / "data" / "web-sample.warc.gz",
) -> list[tuple[str, str]]:
    """(url, visible text) of every HTML page of the sample crawl, by resiliparse."""
    from resiliparse.extract.html2text import extract_plain_text
    from warcio.archiveiterator import ArchiveIterator

    pages = []
    with open(path, "rb") as f:
        for record in ArchiveIterator(f):
            if record.rec_type != "response" or record.http_headers.get_statuscode() != "200":
                continue
            if "html" not in (record.http_headers.get_header("Content-Type") or ""):
                continue
            html = record.content_stream().read().decode("utf-8", errors="replace")
            pages.append(
                (record.rec_headers.get_header("WARC-Target-URI"), extract_plain_text(html))
            )
    return pages
