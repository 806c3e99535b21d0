"""HTML pages to text: charset, main-text extraction, canonical URL, and the reasons a page gives
none.

The extractor is resiliparse (main-content heuristics over the lexbor DOM) by default;
trafilatura is the alternative. docs/benchmarks.md ("Fetch") has the measurement behind the
choice.
"""

from __future__ import annotations

import codecs
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from resiliparse.parse.encoding import detect_encoding, map_encoding_to_html5
from resiliparse.parse.html import HTMLTree

Extractor = Literal["resiliparse", "trafilatura"]

# the HTML spec looks for a charset declaration in the first 1024 bytes; old pages need a bit more
META_SCAN_BYTES = 4096
META_START = re.compile(rb"<meta", re.IGNORECASE)
# possessive: "charset=" and a long run of spaces would otherwise be retried as two runs,
# quadratically
META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*+=\s*+["']?+\s*+([a-zA-Z0-9_.:-]+)""", re.IGNORECASE
)
LINK_START = re.compile(r"<link\b", re.IGNORECASE)
HEAD_END = re.compile(r"</head>", re.IGNORECASE)
# A name is tried only where no name character precedes it (a match never starts inside a name),
# so that a long run of letters without "=" is scanned once rather than once per letter.
ATTRIBUTE = re.compile(r"""(?<![a-zA-Z-])([a-zA-Z-]++)\s*+=\s*+(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")


@dataclass(frozen=True)
class WebOptions:
    """How web pages become documents (the ``read`` step's options)."""

    extract: bool = True  # main text; False keeps the decoded HTML as the text
    extractor: Extractor = "resiliparse"
    min_text_chars: int = 1  # shorter extractions are rejected as empty
    max_html_depth: int = 1000  # deeper nesting is rejected: extractors slow down quadratically
    max_record_bytes: int = 64 << 20  # a web archive record larger than this is skipped

    def __post_init__(self) -> None:
        if self.min_text_chars < 0 or self.max_html_depth < 1 or self.max_record_bytes < 1:
            raise ValueError(
                "min_text_chars must be >= 0, max_html_depth and max_record_bytes >= 1"
            )


def _codec(label: str | None) -> str | None:
    """A Python codec name for a charset label, WHATWG-mapped (latin1 reads as cp1252); None if
    unknown."""
    if not label:
        return None
    label = label.strip().strip("\"'")
    try:
        codecs.lookup(label)
    except LookupError:
        return None
    return map_encoding_to_html5(label)


def _meta_charset(body: bytes) -> re.Match[bytes] | None:
    """``META_CHARSET.search`` over the first ``META_SCAN_BYTES``, in time linear in them: when the
    pattern fails from a ``<meta``, it fails from every later one before the same ``>`` too."""
    pos = 0
    while start := META_START.search(body, pos, META_SCAN_BYTES):
        found = META_CHARSET.match(body, start.start(), META_SCAN_BYTES)
        if found:
            return found
        close = body.find(b">", start.end(), META_SCAN_BYTES)
        if close < 0:
            return None
        pos = close + 1
    return None


def detect_charset(body: bytes, http_charset: str | None) -> str:
    """The page's charset: the HTTP header's, else the meta tag's, else detected from the bytes.
    Worst case: O(n) (the meta tag is looked for in the first ``META_SCAN_BYTES`` only)."""
    codec = _codec(http_charset)
    if codec is None:
        match = _meta_charset(body)
        codec = _codec(match.group(1).decode("ascii") if match else None)
    if codec is None:
        codec = detect_encoding(body, from_html_meta=False)
    return codec


def decode_html(body: bytes, http_charset: str | None = None) -> str:
    """Decode a page; bytes invalid in its charset become U+FFFD rather than failing the page.
    Worst case: O(n)."""
    return body.decode(detect_charset(body, http_charset), errors="replace")


def _link_tags(html: str, end: int) -> Iterator[str]:
    """The ``<link ...>`` tags (``<link\\b[^>]*>``) before ``end``. A tag without its ``>`` ends the
    search, as every later one lacks it too: the pattern alone would scan to ``end`` from each."""
    pos = 0
    while start := LINK_START.search(html, pos, end):
        close = html.find(">", start.end(), end)
        if close < 0:
            return
        yield html[start.start() : close + 1]
        pos = close + 1


def canonical_url(html: str) -> str | None:
    """The ``href`` of ``<link rel=canonical>`` in the page's head, if it has one.
    Worst case: O(n) in the page's length (each character is scanned a bounded number of times)."""
    head_end = HEAD_END.search(html)  # no lower-cased copy of the whole page
    for tag in _link_tags(html, head_end.start() if head_end else len(html)):
        attributes = {
            m.group(1).lower(): m.group(2) or m.group(3) or m.group(4) or ""
            for m in ATTRIBUTE.finditer(tag)
        }
        if "canonical" in attributes.get("rel", "").lower().split() and attributes.get("href"):
            return attributes["href"].strip()
    return None


@functools.lru_cache(maxsize=4)
def _depth_selector(depth: int) -> str:
    return " > ".join(["*"] * (depth + 1))


def too_deep(tree: HTMLTree, max_depth: int) -> bool:
    """Whether some element is nested more than ``max_depth`` deep (a CSS child chain, run in C).
    Worst case: O(elements * max_depth) (each element's ancestors are checked up to max_depth)."""
    return tree.document.query_selector(_depth_selector(max_depth)) is not None


def _resiliparse_text(tree: HTMLTree) -> str:
    from resiliparse.extract.html2text import extract_plain_text

    return extract_plain_text(tree, preserve_formatting=True, main_content=True, list_bullets=True)


def _trafilatura_text(html: str) -> str:
    import trafilatura

    return (
        trafilatura.extract(html, include_comments=False, include_tables=True, deduplicate=False)
        or ""
    )


def extract_main_text(
    html: str, extractor: Extractor = "resiliparse", tree: HTMLTree | None = None
) -> str:
    """The main text of a page (navigation, menus, footers, scripts and styles dropped);
    resiliparse reuses ``tree`` when the page is already parsed. Worst case with resiliparse:
    linear in the page's length times its nesting depth (measured: 0.25 MB/s on 990 nested
    divs, 6 MB/s on flat paragraphs); trafilatura's is not bounded here."""
    if extractor == "trafilatura":
        return _trafilatura_text(html)
    return _resiliparse_text(tree if tree is not None else HTMLTree.parse(html))


def page_text(html: str, options: WebOptions) -> tuple[str, str | None]:
    """The text a page gives and, when it gives none worth keeping, the reject reason.
    Worst case: O(n * d), d the nesting depth, at most ``max_html_depth`` (deeper pages are
    rejected)."""
    if not options.extract:
        return html, None
    tree = HTMLTree.parse(html)
    if too_deep(tree, options.max_html_depth):
        return "", "read:html_too_deep"
    text = extract_main_text(html, options.extractor, tree).strip()
    if len(text) < options.min_text_chars:
        return text, "read:empty_extraction"
    return text, None
