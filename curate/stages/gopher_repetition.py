"""The ``gopher_repetition`` step: Gopher's repetition rules (Rae et al. 2021, App. A, Table A1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from scratchlm.curate.document import Document
from scratchlm.curate.signals import Signal
from scratchlm.curate.stage import FilterStage, StageResult
from scratchlm.curate.stages._rules import Verdict
from scratchlm.curate.text.analysis import ngrams_of, nonempty_lines_of, paragraphs_of
from scratchlm.curate.text.repetition import duplicates


@dataclass(frozen=True)
class GopherRepetition(FilterStage):
    """Drop documents whose lines, paragraphs or n-grams repeat more than Table A1 allows.

    Fractions of characters are taken over the whole text's length; n-grams are over the tokens
    of ``split_words`` (punctuation included, as in datatrove), shared with the other stages of a
    fused segment (``curate.text.analysis``). Top n-grams are keyed by ``n``
    (``{2: 0.20, 3: 0.18, 4: 0.16}``), duplicated n-grams likewise (5 to 10); every top n-gram
    size must be smaller than every duplicated n-gram size.
    """

    max_duplicate_line_fraction: float = 0.30  # most share of lines that repeat another
    max_duplicate_paragraph_fraction: float = 0.30  # most share of paragraphs that repeat another
    max_duplicate_line_char_fraction: float = 0.20  # most share of characters in repeated lines
    # most share of characters in repeated paragraphs
    max_duplicate_paragraph_char_fraction: float = 0.20
    # n -> most share of characters in the most frequent n-gram
    max_top_ngram_char_fraction: dict[int, float] = field(
        default_factory=lambda: {2: 0.20, 3: 0.18, 4: 0.16}
    )
    # n -> most share of characters in n-grams that repeat
    max_duplicate_ngram_char_fraction: dict[int, float] = field(
        default_factory=lambda: {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}
    )

    SIGNALS: ClassVar[tuple[Signal, ...]] = (
        Signal(
            "gopher_dup_para_frac",
            "share of paragraphs that repeat another",
            ("max_duplicate_paragraph_fraction",),
        ),
        Signal(
            "gopher_dup_para_char_frac",
            "share of characters in repeated paragraphs",
            ("max_duplicate_paragraph_char_fraction",),
        ),
        Signal(
            "gopher_dup_line_frac",
            "share of lines that repeat another",
            ("max_duplicate_line_fraction",),
        ),
        Signal(
            "gopher_dup_line_char_frac",
            "share of characters in repeated lines",
            ("max_duplicate_line_char_fraction",),
        ),
        Signal(
            "gopher_top_{n}gram_char_frac",
            "share of characters in the most frequent n-gram",
            ("max_top_ngram_char_fraction",),
        ),
        Signal(
            "gopher_dup_{n}gram_char_frac",
            "share of characters in n-grams that repeat",
            ("max_duplicate_ngram_char_fraction",),
        ),
    )

    def __post_init__(self) -> None:
        if max(self.max_top_ngram_char_fraction, default=0) > min(
            self.max_duplicate_ngram_char_fraction, default=99
        ):
            raise ValueError("top n-gram sizes must be smaller than duplicated n-gram sizes")

    def __call__(self, doc: Document) -> StageResult:
        """Worst case: O(n + W log W) for W words: splitting and line/paragraph repeats are linear,
        each n-gram size sorts the W hashes once."""
        text, meta = doc.text, doc.meta
        verdict = Verdict("gopher_repetition", self.action == "annotate")
        if not text.strip():
            return "gopher_repetition:empty"
        length = len(text)

        # paragraphs, then lines: (meta key, rule name, splitter, count limit, character limit)
        for key, rule, split, max_fraction, max_char_fraction in (
            (
                "para",
                "paragraph",
                paragraphs_of,
                self.max_duplicate_paragraph_fraction,
                self.max_duplicate_paragraph_char_fraction,
            ),
            (
                "line",
                "line",
                nonempty_lines_of,
                self.max_duplicate_line_fraction,
                self.max_duplicate_line_char_fraction,
            ),
        ):
            parts = split(doc)
            count, chars = duplicates(parts)
            meta[f"gopher_dup_{key}_frac"] = count / len(parts)
            meta[f"gopher_dup_{key}_char_frac"] = chars / length
            if verdict.fail(
                count / len(parts) > max_fraction, f"duplicate_{rule}s"
            ) or verdict.fail(chars / length > max_char_fraction, f"duplicate_{rule}_chars"):
                return verdict.reason

        index = ngrams_of(doc)
        for n, limit in sorted(self.max_top_ngram_char_fraction.items()):
            fraction = index.top_ngram_chars(n) / length
            meta[f"gopher_top_{n}gram_char_frac"] = fraction
            if verdict.fail(fraction > limit, f"top_{n}gram"):
                return verdict.reason
        for n, limit in sorted(self.max_duplicate_ngram_char_fraction.items()):
            fraction = index.duplicate_ngram_chars(n) / length
            meta[f"gopher_dup_{n}gram_char_frac"] = fraction
            if verdict.fail(fraction > limit, f"duplicate_{n}grams"):
                return verdict.reason
        return verdict.reason


STAGE = GopherRepetition
