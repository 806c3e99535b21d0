"""A stage's signals: the numeric ``meta`` fields it writes, what each measures, and the options
that bound it.

A stage declares them as its class attribute ``SIGNALS`` (``curate.stages.stage_signals`` reads
them by stage name); the report draws each field's bounds from them and ``scratchlm stages NAME``
lists them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Signal:
    """One meta field a stage writes. ``{n}`` in ``field`` stands for each key of the mapping
    options in ``bounds`` (``gopher_top_{n}gram_char_frac`` for ``max_top_ngram_char_fraction``).
    A bound named ``max_*`` is an upper bound; ``min_*`` and ``threshold`` are lower bounds."""

    field: str
    meaning: str
    bounds: tuple[str, ...] = ()

    def limits(self, stage: Any, field: str) -> dict[str, float]:
        """``{option label: value}`` of the bounds ``stage`` (a configured stage, or None) sets on
        the meta field ``field``: empty when ``field`` is not this signal's. A mapping option's
        entry is labelled ``name[key]``."""
        found: dict[str, float] = {}
        for name in self.bounds:
            value = getattr(stage, name, None)
            if "{n}" not in self.field:
                if field == self.field:
                    found[name] = value
                continue
            for key, entry in value.items() if isinstance(value, dict) else ():
                if self.field.format(n=key) == field:
                    found[f"{name}[{key}]"] = entry
        return {
            label: float(value)
            for label, value in found.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool)
        }
