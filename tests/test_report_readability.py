"""The report's count axes tick at whole numbers, signals that are zero everywhere are named in a
sentence instead of drawn as empty histograms, a reject without text shows what was fetched, and
a dropped duplicate shows the document it repeats."""

from __future__ import annotations

import gzip
import html
import io
import json
import re
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
from matplotlib.figure import Figure
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from scratchlm.pipelines.report.figures import Signal, _signal_panel
from scratchlm.pipelines.report.sample import excerpt
from tests.conftest import curate_in_process

KJV = Path(__file__).parent / "data" / "prose" / "kjv.jsonl.gz"


def test_a_few_documents_give_whole_number_ticks() -> None:
    ax = Figure().subplots()
    _signal_panel(ax, Signal("ratio", [0.1, 0.2], [0.9], {"max_ratio": 0.5}))
    ticks = ax.get_yticks()
    assert len(ticks) > 1 and all(t == int(t) for t in ticks)


def test_signals_zero_on_every_document_are_named_not_plotted(tmp_path, capsys) -> None:
    recipe = (
        "name: zeros\nsteps:\n  - read: {}\n  - pii: {}\n  - gopher_quality: {action: annotate}\n"
    )
    out = curate_in_process(tmp_path, recipe, KJV)
    page = (out / "report" / "index.html").read_text(encoding="utf-8")
    assert (
        "Zero on every sampled document, so not plotted: 02_pii pii_email, 02_pii pii_ip, "
        "02_pii pii_phone, 03_gopher_quality gopher_bullet_lines_ratio,"
    ) in page
    assert "signals-02_pii" not in page  # every pii signal is zero: no grid of empty panels
    assert "signals-03_gopher_quality" in page


def response(writer: WARCWriter, url: str, status: str, headers: list, body: bytes) -> None:
    http = StatusAndHeaders(status, headers, protocol="HTTP/1.1")
    writer.write_record(
        writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http)
    )


def test_rejects_without_text_show_url_status_and_content_type(tmp_path) -> None:
    crawl = tmp_path / "crawl.warc.gz"
    with open(crawl, "wb") as f:
        writer = WARCWriter(f, gzip=True)
        response(
            writer,
            "http://example.org/old",
            "301 Moved Permanently",
            [("Location", "http://example.org/new"), ("Content-Type", "text/html")],
            b"",
        )
        response(
            writer,
            "http://example.org/gone",
            "404 Not Found",
            [("Content-Type", "text/html")],
            b"<html><body>Not here</body></html>",
        )
        response(
            writer,
            "http://example.org/logo.png",
            "200 OK",
            [("Content-Type", "image/png")],
            b"\x89PNG\r\n",
        )
    out = curate_in_process(tmp_path, "name: fetch\nsteps:\n  - read: {}\n", crawl)
    page = html.unescape((out / "report" / "index.html").read_text(encoding="utf-8"))
    assert (
        "(no text) url: http://example.org/old; content type: text/html; "
        "redirects to: http://example.org/new"
    ) in page
    assert "(no text) url: http://example.org/gone; status: 404; content type: text/html" in page
    assert "(no text) url: http://example.org/logo.png; content type: image/png" in page


def test_the_report_shows_what_each_rule_dropped_and_why(tmp_path) -> None:
    recipe = "name: rules\nsteps:\n  - read: {}\n  - gopher_quality: {min_words: 400}\n"
    out = curate_in_process(tmp_path, recipe, KJV)
    rejects = pq.read_table(out / "02_gopher_quality" / "rejects" / "part-00000.parquet")
    reasons = Counter(rejects.column("reason").to_pylist())
    page = (out / "report" / "index.html").read_text(encoding="utf-8")
    signals = re.search(r'<table id="signals">(.*?)</table>', page).group(1)
    rows = {
        re.findall(r"<td[^>]*>(.*?)</td>", row)[1]: re.findall(r"<td[^>]*>(.*?)</td>", row)
        for row in re.findall(r"<tr>(.*?)</tr>", signals)
        if "<td" in row
    }
    word_count = rows["gopher_word_count"]
    assert word_count[4] == "min_words = 400, max_words = 100000"
    assert int(word_count[5]) == reasons["gopher_quality:word_count"] > 0
    assert int(word_count[3]) == sum(reasons.values())  # every drop of the step has the field
    # each example shows the value that dropped it, next to the threshold it broke
    first = rejects.slice(0, 1).to_pylist()[0]
    words = json.loads(first["meta"])["gopher_word_count"]
    assert (
        f'<div class="id">{first["id"]}</div><div class="why">gopher_word_count = {words:g} '
        f"(min_words = 400)</div>"
    ) in page


def test_a_near_duplicate_example_shows_the_document_it_duplicates(tmp_path) -> None:
    originals = [json.loads(line) for line in gzip.decompress(KJV.read_bytes()).splitlines()[:6]]
    copies = [
        {"id": f"copy-{i}", "text": d["text"].replace(" and ", " & ", 1)}
        for i, d in enumerate(originals[:3])
    ]
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name, records in (("a.jsonl", originals), ("b.jsonl", copies)):
        (inputs / name).write_text("".join(json.dumps(d) + "\n" for d in records), encoding="utf-8")
    out = curate_in_process(tmp_path, "name: near\nsteps:\n  - read: {}\n  - minhash: {}\n", inputs)
    page = (out / "report" / "index.html").read_text(encoding="utf-8")
    for copy, original in zip(copies, originals):
        dropped = excerpt(copy["text"])
        kept = excerpt(original["text"])
        assert dropped != kept
        assert (
            f'<div class="id">{copy["id"]}</div><div class="why">duplicate of {original["id"]}'
            f'</div><div class="snippet">{html.escape(dropped)}</div>\n'
            f'<div class="id">kept: {original["id"]}</div>'
            f'<div class="snippet kept">{html.escape(kept)}</div>'
        ) in page
