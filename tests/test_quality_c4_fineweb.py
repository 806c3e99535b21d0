"""C4 line cleaning and page rules, C4 bad words and FineWeb heuristics on real pages and prose."""

from __future__ import annotations

import math

import pytest

from quality_corpus import fortune, prose, web
from scratchlm.curate.document import Document
from scratchlm.curate.stages.c4_badwords import C4Badwords
from scratchlm.curate.stages.c4_quality import C4Quality
from scratchlm.curate.stages.fineweb_quality import FinewebQuality

# The standard "Lorem ipsum" placeholder passage (from Cicero, De finibus 1.10.32), as left in
# unfinished web pages.
LOREM = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt "
    "ut labore et dolore magna aliqua."
)


def _kept(stage: C4Quality, doc: Document) -> Document:
    result = stage(doc)
    assert isinstance(result, Document), result
    return result


def test_c4_keeps_prose_lines_and_records_counts():
    doc = prose("brown/ca01")
    out = _kept(C4Quality(), doc)
    assert out.meta["c4_sentences"] >= 5 and out.meta["c4_lines_kept"] > 10
    assert all(line.endswith((".", "?", "!", '"')) for line in out.text.splitlines())
    assert out.meta["c4_lines_kept"] + out.meta["c4_lines_removed"] == len(doc.text.splitlines())


@pytest.mark.parametrize(
    "url, needle",
    [
        ("https://docs.python.org/3.11/library/json.html", "javascript"),
        ("https://scrapinghub.com/enterprise-solutions/", "uses cookies"),
    ],
)
def test_c4_removes_javascript_and_cookie_notice_lines(url, needle):
    doc = web(url)
    candidates = [
        line
        for line in doc.text.splitlines()
        if needle in line.lower() and line.strip().endswith((".", "!", "?", '"'))
    ]
    assert candidates, "the page holds a line that only this rule removes"
    out = C4Quality(min_sentences=0)(doc)
    assert isinstance(out, Document) and needle not in out.text.lower()
    option = "drop_javascript_lines" if needle == "javascript" else "drop_policy_lines"
    assert needle in C4Quality(min_sentences=0, **{option: False})(web(url)).text.lower()


def test_c4_strips_citation_markers():
    # "...EA IFF 85 chunks. [1] This format..."
    url = "https://docs.python.org/3.11/library/chunk.html"
    assert "chunks. [1] This" in web(url).text
    out = _kept(C4Quality(), web(url))
    assert "chunks.  This" in out.text and "[1]" not in out.text
    assert "chunks. [1] This" in _kept(C4Quality(remove_citations=False), web(url)).text


def test_c4_drops_lines_with_words_over_the_length_limit():
    url = "https://debian-handbook.info/browse/id-ID/stable/sect.dealing-with-compromised-machine.html"
    doc = web(url)
    longest = max(len(w) for w in doc.text.split())
    assert longest > 1000
    out = C4Quality(min_sentences=0, require_end_mark=False)(doc)
    assert max(len(w) for w in out.text.split()) <= 1000
    kept = C4Quality(min_sentences=0, require_end_mark=False, max_word_length=longest)(web(url))
    assert max(len(w) for w in kept.text.split()) == longest


def test_c4_page_rules_curly_bracket_and_lorem_ipsum():
    assert (
        C4Quality()(web("https://docs.python.org/3.11/using/windows.html"))
        == "c4_quality:curly_bracket"
    )
    assert C4Quality()(prose("brown/cj20")) == "c4_quality:curly_bracket"
    page = prose("brown/ca01")
    page.text += "\n" + LOREM
    assert C4Quality()(page) == "c4_quality:lorem_ipsum"
    assert isinstance(C4Quality(drop_lorem_ipsum=False)(page), Document)


def test_c4_sentence_and_words_per_line_boundaries():
    doc = fortune("fortune/de/de/infodrom#361")
    out = _kept(C4Quality(action="drop"), doc)
    n = out.meta["c4_sentences"]
    assert n >= 5
    assert isinstance(C4Quality(min_sentences=n)(fortune("fortune/de/de/infodrom#361")), Document)
    assert (
        C4Quality(min_sentences=n + 1)(fortune("fortune/de/de/infodrom#361"))
        == "c4_quality:too_few_sentences"
    )
    assert C4Quality()(fortune("fortune/de/de/bahnhof#11")) == "c4_quality:too_few_sentences"
    # a line of exactly k words is kept with min_words_per_line=k and removed with k+1
    line = next(t.strip() for t in prose("brown/ca01").text.splitlines() if t.strip().endswith("."))
    k = len(line.split())
    single = Document("one", line)
    assert C4Quality(min_sentences=0, min_words_per_line=k)(single).text == line
    assert C4Quality(min_sentences=0, min_words_per_line=k + 1)(Document("one", line)).text == ""


def test_c4_annotate_mode_leaves_text_alone():
    doc = prose("brown/ca01")
    original = doc.text
    assert C4Quality(action="annotate")(doc) is None
    assert doc.text == original and doc.meta["c4_lines_removed"] > 0


def test_c4_badwords_per_language_and_keep_fraction():
    stage = C4Badwords()
    assert stage(prose("brown/ca01")) is None
    moby = web("https://httpbin.org/html")
    assert stage(moby) == "c4_badwords:badword"
    assert moby.meta["c4_badword"]
    italian = fortune("fortune/it/it/italia#2679")  # meta.lang it: the Italian list applies
    assert stage(italian) == "c4_badwords:badword"
    italian.meta["lang"] = "en"
    assert stage(italian) is None
    assert (
        stage(fortune("fortune/zh/chinese#1535")) == "c4_badwords:badword"
    )  # unspaced: substring match
    assert stage(fortune("fortune/it/it/italia#946")) is None
    no_list = fortune(next(i for i in _ids() if i.startswith("fortune/bg")))
    assert stage(no_list) is None
    assert C4Badwords(missing="drop")(no_list) == "c4_badwords:no_list"
    # keep_fraction keeps a deterministic share of matching pages
    matching = [
        prose(f"kjv/{name}")
        for name in ("01-Genesis", "02-Exodus", "03-Leviticus", "04-Numbers", "05-Deuteronomy")
    ]
    first = [C4Badwords(keep_fraction=0.5, seed=1)(d) for d in matching]
    again = [C4Badwords(keep_fraction=0.5, seed=1)(d) for d in matching]
    assert first == again
    assert all(r is None for r in (C4Badwords(keep_fraction=1.0)(d) for d in matching))


def _ids() -> list[str]:
    from quality_corpus import fortunes

    return [d.id for d in fortunes()]


OPEN_FINEWEB = dict(
    min_punct_lines_ratio=0.0,
    max_short_lines_ratio=1.0,
    max_duplicate_line_chars=1.0,
    max_newlines_per_word=10**9,
)
FINEWEB_CASES = [
    (
        lambda: web("https://docs.python.org/3.11/library/tkinter.messagebox.html"),
        "punct_lines",
        "min_punct_lines_ratio",
        "fineweb_punct_lines_ratio",
    ),
    (
        lambda: web("https://debian-handbook.info/browse/id-ID/stable/packaging-system.html"),
        "short_lines",
        "max_short_lines_ratio",
        "fineweb_short_lines_ratio",
    ),
    (
        lambda: web("https://docs.python.org/3.11/c-api/allocation.html"),
        "duplicate_line_chars",
        "max_duplicate_line_chars",
        "fineweb_dup_line_chars_ratio",
    ),
    (
        lambda: web("https://docs.python.org/3.11/library/audit_events.html"),
        "list_like",
        "max_newlines_per_word",
        "fineweb_newlines_per_word",
    ),
]


@pytest.mark.parametrize(
    "make, rule, option, signal", FINEWEB_CASES, ids=[c[1] for c in FINEWEB_CASES]
)
def test_fineweb_rule_drops_real_page_at_its_threshold(make, rule, option, signal):
    default = getattr(FinewebQuality(), option)
    doc = make()
    assert FinewebQuality(**{**OPEN_FINEWEB, option: default})(doc) == f"fineweb_quality:{rule}"
    value = doc.meta[signal]
    assert FinewebQuality(**{**OPEN_FINEWEB, option: value})(make()) is None
    past = math.nextafter(value, math.inf if option.startswith("min_") else 0.0)
    assert FinewebQuality(**{**OPEN_FINEWEB, option: past})(make()) == f"fineweb_quality:{rule}"


def test_fineweb_keeps_prose():
    for doc_id in ("brown/ca01", "kjv/08-Ruth"):
        doc = prose(doc_id)
        assert FinewebQuality()(doc) is None
        assert doc.meta["fineweb_punct_lines_ratio"] > 0.5
