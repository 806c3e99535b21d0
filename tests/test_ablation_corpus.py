"""benchmarks/ablation_corpus.py on packages made here (no network): archive reading, text
extraction, the next-sentence task, and a build that is the same byte for byte, holds out whole
page groups and samples nested subsets."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from benchmarks import ablation_corpus as ac
from benchmarks.corpus_extract import ar_members, deb_files, dictd_entries, roff_text
from benchmarks.corpus_heldout import next_sentence_items, sentences


def _tar_xz(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:xz") as archive:
        for name, body in files.items():
            info = tarfile.TarInfo(f"./{name}")
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
    return buffer.getvalue()


def _ar(members: list[tuple[str, bytes]]) -> bytes:
    out = [b"!<arch>\n"]
    for name, body in members:
        header = f"{name:<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(body):<10}`\n".encode("ascii")
        out += [header, body, b"\n" if len(body) % 2 else b""]
    return b"".join(out)


def _deb(path: Path, files: dict[str, bytes]) -> Path:
    path.write_bytes(
        _ar(
            [
                ("debian-binary", b"2.0\n"),
                ("control.tar.xz", _tar_xz({"control": b"x"})),
                ("data.tar.xz", _tar_xz(files)),
            ]
        )
    )
    return path


def test_a_deb_is_read_as_its_data_files_in_path_order(tmp_path):
    deb = _deb(tmp_path / "x_1_all.deb", {"usr/b.txt": b"bee", "usr/a.txt": b"odd"})
    assert [name for name, _ in ar_members(deb.read_bytes())] == [
        "debian-binary",
        "control.tar.xz",
        "data.tar.xz",
    ]
    assert list(deb_files(deb)) == [("usr/a.txt", b"odd"), ("usr/b.txt", b"bee")]


def test_a_manual_page_keeps_its_words_and_drops_requests():
    page = gzip.compress(
        b'.\\" a comment\n.TH LS 1\n.SH NAME\nls \\- list \\fBdirectory\\fR contents\n'
        b".PP\n.B \\-a\nshow \\(aqall\\(aq entries\n"
    )
    assert roff_text(page) == [("", "NAME\nls - list directory contents\n-a\nshow  all  entries")]


def test_dictd_entries_follow_the_base64_index():
    data = b"first entry text\nsecond one"
    index = (
        b"00databaseinfo\tA\tB\nalpha\tA\tQ\nbeta\tR\tK\n"  # offsets 0 and 17, lengths 16 and 10
    )
    assert dictd_entries(gzip.compress(data), index) == ["first entry text", "second one"]


def test_next_sentence_items_put_the_true_sentence_among_other_documents_sentences():
    texts = [
        " ".join(f"Report {k} says that meeting {i} of the {topic} ended late." for i in range(16))
        for k, topic in enumerate(["council", "harvest board", "river guild"])
    ]
    items = next_sentence_items(texts, max_items=50)
    assert items == next_sentence_items(texts, max_items=50)  # deterministic
    assert items
    for item in items:
        assert len(item["choices"]) == len(set(item["choices"])) == 4
        right = item["choices"][item["answer"]]
        source = next(t for t in texts if item["context"] in " ".join(sentences(t)))
        doc = sentences(source)
        position = [i for i in range(3, len(doc)) if " ".join(doc[i - 3 : i]) == item["context"]]
        assert right in [doc[i] for i in position]
        for wrong in item["choices"]:
            if wrong != right:
                assert wrong not in " ".join(sentences(source))
    assert {item["answer"] for item in items} <= {0, 1, 2, 3}


def _packages(cache: Path) -> tuple[ac.Source, ...]:
    """Two sources made here: pages in two languages with a held-out share, and a word list."""
    pages = {
        f"usr/share/doc/html/{lang}/page{i}.html": (
            "<html><body><p>"
            + " ".join(
                f"Page {i} in {lang} explains step {j} of the setup in plain words."
                for j in range(12)
            )
            + "</p></body></html>"
        ).encode()
        for lang in ("en", "de")
        for i in range(12)
    }
    pages["usr/share/doc/pages/changelog.Debian.gz"] = gzip.compress(
        b"pkg (1.0) unstable; urgency=low\n" * 20
    )
    words = {"usr/share/dict/words": "\n".join(f"word{i}" for i in range(5000)).encode()}
    made = []
    for name, files in (("pages", pages), ("words", words)):
        path = _deb(cache / f"{name}_1.0_all.deb", files)
        made.append(ac.Package("deb", name, "1.0", hashlib.sha256(path.read_bytes()).hexdigest()))
    return (
        ac.Source(
            "pages",
            "technical",
            "test",
            (made[0],),
            r"html/.*\.html$",
            "html",
            r"html/[^/]+/(.*)\.html$",
            heldout=250,
            heldout_select=r"/en/",
            task=True,
        ),
        ac.Source("words", "table", "test", (made[1],), r"dict/words$", "words"),
        ac.Source("changelogs", "log", "test", (made[0],), ac.CHANGELOG, "text"),
    )


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _pool(folder: Path, source: str) -> list[dict]:
    path = folder / "pool" / f"{source}.jsonl.gz"
    return (
        [json.loads(line) for line in gzip.decompress(path.read_bytes()).splitlines()]
        if path.exists()
        else []
    )


def test_a_build_is_byte_for_byte_the_same_and_holds_out_whole_groups(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    sources = _packages(cache)
    tallies = [
        ac.build(tmp_path / name, cache, 1.0, lambda _: None, sources) for name in ("a", "b")
    ]
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    pool = _pool(tmp_path / "a", "pages")
    heldout = [
        json.loads(line)
        for line in (tmp_path / "a" / "heldout" / "pages.jsonl").read_text().splitlines()
    ]
    held_groups = {"pages:" + r["id"].split("/")[-1].removesuffix(".html") for r in heldout}
    assert held_groups and all(r["id"].startswith("pages/usr/share/doc/html/en/") for r in heldout)
    assert not held_groups & {
        r["corpus"]["group"] for r in pool
    }  # no rendering of a held-out page in the pool
    assert (
        len(pool) + len(held_groups) * 2 == 24
    )  # every page is in the pool or held out (both languages)
    assert pool[0]["corpus"] == {
        "source": "pages",
        "kind": "technical",
        "licence": "test",
        "package": "pages=1.0",
        "group": pool[0]["corpus"]["group"],
    }
    rows = {r["source"]: r for r in ac.composition(tallies[0], sources)}
    assert rows["pages"]["docs"] == len(pool) and rows["pages"]["heldout_docs"] == len(heldout)
    assert (
        rows["words"]["docs"] == 3 and rows["words"]["duplicate_share"] == 0.0
    )  # 5,000 words, 2,000 a doc
    assert rows["changelogs"]["docs"] == 1
    assert rows["pages"]["mb"] == round(sum(len(r["text"].encode()) for r in pool) / 1e6, 2)
    table = ac.table(list(rows.values()), 2)
    assert f"| pages | technical | 1 | {len(pool):,} |" in table
    task = (tmp_path / "a" / "heldout" / "next_sentence.jsonl").read_text().splitlines()
    assert task and all(len(json.loads(line)["choices"]) == 4 for line in task)


def test_sampling_keeps_nested_whole_groups(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    sources = _packages(cache)
    ac.build(tmp_path / "all", cache, 1.0, lambda _: None, sources)
    ac.build(tmp_path / "half", cache, 0.5, lambda _: None, sources)
    full, half = _pool(tmp_path / "all", "pages"), _pool(tmp_path / "half", "pages")
    assert 0 < len(half) < len(full)
    assert all(record in full for record in half)
    groups = [r["corpus"]["group"] for r in half]
    assert all(groups.count(g) == 2 for g in groups)  # both languages of a sampled page
    assert (tmp_path / "all" / "heldout" / "pages.jsonl").read_bytes() == (
        tmp_path / "half" / "heldout" / "pages.jsonl"
    ).read_bytes()  # the evaluation text does not depend on --mb


def test_a_changed_package_file_is_refused(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    sources = _packages(cache)
    path = ac.package_file(sources[1].packages[0], cache)
    path.write_bytes(path.read_bytes() + b"\n")
    with pytest.raises(
        SystemExit, match=r"words_1\.0_all\.deb has sha256 .*, but words=1\.0 is pinned at"
    ):
        ac.download(sources[1].packages[0], cache)


def test_every_pinned_package_has_its_digest():
    packages = ac.package_order()
    assert len(packages) == len(ac.PINS) == len({p.pin for p in packages})
    assert all(len(p.sha256) == 64 for p in packages)


def test_a_list_cut_into_documents_is_sampled_piece_by_piece(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    sources = _packages(cache)
    ac.build(tmp_path / "some", cache, 0.4, lambda _: None, sources)
    pieces = [r["id"] for r in _pool(tmp_path / "some", "words")]
    assert ac.unit("sample:words:usr/share/dict/words") >= 0.4  # the file's own group is left out
    assert pieces == ["words/words/usr/share/dict/words#2"]  # the one piece whose group is kept
