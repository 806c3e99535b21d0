"""The ``gopher_quality`` step: the quality rules of Gopher (Rae et al. 2021, App. A, Table A1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from scratchlm.curate.document import Document
from scratchlm.curate.signals import Signal
from scratchlm.curate.stage import FilterStage, StageResult
from scratchlm.curate.stages._rules import Verdict
from scratchlm.curate.text.analysis import lines_of, words_of
from scratchlm.curate.text.wordlists import stopwords
from scratchlm.curate.text.words import is_word

# Gopher's stop words: a document must hold at least two of them (Table A1).
GOPHER_STOP_WORDS = frozenset(("the", "be", "to", "of", "and", "that", "have", "with"))
BULLETS = ("•", "-", "*", "‣", "◦", "●", "▪")
ELLIPSES = ("...", "…")


@dataclass(frozen=True)
class GopherQuality(FilterStage):
    """Drop documents outside Gopher's ranges; each rule is its own reason, each signal goes to
    meta.

    Tokens come from ``curate.text.words.split_words`` (spaCy's English boundaries, as in FineWeb's
    datatrove filters). The word count and mean word length count the tokens that are not pure
    punctuation; the symbol and alphabetic ratios divide by all tokens, punctuation included, as
    FineWeb's implementation does (so that punctuation-dense text, code or lists, fails the
    alphabetic rule more easily). Stop words are matched case-insensitively. ``stop_words: iso``
    uses the stopwords-iso list of the document's ``meta.lang`` instead of Gopher's eight words.
    """

    min_words: int = 50  # fewest words (tokens that are not pure punctuation)
    max_words: int = 100_000  # most words
    min_mean_word_length: float = 3.0  # shortest mean word length, in characters
    max_mean_word_length: float = 10.0  # longest mean word length, in characters
    max_symbol_word_ratio: float = 0.1  # most '#' per token, and most ellipses per token
    max_bullet_lines_ratio: float = 0.9  # most share of lines starting with a bullet
    max_ellipsis_lines_ratio: float = 0.3  # most share of lines ending in an ellipsis
    min_alpha_words_ratio: float = 0.8  # least share of tokens holding a letter
    min_stop_words: int = 2  # fewest stop words
    # gopher: Gopher's eight English words; iso: the stopwords-iso list of meta.lang
    stop_words: Literal["gopher", "iso"] = "gopher"

    SIGNALS: ClassVar[tuple[Signal, ...]] = (
        Signal(
            "gopher_word_count",
            "words (tokens that are not pure punctuation)",
            ("min_words", "max_words"),
        ),
        Signal(
            "gopher_mean_word_length",
            "mean word length, in characters",
            ("min_mean_word_length", "max_mean_word_length"),
        ),
        Signal("gopher_hash_ratio", "'#' per token", ("max_symbol_word_ratio",)),
        Signal("gopher_ellipsis_ratio", "ellipses per token", ("max_symbol_word_ratio",)),
        Signal(
            "gopher_bullet_lines_ratio",
            "share of lines starting with a bullet",
            ("max_bullet_lines_ratio",),
        ),
        Signal(
            "gopher_ellipsis_lines_ratio",
            "share of lines ending in an ellipsis",
            ("max_ellipsis_lines_ratio",),
        ),
        Signal(
            "gopher_alpha_words_ratio",
            "share of tokens holding a letter",
            ("min_alpha_words_ratio",),
        ),
        Signal("gopher_stop_words", "stop words found", ("min_stop_words",)),
    )

    def __call__(self, doc: Document) -> StageResult:
        """Worst case: O(n) in the text's length (splitting, counts, line checks: a pass each)."""
        text, meta = doc.text, doc.meta
        verdict = Verdict("gopher_quality", self.action == "annotate")
        tokens = words_of(doc)
        words, lettered = _words_and_lettered(tokens)

        meta["gopher_word_count"] = len(words)
        if (
            verdict.fail(not self.min_words <= len(words) <= self.max_words, "word_count")
            or not words
        ):
            return verdict.reason

        mean_length = sum(map(len, words)) / len(words)
        meta["gopher_mean_word_length"] = mean_length
        if verdict.fail(
            not self.min_mean_word_length <= mean_length <= self.max_mean_word_length,
            "mean_word_length",
        ):
            return verdict.reason

        hashes = text.count("#") / len(tokens)
        ellipses = (text.count("...") + text.count("…")) / len(tokens)
        meta["gopher_hash_ratio"] = hashes
        meta["gopher_ellipsis_ratio"] = ellipses
        if verdict.fail(hashes > self.max_symbol_word_ratio, "hash_ratio") or verdict.fail(
            ellipses > self.max_symbol_word_ratio, "ellipsis_ratio"
        ):
            return verdict.reason

        lines = lines_of(doc) or [""]
        bullet_lines = sum(1 for line in lines if line.lstrip().startswith(BULLETS)) / len(lines)
        ellipsis_lines = sum(1 for line in lines if line.rstrip().endswith(ELLIPSES)) / len(lines)
        meta["gopher_bullet_lines_ratio"] = bullet_lines
        meta["gopher_ellipsis_lines_ratio"] = ellipsis_lines
        if verdict.fail(bullet_lines > self.max_bullet_lines_ratio, "bullet_lines") or verdict.fail(
            ellipsis_lines > self.max_ellipsis_lines_ratio, "ellipsis_lines"
        ):
            return verdict.reason

        alpha = lettered / len(tokens)
        meta["gopher_alpha_words_ratio"] = alpha
        if verdict.fail(alpha < self.min_alpha_words_ratio, "alpha_words"):
            return verdict.reason

        stops = stopwords(meta.get("lang", "en")) if self.stop_words == "iso" else GOPHER_STOP_WORDS
        found = len(stops.intersection(w.lower() for w in words))
        meta["gopher_stop_words"] = found
        verdict.fail(found < self.min_stop_words, "stop_words")
        return verdict.reason


def _words_and_lettered(tokens: list[str]) -> tuple[list[str], int]:
    """The tokens that are words (not pure punctuation), and how many tokens hold a letter, in one
    pass: a letter is never punctuation, so a token holding one is a word.
    Worst case: O(total characters of the tokens)."""
    words: list[str] = []
    append = words.append
    lettered = 0
    for token in tokens:
        if token.isalpha():
            append(token)
            lettered += 1
        elif is_word(token):
            append(token)
            lettered += any(c.isalpha() for c in token)
    return words, lettered


STAGE = GopherQuality
