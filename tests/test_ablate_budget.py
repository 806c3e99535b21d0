"""The single-epoch regime: runs train at most the smallest variant's tokens, and a budget that
repeats a variant's data is named with its passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from scratchlm.curate.errors import ConfigError
from scratchlm.model.config import TrainConfig
from scratchlm.pipelines.ablation.budget import fit_budget, passes, tokens_per_step
from scratchlm.pipelines.ablation.spec import parse_ablation

TINY = {"preset": "tiny", "model": {"block_size": 32}, "micro_batch": 8, "max_steps": 100}


def _fit(budget: str, tokens: dict[str, int], **train) -> tuple[TrainConfig, list[str]]:
    lines: list[str] = []
    fitted = fit_budget(TrainConfig(**{**TINY, **train}), budget, tokens, lines.append)
    return fitted, lines


def test_tokens_per_step_is_a_micro_batch_of_windows_or_batch_tokens():
    assert tokens_per_step(TrainConfig(**TINY)) == 8 * 32
    assert tokens_per_step(TrainConfig(**TINY, batch_tokens=1024)) == 1024


def test_single_epoch_lowers_the_steps_to_the_smallest_variant():
    fitted, lines = _fit("single_epoch", {"all": 100_000, "filtered": 10_000})
    assert fitted.max_steps == 10_000 // 256 == 39
    assert fitted.max_steps * 256 <= 10_000
    assert lines == [
        (
            "single-epoch budget: 39 steps of 256 tokens (9,984 tokens, variant filtered holds "
            "10,000) instead of train.max_steps 100"
        )
    ]


def test_single_epoch_keeps_a_budget_that_already_fits():
    fitted, lines = _fit("single_epoch", {"all": 100_000, "filtered": 90_000})
    assert fitted.max_steps == 100 and lines == []


def test_max_steps_warns_for_each_variant_it_repeats_with_its_passes():
    fitted, lines = _fit("max_steps", {"all": 100_000, "filtered": 10_000, "strict": 5_120})
    assert fitted.max_steps == 100
    assert lines == [
        (
            "warning: the budget of 25,600 tokens makes 2.56 passes over variant filtered's "
            "10,000 tokens: it repeats that variant's data"
        ),
        (
            "warning: the budget of 25,600 tokens makes 5.00 passes over variant strict's "
            "5,120 tokens: it repeats that variant's data"
        ),
    ]
    assert passes(25_600, 5_120) == 5.0


def test_a_variant_smaller_than_one_step_is_refused():
    with pytest.raises(ConfigError, match="variant tiny has 100 tokens, fewer than one step's 256"):
        _fit("single_epoch", {"big": 100_000, "tiny": 100})


def test_the_budget_key_is_checked_when_the_file_is_loaded():
    spec = {
        "name": "t",
        "base": {"steps": [{"read": {}}, {"language": {}}]},
        "variants": [{"name": "a"}, {"name": "b", "remove": ["language"]}],
    }
    assert parse_ablation(spec, Path(".")).budget == "single_epoch"
    assert parse_ablation({**spec, "budget": "max_steps"}, Path(".")).budget == "max_steps"
    with pytest.raises(
        ConfigError, match="budget: expected one of single_epoch, max_steps, got 'epochs'"
    ):
        parse_ablation({**spec, "budget": "epochs"}, Path("."))
