"""The changes that made text code linear keep its outputs: each is checked against the form it
replaced."""

from __future__ import annotations

import itertools
import re
import unicodedata

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adversarial import grows_linearly
from scratchlm.curate import extract
from scratchlm.curate.decontam.evalfile import clean_hellaswag
from scratchlm.curate.dedup.normalize import (
    GRAPHEME_JOINER,
    STREAM_SAFE_RUN,
    Normalization,
    prenormalize,
)
from scratchlm.curate.document import Document
from scratchlm.curate.stages.pii import PHONE
from scratchlm.curate.stages.url_filter import UrlFilter

# letters, precomposed letters, marks of two combining classes, characters decomposing to marks
_MARKED = st.lists(
    st.sampled_from(
        ["a", "B", " ", "é", "İ", "ﬁ", "\u0301", "\u0316", "\u0344", "\u0f73", "\u0316\u0301" * 8]
    ),
    max_size=30,
).map("".join)


def _stream_safe(text: str) -> str:
    """A grapheme joiner after every 30 consecutive characters that decompose to a non-starter."""
    out, run = [], 0
    for ch in text:
        if run == STREAM_SAFE_RUN and unicodedata.combining(unicodedata.normalize("NFKD", ch)[0]):
            out.append(GRAPHEME_JOINER)
            run = 0
        run = run + 1 if unicodedata.combining(unicodedata.normalize("NFKD", ch)[0]) else 0
        out.append(ch)
    return "".join(out)


@settings(max_examples=400, deadline=None)
@given(st.lists(_MARKED, min_size=1, max_size=4))
def test_nfkc_is_arrows_on_stream_safe_text(texts):
    """Unchanged where no run of marks exceeds 30; beyond, as if a joiner followed each 30th."""
    lowered = pc.utf8_lower(pa.array(texts))
    expected = pc.utf8_normalize(
        pa.array([_stream_safe(t) for t in lowered.to_pylist()]), form="NFKC"
    )
    assert prenormalize(pa.array(texts), Normalization()).to_pylist() == expected.to_pylist()


def test_only_long_runs_of_marks_change():
    texts = ["plain ascii", "e" + "\u0301" * STREAM_SAFE_RUN, "e" + "\u0316\u0301" * 40, None]
    plain = pc.utf8_normalize(pc.utf8_lower(pa.array(texts)), form="NFKC").to_pylist()
    got = prenormalize(pa.array(texts), Normalization()).to_pylist()
    assert got[:2] == plain[:2] and got[3] is None
    assert got[2].count(GRAPHEME_JOINER) == 2 and got[2].replace(GRAPHEME_JOINER, "") != plain[2]


# canonical_url: the tag pattern scanned to the head's end from every "<link" that lacks its ">",
# and
# the attribute pattern tried a name from each of its letters
_OLD_LINK_TAG = re.compile(r"<link\b[^>]*>", re.IGNORECASE)
_OLD_ATTRIBUTE = re.compile(r"""([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
_HEAD = st.lists(
    st.sampled_from(
        [
            "<link",
            "<LINK",
            "<linked",
            "<",
            " ",
            "\n",
            "rel",
            "=",
            "canonical",
            "href",
            '"',
            "'",
            ">",
            "a-b",
            "http://x/",
            "</head>",
            "-",
            "Z",
        ]
    ),
    max_size=40,
).map("".join)


@settings(max_examples=2000, deadline=None)
@given(_HEAD)
def test_link_tags_and_attributes_are_the_old_patterns(html):
    old_tags = [m.group() for m in _OLD_LINK_TAG.finditer(html)]
    assert list(extract._link_tags(html, len(html))) == old_tags
    for tag in old_tags + [html]:
        assert [m.groups() for m in extract.ATTRIBUTE.finditer(tag)] == [
            m.groups() for m in _OLD_ATTRIBUTE.finditer(tag)
        ]


def test_canonical_url_is_found_as_before():
    page = (
        '<html><head><link rel="stylesheet" href="a.css"><LINK '
        'REL=Canonical HREF=" https://x.org/p "></head>'
    )
    assert extract.canonical_url(page) == "https://x.org/p"
    assert extract.canonical_url(page.replace("Canonical", "alternate")) is None


@pytest.mark.parametrize(
    "make",
    [
        lambda n: "<html><head>" + "<link " * (n // 6),  # no ">" after any of them
        lambda n: "<head><link " + "a" * n + ">",  # a name without "="
        lambda n: "<head>" + '<link a="x ' * (n // 10),  # quotes never closed
    ],
    ids=["unclosed_links", "long_name", "unclosed_quotes"],
)
def test_canonical_url_grows_linearly(make):
    assert grows_linearly(extract.canonical_url, make, n=25_000)


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [b"<meta", b"<META", b" ", b"\t", b"charset", b"=", b'"', b"'", b">", b"utf-8", b"x"]
        ),
        max_size=40,
    ).map(b"".join)
)
def test_meta_charset_is_found_as_the_old_pattern_found_it(body):
    old = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.IGNORECASE)
    expected, found = old.search(body, 0, extract.META_SCAN_BYTES), extract._meta_charset(body)
    assert (found and (found.span(), found.group(1))) == (
        expected and (expected.span(), expected.group(1))
    )


def test_meta_charset_scan_grows_linearly():
    assert grows_linearly(
        lambda page: extract._meta_charset(page.encode()), lambda n: "<meta " * (n // 6), n=1000
    )


# url_filter joined every suffix of the host: quadratic in the number of labels
_DOMAINS = ["example.net", "a.b.example.net", "co.uk", "x..y", "localhost"]


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from(["a", "b", "example", "net", "co", "uk", "x", "y", "", "localhost"]),
        min_size=1,
        max_size=8,
    ).map(".".join)
)
def test_url_filter_blocks_the_hosts_it_blocked(host):
    labels = host.rstrip(".").split(".")
    listed = any(".".join(labels[i:]) in _DOMAINS for i in range(len(labels)))  # the old rule
    stage = UrlFilter(domains=_DOMAINS, badwords_language=None)
    assert (
        stage(Document("d", "t", {"url": f"https://{host}/p"})) == "url_filter:domain"
    ) == listed


def test_url_filter_grows_linearly_with_the_hosts_labels():
    stage = UrlFilter(domains=["example.net"])
    assert grows_linearly(
        lambda url: stage(Document("d", "t", {"url": url})),
        lambda n: "http://" + "a." * (n // 2) + "net/",
        n=25_000,
    )


# HellaSwag's markup: the lazy pattern rescanned a line from each of its unclosed "["
@settings(max_examples=1000, deadline=None)
@given(
    st.lists(
        st.sampled_from(["[", "]", "\n", "a", " ", "  ", "[title]", " [title]", "[step]", "\r"]),
        max_size=30,
    ).map("".join)
)
def test_hellaswag_markup_is_removed_as_before(text):
    stripped = text.strip().replace(" [title]", ". ")
    assert clean_hellaswag(text) == re.sub(r"\[.*?\]", "", stripped).replace("  ", " ")


def test_hellaswag_cleaning_grows_linearly():
    assert grows_linearly(clean_hellaswag, lambda n: "[" * n, n=25_000)


# Phone numbers: the groups after +CC split a run of digits in every possible way before failing
_OLD_PHONE = re.compile(
    r"(?<![\w+.-])(?:"
    r"\+\d{1,3}(?:[ .-]?\(0?\d{1,4}\))?(?:[ .-]?\d{1,5}){2,5}"
    r"|\(0?\d{2,5}\)[ .-]?\d{3,4}(?:[ .-]?\d{2,4}){1,2}"
    r"|0\d{1,4}(?:[ /-]\d{2,8}){1,4}"
    r"|[2-9]\d{2}[.-]\d{3}[.-]\d{4}"
    r")(?![\w-]|\.\d)"
)
_DIALLED = st.lists(
    st.sampled_from(
        ["1", "2", "0", "5", " ", ".", "-", "(", ")", "+", "a", "/", "12345", "+44 ", "(0)"]
    ),
    max_size=30,
).map("".join)


@settings(max_examples=3000, deadline=None)
@given(_DIALLED)
def test_phone_numbers_are_the_old_patterns_matches(text):
    assert [m.span() for m in PHONE.finditer(text)] == [m.span() for m in _OLD_PHONE.finditer(text)]


@pytest.mark.parametrize("prefix", ["+1", "+123", "+12 (0)", "+1-(1234)"])
def test_phone_numbers_after_a_country_code_are_the_old_patterns_matches(prefix):
    for runs in itertools.chain.from_iterable(
        itertools.product(range(1, 8), repeat=k) for k in range(4)
    ):
        for separator in (" ", ".", "-", ""):
            for tail in ("", " x", "x", "-", ".5", "-1"):
                text = prefix + "".join(separator + "2" * r for r in runs) + tail
                assert [m.span() for m in PHONE.finditer(text)] == [
                    m.span() for m in _OLD_PHONE.finditer(text)
                ], text
