"""Progress of long work: a bar on a terminal, a plain line now and then elsewhere.

A bar counts finished items (shards), weighted by their input size when the caller knows it, so
that the ETA follows the bytes; it also shows the documents processed so far and their text's
MB/s. Those live counts come from ``count_documents``, which shard workers call per batch: the
counters are shared memory created when the bar opens, so the local executor's forked workers
add to them (a worker's shard child counts into its own slots, which the worker passes on);
Ray's workers do not see them, and there the counts grow as shards finish. When stderr is not a
terminal, a line such as ``02_language: 3/10 shards, 12,345 docs, 4.2 MB/s, ETA 0:03:10`` is printed
every ``SCRATCHLM_PROGRESS_S`` seconds (default 30).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from tqdm import tqdm

TERMINAL_REFRESH_S = 1.0


class _Counts:
    """Two counters (documents, text bytes) in shared memory, added to under a lock or by one
    writer."""

    def __init__(
        self, shared: Any, docs_slot: int = 0, bytes_slot: int = 1, lock: Any = None
    ) -> None:
        self.shared, self.docs_slot, self.bytes_slot, self.lock = (
            shared,
            docs_slot,
            bytes_slot,
            lock,
        )

    def add(self, docs: int, text_bytes: int) -> None:
        if self.lock is None:
            self.shared[self.docs_slot] += docs
            self.shared[self.bytes_slot] += text_bytes
            return
        with self.lock:
            self.shared[self.docs_slot] += docs
            self.shared[self.bytes_slot] += text_bytes


_sink: _Counts | None = (
    None  # where this process's counts go: the open bar's, or its supervisor's slots
)


def count_documents(docs: int, text_bytes: int) -> None:
    """Add to the open bar's live counts (nothing when no bar is open in an ancestor process)."""
    if _sink is not None:
        _sink.add(docs, text_bytes)


def count_into(shared: Any, docs_slot: int, bytes_slot: int) -> None:
    """Send this process's counts to two slots that only it writes (a shard child's, which its
    supervisor passes on); it never takes the bar's lock, so it may be killed at any moment."""
    global _sink
    _sink = _Counts(shared, docs_slot, bytes_slot)


def plain_interval() -> float:
    return float(os.environ.get("SCRATCHLM_PROGRESS_S", "30"))


class _Bar:
    def __init__(self, desc: str, weights: Sequence[int], terminal: bool, in_bytes: bool) -> None:
        self.desc, self.weights, self.items = desc, list(weights), len(weights)
        self.done = self.finished_docs = self.done_weight = 0
        self.started = time.monotonic()
        self.live = multiprocessing.get_context("fork").Array("q", 2)
        self.bar = tqdm(
            total=sum(self.weights),
            desc=desc,
            disable=not terminal,
            leave=False,
            unit="B" if in_bytes else "",
            unit_scale=in_bytes,
            unit_divisor=1024,
            bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]",
        )

    def docs_and_rate(self) -> tuple[int, float]:
        """Documents so far and the MB/s of their text."""
        docs, text_bytes = self.live[0], self.live[1]
        return max(docs, self.finished_docs), text_bytes / 1e6 / max(
            time.monotonic() - self.started, 1e-9
        )

    def advance(self, result: Any, index: int) -> None:
        """Item ``index`` is done; a result with a document count (``.docs_in``) adds to the
        total."""
        docs = getattr(result, "docs_in", None)
        if isinstance(docs, int):
            self.finished_docs += docs
        self.done += 1
        self.done_weight += self.weights[index]
        self.bar.update(self.weights[index])
        self.refresh()

    def refresh(self) -> None:
        docs, rate = self.docs_and_rate()
        self.bar.set_postfix_str(f"{self.done}/{self.items} shards, {docs:,} docs, {rate:.1f} MB/s")

    def line(self) -> str:
        """The plain progress line."""
        docs, rate = self.docs_and_rate()
        elapsed = time.monotonic() - self.started
        total = sum(self.weights)
        eta = "unknown"
        if 0 < self.done_weight < total:
            eta = time.strftime(
                "%H:%M:%S", time.gmtime(elapsed * (total - self.done_weight) / self.done_weight)
            )
        return (
            f"{self.desc}: {self.done}/{self.items} shards, "
            f"{docs:,} docs, {rate:.1f} MB/s, ETA {eta}"
        )


@contextmanager
def progress_bar(total: int, desc: str, weights: Sequence[int] | None = None) -> Iterator[_Bar]:
    """A progress display for ``total`` items (``weights``: their sizes, for the ETA)."""
    global _sink
    terminal = sys.stderr.isatty()
    bar = _Bar(
        desc,
        weights if weights is not None else [1] * total,
        terminal,
        in_bytes=weights is not None,
    )
    _sink, stop = _Counts(bar.live, lock=bar.live.get_lock()), threading.Event()

    def tick() -> None:
        while not stop.wait(TERMINAL_REFRESH_S if terminal else plain_interval()):
            if terminal:
                bar.refresh()
            else:
                print(bar.line(), file=sys.stderr, flush=True)

    ticker = threading.Thread(target=tick, daemon=True, name="scratchlm-progress")
    ticker.start()
    try:
        yield bar
    finally:
        stop.set()
        ticker.join()
        _sink = None
        bar.bar.close()
