"""Inputs that break naive readers and writers: lone surrogates, control characters, names that lie
about compression, byte-order marks, blank lines before a bad record."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scratchlm.curate.document import Document
from scratchlm.curate.readers import ReaderOptions, Rejected, read_file
from scratchlm.curate.text.clean import clean_text
from scratchlm.pipelines.executors.local import LocalExecutor
from scratchlm.pipelines.recipe import parse_recipe
from scratchlm.pipelines.runner import run_curation

LINES = [{"id": "a", "text": "first document"}, {"id": "b", "text": "second document"}]
JSONL = "".join(json.dumps(r) + "\n" for r in LINES).encode()


def _docs(path: Path) -> list[tuple[str, str]]:
    return [
        (d.id, d.text)
        for d in read_file(str(path), path.name, ReaderOptions())
        if isinstance(d, Document)
    ]


@pytest.mark.parametrize(
    "name, data",
    [
        ("plain-named.jsonl", gzip.compress(JSONL)),
        ("zstd-named.jsonl", zstandard.ZstdCompressor().compress(JSONL)),
        ("really-plain.jsonl.gz", JSONL),
        ("really-zstd.jsonl.gz", zstandard.ZstdCompressor().compress(JSONL)),
        ("no-suffix", gzip.compress(JSONL)),
        ("bom.jsonl", b"\xef\xbb\xbf" + JSONL),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_compression_and_format_come_from_the_bytes_not_the_name(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    assert _docs(path) == [("a", "first document"), ("b", "second document")]


def test_a_gzipped_warc_without_gz_in_its_name_is_read(tmp_path, data_dir):
    honest = data_dir / "web-sample.warc.gz"
    liar = tmp_path / "crawl.dat"
    liar.write_bytes(honest.read_bytes())
    assert _docs(liar)[:20] == [
        (i.replace("web-sample.warc.gz", "crawl.dat"), t) for i, t in _docs(honest)[:20]
    ]


def test_a_text_file_loses_its_byte_order_mark(tmp_path):
    path = tmp_path / "page.txt"
    path.write_bytes(b"\xef\xbb\xbfHello there.")
    assert _docs(path) == [("page.txt", "Hello there.")]


def test_bad_records_name_their_real_line_after_blank_lines(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text(
        '{"id": "a", "text": "ok"}\n\n\n{"id": "b", "text": 3}\n\n{not json\n{"id": "c"}\n',
        encoding="utf-8",
    )
    rejects = [
        i for i in read_file(str(path), "in.jsonl", ReaderOptions()) if isinstance(i, Rejected)
    ]
    assert [(r.reason, r.doc.meta["line"]) for r in rejects] == [
        ("read:text_not_string", 4),
        ("read:bad_json", 6),
        ("read:missing_text", 7),
    ]
    assert rejects[1].doc.meta["error"].startswith("line 6: ")


def test_surrogates_and_control_characters_are_cleaned_and_counted(tmp_path):
    """JSON escapes give lone surrogates (which UTF-8, so Parquet, cannot hold) and NUL; the run
    keeps every document, cleaned as documented, and writes them."""
    path = tmp_path / "in" / "hostile.jsonl"
    path.parent.mkdir()
    path.write_text(
        '{"id": "s\\ud800", "text": "bad \\ud800 pair \\udc00 end", "url": "http://x/\\udfff"}\n'
        '{"id": "c", "text": "nul\\u0000 bell\\u0007 esc\\u001b[0m tab\\t ff\\f ok"}\n'
        '{"id": "fine", "text": "emoji \\ud83d\\ude00 stays"}\n',
        encoding="utf-8",
    )
    recipe = parse_recipe(
        {"name": "t", "steps": [{"read": {}}, {"gopher_quality": {"action": "annotate"}}]}
    )
    result = run_curation(
        recipe, [str(path.parent)], tmp_path / "run", LocalExecutor(1), log=lambda _: None
    )
    rows = pq.read_table(result.final_dir / "part-00000.parquet").to_pylist()
    assert [(r["id"], r["text"]) for r in rows] == [
        ("s\ufffd", "bad \ufffd pair \ufffd end"),
        ("c", "nul bell esc[0m tab\t ff\f ok"),
        ("fine", "emoji 😀 stays"),
    ]
    metas = [json.loads(r["meta"]) for r in rows]
    assert [m.get("cleaned") for m in metas] == [
        {"surrogates": 2, "controls": 0},
        {"surrogates": 0, "controls": 3},
        None,
    ]
    assert metas[0]["url"] == "http://x/\ufffd"


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(texts=st.lists(st.text(st.characters(codec=None), max_size=60), min_size=1, max_size=12))
def test_any_jsonl_text_ends_in_the_output_or_the_rejects(tmp_path_factory, texts):
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "in.jsonl").write_text(
        "".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(texts)),
        encoding="utf-8",
    )
    recipe = parse_recipe(
        {"name": "t", "steps": [{"read": {}}, {"gopher_repetition": {}}, {"c4_quality": {}}]}
    )
    result = run_curation(
        recipe, [str(folder / "in.jsonl")], folder / "run", LocalExecutor(1), log=lambda _: None
    )
    for _, stats in result.steps:
        assert stats.docs_in == stats.docs_out + stats.docs_dropped
    assert result.steps[0][1].docs_in == len(texts)
    kept = pq.read_table(result.final_dir / "part-00000.parquet").to_pylist()
    assert all(r["text"] == clean_text(r["text"])[0] for r in kept)


def test_a_parquet_file_with_a_lying_name_is_read_as_parquet(tmp_path):
    from scratchlm.curate.writer import ShardWriter

    path = tmp_path / "looks-like.jsonl"
    writer = ShardWriter(tmp_path / "real.parquet")
    writer.write(Document("a", "first document", {"source": "x"}))
    writer.close()
    path.write_bytes((tmp_path / "real.parquet").read_bytes())
    assert _docs(path) == [("a", "first document")]


def test_whatever_a_stage_writes_into_a_document_the_writer_can_hold(tmp_path):
    """A filter that writes lone surrogates into meta (inside a tuple) and keeps the document."""
    (tmp_path / "steps.py").write_text(
        'def tag(doc):\n    doc.meta["t"] = ("\\ud800", {"k": ["\\udc00"]})\n', encoding="utf-8"
    )
    (tmp_path / "in.jsonl").write_text('{"id": "a", "text": "fine"}\n', encoding="utf-8")
    recipe = parse_recipe(
        {
            "name": "t",
            "steps": [{"read": {}}, {"custom": {"function": str(tmp_path / "steps.py:tag")}}],
        }
    )
    result = run_curation(
        recipe, [str(tmp_path / "in.jsonl")], tmp_path / "run", LocalExecutor(1), log=lambda _: None
    )
    (row,) = pq.read_table(result.final_dir / "part-00000.parquet").to_pylist()
    assert json.loads(row["meta"])["t"] == ["\ufffd", {"k": ["\ufffd"]}]
