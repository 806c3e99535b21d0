"""Gopher quality and repetition rules on real text: each rule keeps good text, drops the text
that breaks it with that rule's reason, and sits exactly on its threshold's boundary."""

from __future__ import annotations

import math

import pytest

from quality_corpus import fortune, prose, web
from scratchlm.curate.stages.gopher_quality import GopherQuality
from scratchlm.curate.stages.gopher_repetition import GopherRepetition

# Thresholds that let every document through, so that one rule at a time can be exercised
# (overlapping top n-grams can cover more characters than the text holds, hence 100).
OPEN_QUALITY = dict(
    min_words=0,
    max_words=10**9,
    min_mean_word_length=0,
    max_mean_word_length=10**9,
    max_symbol_word_ratio=10**9,
    max_bullet_lines_ratio=1.0,
    max_ellipsis_lines_ratio=1.0,
    min_alpha_words_ratio=0.0,
    min_stop_words=0,
)
OPEN_REPETITION = dict(
    max_duplicate_line_fraction=1.0,
    max_duplicate_paragraph_fraction=1.0,
    max_duplicate_line_char_fraction=1.0,
    max_duplicate_paragraph_char_fraction=1.0,
    max_top_ngram_char_fraction={2: 100.0, 3: 100.0, 4: 100.0},
    max_duplicate_ngram_char_fraction={n: 100.0 for n in range(5, 11)},
)

GOOD = ("brown/ca01", "brown/cj20", "kjv/08-Ruth")


@pytest.mark.parametrize("doc_id", GOOD)
def test_clean_prose_passes_every_gopher_rule(doc_id):
    doc = prose(doc_id)
    assert GopherQuality()(doc) is None
    assert GopherRepetition()(doc) is None
    assert doc.meta["gopher_word_count"] > 1000
    assert doc.meta["gopher_stop_words"] == 8


# (document, rule reason, option that the rule reads, the meta signal it compares)
QUALITY_CASES = [
    (lambda: fortune("fortune/de/de/bahnhof#11"), "word_count", "min_words", "gopher_word_count"),
    (
        lambda: web("http://scamlist.onion/index.html"),
        "mean_word_length",
        "max_mean_word_length",
        "gopher_mean_word_length",
    ),
    (
        lambda: fortune("fortune/it/it/italia#3710"),
        "mean_word_length",
        "min_mean_word_length",
        "gopher_mean_word_length",
    ),
    (
        lambda: fortune("fortune/it/it/italia#1796"),
        "hash_ratio",
        "max_symbol_word_ratio",
        "gopher_hash_ratio",
    ),
    (
        lambda: web("http://ub2fkkeeyl3jgwwz.onion/server-status"),
        "ellipsis_ratio",
        "max_symbol_word_ratio",
        "gopher_ellipsis_ratio",
    ),
    (
        lambda: fortune("fortune/it/it/italia#2273"),
        "bullet_lines",
        "max_bullet_lines_ratio",
        "gopher_bullet_lines_ratio",
    ),
    (
        lambda: fortune("fortune/de/de/witze#82"),
        "ellipsis_lines",
        "max_ellipsis_lines_ratio",
        "gopher_ellipsis_lines_ratio",
    ),
    (
        lambda: fortune("fortune/pl/pl/blug#11"),
        "alpha_words",
        "min_alpha_words_ratio",
        "gopher_alpha_words_ratio",
    ),
    (
        lambda: web(
            "https://debian-handbook.info/browse/id-ID/stable/sect.who-is-this-book-for.html"
        ),
        "stop_words",
        "min_stop_words",
        "gopher_stop_words",
    ),
]


@pytest.mark.parametrize(
    "make, rule, option, signal", QUALITY_CASES, ids=[c[1] + ":" + c[2] for c in QUALITY_CASES]
)
def test_gopher_quality_rule_drops_real_text_at_its_threshold(make, rule, option, signal):
    defaults = GopherQuality()
    doc = make()
    # alone with its default threshold, the rule drops the document
    only_rule = GopherQuality(**{**OPEN_QUALITY, option: getattr(defaults, option)})
    assert only_rule(doc) == f"gopher_quality:{rule}"
    value = doc.meta[signal]
    # boundary: a threshold equal to the document's value keeps it, one step past drops it
    lower_bound = option.startswith("min_")
    step = 1 if isinstance(value, int) else (math.nextafter(value, math.inf) - value)
    keep_at = value
    drop_at = value + step if lower_bound else value - step
    if option == "max_symbol_word_ratio" and rule == "ellipsis_ratio":
        assert (
            doc.meta["gopher_hash_ratio"] <= value
        )  # the shared threshold is decided by this signal
    assert GopherQuality(**{**OPEN_QUALITY, option: keep_at})(make()) is None
    assert GopherQuality(**{**OPEN_QUALITY, option: drop_at})(make()) == f"gopher_quality:{rule}"


def test_word_count_upper_bound_and_annotate_mode_records_every_signal():
    doc = prose("brown/ca01")
    stage = GopherQuality(action="annotate", max_words=100)
    assert stage(doc) == "gopher_quality:word_count"
    # annotate mode computes the later signals too, drop mode stops at the first failure
    assert "gopher_stop_words" in doc.meta
    dropped = prose("brown/ca01")
    assert GopherQuality(max_words=100)(dropped) == "gopher_quality:word_count"
    assert "gopher_stop_words" not in dropped.meta


def test_stop_words_of_the_document_language_with_iso_lists():
    doc = web("https://debian-handbook.info/browse/id-ID/stable/sect.who-is-this-book-for.html")
    doc.meta["lang"] = "id"
    assert GopherQuality(stop_words="iso")(doc) is None
    assert doc.meta["gopher_stop_words"] >= 2


REPETITION_CASES = [
    (
        lambda: web("https://docs.python.org/3.11/c-api/buffer.html"),
        "duplicate_paragraphs",
        "max_duplicate_paragraph_fraction",
        "gopher_dup_para_frac",
    ),
    (
        lambda: prose("brown/ce27"),
        "duplicate_paragraphs",
        "max_duplicate_paragraph_fraction",
        "gopher_dup_para_frac",
    ),
    (
        lambda: web("https://docs.python.org/3.11/c-api/long.html"),
        "duplicate_lines",
        "max_duplicate_line_fraction",
        "gopher_dup_line_frac",
    ),
    (
        lambda: fortune("fortune/zh/chinese#189"),
        "duplicate_line_chars",
        "max_duplicate_line_char_fraction",
        "gopher_dup_line_char_frac",
    ),
    (
        lambda: web("https://docs.python.org/3.11/faq/index.html"),
        "top_2gram",
        2,
        "gopher_top_2gram_char_frac",
    ),
    (
        lambda: web("https://docs.python.org/3.11/c-api/objimpl.html"),
        "top_3gram",
        3,
        "gopher_top_3gram_char_frac",
    ),
    (
        lambda: web("https://docs.python.org/3.11/library/i18n.html"),
        "top_4gram",
        4,
        "gopher_top_4gram_char_frac",
    ),
    (lambda: prose("kjv/02-Exodus"), "duplicate_5grams", 5, "gopher_dup_5gram_char_frac"),
    (
        lambda: web("https://docs.python.org/3.11/library/tty.html"),
        "duplicate_6grams",
        6,
        "gopher_dup_6gram_char_frac",
    ),
    (
        lambda: fortune("fortune/pl/pl/argante#576"),
        "duplicate_7grams",
        7,
        "gopher_dup_7gram_char_frac",
    ),
    (
        lambda: fortune("fortune/it/it/italia#946"),
        "duplicate_8grams",
        8,
        "gopher_dup_8gram_char_frac",
    ),
    (
        lambda: fortune("fortune/de/de/zitate#3755"),
        "duplicate_10grams",
        10,
        "gopher_dup_10gram_char_frac",
    ),
]


def _repetition(option, value) -> GopherRepetition:
    if isinstance(option, int):
        key = "max_top_ngram_char_fraction" if option < 5 else "max_duplicate_ngram_char_fraction"
        return GopherRepetition(**{**OPEN_REPETITION, key: {**OPEN_REPETITION[key], option: value}})
    return GopherRepetition(**{**OPEN_REPETITION, option: value})


def _default(option) -> float:
    defaults = GopherRepetition()
    if isinstance(option, int):
        table = (
            defaults.max_top_ngram_char_fraction
            if option < 5
            else defaults.max_duplicate_ngram_char_fraction
        )
        return table[option]
    return getattr(defaults, option)


@pytest.mark.parametrize(
    "make, rule, option, signal", REPETITION_CASES, ids=[c[1] for c in REPETITION_CASES]
)
def test_gopher_repetition_rule_drops_real_text_at_its_threshold(make, rule, option, signal):
    doc = make()
    assert _repetition(option, _default(option))(doc) == f"gopher_repetition:{rule}"
    value = doc.meta[signal]
    assert value > _default(option)
    assert _repetition(option, value)(make()) is None
    assert _repetition(option, math.nextafter(value, 0.0))(make()) == f"gopher_repetition:{rule}"


def test_repeated_ngrams_are_counted_once_without_overlap():
    # a real sentence repeated three times: the second and third copies are duplicated n-grams
    sentence = prose("brown/ca01").text.split("\n")[0]
    once = GopherRepetition(action="annotate")
    single = prose("brown/ca01")
    single.text = sentence
    once(single)
    assert single.meta["gopher_dup_5gram_char_frac"] == 0.0
    tripled = prose("brown/ca01")
    tripled.text = " ".join([sentence] * 3)
    once(tripled)
    words_chars = sum(len(w) for w in sentence.split(" ") if w)
    # two of three copies are repeats: at most their characters, at least most of them
    assert (
        0.5
        < tripled.meta["gopher_dup_5gram_char_frac"] * len(tripled.text) / (2 * words_chars)
        <= 1.0
    )


def test_top_ngram_sizes_must_precede_duplicate_sizes():
    with pytest.raises(ValueError):
        GopherRepetition(max_top_ngram_char_fraction={6: 0.1})
