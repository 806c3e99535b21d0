"""What each option of a configuration dataclass does, read from the class itself, so that the
description lives in one place: a field's ``help`` metadata, else the comment on its line (or the
comment lines just above it), else the sentences of its class's docstring that name it."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import io
import re
import textwrap
import tokenize


def plain(text: str) -> str:
    """reST markup as terminal text: ``x``, `x` and :role:`x` become x."""
    return re.sub(r"(?::\w+:)?`{1,2}([^`]+)`{1,2}", r"\1", text)


def _comments(klass: type) -> dict[str, str]:
    """Field name -> its comment, in ``klass``'s own source (empty when there is none to read)."""
    try:
        source = textwrap.dedent(inspect.getsource(klass))
    except (OSError, TypeError):
        return {}
    lines = source.splitlines()
    by_line = {
        tok.start[0]: tok.string.lstrip("#").strip()
        for tok in tokenize.generate_tokens(io.StringIO(source).readline)
        if tok.type == tokenize.COMMENT
    }
    found = {}
    for node in ast.parse(source).body[0].body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        trailing = [by_line[n] for n in range(node.lineno, node.end_lineno + 1) if n in by_line]
        above, n = [], node.lineno - 1
        while n in by_line and lines[n - 1].lstrip().startswith("#"):
            above.insert(0, by_line[n])
            n -= 1
        if trailing or above:
            found[node.target.id] = " ".join(trailing or above)
    return found


def _naming_sentences(klass: type) -> dict[str, str]:
    """Field name -> the sentences of ``klass``'s own docstring that name it, for the fields it
    declares itself."""
    doc = klass.__dict__.get("__doc__") or ""
    if doc.startswith(f"{klass.__name__}("):  # the dataclass's generated signature says nothing
        return {}
    sentences = re.split(r"(?<=[.!?])\s+", " ".join(doc.split()))
    found = {}
    for name in inspect.get_annotations(klass):
        naming = [s for s in sentences if f"``{name}``" in s or f"``{name}:" in s]
        if naming:
            found[name] = " ".join(naming)
    return found


def option_notes(cls: type) -> dict[str, str]:
    """Each init field of dataclass ``cls`` that something describes -> its description, as plain
    text: its help metadata, else its comment, else the declaring class's sentences naming it."""
    comments: dict[str, str] = {}
    for klass in reversed(cls.__mro__):  # a subclass's description wins over its base's
        if dataclasses.is_dataclass(klass):
            comments.update(_naming_sentences(klass))
            comments.update(_comments(klass))
    notes = {}
    for f in dataclasses.fields(cls):
        note = f.metadata.get("help") or comments.get(f.name)
        if f.init and note:
            notes[f.name] = plain(note)
    return notes
