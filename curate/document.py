"""The one record every curation stage passes along."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scratchlm.curate.text.analysis import TextAnalysis


@dataclass(slots=True)
class Document:
    """A text with a stable id and a metadata dict that stages annotate.

    ``meta`` holds ``source`` (``file#record``), ``url`` where known, and what stages add
    (``lang``, ``lang_score``, quality signals, ``duplicate_of``...). ``analysis`` holds the
    splits of ``text`` that stages share (``curate.text.analysis``); it is never written.
    """

    id: str
    text: str
    meta: dict[str, Any] = field(default_factory=dict)
    analysis: TextAnalysis | None = field(default=None, repr=False, compare=False)
