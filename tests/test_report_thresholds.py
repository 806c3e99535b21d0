"""The report's thresholds come from the signals each stage declares, naming real options of real
stages, read from a recipe."""

from __future__ import annotations

import pytest

from scratchlm.curate.stages import stage_class, stage_names, stage_signals
from scratchlm.pipelines.recipe import parse_recipe
from scratchlm.pipelines.report.thresholds import thresholds

DECLARED = [
    (stage, signal.field, signal.bounds)
    for stage in stage_names()
    for signal in stage_signals(stage)
]


@pytest.mark.parametrize("stage, pattern, options", DECLARED, ids=[p for _, p, _ in DECLARED])
def test_every_entry_names_an_option_of_an_existing_stage(
    stage: str, pattern: str, options: tuple
) -> None:
    assert stage in stage_names()
    fields = {f for f in stage_class(stage).__dataclass_fields__}
    for option in options:
        assert option.split("[")[0] in fields, f"{stage} has no option {option}"


def test_values_come_from_the_recipe_including_mapping_options() -> None:
    recipe = parse_recipe(
        {
            "steps": [
                {"read": {}},
                {"gopher_quality": {"min_words": 12, "max_words": 900}},
                {"gopher_repetition": {"max_top_ngram_char_fraction": {2: 0.3, 3: 0.25}}},
            ]
        }
    )
    quality, repetition = recipe.steps[1].stage, recipe.steps[2].stage
    assert thresholds("gopher_quality", quality, "gopher_word_count") == {
        "min_words": 12.0,
        "max_words": 900.0,
    }
    assert thresholds("gopher_quality", quality, "gopher_hash_ratio") == {
        "max_symbol_word_ratio": 0.1
    }
    assert thresholds("gopher_repetition", repetition, "gopher_top_3gram_char_frac") == {
        "max_top_ngram_char_fraction[3]": 0.25
    }
    assert thresholds("gopher_repetition", repetition, "gopher_top_4gram_char_frac") == {}
    assert thresholds("gopher_quality", quality, "gopher_dup_line_frac") == {}, (
        "a field of another stage"
    )
    assert thresholds("gopher_quality", None, "gopher_word_count") == {}, "no recipe, no lines"
