"""The report page: one self-contained HTML file, every text HTML-escaped, plots inlined as base64
PNG.

Fragments are built only with the helpers here, which escape whatever they are given.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

# the report's style sheet, as it is written into every page (one rule group a line)
STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f2f2f2; } img { max-width: 100%; display: block; margin: 0.8em 0; }
.snippet { white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: 0.82em; background: #f7f7f7;
           border-left: 3px solid #d0704f; padding: 0.4em 0.6em; margin: 0.3em 0 0.6em; max-height: 12em; overflow: auto; }
.id { color: #666; font-size: 0.8em; } .note { color: #555; font-size: 0.9em; }
.why { color: #a0502f; font-size: 0.8em; } .snippet.kept { border-left-color: #4f8fd0; }
nav.toc { position: sticky; top: 0; background: #fff; border-bottom: 1px solid #ccc;
          padding: 0.4em 0; font-size: 0.85em; z-index: 1; }
nav.toc a { margin-right: 1em; white-space: nowrap; }
"""  # noqa: E501


@dataclass
class Plot:
    name: str  # file name without .png
    png: bytes
    alt: str


@dataclass
class Section:
    title: str
    notes: list[str] = field(
        default_factory=list
    )  # fragments from the helpers below, above the plots
    plots: list[Plot] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)  # and below them


def para(text: str, cls: str = "") -> str:
    attr = f' class="{escape(cls)}"' if cls else ""
    return f"<p{attr}>{escape(text)}</p>"


def heading(text: str) -> str:
    return f"<h3>{escape(text)}</h3>"


def _cell(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"<td>{escape(str(value))}</td>"
    text = f"{value:,}" if isinstance(value, int) else f"{value:,.3g}"
    return f'<td class="n">{text}</td>'


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], table_id: str = "") -> str:
    """A table; numbers right-aligned with thousands separators, everything else escaped."""
    attr = f' id="{escape(table_id)}"' if table_id else ""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def snippet(doc_id: str, text: str, why: str = "", kept: bool = False) -> str:
    """A document's id, ``why`` (the values that dropped it) and the start of its text (``kept``:
    the document a dropped one duplicates, drawn in another colour)."""
    reason = f'<div class="why">{escape(why)}</div>' if why else ""
    text = f'<div class="snippet{" kept" if kept else ""}">{escape(text)}</div>'
    return f'<div class="id">{escape(doc_id)}</div>{reason}{text}'


def link(href: str, text: str) -> str:
    return f'<a href="{escape(href)}">{escape(text)}</a>'


def _image(plot: Plot) -> str:
    data = base64.b64encode(plot.png).decode("ascii")
    return (
        f'<img src="data:image/png;base64,{data}" '
        f'alt="{escape(plot.alt)}" title="{escape(plot.name)}.png">'
    )


def render(title: str, intro: Sequence[str], sections: Sequence[Section]) -> str:
    body = [f"<h1>{escape(title)}</h1>", *intro]
    toc = "".join(f'<a href="#s{i}">{escape(s.title)}</a>' for i, s in enumerate(sections))
    body.append(f'<nav class="toc">{toc}</nav>')  # stays at the top of the window while scrolling
    for i, section in enumerate(sections):
        body.append(f'<h2 id="s{i}">{escape(section.title)}</h2>')
        body.extend(section.notes)
        body.extend(_image(p) for p in section.plots)
        body.extend(section.parts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
