"""The ``quality_classifier`` step: score documents with a trained fastText model, keep the good
ones."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import ClassVar

from scratchlm.curate.document import Document
from scratchlm.curate.signals import Signal
from scratchlm.curate.stage import BatchStage, FilterStage, StageResult
from scratchlm.curate.text.classifier import positive_scores
from scratchlm.curate.text.langid import load_fasttext


@lru_cache(maxsize=4)
def _model(path: str):
    return load_fasttext(path)


@dataclass(frozen=True)
class QualityClassifier(FilterStage, BatchStage):
    """``model``: a .bin written by ``scratchlm quality train``. Writes ``meta.quality_score``
    (probability of the high-quality label) and drops documents scoring below ``threshold``."""

    model: str = ""
    threshold: float = 0.5  # least quality_score kept

    SIGNALS: ClassVar[tuple[Signal, ...]] = (
        Signal(
            "quality_score",
            "the classifier's probability of the high-quality label",
            ("threshold",),
        ),
    )

    def __post_init__(self) -> None:
        if not self.model:
            raise ValueError(
                "quality_classifier needs model: PATH (train one with `scratchlm quality train`)"
            )
        if not Path(self.model).is_file():
            raise ValueError(f"quality model {self.model} not found")

    def map_batch(self, docs: list[Document]) -> list[StageResult]:
        """Worst case: O(n) per text (see ``curate.text.classifier.positive_scores``)."""
        scores = positive_scores(_model(self.model), [d.text for d in docs])
        results: list[StageResult] = []
        for doc, score in zip(docs, scores):
            doc.meta["quality_score"] = score
            results.append("quality_classifier:low_score" if score < self.threshold else None)
        return results


STAGE = QualityClassifier
