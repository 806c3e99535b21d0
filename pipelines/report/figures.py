"""The report's plots as PNG bytes (matplotlib's Agg canvas, no pyplot state, no display needed)."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

DPI = 96
KEPT, DROPPED = "#4878a8", "#d0704f"


def count_axis(axis: Axis) -> None:
    """Ticks at whole numbers only: the axis counts documents (or clusters)."""
    axis.set_major_locator(MaxNLocator(integer=True))


def png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def funnel(steps: Sequence[str], docs: Sequence[int], nbytes: Sequence[int]) -> bytes:
    """Documents and bytes after each step (the first bar is the input), side by side."""
    fig = Figure(figsize=(10, 0.45 * len(steps) + 1.2), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, values, label in zip(axes, (docs, nbytes), ("documents", "MB of text")):
        scaled = [v / 1e6 for v in values] if label.startswith("MB") else list(values)
        ax.barh(range(len(steps)), scaled, color=KEPT)
        ax.set_xlabel(label)
        _label_bars(ax, scaled, "{:,.0f}" if label == "documents" else "{:,.2f}")
    count_axis(axes[0].xaxis)
    axes[0].set_yticks(range(len(steps)), list(steps))
    axes[0].invert_yaxis()  # the axes share y: once inverts both
    fig.suptitle("What each step keeps")
    return png(fig)


def _label_bars(ax, totals: Sequence[float], fmt: str = "{:,}") -> None:
    for y, value in enumerate(totals):
        ax.annotate(
            fmt.format(value),
            (value, y),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )


def bars(title: str, labels: Sequence[str], series: dict[str, Sequence[int]], xlabel: str) -> bytes:
    """Horizontal bars, stacked when there is more than one series (e.g. kept and dropped)."""
    fig = Figure(figsize=(8, 0.32 * len(labels) + 1.3), layout="constrained")
    ax = fig.subplots()
    left = [0] * len(labels)
    colors = [KEPT, DROPPED, "#7a9a5b", "#9a7ab0"]
    for (name, values), color in zip(series.items(), colors):
        ax.barh(range(len(labels)), values, left=left, color=color, label=name)
        left = [a + b for a, b in zip(left, values)]
    _label_bars(ax, left)
    ax.set_yticks(range(len(labels)), list(labels))
    ax.invert_yaxis()
    count_axis(ax.xaxis)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    if len(series) > 1:
        ax.legend(loc="lower right", fontsize=8)
    return png(fig)


def length_histograms(series: dict[str, Sequence[int]]) -> bytes:
    """Document lengths (characters, log scale) for each named sample, overlaid."""
    fig = Figure(figsize=(8, 3.6), layout="constrained")
    ax = fig.subplots()
    values = [max(v, 1) for lengths in series.values() for v in lengths]
    edges = _log_edges(min(values, default=1), max(values, default=10))
    for (name, lengths), color in zip(series.items(), (DROPPED, KEPT)):
        ax.hist(
            [max(v, 1) for v in lengths],
            bins=edges,
            histtype="step",
            linewidth=1.8,
            color=color,
            label=f"{name} ({len(lengths):,} docs)",
        )
    ax.set_xscale("log")
    ax.set_xlabel("characters per document")
    ax.set_ylabel("documents")
    count_axis(ax.yaxis)
    ax.legend(fontsize=8)
    return png(fig)


def _log_edges(low: float, high: float, bins: int = 40) -> list[float]:
    """Geometric bin edges from ``low`` to ``high`` (both at least 1)."""
    low, high = max(low, 1.0), max(high, low * 10, 10.0)
    step = math.log10(high / low) / bins
    return [low * 10 ** (step * i) for i in range(bins + 1)]


@dataclass
class Signal:
    """One quality signal of a step: its values on kept and dropped documents, and its
    thresholds."""

    field: str
    kept: Sequence[float]
    dropped: Sequence[float]
    thresholds: dict[str, float]


def _signal_panel(ax: Any, signal: Signal) -> None:
    """Kept and dropped stacked (numpy histograms drawn as two filled stairs), thresholds dashed."""
    kept, dropped = np.asarray(signal.kept, float), np.asarray(signal.dropped, float)
    values = np.concatenate([kept, dropped])
    low, high = float(values.min()), float(values.max())
    span = (high - low) or 1.0
    log = low >= 0 and high >= 1000 and bool(np.all(values == np.round(values)))
    # thresholds near the data widen the axis to show them; far ones are only listed in the table
    near = (
        (lambda v: max(low, 1.0) / 10 <= v <= high * 10)
        if log
        else (lambda v: low - 2 * span <= v <= high + 2 * span)
    )
    shown = {k: v for k, v in signal.thresholds.items() if near(v)}
    start, stop = min([low, *shown.values()]), max([high, *shown.values()])
    if log:  # heavy-tailed counts (words, characters): log bins, zeros in the first bin
        edges = np.asarray(_log_edges(start, stop))
        kept, dropped = np.maximum(kept, 1.0), np.maximum(dropped, 1.0)
        ax.set_xscale("log")
    else:
        edges = np.linspace(start, stop if stop > start else start + 1.0, 41)
    below, _ = np.histogram(kept, edges)
    above, _ = np.histogram(dropped, edges)
    ax.stairs(below + above, edges, fill=True, color=DROPPED, label="dropped")
    ax.stairs(below, edges, fill=True, color=KEPT, label="kept")
    middle = math.sqrt(edges[0] * edges[-1]) if log else (edges[0] + edges[-1]) / 2
    for value in shown.values():
        right = value > middle  # label on the inner side of the line, so it stays inside the axes
        ax.axvline(value, color="black", linestyle="--", linewidth=1.2, label="threshold")
        ax.annotate(
            f"{value:g}",
            (value, 1),
            xycoords=("data", "axes fraction"),
            xytext=(-2 if right else 2, -2),
            textcoords="offset points",
            va="top",
            ha="right" if right else "left",
            fontsize=7,
        )
    ax.set_title(signal.field, fontsize=9)
    ax.tick_params(labelsize=7)
    count_axis(ax.yaxis)


def signal_grid(title: str, signals: Sequence[Signal], columns: int = 3) -> bytes:
    """All quality signals of one step as small multiples."""
    columns = min(columns, len(signals))
    rows = math.ceil(len(signals) / columns)
    width, height = 4.0 * columns + 0.4, 2.6 * rows + 1.0
    fig = Figure(
        figsize=(width, height)
    )  # margins in inches: a layout engine triples the drawing time
    fig.subplots_adjust(
        left=0.55 / width,
        right=1 - 0.15 / width,
        bottom=0.35 / height,
        top=1 - 0.95 / height,
        wspace=0.3,
        hspace=0.55,
    )
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax, signal in zip(axes, signals):
        _signal_panel(ax, signal)
    for ax in axes[len(signals) :]:
        ax.set_visible(False)
    fig.suptitle(title, y=1 - 0.12 / height, va="top")
    unique: dict[str, Any] = {}
    for ax in axes[: len(signals)]:
        handles, labels = ax.get_legend_handles_labels()
        unique.update(zip(labels, handles))
    fig.legend(
        unique.values(),
        unique.keys(),
        loc="upper right",
        ncols=3,
        fontsize=8,
        frameon=False,
        bbox_to_anchor=(1 - 0.15 / width, 1 - 0.45 / height),
    )
    return png(fig)
