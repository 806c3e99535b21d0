"""WARC and WET reading on the real sample crawl, and on damaged copies of it."""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections import Counter
from pathlib import Path

import pytest
from resiliparse.extract.html2text import extract_plain_text
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from conftest import DATA
from scratchlm.curate.document import Document
from scratchlm.curate.extract import WebOptions
from scratchlm.curate.readers import FileError, ReaderOptions, Rejected, read_file
from scratchlm.pipelines.executors.local import LocalExecutor
from scratchlm.pipelines.recipe import parse_recipe
from scratchlm.pipelines.runner import run_curation

SAMPLE = DATA / "web-sample.warc.gz"
MANIFEST = [
    json.loads(line) for line in (DATA / "web-sample.manifest.jsonl").read_text().splitlines()
]
RAW = WebOptions(extract=False)


def split_members(data: bytes) -> list[bytes]:
    """The gzip members of a per-record gzipped WARC, as raw compressed bytes."""
    members, start = [], 0
    while start < len(data):
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        inflater.decompress(data[start:])
        end = len(data) - len(inflater.unused_data)
        members.append(data[start:end])
        start = end
    return members


MEMBERS = split_members(SAMPLE.read_bytes())[:12]  # warcinfo + 11 responses


def offset_of(index: int) -> int:
    return sum(len(m) for m in MEMBERS[:index])


def items(
    path: Path, web: WebOptions = RAW
) -> tuple[list[Document], list[Rejected], list[FileError]]:
    found = list(read_file(str(path), path.name, ReaderOptions(web=web)))
    return (
        [i for i in found if isinstance(i, Document)],
        [i for i in found if isinstance(i, Rejected)],
        [i for i in found if isinstance(i, FileError)],
    )


@pytest.fixture(scope="module")
def sample_items():
    return items(SAMPLE, WebOptions())


@pytest.fixture(scope="module")
def sample_html():
    return {d.meta["url"]: d.text for d in items(SAMPLE)[0]}


def test_sample_reads_back_every_response_record(sample_items):
    docs, rejects, errors = sample_items
    assert errors == []
    assert len(docs) + len(rejects) == len(MANIFEST) == 579
    reasons = Counter(r.reason for r in rejects)
    assert reasons["read:http_404"] == sum(m["status"] == 404 for m in MANIFEST) == 2
    assert reasons["read:redirect"] == sum(300 <= m["status"] < 400 for m in MANIFEST) == 3
    assert (
        reasons["read:not_html"]
        == sum(m["content_type"] == "application/pdf" for m in MANIFEST)
        == 1
    )
    assert set(reasons) <= {
        "read:http_404",
        "read:redirect",
        "read:not_html",
        "read:empty_extraction",
    }
    by_url = {m["uri"]: m for m in MANIFEST}
    for doc in docs:
        assert doc.meta["content_type"] == by_url[doc.meta["url"]]["content_type"]
        assert doc.meta["date"] == "2025-06-01T12:00:00Z"
        assert doc.meta["warc_record_id"].startswith("<urn:uuid:")
    assert len({d.id for d in docs + [r.doc for r in rejects]}) == 579


def test_text_plain_responses_are_kept_as_text(sample_items):
    docs, _, _ = sample_items
    plain = [d for d in docs if d.meta["content_type"].startswith("text/plain")]
    assert len(plain) == sum(m["kind"] == "noise-text-plain" for m in MANIFEST) == 2
    logging = next(d for d in plain if d.meta["url"].endswith("logging.rst.txt"))
    assert logging.text.startswith(
        "=============\nLogging HOWTO\n=============\n\n:Author: Vinay Sajip"
    )


# (url, a main-text sentence, navigation/boilerplate strings that the raw page holds)
PAGES = [
    (
        "https://docs.python.org/3.11/library/queue.html",
        "The queue module implements multi-producer, multi-consumer queues.",
        ["Report a Bug", "Show Source", "Previous topic"],
    ),
    (
        "https://fivethirtyeight.com/features/could-manchin-actually-leave-the-democratic-party/",
        "Since 1951, just 34 sitting members of Congress have switched parties",
        ["Skip to main content", "Latest Videos", "Share on Facebook"],
    ),
    (
        "http://books.toscrape.com/catalogue/a-light-in-the-attic_1000/index.html",
        "It's hard to imagine a world without A Light in the Attic.",
        ["Warning! This is a demo website for web scraping purposes"],
    ),
    (
        "https://debian-handbook.info/browse/nb-NO/stable/sect.source-package-structure.html",
        "En kildepakke består vanligvis av tre filer",
        ["Download the ebook"],
    ),
]


@pytest.mark.parametrize("url, main, navigation", PAGES)
def test_extraction_keeps_the_main_text_and_drops_navigation(
    sample_items, sample_html, url, main, navigation
):
    raw = extract_plain_text(sample_html[url], main_content=False)  # all visible text of the page
    text = {d.meta["url"]: d.text for d in sample_items[0]}[url]
    assert main in raw and main in text
    for boilerplate in navigation:
        assert boilerplate in raw and boilerplate not in text


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def only_one_record_lost(path: Path, member: int, error: str) -> str:
    """Check that reading ``path`` keeps the other ten records and gives one error, at the start of
    ``MEMBERS[member]``, that names ``error``; that error's text."""
    docs, rejects, errors = items(path)
    assert len(docs) + len(rejects) == 10
    assert (
        len(errors) == 1
        and errors[0].offset == f"byte {offset_of(member)}"
        and error in errors[0].error
    )
    return errors[0].error


def test_corrupt_middle_member_costs_only_that_record(tmp_path):
    damaged = bytearray(MEMBERS[6])
    for i in range(len(damaged) // 2, len(damaged) // 2 + 64):
        damaged[i] ^= 0xA5
    path = write(
        tmp_path, "corrupt.warc.gz", b"".join(MEMBERS[:6]) + bytes(damaged) + b"".join(MEMBERS[7:])
    )
    assert f"{offset_of(7):,}" in only_one_record_lost(path, 6, "corrupt gzip member")


@pytest.mark.parametrize("delta", [+4000, -4000])
def test_lying_content_length_is_an_error_for_that_record(tmp_path, delta):
    record = gzip.decompress(MEMBERS[3])
    head, sep, rest = record.partition(b"Content-Length: ")
    length, _, tail = rest.partition(b"\r\n")
    lying = gzip.compress(head + sep + str(int(length) + delta).encode() + b"\r\n" + tail, mtime=0)
    path = write(tmp_path, "lying.warc.gz", b"".join(MEMBERS[:3]) + lying + b"".join(MEMBERS[4:]))
    only_one_record_lost(path, 3, "Content-Length")


def test_truncated_file_keeps_every_complete_record(tmp_path):
    last = MEMBERS[11]
    path = write(tmp_path, "cut.warc.gz", b"".join(MEMBERS[:11]) + last[: len(last) // 2])
    only_one_record_lost(path, 11, "truncated")


def test_uncompressed_and_whole_file_gzip_warcs_stream_through(tmp_path):
    plain = b"".join(gzip.decompress(m) for m in MEMBERS)
    for path in (
        write(tmp_path, "plain.warc", plain),
        write(tmp_path, "whole.warc.gz", gzip.compress(plain, mtime=0)),
    ):
        docs, rejects, errors = items(
            path, WebOptions(extract=False, max_record_bytes=len(plain) // 4)
        )
        assert (len(docs) + len(rejects), errors) == (11, [])
    last = len(gzip.decompress(MEMBERS[-1]))
    docs, rejects, errors = items(write(tmp_path, "cut.warc", plain[: len(plain) - last // 2]))
    assert len(docs) == 10 and [r.reason for r in rejects] + [e.offset for e in errors] == [
        "read:truncated_payload"
    ]


def test_records_over_the_size_cap_are_skipped_and_counted(tmp_path):
    sizes = [len(gzip.decompress(m)) for m in MEMBERS]
    cap = sorted(sizes)[-3]  # the two largest records are over it
    docs, rejects, errors = items(
        write(tmp_path, "big.warc.gz", b"".join(MEMBERS)),
        WebOptions(extract=False, max_record_bytes=cap),
    )
    assert len(docs) + len(rejects) == 9
    assert sorted(e.offset for e in errors) == sorted(
        f"byte {offset_of(i)}" for i, n in enumerate(sizes) if n > cap
    )
    assert all("over max_record_bytes" in e.error for e in errors)


@pytest.mark.parametrize("data", [b"", b"not a warc at all\n" * 100, bytes(range(256)) * 64])
def test_garbage_is_a_file_error(tmp_path, data):
    docs, rejects, errors = items(write(tmp_path, "junk.warc.gz", data))
    assert docs == rejects == [] and len(errors) == 1 and errors[0].file == "junk.warc.gz"


def wet_file(texts: list[str]) -> bytes:
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    for i, text in enumerate(texts):
        headers = {
            "WARC-Target-URI": f"https://example.org/{i}",
            "WARC-Date": "2025-06-01T12:00:00Z",
        }
        record = writer.create_warc_record(
            f"https://example.org/{i}",
            "conversion",
            payload=io.BytesIO(text.encode()),
            warc_content_type="text/plain",
            warc_headers_dict=headers,
        )
        writer.write_record(record)
    return buffer.getvalue()


def test_wet_conversion_records_are_documents(tmp_path):
    path = write(
        tmp_path,
        "sample.warc.wet.gz",
        wet_file(["Première page, en français.", "   ", "Second page."]),
    )
    docs, rejects, errors = items(path)
    assert [d.text for d in docs] == ["Première page, en français.", "Second page."]
    assert [d.meta["url"] for d in docs] == ["https://example.org/0", "https://example.org/2"]
    assert docs[0].meta["content_type"] == "text/plain" and docs[0].meta[
        "warc_record_id"
    ].startswith("<urn:uuid:")
    assert [r.reason for r in rejects] == ["read:empty_extraction"] and errors == []


def test_a_run_over_damaged_inputs_completes_and_counts_them(tmp_path):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    write(inputs, "good.warc.gz", b"".join(MEMBERS))
    write(inputs, "cut.warc.gz", b"".join(MEMBERS[:5]) + MEMBERS[5][:100])
    write(
        inputs,
        "deep.html",
        b"<html><body>"
        + b"<div>" * 50_000
        + b"<p>deep</p>"
        + b"</div>" * 50_000
        + b"</body></html>",
    )
    write(
        inputs,
        "scripts.html",
        b"<html><head><script>var a = 1;</script></head><body><script>run()</script></body></html>",
    )
    recipe = parse_recipe({"name": "damaged", "steps": [{"read": {}}]})
    result = run_curation(recipe, [str(inputs)], tmp_path / "run", LocalExecutor(1))
    stats = result.steps[0][1]
    assert stats.docs_in == 11 + 4 + 2
    assert stats.dropped["read:html_too_deep"] == 1 and stats.dropped["read:empty_extraction"] >= 1
    assert [(e["file"], e["offset"]) for e in stats.errors] == [
        ("cut.warc.gz", f"byte {offset_of(5)}")
    ]


def response_warc(body: bytes, http_length: int, truncated: bool) -> bytes:
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    http = StatusAndHeaders(
        "200 OK",
        [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(http_length))],
        protocol="HTTP/1.1",
    )
    warc_headers = {"WARC-Truncated": "length"} if truncated else {}
    record = writer.create_warc_record(
        "https://example.org/long",
        "response",
        payload=io.BytesIO(body),
        http_headers=http,
        warc_headers_dict=warc_headers,
    )
    writer.write_record(record)
    return buffer.getvalue()


def test_payload_shorter_than_its_http_length_is_rejected_unless_the_crawler_truncated_it(tmp_path):
    body = (
        b"<html><body><p>" + b"A paragraph of the page that goes on. " * 50 + b"</p></body></html>"
    )
    docs, rejects, _ = items(
        write(tmp_path, "cut.warc.gz", response_warc(body, 100_000, truncated=False)), WebOptions()
    )
    assert docs == [] and [r.reason for r in rejects] == ["read:truncated_payload"]
    docs, rejects, _ = items(
        write(tmp_path, "crawler.warc.gz", response_warc(body, 100_000, truncated=True)),
        WebOptions(),
    )
    assert (
        rejects == [] and docs[0].meta["warc_truncated"] == "length" and "goes on." in docs[0].text
    )
