"""WARC readers and HTML extractors on the sample crawl, on one core: speed and extraction quality.

    .venv/bin/python -m benchmarks.fetch [--warc tests/data/web-sample.warc.gz] [--repeat 3]

Speed: pages/s and MB/s (of compressed WARC; of HTML for extraction alone) for reading alone
(warcio, FastWARC, scratchlm's reader), for extraction alone, and for WARC -> text end to end.
Times are this process's CPU seconds (the machine is shared, so wall time would measure the
neighbours); the process is pinned to one core. Each row is the best of ``--repeat`` passes
over the same file, run back to back in this process.

Quality: the sample's Python docs (Sphinx) and Debian handbook (Publican) pages have a known
main-content element, so a reference text can be cut from each page with lxml, independently
of both extractors. Per extractor: word-level precision and recall against that reference
(multiset overlap of lowercased words, micro-averaged), how many pages leak boilerplate
strings of the sidebar/footer, and how many extractions are empty. Over every HTML page of the
sample: how many extract to fewer than 200 characters.
"""

from __future__ import annotations

import argparse
import os
import re
import time
from collections import Counter
from pathlib import Path
from typing import Callable, Iterator

import lxml.html
from fastwarc.warc import ArchiveIterator as FastArchiveIterator
from fastwarc.warc import WarcRecordType
from warcio.archiveiterator import ArchiveIterator as WarcioArchiveIterator

from scratchlm.curate.extract import WebOptions, decode_html, extract_main_text, page_text
from scratchlm.curate.readers import ReaderOptions, read_file

REPO = Path(__file__).resolve().parents[1]
SHORT_CHARS = 200  # the demo recipe's min_text_chars
WORD = re.compile(r"\w+")
# reference main content: element to keep, then elements inside it to drop
REFERENCE = {
    "docs.python.org": ("//div[@role='main']", ".//a[@class='headerlink']"),
    "debian-handbook.info": (
        "//body",
        ".//div[@id='banner'] | .//p[@id='title'] | "
        ".//ul[contains(@class,'docnav')] | .//div[@id='site_footer']",
    ),
}
# boilerplate strings of those sites' navigation and footers (none of them occurs in the main text)
BOILERPLATE = {
    "docs.python.org": (
        "Report a Bug",
        "Show Source",
        "Previous topic",
        "Quick search",
        "Python Software Foundation. This page is licensed",
    ),
    "debian-handbook.info": ("Download the ebook",),
}


def html_pages(warc: Path) -> list[tuple[str, bytes, str | None]]:
    """(url, body, charset) of the 200 text/html responses."""
    pages = []
    for record in FastArchiveIterator(
        open(warc, "rb"), record_types=WarcRecordType.response, parse_http=True
    ):
        if record.http_headers.status_code == 200 and record.http_content_type == "text/html":
            pages.append(
                (record.headers.get("WARC-Target-URI"), record.reader.read(), record.http_charset)
            )
    return pages


def read_warcio(warc: Path) -> Iterator[bytes]:
    with open(warc, "rb") as f:
        for record in WarcioArchiveIterator(f):
            if record.rec_type == "response":
                yield record.content_stream().read()


def read_fastwarc(warc: Path) -> Iterator[bytes]:
    with open(warc, "rb") as f:
        for record in FastArchiveIterator(f, record_types=WarcRecordType.response, parse_http=True):
            yield record.reader.read()


def read_scratchlm(warc: Path, options: WebOptions) -> Iterator[object]:
    yield from read_file(str(warc), warc.name, ReaderOptions(web=options))


def warcio_to_text(warc: Path, options: WebOptions) -> Iterator[str]:
    """warcio in the same role as scratchlm's reader: 200 text/html responses to main text."""
    with open(warc, "rb") as f:
        for record in WarcioArchiveIterator(f):
            if record.rec_type != "response" or record.http_headers.get_statuscode() != "200":
                continue
            content_type = record.http_headers.get_header("Content-Type", "")
            if not content_type.startswith("text/html"):
                continue
            charset = content_type.partition("charset=")[2] or None
            text, _ = page_text(decode_html(record.content_stream().read(), charset), options)
            yield text


def timed(fn: Callable[[], Iterator[object]], repeat: int) -> tuple[int, float]:
    best, count = float("inf"), 0
    for _ in range(repeat):
        started = time.process_time()
        count = sum(1 for _ in fn())
        best = min(best, time.process_time() - started)
    return count, best


def reference_text(url: str, body: bytes, charset: str | None) -> str | None:
    host = url.split("/")[2]
    if host not in REFERENCE:
        return None
    keep, drop = REFERENCE[host]
    html = re.sub(
        r"^\s*<\?xml[^>]*\?>", "", decode_html(body, charset)
    )  # lxml refuses str with a declaration
    root = lxml.html.document_fromstring(html)
    found = root.xpath(keep)
    if not found:
        return None
    for element in found[0].xpath(drop):
        element.drop_tree()
    for element in found[0].xpath(".//script | .//style"):
        element.drop_tree()
    return found[0].text_content()


def quality(pages: list[tuple[str, bytes, str | None]], extractor: str) -> dict[str, float]:
    overlap = extracted_words = reference_words = leaks = empty = scored = 0
    for url, body, charset in pages:
        reference = reference_text(url, body, charset)
        if reference is None:
            continue
        scored += 1
        text = extract_main_text(decode_html(body, charset), extractor)  # type: ignore[arg-type]
        empty += not text.strip()
        leaks += any(s in text for s in BOILERPLATE[url.split("/")[2]])
        got, want = Counter(WORD.findall(text.lower())), Counter(WORD.findall(reference.lower()))
        overlap += sum((got & want).values())
        extracted_words += sum(got.values())
        reference_words += sum(want.values())
    precision, recall = overlap / max(1, extracted_words), overlap / max(1, reference_words)
    return {
        "pages": scored,
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / max(1e-9, precision + recall),
        "leaks": leaks,
        "empty": empty,
    }


def short_pages(pages: list[tuple[str, bytes, str | None]], extractor: str, chars: int) -> int:
    """How many pages extract to fewer than ``chars`` characters (what ``min_text_chars: chars``
    rejects)."""
    options = WebOptions(extractor=extractor)  # type: ignore[arg-type]
    return sum(
        len(page_text(decode_html(body, charset), options)[0]) < chars for _, body, charset in pages
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--warc", type=Path, default=REPO / "tests/data/web-sample.warc.gz")
    parser.add_argument("--repeat", type=int, default=3, help="passes per row; the best is kept")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    megabytes = args.warc.stat().st_size / 1e6
    pages = html_pages(args.warc)
    html_megabytes = sum(len(b) for _, b, _ in pages) / 1e6
    resiliparse, trafilatura = (
        WebOptions(extractor="resiliparse"),
        WebOptions(extractor="trafilatura"),
    )
    rows = [
        ("read", "warcio 1.8 ArchiveIterator", lambda: read_warcio(args.warc), megabytes),
        ("read", "FastWARC 2.0 ArchiveIterator", lambda: read_fastwarc(args.warc), megabytes),
        (
            "read",
            "scratchlm reader, extract: false",
            lambda: read_scratchlm(args.warc, WebOptions(extract=False)),
            megabytes,
        ),
        (
            "extract",
            "resiliparse 2.0",
            lambda: (page_text(decode_html(b, c), resiliparse) for _, b, c in pages),
            html_megabytes,
        ),
        (
            "extract",
            "trafilatura 2.3",
            lambda: (page_text(decode_html(b, c), trafilatura) for _, b, c in pages),
            html_megabytes,
        ),
        (
            "WARC->text",
            "warcio + resiliparse",
            lambda: warcio_to_text(args.warc, resiliparse),
            megabytes,
        ),
        (
            "WARC->text",
            "scratchlm reader (FastWARC) + resiliparse",
            lambda: read_scratchlm(args.warc, resiliparse),
            megabytes,
        ),
        (
            "WARC->text",
            "scratchlm reader (FastWARC) + trafilatura",
            lambda: read_scratchlm(args.warc, trafilatura),
            megabytes,
        ),
    ]
    print(
        f"input: {args.warc.name}, {megabytes:.2f} MB compressed, "
        f"{len(pages)} HTML pages ({html_megabytes:.1f} MB); one core"
    )
    print(f"{'what':<11} {'library':<44} {'records':>7} {'s':>7} {'pages/s':>8} {'MB/s':>7}")
    for what, name, fn, size in rows:
        count, seconds = timed(fn, args.repeat)
        print(
            f"{what:<11} {name:<44} {count:>7} {seconds:>7.2f} "
            f"{count / seconds:>8.1f} {size / seconds:>7.2f}"
        )
    print()
    print(
        f"{'extractor':<12} {'pages':>5} {'precision':>9} "
        f"{'recall':>7} {'F1':>6} {'boilerplate leaks':>17} {'empty':>5}"
    )
    for extractor in ("resiliparse", "trafilatura"):
        q = quality(pages, extractor)
        print(
            f"{extractor:<12} {q['pages']:>5} {q['precision']:>9.3f} "
            f"{q['recall']:>7.3f} {q['f1']:>6.3f}"
            f" {q['leaks']:>17} {q['empty']:>5}"
        )
    print()
    for extractor in ("resiliparse", "trafilatura"):
        print(
            f"{extractor}: {short_pages(pages, extractor, SHORT_CHARS)} "
            f"of {len(pages)} pages extract to fewer than "
            f"{SHORT_CHARS} characters"
        )


if __name__ == "__main__":
    main()
