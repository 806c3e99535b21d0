"""The shared text helpers: word splitting on spaCy's boundaries and exact n-gram repetition."""

from __future__ import annotations

from collections import Counter

import pytest

from quality_corpus import fortune, prose, web
from scratchlm.curate.text.repetition import NgramIndex
from scratchlm.curate.text.words import count_sentences, split_words


@pytest.mark.parametrize(
    "text, tokens",
    [
        ("Don't stop, it's 3.14.", ["Do", "n't", "stop", ",", "it", "'s", "3.14", "."]),
        (
            "e.g. the U.S. Army... Mr. Smith (yes)",
            ["e.g.", "the", "U.S.", "Army", "...", "Mr.", "Smith", "(", "yes", ")"],
        ),
        (
            "well-known O'Neil -m /etc 1,000",
            ["well", "-", "known", "O'Neil", "-m", "/etc", "1,000"],
        ),
        ("see https://example.com/a?b=1.", ["see", "https://example.com/a?b=1", "."]),
        ("我们来回顾一下，现代Debian。", ["我们来回顾一下，现代Debian", "。"]),
    ],
)
def test_words_follow_spacy_boundaries(text, tokens):
    assert split_words(text) == tokens


@pytest.mark.parametrize(
    "doc",
    [
        prose("brown/ca01"),
        web("https://docs.python.org/3.11/library/json.html"),
        fortune("fortune/zh/chinese#189"),
    ],
    ids=["prose", "python-docs", "chinese"],
)
def test_words_cover_every_non_space_character(doc):
    assert "".join(split_words(doc.text)) == "".join(doc.text.split())


def test_sentences_end_at_final_punctuation_before_a_word():
    assert (
        count_sentences(split_words('He left. "Why?" she asked. Mr. Smith, e.g. J. Doe, stayed.'))
        == 4
    )  # He left. | "Why?" | she asked. | Mr. Smith ...
    assert count_sentences([]) == 0


def _reference_top(words: list[str], n: int) -> int:
    counts = Counter(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
    gram, count = counts.most_common(1)[0]
    return len(gram) * count


def _reference_duplicates(words: list[str], n: int) -> int:
    seen, chars, i = set(), 0, 0
    while i < len(words) - n + 1:
        gram = tuple(words[i : i + n])
        if gram in seen:
            chars += sum(map(len, gram))
            i += n
        else:
            seen.add(gram)
            i += 1
    return chars


@pytest.mark.parametrize(
    "doc",
    [
        prose("kjv/02-Exodus"),
        web("https://docs.python.org/3.11/c-api/long.html"),
        fortune("fortune/de/de/zitate#3755"),
    ],
    ids=["kjv", "python-docs", "fortune"],
)
def test_ngram_index_equals_the_plain_definition(doc):
    words = split_words(doc.text)
    index = NgramIndex(words)
    assert [index.top_ngram_chars(n) for n in (2, 3, 4)] == [
        _reference_top(words, n) for n in (2, 3, 4)
    ]
    assert [index.duplicate_ngram_chars(n) for n in range(5, 11)] == [
        _reference_duplicates(words, n) for n in range(5, 11)
    ]
    assert index.duplicate_ngram_chars(10) == _reference_duplicates(
        words, 10
    )  # asking again is the same
