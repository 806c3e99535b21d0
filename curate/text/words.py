"""Word and line splitting, computed once per document and shared by the rules of a stage.

The word splitter follows the token boundaries of spaCy's English tokenizer, which datatrove
uses for FineWeb's Gopher and FineWeb filters: punctuation is its own token, hyphens and
slashes between words split, clitics (``'s``, ``'re``...) are their own tokens, while
numbers (``3.14``, ``1,000``), dotted abbreviations (``e.g.``, ``U.S.``) and URLs stay whole.
(spaCy splits "don't" into "do n't", this splitter into "don 't": the same count and length.)
It is one precompiled regular expression, many times faster than spaCy.
"""
from __future__ import annotations

import re
import unicodedata

_WORD_RE = re.compile(
    r"https?://[^\s<>\"']*[^\s<>\"'.,;:!?)\]}]"   # URL, trailing punctuation split off
    r"|(?:[^\W\d_]\.){2,}"                          # e.g. U.S. a.m.
    r"|\w+(?:\.\w+|(?<=\d),\d+)*"                   # words, numbers 3.14 1,000, host names
    r"|['’](?i:[sdm]|re|ve|ll|t)\b"                  # clitics: 's 're 'll 't ...
    r"|\.\.\.+"                                     # ellipsis
    r"|[^\w\s]",                                    # any other symbol, one per token
)

# Characters that make a token a symbol rather than a word: punctuation (Unicode P*) of the
# Basic Multilingual Plane, ASCII symbols and control characters, as datatrove's PUNCTUATION_SET.
PUNCTUATION: frozenset[str] = frozenset(
    chr(c) for c in range(0x10000) if unicodedata.category(chr(c))[0] == "P" or unicodedata.category(chr(c)) == "Cc"
) | frozenset("$+<=>^`|~►")


def split_words(text: str) -> list[str]:
    """The word tokens of ``text`` (punctuation included, whitespace dropped)."""
    return _WORD_RE.findall(text)


def is_word(token: str) -> bool:
    """True when ``token`` holds at least one character that is not punctuation."""
    return not PUNCTUATION.issuperset(token)


_PARAGRAPH_RE = re.compile(r"\n{2,}")
_LINES_RE = re.compile(r"\n+")


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs: blocks separated by one or more blank lines (Gopher's definition)."""
    return _PARAGRAPH_RE.split(text.strip())


def split_nonempty_lines(text: str) -> list[str]:
    """Lines split on runs of newlines (so that blank lines do not count as duplicates)."""
    return _LINES_RE.split(text)

# Sentence-final characters (Unicode Sentence_Terminal, the scripts in use on the web): what
# FineWeb counts as a line ending in punctuation, and where spaCy's sentencizer ends sentences.
TERMINAL_PUNCTUATION: frozenset[str] = frozenset(
    ".!?։؟۔܀܁܂߹।॥၊။።፧፨᙮᜵᜶᠃᠉᥄᥅᪨᪩᪪᪫᭚᭛᭞᭟᰻᰼᱾᱿‼‽⁇⁈⁉⸮⸼꓿꘎꘏꛳꛷꡶꡷꣎꣏꤯꧈꧉꩝꩞꩟꫰꫱꯫﹒﹖﹗！．？｡。"
)
TERMINAL_TUPLE = tuple(sorted(TERMINAL_PUNCTUATION))


def count_sentences(tokens: list[str]) -> int:
    """Sentences in a run of tokens, as spaCy's sentencizer splits them: a new sentence starts at
    the first word after a sentence-final punctuation token."""
    if not tokens:
        return 0
    count, seen_end = 1, False
    for token in tokens:
        if token in TERMINAL_PUNCTUATION:
            seen_end = True
        elif seen_end and is_word(token):
            count += 1
            seen_end = False
    return count
