"""The recipe's bounds on each meta field a step writes, so the report can draw them.

Which options bound which field is each stage's own declaration (its ``SIGNALS``, read through
``curate.stages.stage_signals``); a field no stage declares is still plotted, just without a line.
"""

from __future__ import annotations

from typing import Any

from scratchlm.curate.stages import stage_signals


def beyond(limits: dict[str, float], value: float) -> bool:
    """Whether ``value`` breaks one of a field's thresholds: ``min_*`` and ``threshold`` are lower
    bounds, ``max_*`` upper bounds."""
    for label, limit in limits.items():
        upper = label.startswith("max_")
        if (value > limit) if upper else (value < limit):
            return True
    return False


def thresholds(stage_name: str, stage: Any, field: str) -> dict[str, float]:
    """The recipe's threshold values for ``field`` of the step running ``stage`` (empty when none
    are known)."""
    try:
        signals = stage_signals(stage_name)
    except KeyError:  # not a stage of this version
        return {}
    found: dict[str, float] = {}
    for signal in signals:
        found.update(signal.limits(stage, field))
    return found
