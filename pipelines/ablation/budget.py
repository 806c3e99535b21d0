"""The token budget of an ablation's runs, and how many passes over each variant's data it makes.

``budget: single_epoch`` (the default) compares the variants in the regime FineWeb and DCLM
ablate in: every run trains at most as many tokens as the smallest variant holds, so no variant
repeats its data (``train.max_steps`` is the most steps, lowered to fit). ``budget: max_steps``
trains ``train.max_steps`` steps as given; a variant the budget repeats is named with its passes,
since a filtered variant that repeats its data is compared with less unique text, not worse text.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from scratchlm.curate.errors import ConfigError

BUDGETS = ("single_epoch", "max_steps")


def tokens_per_step(train: Any) -> int:
    """Tokens one optimizer step trains (``batch_tokens``, or one micro-batch of full windows)."""
    from scratchlm.model.config import model_config

    if train.batch_tokens:
        return int(train.batch_tokens)
    return int(train.micro_batch * model_config(train.preset, train.model).block_size)


def passes(budget_tokens: int, variant_tokens: int) -> float:
    """Passes over a variant's tokens that a run of ``budget_tokens`` makes."""
    return budget_tokens / variant_tokens if variant_tokens else float("inf")


def fit_budget(
    train: Any, budget: str, tokens: Mapping[str, int], log: Callable[[str], None]
) -> Any:
    """The train settings every run uses: ``max_steps`` lowered under ``single_epoch`` to fit the
    smallest variant; a warning line for each variant the budget repeats."""
    if budget not in BUDGETS:
        raise ConfigError(f"budget: expected one of {', '.join(BUDGETS)}, got {budget!r}")
    per_step = tokens_per_step(train)
    smallest = min(tokens, key=lambda name: tokens[name])
    if budget == "single_epoch":
        steps = tokens[smallest] // per_step
        if steps < 1:
            raise ConfigError(
                f"budget single_epoch: variant {smallest} has {tokens[smallest]:,} tokens, "
                f"fewer than one step's {per_step:,}; curate more data or use smaller batches"
            )
        if steps < train.max_steps:
            log(
                f"single-epoch budget: {steps} steps of {per_step:,} tokens ({steps * per_step:,} "
                f"tokens, variant {smallest} holds {tokens[smallest]:,}) instead of "
                f"train.max_steps {train.max_steps}"
            )
            train = dataclasses.replace(train, max_steps=steps)
    budget_tokens = train.max_steps * per_step
    for name, count in tokens.items():
        if budget_tokens > count:
            log(
                f"warning: the budget of {budget_tokens:,} tokens makes "
                f"{passes(budget_tokens, count):.2f} passes over variant {name}'s {count:,} "
                "tokens: it repeats that variant's data"
            )
    return train
