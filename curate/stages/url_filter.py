"""The ``url_filter`` step: drop documents whose URL is on a domain block list or holds banned
words.

As in RefinedWeb/FineWeb (Penedo et al. 2023, Sec. G.1): a domain list matched against the host
and each of its parent domains, whole words of the URL (split on non-alphanumerics) matched
against a word list, and sub-words matched anywhere in the URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

from scratchlm.curate.document import Document
from scratchlm.curate.inputs import list_lines
from scratchlm.curate.stage import FilterStage, StageResult
from scratchlm.curate.text.wordlists import badwords

_URL_WORDS = re.compile(r"[^\W_]+")


def _read_list(path: str) -> list[str]:
    """One entry per line; blank lines and lines starting with # are skipped."""
    try:
        return [line.lower() for line in list_lines(Path(path).read_text(encoding="utf-8"))]
    except OSError as err:
        raise ValueError(f"cannot read block list {path}: {err.strerror}") from None


def _host(url: str) -> str:
    """The URL's host name; "" when it has none or cannot be parsed (an unclosed "[" of an IPv6
    host)."""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


@dataclass(frozen=True)
class UrlFilter(FilterStage):
    """Block lists come inline (``domains``, ``words``, ``subwords``) and/or from files (one entry a
    line). ``badwords_language`` adds the single-word entries of that LDNOOBW list to ``words``
    (``null`` for none). Documents without ``meta.url`` are kept unless ``drop_missing``; a URL
    whose host cannot be parsed has no domain to match, its words are still matched."""

    domains: list[str] = field(default_factory=list)  # blocked domains (subdomains too)
    domains_file: str | None = None  # file of blocked domains, one a line
    words: list[str] = field(default_factory=list)  # blocked words of the URL
    words_file: str | None = None  # file of blocked words, one a line
    subwords: list[str] = field(default_factory=list)  # blocked substrings of the URL
    badwords_language: str | None = "en"
    drop_missing: bool = False

    def __post_init__(self) -> None:
        for path in (self.domains_file, self.words_file):
            if path is not None and not Path(path).is_file():
                raise ValueError(f"block list {path} not found")
        if self.badwords_language is not None:
            badwords(self.badwords_language)

    @cached_property
    def _domains(self) -> frozenset[str]:
        extra = _read_list(self.domains_file) if self.domains_file else []
        return frozenset(d.lower().lstrip(".") for d in [*self.domains, *extra])

    @cached_property
    def _domain_labels(self) -> int:
        """The most labels a listed domain has: longer suffixes of a host cannot be on the list."""
        return max((d.count(".") + 1 for d in self._domains), default=0)

    @cached_property
    def _words(self) -> frozenset[str]:
        extra = _read_list(self.words_file) if self.words_file else []
        listed = badwords(self.badwords_language) if self.badwords_language else frozenset()
        single = {w for w in listed if _URL_WORDS.fullmatch(w)}
        return frozenset(w.lower() for w in [*self.words, *extra, *single])

    @cached_property
    def _subwords(self) -> tuple[str, ...]:
        return tuple(s.lower() for s in self.subwords)

    def __call__(self, doc: Document) -> StageResult:
        """Worst case: O(n) in the URL's length (the host's suffixes are tried only up to the most
        labels a listed domain has), times the number of ``subwords``."""
        url = doc.meta.get("url")
        if not url:
            return "url_filter:no_url" if self.drop_missing else None
        lower = url.lower()
        labels = _host(lower).rstrip(".").split(".")
        first = max(0, len(labels) - self._domain_labels)
        if any(".".join(labels[i:]) in self._domains for i in range(first, len(labels))):
            return "url_filter:domain"
        if not self._words.isdisjoint(_URL_WORDS.findall(lower)):
            return "url_filter:word"
        if any(s in lower for s in self._subwords):
            return "url_filter:subword"
        return None


STAGE = UrlFilter
