"""The splits of a document's text that several stages use, computed once and shared.

A stage asks ``words_of(doc)``, ``lines_of(doc)``... instead of splitting ``doc.text`` itself.
The answer is kept on the document (``Document.analysis``) beside the very text object it was
computed from, so the next stage of a fused segment (``pipelines.segment``) gets it for free,
while a stage called alone computes it as before. When a stage replaces the text (a transform
returns a new ``Document`` or assigns ``doc.text``), the kept splits no longer belong to it and
are computed afresh; a transform that knows the new text's splits may hand them on
(``with_splits``). The analysis is never written: shards hold ``id``, ``text`` and ``meta``.

The lists returned are shared between stages: read them, never change them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scratchlm.curate.document import Document
from scratchlm.curate.text.repetition import NgramIndex
from scratchlm.curate.text.words import split_nonempty_lines, split_paragraphs, words_of_pieces


class TextAnalysis:
    """Splits of one text, each computed on first use."""

    __slots__ = ("lines", "ngrams", "nonempty_lines", "paragraphs", "pieces", "text", "words")

    def __init__(
        self, text: str, pieces: list[str] | None = None, words: list[str] | None = None
    ) -> None:
        self.text = text
        self.pieces = pieces  # text.split(): runs of non-whitespace
        self.words = words  # curate.text.words.split_words(text)
        self.lines: list[str] | None = None  # text.splitlines()
        self.nonempty_lines: list[str] | None = None  # split_nonempty_lines(text)
        self.paragraphs: list[str] | None = None  # split_paragraphs(text)
        self.ngrams: NgramIndex | None = None  # n-gram hashes of the words


def analysis_of(doc: Document) -> TextAnalysis:
    """The analysis of ``doc``'s current text (a new one when the text changed since)."""
    found = doc.analysis
    if found is None or found.text is not doc.text:
        found = doc.analysis = TextAnalysis(doc.text)
    return found


def with_splits(doc: Document, pieces: list[str], words: list[str]) -> Document:
    """``doc`` carrying the pieces and words its text is known to split into (a transform that
    built the text from pieces it had split); returned for chaining."""
    doc.analysis = TextAnalysis(doc.text, pieces, words)
    return doc


def _kept(doc: Document, slot: str, compute: Callable[[Document], Any]) -> Any:
    """The analysis's ``slot`` for ``doc``'s text, computed by ``compute`` on first use."""
    found = analysis_of(doc)
    value = getattr(found, slot)
    if value is None:
        value = compute(doc)
        setattr(found, slot, value)
    return value


def pieces_of(doc: Document) -> list[str]:
    """``doc.text.split()``. Worst case: O(n)."""
    return _kept(doc, "pieces", lambda d: d.text.split())


def words_of(doc: Document) -> list[str]:
    """``split_words(doc.text)``: word tokens, punctuation included. Worst case: O(n)."""
    return _kept(doc, "words", lambda d: words_of_pieces(pieces_of(d)))


def lines_of(doc: Document) -> list[str]:
    """``doc.text.splitlines()``. Worst case: O(n)."""
    return _kept(doc, "lines", lambda d: d.text.splitlines())


def nonempty_lines_of(doc: Document) -> list[str]:
    """``split_nonempty_lines(doc.text)``. Worst case: O(n)."""
    return _kept(doc, "nonempty_lines", lambda d: split_nonempty_lines(d.text))


def paragraphs_of(doc: Document) -> list[str]:
    """``split_paragraphs(doc.text)``. Worst case: O(n)."""
    return _kept(doc, "paragraphs", lambda d: split_paragraphs(d.text))


def ngrams_of(doc: Document) -> NgramIndex:
    """The n-gram hashes of ``words_of(doc)``. Worst case: O(W + characters) to build."""
    return _kept(doc, "ngrams", lambda d: NgramIndex(words_of(d)))
