"""Text that breaks writers, made safe where documents enter a run.

Lone surrogates (JSON escapes such as ``\\ud800`` that pair with nothing) cannot be encoded as
UTF-8, so Parquet cannot hold them: each becomes U+FFFD. NUL and the other C0 control characters
but tab, line feed, form feed and carriage return, and DEL, are removed (terminal escapes, binary
debris). The text's other characters are kept as they are. A document that was changed says so in
``meta.cleaned`` (``{"surrogates": n, "controls": m}``); strings in ``id`` and ``meta`` lose their
lone surrogates the same way. Readers clean every document they yield, and the shard writer
cleans every document it writes, whatever a stage did to it.

Worst case: linear in the text's length. One pattern scan finds whether anything needs cleaning;
only then a substitution pass replaces surrogates and one ``bytes.translate`` over the UTF-8
bytes drops the control characters.
"""

from __future__ import annotations

import re
from typing import Any

from scratchlm.curate.document import Document

_UNSAFE = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL_BYTES = bytes(
    [*range(0x09), 0x0B, *range(0x0E, 0x20), 0x7F]
)  # ASCII: never inside a UTF-8 sequence
REPLACEMENT = "\ufffd"
CLEANED_KEY = "cleaned"


def clean_text(text: str) -> tuple[str, int, int]:
    """``text`` with lone surrogates replaced and control characters removed, and how many of each.
    Worst case: O(n) (see the module's docstring)."""
    if _UNSAFE.search(text) is None:
        return text, 0, 0
    text, surrogates = _SURROGATE.subn(REPLACEMENT, text)
    data = text.encode("utf-8")
    kept = data.translate(None, _CONTROL_BYTES)
    return (
        (kept.decode("utf-8") if len(kept) < len(data) else text),
        surrogates,
        len(data) - len(kept),
    )


def _has_surrogates(value: Any) -> bool:
    """Whether any string in ``value`` (dicts, lists and tuples walked) holds a lone surrogate.
    Worst case: O(total size of the strings)."""
    if isinstance(value, str):
        return _SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_surrogates(k) or _has_surrogates(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(map(_has_surrogates, value))
    return False


def _encodable(value: Any) -> Any:
    """``value`` with lone surrogates replaced in every string it holds (tuples become lists, as
    JSON writes them; two keys that differ only in their lone surrogates become one).
    Worst case: O(total size of the strings)."""
    if isinstance(value, str):
        return _SURROGATE.sub(REPLACEMENT, value)
    if isinstance(value, dict):
        return {_encodable(k): _encodable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encodable(v) for v in value]
    return value


def clean_id(doc_id: str) -> str:
    """``doc_id`` as ``clean_document`` leaves it: lone surrogates replaced. O(len(doc_id))."""
    return _encodable(doc_id) if _SURROGATE.search(doc_id) else doc_id


def clean_document(doc: Document) -> Document:
    """``doc`` made writable (changed in place and returned); see the module's docstring.
    Worst case: O(n) in the sizes of text, id and meta."""
    doc.text, surrogates, controls = clean_text(doc.text)
    doc.id = clean_id(doc.id)
    if _has_surrogates(doc.meta):
        doc.meta = _encodable(doc.meta)
    if surrogates or controls:
        doc.meta[CLEANED_KEY] = {"surrogates": surrogates, "controls": controls}
    return doc
