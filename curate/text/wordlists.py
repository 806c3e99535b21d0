"""Word lists shipped in ``curate/data/wordlists`` (see its README for sources and licences)."""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources

from scratchlm.curate.errors import ConfigError

_ROOT = resources.files("scratchlm.curate") / "data" / "wordlists"

# Entries that are ordinary sub-words in languages written without spaces; each removed more
# than 10% of its language's pages in mC4 (the allow-list of the C4/mC4 reference code).
_BADWORDS_ALLOWED = {"ja": {"sm", "グロ", "女の子"}, "zh": {"性"}}
# Languages written without spaces between words: a bad word matches anywhere in the text.
_UNSPACED = {"ja", "th", "zh"}


def badword_languages() -> list[str]:
    return sorted(p.name[:-4] for p in (_ROOT / "ldnoobw").iterdir() if p.name.endswith(".txt"))


@cache
def badwords(lang: str) -> frozenset[str]:
    """The LDNOOBW list of ``lang``, lower-cased, less the allow-list."""
    path = _ROOT / "ldnoobw" / f"{lang}.txt"
    if not path.is_file():
        raise ConfigError(
            f"no bad-word list for language {lang!r} (have: {', '.join(badword_languages())})"
        )
    words = {
        line.strip().lower()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    }
    return frozenset(words - _BADWORDS_ALLOWED.get(lang, set()))


_WORD_RUN = re.compile(r"\w+")


class BadWordMatcher:
    """Finds a bad word of one language in lower-cased text, as C4 matched them: flanked by
    non-word characters (``(?<!\\w)word(?!\\w)``), or anywhere in languages written without
    spaces. Single-word entries are looked up in the set of the text's word runs; only the
    few entries with spaces or symbols are searched with a pattern, and only when their first
    word occurs in the text.

    Worst case of ``find``: O(n) for spaced languages (one pass for the word runs, then a
    substring search and a literal pattern, each linear, per multi-word entry, a fixed few);
    O(n * k) for ja, th and zh, whose k entries (31 to 317) are each searched for in the text.
    """

    def __init__(self, lang: str) -> None:
        words = badwords(lang)
        self.unspaced = lang in _UNSPACED
        self.words = sorted(words)
        self.single = frozenset(w for w in words if _WORD_RUN.fullmatch(w))
        self.multi: list[tuple[str, str | None, re.Pattern[str]]] = []
        for word in sorted(words - self.single):
            first = _WORD_RUN.match(word)
            pattern = re.compile(rf"(?<!\w){re.escape(word)}(?!\w)")
            self.multi.append((word, first.group() if first else None, pattern))

    def find(self, lower: str) -> str | None:
        """The first bad word found in ``lower`` (already lower-cased), or None."""
        if self.unspaced:
            return next((w for w in self.words if w in lower), None)
        runs = set(_WORD_RUN.findall(lower))
        hit = runs & self.single
        if hit:
            return min(hit)
        for word, first, pattern in self.multi:
            if (first is None or first in runs) and word in lower and pattern.search(lower):
                return word
        return None


@cache
def badword_matcher(lang: str) -> BadWordMatcher:
    return BadWordMatcher(lang)


@cache
def _stopwords_iso() -> dict[str, list[str]]:
    return json.loads((_ROOT / "stopwords-iso" / "stopwords-iso.json").read_text(encoding="utf-8"))


@cache
def stopwords(lang: str) -> frozenset[str]:
    """The stopwords-iso list of ``lang`` (empty when the language has none)."""
    return frozenset(w.lower() for w in _stopwords_iso().get(lang, ()))
