"""Readers: good records come out, bad ones become reasoned rejects or per-file errors."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

from scratchlm.curate.document import Document
from scratchlm.curate.readers import Counted, FileError, ReaderOptions, Rejected, read_file
from tests.conftest import DATA


def _items(path: Path, **options) -> list:
    return list(read_file(str(path), path.name, ReaderOptions(**options)))


def _real_records(n: int) -> list[dict]:
    """The first ``n`` Brown corpus records, as shipped."""
    records = []
    with gzip.open(DATA / "prose" / "brown.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            records.append(json.loads(line))
            if len(records) == n:
                return records
    return records


def test_jsonl_keeps_own_ids_and_other_fields_in_meta(tmp_path: Path) -> None:
    records = _real_records(3)
    path = tmp_path / "brown.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    docs = _items(path)
    assert [d.id for d in docs] == [r["id"] for r in records]
    assert [d.text for d in docs] == [r["text"] for r in records]
    assert docs[0].meta == {"source": "brown.jsonl#1", "record_source": records[0]["source"]}


def test_records_without_id_get_stable_derived_ids_and_custom_fields(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(
        '{"body": "alpha", "lang": "en"}\n{"body": "beta", "key": 7}\n', encoding="utf-8"
    )
    docs = _items(path, text_field="body", id_field="key")
    assert [(d.id, d.text) for d in docs] == [("x.jsonl#1", "alpha"), ("7", "beta")]
    assert docs[0].meta == {"lang": "en", "source": "x.jsonl#1"}
    assert [d.id for d in _items(path, text_field="body", id_field="key")] == ["x.jsonl#1", "7"]


def test_bad_lines_are_rejected_with_reasons_and_good_ones_kept(tmp_path: Path) -> None:
    good = _real_records(2)
    lines = [
        json.dumps(good[0]).encode(),
        b'{"id": "broken", "text": "no closing brace"',
        b'{"id": "notext"}',
        b'{"id": "number", "text": 42}',
        b'{"id": "latin1", "text": "caf\xe9"}',
        b'["a", "list"]',
        json.dumps(good[1]).encode(),
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    items = _items(path)
    kept = [i for i in items if isinstance(i, Document)]
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert [d.id for d in kept] == [good[0]["id"], good[1]["id"]]
    assert [(r.reason, r.doc.meta["source"]) for r in rejected] == [
        ("read:bad_json", "mixed.jsonl#2"),
        ("read:missing_text", "mixed.jsonl#3"),
        ("read:text_not_string", "mixed.jsonl#4"),
        ("read:invalid_utf8", "mixed.jsonl#5"),
        ("read:not_an_object", "mixed.jsonl#6"),
    ]
    assert "\ufffd" in rejected[3].doc.text


def test_empty_file_is_a_file_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    (error,) = _items(path)
    assert isinstance(error, FileError)
    assert error.file == "empty.jsonl" and "empty" in error.error


def test_truncated_gzip_yields_records_before_the_cut_and_an_offset(tmp_path: Path) -> None:
    data = (DATA / "prose" / "brown.jsonl.gz").read_bytes()
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    items = _items(path)
    docs = [i for i in items if isinstance(i, Document)]
    assert isinstance(items[-1], FileError)
    assert "after line" in items[-1].offset and "truncated" in items[-1].error
    assert 100 < len(docs) < 500
    assert [d.id for d in docs] == [r["id"] for r in _real_records(len(docs))]


def test_zstd_and_gzip_and_plain_read_the_same(tmp_path: Path) -> None:
    raw = gzip.decompress((DATA / "prose" / "kjv.jsonl.gz").read_bytes())
    (tmp_path / "a.jsonl").write_bytes(raw)
    (tmp_path / "a.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(raw))
    plain = [(d.id, d.text) for d in _items(tmp_path / "a.jsonl")]
    assert len(plain) == 66
    assert [(d.id, d.text) for d in _items(tmp_path / "a.jsonl.zst")] == plain
    assert [(d.id, d.text) for d in _items(DATA / "prose" / "kjv.jsonl.gz")] == plain


def test_plain_text_file_is_one_document(tmp_path: Path) -> None:
    text = _real_records(1)[0]["text"]
    (tmp_path / "page.txt").write_text(text, encoding="utf-8")
    (tmp_path / "bad.txt").write_bytes(b"ok then \xff\xfe broken")
    (doc,) = _items(tmp_path / "page.txt")
    assert (doc.id, doc.text) == ("page.txt", text)
    (bad,) = _items(tmp_path / "bad.txt")
    assert isinstance(bad, Rejected) and bad.reason == "read:invalid_utf8"


def test_parquet_reader_with_meta_json_and_extra_columns(tmp_path: Path) -> None:
    table = pa.table(
        {
            "id": ["a", None],
            "text": ["first text", "second text"],
            "meta": ['{"url": "https://example.org/"}', None],
            "score": [0.5, 0.7],
        }
    )
    pq.write_table(table, tmp_path / "t.parquet")
    docs = _items(tmp_path / "t.parquet")
    assert [(d.id, d.text) for d in docs] == [("a", "first text"), ("t.parquet#2", "second text")]
    assert docs[0].meta == {"url": "https://example.org/", "score": 0.5, "source": "t.parquet#1"}
    assert docs[1].meta == {"score": 0.7, "source": "t.parquet#2"}


def _three_rows(folder: Path, ids: list[str], metas: list[str]) -> list:
    """The items read from ``folder/t.parquet``, written with the texts "one", "two", "three" and
    the given ``id`` and ``meta`` columns."""
    table = pa.table({"id": ids, "text": ["one", "two", "three"], "meta": metas})
    pq.write_table(table, folder / "t.parquet")
    return _items(folder / "t.parquet")


def test_parquet_row_with_bad_meta_is_rejected_and_the_file_goes_on(tmp_path: Path) -> None:
    metas = ['{"url": "u"}', '{"url": ', "[1, 2]"]
    good, truncated, listed = _three_rows(tmp_path, ["a", "b", "c"], metas)
    assert isinstance(good, Document) and good.meta == {"url": "u", "source": "t.parquet#1"}
    assert isinstance(truncated, Rejected) and truncated.reason == "read:bad_meta"
    assert (truncated.doc.id, truncated.doc.text) == ("b", "two")
    assert (
        truncated.doc.meta["error"]
        == "row 2: meta is not a JSON object (Expecting value at char 8)"
    )
    assert (
        isinstance(listed, Rejected)
        and listed.doc.meta["error"] == "row 3: meta is not a JSON object (a list)"
    )


def test_glob_sources_are_relative_to_the_part_before_the_first_wildcard(
    tmp_path: Path, monkeypatch
) -> None:
    from scratchlm.curate.inputs import expand_inputs

    (tmp_path / "d1").mkdir()
    (tmp_path / "d1" / "x.txt").write_text("x", encoding="utf-8")
    (tmp_path / "doc1.txt").write_text("y", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert [i.source for i in expand_inputs(["d1/*.txt"])] == ["x.txt"]
    assert [i.source for i in expand_inputs(["d?/x.txt"])] == ["d1/x.txt"]
    assert [i.source for i in expand_inputs(["doc*.txt"])] == ["doc1.txt"]
    assert [i.source for i in expand_inputs([f"{tmp_path}/d1/*.txt"])] == ["x.txt"]


def test_a_repeated_id_in_one_file_is_counted_and_made_unique(tmp_path: Path) -> None:
    records = _real_records(4)
    ids = [records[0]["id"], records[1]["id"], records[0]["id"], f"{records[0]['id']}~3"]
    path = tmp_path / "repeats.jsonl"
    path.write_text(
        "".join(json.dumps({**r, "id": i}) + "\n" for r, i in zip(records, ids)), encoding="utf-8"
    )
    items = _items(path)
    assert items[2] == Counted("read:repeated_ids") and items[4] == Counted("read:repeated_ids")
    docs = [i for i in items if isinstance(i, Document)]
    first = records[0]["id"]
    # the third record takes its position as suffix; the fourth, whose own id is now taken, too
    assert [d.id for d in docs] == [first, records[1]["id"], f"{first}~3", f"{first}~3~4"]
    assert [d.meta.get("original_id") for d in docs] == [None, None, first, f"{first}~3"]
    assert [d.text for d in docs] == [r["text"] for r in records]
    # the same id in another file is that file's own: ids are made unique per file
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps(records[0]) + "\n", encoding="utf-8")
    assert [d.id for d in _items(other)] == [first]


def test_a_repeated_id_of_a_rejected_record_is_made_unique_too(tmp_path: Path) -> None:
    items = _three_rows(tmp_path, ["a", "a", "a"], ['{"url": "u"}', "[1]", "{}"])
    kinds = ["Document", "Counted", "Rejected", "Counted", "Document"]
    assert [type(i).__name__ for i in items] == kinds
    assert [items[0].id, items[2].doc.id, items[4].id] == ["a", "a~2", "a~3"]
    assert items[2].doc.meta["original_id"] == "a" == items[4].meta["original_id"]


def test_blank_lines_are_counted_not_documents(tmp_path: Path) -> None:
    records = _real_records(2)
    path = tmp_path / "blanks.jsonl"
    first, second = (json.dumps(r) for r in records)
    path.write_text(f"\n{first}\n  \n\n{second}\n\n", encoding="utf-8")
    items = _items(path)
    blank = Counted("read:blank_lines")
    assert items == [blank, items[1], blank, blank, items[4], blank]
    assert [i.id for i in (items[1], items[4])] == [r["id"] for r in records]
    assert items[4].meta["source"] == "blanks.jsonl#2"  # records are numbered without blank lines
