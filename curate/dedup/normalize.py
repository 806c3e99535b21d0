"""Text normalisation before hashing: which differences between two texts dedup ignores.

Case folding and Unicode NFKC run in Arrow (utf8proc) over a whole batch; punctuation, digits
and whitespace are handled per code point by the kernels in ``curate.dedup.kernels`` through
``char_classes()``, a table giving each code point's class. ``normalize_text`` is the same
definition in plain Python, the reference the tests and the quality benchmark check against.

NFKC sorts each run of non-starters (combining marks) by combining class with a quadratic sort, in
utf8proc as in CPython: one document of a million alternating marks would take hours. So, before
NFKC, a run of more than ``STREAM_SAFE_RUN`` characters that decompose to non-starters gets a
COMBINING GRAPHEME JOINER (U+034F, a starter) after every 30 of them, as UAX #15's Stream-Safe
Text Format does; no script puts more than 30 marks on a letter, so natural text is unchanged.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from scratchlm.curate.dedup import kernels

# code point classes in the table that the kernels read
WORD, SPACE, PUNCT, DIGIT = 0, 1, 2, 3
MAX_CODE_POINT = 0x110000
STREAM_SAFE_RUN = 30
GRAPHEME_JOINER = "\u034f"


@dataclass(frozen=True)
class Normalization:
    """What to ignore when comparing texts."""

    lowercase: bool = True
    nfkc: bool = True
    whitespace: bool = True  # runs of white space count as one space; leading/trailing are ignored
    punctuation: bool = False  # Unicode punctuation and symbols (categories P*, S*) are deleted
    digits: bool = False  # every decimal digit counts as 0

    def flags(self) -> int:
        """The options the kernels apply, as a bit set (1 whitespace, 2 punctuation, 4 digits)."""
        return int(self.whitespace) | int(self.punctuation) << 1 | int(self.digits) << 2


@functools.cache
def char_classes() -> np.ndarray:
    """WORD/SPACE/PUNCT/DIGIT for every code point (control characters count as space)."""
    table = np.zeros(MAX_CODE_POINT, dtype=np.uint8)
    for cp in range(MAX_CODE_POINT):
        category = unicodedata.category(chr(cp))
        if category[0] == "Z" or category == "Cc" or chr(cp).isspace():
            table[cp] = SPACE
        elif category[0] in "PS":
            table[cp] = PUNCT
        elif category == "Nd":
            table[cp] = DIGIT
    return table


@functools.cache
def _non_starter_ranges() -> tuple[tuple[int, int], ...]:
    """Code point ranges whose compatibility decomposition starts with a non-starter."""
    ranges: list[list[int]] = []
    for cp in range(MAX_CODE_POINT):
        ch = chr(cp)
        if unicodedata.combining(ch) or (
            unicodedata.decomposition(ch)
            and unicodedata.combining(unicodedata.normalize("NFKD", ch)[0])
        ):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1][1] = cp
            else:
                ranges.append([cp, cp])
    return tuple((a, b) for a, b in ranges)


@functools.cache
def _non_starters() -> tuple[np.ndarray, re.Pattern[str]]:
    """A table marking each non-starter code point, and a pattern ending each 30 of a longer run."""
    table = np.zeros(MAX_CODE_POINT, dtype=np.bool_)
    for a, b in _non_starter_ranges():
        table[a : b + 1] = True
    ranges = "".join(f"{chr(a)}-{chr(b)}" for a, b in _non_starter_ranges())
    return table, re.compile(f"[{ranges}]{{{STREAM_SAFE_RUN}}}(?=[{ranges}])")


def utf8_buffers(texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The UTF-8 bytes and int64 offsets of a string array, without copying the bytes."""
    texts = texts.cast(pa.large_string()) if texts.type != pa.large_string() else texts
    _, offsets_buf, data_buf = texts.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[
        texts.offset : texts.offset + len(texts) + 1
    ]
    data = (
        np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(1, np.uint8)
    )
    return data, offsets


def stream_safe(texts: pa.Array) -> pa.Array:
    """``texts`` with a grapheme joiner after every 30 non-starters of a longer run (see above);
    ASCII batches are returned at once, others take one compiled pass, and the texts it flags
    one substitution pass. Worst case: O(n) in the batch's characters."""
    if pc.all(pc.string_is_ascii(texts)).as_py():
        return texts
    table, ends = _non_starters()
    data, offsets = utf8_buffers(texts)
    long = np.zeros(len(texts), dtype=np.bool_)
    kernels.long_runs(data, offsets, table, STREAM_SAFE_RUN, long)
    if not long.any():
        return texts
    fixed = [
        ends.sub(rf"\g<0>{GRAPHEME_JOINER}", t) if hit else t
        for t, hit in zip(texts.to_pylist(), long)
    ]
    return pa.array(fixed, texts.type)


def prenormalize(texts: pa.Array, norm: Normalization) -> pa.Array:
    """Case folding and NFKC over a batch of texts (the parts done in Arrow).
    Worst case: O(n) in the batch's characters (runs of marks made stream-safe first)."""
    if norm.lowercase:
        texts = pc.utf8_lower(texts)
    if norm.nfkc:
        texts = pc.utf8_normalize(stream_safe(texts), form="NFKC")
    return texts


def normalize_text(text: str, norm: Normalization) -> str:
    """One text fully normalised: the reference definition the kernels implement.
    Worst case: O(n)."""
    text = prenormalize(pa.array([text], pa.string()), norm)[0].as_py()
    table = char_classes()
    out: list[str] = []
    for ch in text:
        cls = table[ord(ch)]
        if cls == PUNCT and norm.punctuation:
            continue
        if cls == DIGIT and norm.digits:
            ch = "0"
        elif cls == SPACE and norm.whitespace:
            ch = " "
            if not out or out[-1] == " ":
                continue
        out.append(ch)
    if norm.whitespace and out and out[-1] == " ":
        out.pop()
    return "".join(out)


def words(text: str, norm: Normalization) -> list[str]:
    """The words of a normalised text: maximal runs of non-space code points. Worst case: O(n)."""
    table = char_classes()
    result: list[str] = []
    current: list[str] = []
    for ch in normalize_text(text, norm):
        if table[ord(ch)] == SPACE:
            if current:
                result.append("".join(current))
                current = []
        else:
            current.append(ch)
    if current:
        result.append("".join(current))
    return result
