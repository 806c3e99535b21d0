"""Which recipe options are the thresholds of which meta fields, so the report can draw them.

Each entry names the stage, a pattern for the meta field the stage writes, and the options
whose values bound it. ``name[{0}]`` reads a mapping option at the field's captured key (the
n-gram size of ``gopher_top_2gram_char_frac``). A field without an entry is still plotted,
just without a line.
"""
from __future__ import annotations

import re
from typing import Any

THRESHOLDS: list[tuple[str, str, tuple[str, ...]]] = [
    ("language", r"lang_score", ("threshold",)),
    ("gopher_quality", r"gopher_word_count", ("min_words", "max_words")),
    ("gopher_quality", r"gopher_mean_word_length", ("min_mean_word_length", "max_mean_word_length")),
    ("gopher_quality", r"gopher_(hash|ellipsis)_ratio", ("max_symbol_word_ratio",)),
    ("gopher_quality", r"gopher_bullet_lines_ratio", ("max_bullet_lines_ratio",)),
    ("gopher_quality", r"gopher_ellipsis_lines_ratio", ("max_ellipsis_lines_ratio",)),
    ("gopher_quality", r"gopher_alpha_words_ratio", ("min_alpha_words_ratio",)),
    ("gopher_quality", r"gopher_stop_words", ("min_stop_words",)),
    ("gopher_repetition", r"gopher_dup_para_frac", ("max_duplicate_paragraph_fraction",)),
    ("gopher_repetition", r"gopher_dup_para_char_frac", ("max_duplicate_paragraph_char_fraction",)),
    ("gopher_repetition", r"gopher_dup_line_frac", ("max_duplicate_line_fraction",)),
    ("gopher_repetition", r"gopher_dup_line_char_frac", ("max_duplicate_line_char_fraction",)),
    ("gopher_repetition", r"gopher_top_(\d+)gram_char_frac", ("max_top_ngram_char_fraction[{0}]",)),
    ("gopher_repetition", r"gopher_dup_(\d+)gram_char_frac", ("max_duplicate_ngram_char_fraction[{0}]",)),
    ("fineweb_quality", r"fineweb_punct_lines_ratio", ("min_punct_lines_ratio",)),
    ("fineweb_quality", r"fineweb_short_lines_ratio", ("max_short_lines_ratio",)),
    ("fineweb_quality", r"fineweb_dup_line_chars_ratio", ("max_duplicate_line_chars",)),
    ("fineweb_quality", r"fineweb_newlines_per_word", ("max_newlines_per_word",)),
    ("c4_quality", r"c4_sentences", ("min_sentences",)),
    ("quality_classifier", r"quality_score", ("threshold",)),
    ("perplexity", r"perplexity", ("max_perplexity",)),
]


def _option(stage: Any, spec: str, groups: tuple[str, ...]) -> tuple[str, Any]:
    """``(label, value)`` of one option spec, reading a mapping at its key; value None when absent."""
    name, _, key = spec.partition("[")
    value = getattr(stage, name, None)
    if not key:
        return name, value
    key = key.rstrip("]").format(*groups)
    label = f"{name}[{key}]"
    if not isinstance(value, dict):
        return label, None
    return label, value.get(int(key), value.get(key)) if key.isdigit() else value.get(key)


def beyond(limits: dict[str, float], value: float) -> bool:
    """Whether ``value`` breaks one of a field's thresholds: ``min_*`` and ``threshold`` are lower
    bounds, ``max_*`` upper bounds."""
    for label, limit in limits.items():
        upper = label.startswith("max_")
        if (value > limit) if upper else (value < limit):
            return True
    return False


def thresholds(stage_name: str, stage: Any, field: str) -> dict[str, float]:
    """The recipe's threshold values for ``field`` of the step running ``stage`` (empty when none are known)."""
    found: dict[str, float] = {}
    for owner, pattern, specs in THRESHOLDS:
        match = re.fullmatch(pattern, field)
        if owner != stage_name or not match:
            continue
        for spec in specs:
            label, value = _option(stage, spec, match.groups())
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                found[label] = float(value)
    return found
