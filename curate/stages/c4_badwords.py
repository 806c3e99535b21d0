"""The ``c4_badwords`` step: drop pages holding a word of the LDNOOBW list (Raffel et al. 2020)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from scratchlm.curate.document import Document
from scratchlm.curate.stage import FilterStage, StageResult
from scratchlm.curate.stages.sample import sample_point
from scratchlm.curate.text.wordlists import badword_languages, badword_matcher


@dataclass(frozen=True)
class C4Badwords(FilterStage):
    """The list is that of the document's ``meta.lang`` (``default_language`` when unset).
    Languages without a list are kept (``missing: keep``) or dropped. ``keep_fraction`` keeps
    that share of the matching pages, drawn from (seed, document id) so reruns agree.
    The matched word goes to ``meta.c4_badword``."""

    default_language: str = "en"
    missing: Literal["keep", "drop"] = "keep"
    keep_fraction: float = 0.0
    seed: int = 0  # seed of the keep_fraction draw

    def __post_init__(self) -> None:
        badword_matcher(self.default_language)  # refuses an unknown default language early
        if not 0.0 <= self.keep_fraction <= 1.0:
            raise ValueError(f"keep_fraction lies in [0, 1], got {self.keep_fraction}")

    def __call__(self, doc: Document) -> StageResult:
        """Worst case: O(n), or O(n * k) for ja, th and zh (see ``BadWordMatcher``)."""
        lang = doc.meta.get("lang") or self.default_language
        if lang not in _LANGUAGES:
            return "c4_badwords:no_list" if self.missing == "drop" else None
        word = badword_matcher(lang).find(doc.text.lower())
        if word is None:
            return None
        doc.meta["c4_badword"] = word
        if self.keep_fraction and sample_point(self.seed, doc.id) < self.keep_fraction:
            return None
        return "c4_badwords:badword"


_LANGUAGES = frozenset(badword_languages())

STAGE = C4Badwords
