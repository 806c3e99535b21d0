"""The ``c4_quality`` step: C4's line cleaning, then its page rules (Raffel et al. 2020, Sec. 2.2).

The order of the checks follows the reference code of C4 (TensorFlow Datasets ``c4_utils``),
which the paper's list summarises: per line, too-long words, citation markers, terminal
punctuation, too few words, "lorem ipsum" (drops the page), "javascript", "{" (drops the page),
cookie and terms-of-use notices; then the page needs ``min_sentences`` sentences.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from scratchlm.curate.document import Document
from scratchlm.curate.signals import Signal
from scratchlm.curate.stage import FilterStage, StageResult
from scratchlm.curate.text.analysis import lines_of, with_splits
from scratchlm.curate.text.words import count_sentences, words_of_pieces

CITATION = re.compile(r"\[\d*\]|\[edit\]|\[citation needed\]")
END_MARKS = (".", "?", "!", '"')  # the paper's terminal punctuation marks
POLICY_PHRASES = (
    "terms of use",
    "privacy policy",
    "cookie policy",
    "uses cookies",
    "use of cookies",
    "use cookies",
)


@dataclass(frozen=True)
class C4Quality(FilterStage):
    """Keep the lines C4 keeps and drop pages C4 drops; writes ``c4_lines_kept``,
    ``c4_lines_removed`` and ``c4_sentences`` into meta. In ``annotate`` mode the text is left
    as it is and only the signals are recorded."""

    min_sentences: int = 5  # a page needs at least this many sentences

    SIGNALS: ClassVar[tuple[Signal, ...]] = (
        Signal("c4_lines_kept", "lines kept"),
        Signal("c4_lines_removed", "lines removed"),
        Signal("c4_sentences", "sentences in the kept text", ("min_sentences",)),
    )
    min_words_per_line: int = 3  # a line with fewer words is removed
    max_word_length: int = 1000  # a line holding a longer word is removed
    remove_citations: bool = True  # delete citation markers such as [1] and [citation needed]
    require_end_mark: bool = True  # a line must end in . ? ! or a quote
    drop_javascript_lines: bool = True  # remove lines mentioning javascript
    drop_policy_lines: bool = True  # remove cookie and terms-of-use notices
    drop_lorem_ipsum: bool = True  # drop a page holding lorem ipsum
    drop_curly_bracket: bool = True  # drop a page holding a curly bracket (code)

    def __call__(self, doc: Document) -> StageResult:
        """Worst case: O(n) in the text's length: per line, a fixed number of linear passes
        (``CITATION`` scans the digits after each "[" once; a fixed set of phrases). The kept
        text's pieces and words are handed to the next stages (``curate.text.analysis``)."""
        kept: list[str] = []
        kept_pieces: list[str] = []
        kept_words: list[str] = []
        sentences = 0
        lines = lines_of(doc)
        reason = None
        for raw in lines:
            line = raw.strip()
            words = pieces = line.split()
            if any(len(w) > self.max_word_length for w in words):
                continue
            if self.remove_citations:
                cited = line
                line = CITATION.sub("", line)
                if len(line) != len(cited):  # markers removed: the pieces changed
                    pieces = line.split()
            if self.require_end_mark and (not line.endswith(END_MARKS) or line.endswith("...")):
                continue
            if len(words) < self.min_words_per_line:
                continue
            lower = line.lower()
            if self.drop_lorem_ipsum and "lorem ipsum" in lower:
                reason = "c4_quality:lorem_ipsum"
                break
            if self.drop_javascript_lines and "javascript" in lower:
                continue
            if self.drop_curly_bracket and "{" in line:
                reason = "c4_quality:curly_bracket"
                break
            if self.drop_policy_lines and any(p in lower for p in POLICY_PHRASES):
                continue
            tokens = words_of_pieces(pieces)
            sentences += count_sentences(tokens)
            kept.append(line)
            kept_pieces += pieces
            kept_words += tokens
        doc.meta["c4_lines_kept"] = len(kept)
        doc.meta["c4_lines_removed"] = len(lines) - len(kept)
        doc.meta["c4_sentences"] = sentences
        if reason is None and sentences < self.min_sentences:
            reason = "c4_quality:too_few_sentences"
        if reason is not None or self.action == "annotate":
            return reason
        # whitespace joins the kept lines, so the text's pieces (and words) are theirs, in order
        return with_splits(
            Document(doc.id, "\n".join(kept).strip(), doc.meta), kept_pieces, kept_words
        )


STAGE = C4Quality
