"""Word splitting stays exact and linear on hostile text (dot leaders, runs of one character...)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adversarial import FAMILIES, grows_linearly
from scratchlm.curate.text import words
from scratchlm.curate.text.words import split_words

# The single backtracking pattern the splitter used to be: exact, but exponential on a dot leader.
# Kept here as the oracle that the linear scans must agree with on short pieces.
_ORACLE = re.compile(
    rf"(?P<pre>(?:\.\.+|[{words._EDGE_CHARS}])*)"
    rf"(?P<core>(?:[^\W\d_]\.)+|{words._ABBREVIATIONS}|(?![{words._EDGE_CHARS}]).*?|)"
    r"(?P<clitic>(?i:n['’]t|['’](?:s|re|ve|ll|d|m))?)"
    rf"(?P<post>(?:\.\.+|[.{words._EDGE_CHARS}])*)",
    re.DOTALL,
)
_ORACLE_URL = re.compile(r"(?:https?://|www\.)\S*?(?=[.,;:!?)\]}\"']*$)")


def _oracle_tokens(piece: str) -> list[str]:
    url = _ORACLE_URL.match(piece)
    if url:
        return [url.group(), *words._PUNCT_RUN.findall(piece[url.end() :])]
    pre, core, clitic, post = _ORACLE.fullmatch(piece).group("pre", "core", "clitic", "post")
    out = words._PUNCT_RUN.findall(pre)
    if core:
        out += (
            [t for t in words._INFIX.split(core) if t]
            if not words._INFIX_CHARS.isdisjoint(core)
            else [core]
        )
    if clitic:
        out.append(clitic)
    return out + words._PUNCT_RUN.findall(post)


_PARTS = st.sampled_from(
    [
        *"aUSnts'’.,!?-/:\"()1é_=—",
        "re",
        "Mr.",
        "U.",
        "n't",
        "'s",
        "...",
        "http://",
        "www.",
        "Sept.",
        "Co",
        "e.g.",
        "\u0301",
    ]
)


@settings(max_examples=3000, deadline=None)
@given(st.lists(_PARTS, min_size=1, max_size=10).map("".join))
def test_piece_tokens_equal_the_backtracking_oracle(piece):
    assert list(words._piece_tokens(piece)) == _oracle_tokens(piece)


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=40).filter(lambda s: s.split() == [s]))
def test_piece_tokens_equal_the_oracle_on_any_unicode(piece):
    assert list(words._piece_tokens(piece)) == _oracle_tokens(piece)


def test_a_dot_leader_splits_as_the_oracle_says_at_any_length():
    def tokens(dots: int) -> list[str]:
        line = "ext/Socket/socketpair.t" + "." * dots + "FAILED tests 15-45"
        return [t.replace("." * dots, "<dots>") for t in split_words(line)]

    short = "ext/Socket/socketpair.t" + "." * 12 + "FAILED"
    assert split_words(short) == _oracle_tokens(short)
    assert tokens(12) == tokens(100_000)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_split_words_grows_linearly(family):
    assert grows_linearly(split_words, family)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_split_words_covers_every_non_space_character(text):
    assert "".join(split_words(text)) == "".join(text.split())
