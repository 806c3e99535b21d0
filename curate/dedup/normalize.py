"""Text normalisation before hashing: which differences between two texts dedup ignores.

Case folding and Unicode NFKC run in Arrow (utf8proc) over a whole batch; punctuation, digits
and whitespace are handled per code point by the kernels in ``curate.dedup.kernels`` through
``char_classes()``, a table giving each code point's class. ``normalize_text`` is the same
definition in plain Python, the reference the tests and the quality benchmark check against.
"""
from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# code point classes in the table that the kernels read
WORD, SPACE, PUNCT, DIGIT = 0, 1, 2, 3
MAX_CODE_POINT = 0x110000


@dataclass(frozen=True)
class Normalization:
    """What to ignore when comparing texts."""

    lowercase: bool = True
    nfkc: bool = True
    whitespace: bool = True    # runs of white space count as one space; leading/trailing are ignored
    punctuation: bool = False  # Unicode punctuation and symbols (categories P*, S*) are deleted
    digits: bool = False       # every decimal digit counts as 0

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


def prenormalize(texts: pa.Array, norm: Normalization) -> pa.Array:
    """Case folding and NFKC over a batch of texts (the parts done in Arrow)."""
    if norm.lowercase:
        texts = pc.utf8_lower(texts)
    if norm.nfkc:
        texts = pc.utf8_normalize(texts, form="NFKC")
    return texts


def normalize_text(text: str, norm: Normalization) -> str:
    """One text fully normalised: the reference definition the kernels implement."""
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
    """The words of a normalised text: maximal runs of non-space code points."""
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
