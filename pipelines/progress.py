"""A progress bar for shards and documents, shown only on a terminal."""
from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Any, Iterator

from tqdm import tqdm


class _Bar:
    def __init__(self, bar: tqdm) -> None:
        self.bar = bar
        self.docs = 0

    def advance(self, result: Any) -> None:
        """One item done; results that carry a document count (``.docs_in``) add to the total."""
        docs = getattr(result, "docs_in", None)
        if isinstance(docs, int):
            self.docs += docs
            self.bar.set_postfix(docs=f"{self.docs:,}", refresh=False)
        self.bar.update(1)


@contextmanager
def progress_bar(total: int, desc: str) -> Iterator[_Bar]:
    bar = tqdm(total=total, desc=desc, unit="shard", disable=not sys.stderr.isatty(), leave=False)
    try:
        yield _Bar(bar)
    finally:
        bar.close()
