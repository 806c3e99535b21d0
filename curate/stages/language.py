"""The ``language`` step: identify each document's language, keep the wanted ones."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from scratchlm.curate.document import Document
from scratchlm.curate.signals import Signal
from scratchlm.curate.stage import BatchStage, FilterStage, StageResult
from scratchlm.curate.text.analysis import pieces_of
from scratchlm.curate.text.langid import identifier

UNDETERMINED = "und"


@dataclass(frozen=True)
class Language(FilterStage, BatchStage):
    """fastText lid.176 (or langdetect) top-1 language into ``meta.lang`` and ``meta.lang_score``.

    A document is kept when its language is in ``keep`` (or ``keep: all``) and its score reaches
    the language's threshold (``thresholds``, else ``threshold``; 0.65 is FineWeb's value).
    Texts with fewer than ``min_chars`` non-space characters get ``und`` with score 0.
    """

    keep: list[str] | Literal["all"] = field(default_factory=lambda: ["en"])
    backend: Literal["fasttext", "langdetect"] = "fasttext"  # fasttext (lid.176) or langdetect
    threshold: float = 0.65
    thresholds: dict[str, float] = field(default_factory=dict)
    min_chars: int = 20

    SIGNALS: ClassVar[tuple[Signal, ...]] = (
        Signal("lang_score", "the identifier's confidence in meta.lang", ("threshold",)),
    )

    def __post_init__(self) -> None:
        for lang, value in {"threshold": self.threshold, **self.thresholds}.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{lang}: a threshold lies in [0, 1], got {value}")

    def map_batch(self, docs: list[Document]) -> list[StageResult]:
        """Worst case: O(n) per text (whitespace folded, then ``curate.text.langid``'s backend)."""
        texts = [" ".join(pieces_of(doc)) for doc in docs]
        todo = [i for i, t in enumerate(texts) if len(t) - t.count(" ") >= self.min_chars]
        answers = (
            dict(zip(todo, identifier(self.backend).predict([texts[i] for i in todo])))
            if todo
            else {}
        )
        results: list[StageResult] = []
        for i, doc in enumerate(docs):
            lang, score = answers.get(i, (UNDETERMINED, 0.0))
            doc.meta["lang"] = lang
            doc.meta["lang_score"] = score
            results.append(self.decide(lang, score))
        return results

    def decide(self, lang: str, score: float) -> str | None:
        if self.keep == "all":
            return None
        if lang not in self.keep:
            return "language:undetermined" if lang == UNDETERMINED else "language:not_kept"
        if score < self.thresholds.get(lang, self.threshold):
            return "language:low_score"
        return None


STAGE = Language
