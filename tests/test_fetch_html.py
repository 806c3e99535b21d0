"""Saved HTML pages: one document per page, canonical URL, charset order, pathological pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastwarc.warc import ArchiveIterator, WarcRecordType

from conftest import DATA
from scratchlm.curate.document import Document
from scratchlm.curate.extract import WebOptions, decode_html, detect_charset, extract_main_text
from scratchlm.curate.inputs import expand_inputs
from scratchlm.curate.readers import FileError, ReaderOptions, Rejected, read_file

FRENCH = (
    "Le château se dresse au-dessus de la rivière. Les élèves étudient près de la fenêtre où "
    "la lumière d'été entre à flots; à côté, un vieux garçon lit des poèmes célèbres. "
) * 6


@pytest.fixture(scope="module")
def sample_pages() -> dict[str, bytes]:
    """The sample crawl's HTML payloads by URL."""
    pages = {}
    with open(DATA / "web-sample.warc.gz", "rb") as f:
        for record in ArchiveIterator(f, record_types=WarcRecordType.response, parse_http=True):
            if record.http_content_type == "text/html" and record.http_headers.status_code == 200:
                pages[record.headers.get("WARC-Target-URI")] = record.reader.read()
    return pages


def read_one(path: Path, web: WebOptions = WebOptions()) -> Document | Rejected | FileError:
    (item,) = read_file(str(path), path.name, ReaderOptions(web=web))
    return item


def test_a_folder_of_saved_pages_gives_one_document_per_page(tmp_path, sample_pages):
    site = tmp_path / "site"
    (site / "news").mkdir(parents=True)
    (site / "news" / "manchin.html").write_bytes(
        sample_pages[
            "https://fivethirtyeight.com/features/could-manchin-actually-leave-the-democratic-party/"
        ]
    )
    (site / "moby.htm").write_bytes(sample_pages["https://httpbin.org/html"])
    inputs = expand_inputs([str(site)])
    assert [i.source for i in inputs] == ["moby.htm", "news/manchin.html"]
    docs = [item for i in inputs for item in read_file(i.path, i.source, ReaderOptions())]
    assert all(isinstance(d, Document) for d in docs)
    moby, manchin = docs
    assert "url" not in moby.meta and moby.text.startswith("Herman Melville - Moby-Dick")
    assert (
        manchin.meta["url"]
        == "https://fivethirtyeight.com/features/could-manchin-actually-leave-the-democratic-party/"
    )
    assert "Since 1951, just 34 sitting members of Congress have switched parties" in manchin.text


def test_charset_comes_from_the_header_then_the_meta_tag_then_detection():
    body = f'<html><head><meta charset="iso-8859-1"></head><body><p>{FRENCH}</p></body></html>'
    latin1, utf8 = body.encode("iso-8859-1"), body.encode("utf-8")
    assert detect_charset(latin1, None) == "cp1252"  # the meta tag (WHATWG: latin1 is cp1252)
    assert FRENCH in decode_html(latin1)
    assert FRENCH in decode_html(utf8, "utf-8")  # the header wins over the meta tag
    assert (
        detect_charset(utf8, "no-such-charset") == "cp1252"
    )  # an unknown header label is passed over
    undeclared = f"<html><body><p>{FRENCH}</p></body></html>"
    assert FRENCH in decode_html(undeclared.encode("cp1252"))  # detected
    assert FRENCH in decode_html(undeclared.encode("utf-8"))


def test_stray_bytes_in_a_utf8_page_do_not_lose_the_page(sample_pages):
    body = sample_pages["http://www.naturgruen.ch/ueber-uns/"]
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    html = decode_html(body, "utf-8")
    assert "\ufffd" in html and "Über uns" in html


def test_fifty_thousand_nested_elements_are_rejected_quickly(tmp_path):
    page = tmp_path / "deep.html"
    page.write_text(
        "<html><body>" + "<div>" * 50_000 + "<p>deep</p>" + "</div>" * 50_000 + "</body></html>"
    )
    item = read_one(page)
    assert isinstance(item, Rejected) and item.reason == "read:html_too_deep"


def test_a_page_of_only_scripts_is_an_empty_extraction(tmp_path):
    page = tmp_path / "scripts.html"
    page.write_text(
        "<html><head><script>var a = 1;</script><style>p {}</style></head>"
        "<body><script>document.write('hello world')</script></body></html>"
    )
    item = read_one(page)
    assert isinstance(item, Rejected) and item.reason == "read:empty_extraction"


def test_extract_false_keeps_the_decoded_html(tmp_path):
    page = tmp_path / "p.html"
    page.write_bytes(
        f'<html><head><meta charset="iso-8859-1"></head><body><p>{FRENCH}</p></body></html>'.encode(
            "latin-1"
        )
    )
    item = read_one(page, WebOptions(extract=False))
    assert isinstance(item, Document) and item.text.startswith("<html>") and FRENCH in item.text


def test_empty_page_file_is_a_file_error(tmp_path):
    page = tmp_path / "empty.html"
    page.write_text("  \n")
    item = read_one(page)
    assert isinstance(item, FileError) and item.file == "empty.html"


def test_trafilatura_extractor_keeps_main_text_without_navigation(sample_pages):
    text = extract_main_text(
        sample_pages["https://docs.python.org/3.11/library/queue.html"].decode(), "trafilatura"
    )
    assert "The queue module implements multi-producer, multi-consumer queues." in text
    assert "Report a Bug" not in text and "Show Source" not in text
