"""Language identification with the real lid.176 model and langdetect on the fortunes sample."""

from __future__ import annotations

from collections import Counter

import pytest

from quality_corpus import fortunes, prose
from scratchlm.curate.document import Document
from scratchlm.curate.errors import ConfigError
from scratchlm.curate.stages.language import Language
from scratchlm.pipelines.config import build


def test_fasttext_top1_accuracy_on_the_langid_sample():
    docs = [d for d in fortunes() if len(d.text) >= 120]
    gold = [d.meta["lang"] for d in docs]
    Language(keep="all").map_batch(docs)
    right = Counter(g for g, d in zip(gold, docs) if d.meta["lang"] == g)
    total = Counter(gold)
    assert sum(right.values()) / len(docs) >= 0.97
    assert all(right[lang] / total[lang] >= 0.9 for lang in total), {
        lang: right[lang] / total[lang] for lang in total
    }
    assert all(0.0 < d.meta["lang_score"] <= 1.0 for d in docs)


def test_langdetect_backend_agrees_on_clear_cases():
    docs = [d for d in fortunes() if d.meta["lang"] in ("de", "ru", "zh")][::10]
    gold = [d.meta["lang"] for d in docs]
    Language(keep="all", backend="langdetect").map_batch(docs)
    assert sum(d.meta["lang"] == g for d, g in zip(docs, gold)) >= 0.9 * len(docs)
    again = [Document(d.id, d.text) for d in docs]
    Language(keep="all", backend="langdetect").map_batch(again)
    assert [d.meta for d in again] == [
        {"lang": d.meta["lang"], "lang_score": d.meta["lang_score"]} for d in docs
    ]


def test_keep_list_thresholds_and_undetermined_text():
    english = prose("brown/ca01")
    german = next(d for d in fortunes() if d.meta["lang"] == "de" and d.text.startswith("Der "))
    short = Document("short", "  ok  \n ")
    stage = Language(keep=["en"])
    assert stage.map_batch([english, german, short]) == [
        None,
        "language:not_kept",
        "language:undetermined",
    ]
    assert short.meta == {"lang": "und", "lang_score": 0.0}
    assert german.meta["lang"] == "de"
    # per-language thresholds: a threshold equal to the score keeps, one above drops
    score = german.meta["lang_score"]
    assert Language(keep=["de"], thresholds={"de": score})(german) is None
    assert score < 0.999
    assert (
        Language(keep=["de"], thresholds={"de": score + 1e-6}, threshold=0.0)(german)
        == "language:low_score"
    )
    assert Language(keep=["de"], threshold=score + 1e-6)(german) == "language:low_score"
    assert Language(keep="all")(short) is None


def test_recipe_options_are_checked():
    assert (
        build(Language, {"keep": "all", "backend": "langdetect"}, "steps[1].language").keep == "all"
    )
    with pytest.raises(ConfigError, match="steps\\[1\\].language.backend"):
        build(Language, {"backend": "cld3"}, "steps[1].language")
    with pytest.raises(ConfigError, match="threshold"):
        build(Language, {"threshold": 1.5}, "steps[1].language")
