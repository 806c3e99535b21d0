"""Sample texts for the tokenizer tests: prose from tests/data and hard Unicode from real pages."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

DATA = Path(__file__).resolve().parent / "data"
UNICODE_PAGES = ("http://unicode-demo.example.org/utf8.html", "naturgruen.ch")


def prose(limit_bytes: int, stride: int = 7) -> list[str]:
    """Every ``stride``-th Brown and KJV document until ``limit_bytes`` of text."""
    docs = []
    for name in ("brown", "kjv"):
        with gzip.open(DATA / "prose" / f"{name}.jsonl.gz", "rt", encoding="utf-8") as stream:
            docs += [json.loads(line)["text"] for line in stream]
    texts, size = [], 0
    for text in docs[::stride]:
        texts.append(text)
        size += len(text.encode("utf-8"))
        if size >= limit_bytes:
            break
    return texts


def page_texts() -> list[str]:
    """Raw payloads of the Unicode demo page and of the page with stray Latin-1 bytes, decoded
    as a crawler would: UTF-8 with replacement characters, and Latin-1 (mojibake)."""
    texts = []
    with open(DATA / "web-sample.warc.gz", "rb") as stream:
        for record in ArchiveIterator(stream):
            uri = record.rec_headers.get_header("WARC-Target-URI") or ""
            if record.rec_type == "response" and any(p in uri for p in UNICODE_PAGES):
                payload = record.content_stream().read()
                texts += [payload.decode("utf-8", errors="replace"), payload.decode("latin-1")]
    assert len(texts) == 2 * len(UNICODE_PAGES), "sample WARC lacks the Unicode test pages"
    return texts


HARD_STRINGS = [
    "emoji 🤖 family 👩‍👩‍👧‍👦 flags 🇩🇪🇯🇵 skin 👍🏽 keycap 1️⃣",
    "中文混排English和数字123，全角标点！日本語のテキスト、한국어 텍스트",
    "العربية مع أرقام ١٢٣ and עברית",
    "combining e\u0301 vs \u00e9, zero-width\u200bspace, BOM \ufeff, NBSP\u00a0here",
    "controls \x00\x01\x1b[31m red\x1b[0m \x7f, tabs\t\tand\r\nCRLF\n\n\n  trailing   ",
    "replacement \ufffd\ufffd, private use \ue000, astral 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𐍈",
    "",
    " ",
    "'s 're 'll don't O'Neil's",
]

CODE_POINT_CONTEXT = "x{c}x {c}9{c} {c}{c}\t{c}\n{c}'s"


def code_point_texts() -> list[str]:
    """Every code point of the planes Unicode assigns (0-3, 14) beside letters, digits, spaces
    and itself, 256 code points a text: where two regex engines' letter, digit or space classes
    differ, the pieces and so the ids differ."""
    points = [c for c in range(0x40000) if not 0xD800 <= c < 0xE000] + list(range(0xE0000, 0xF0000))
    return [
        "|".join(CODE_POINT_CONTEXT.format(c=chr(c)) for c in points[i : i + 256])
        for i in range(0, len(points), 256)
    ]
