"""What every executor's ``map`` does: results in item order, a progress display over the items."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any, Callable, Sequence

from scratchlm.pipelines.progress import progress_bar


class BaseExecutor(ABC):
    """An executor: ``map`` gathers what ``completed`` yields; a subclass says how items run."""

    def map(
        self,
        fn: Callable[[Any], Any],
        items: Sequence[Any],
        desc: str = "",
        weights: Sequence[int] | None = None,
    ) -> list[Any]:
        """``fn`` over ``items``, results in item order; a progress display counts finished items
        (weighted by ``weights``, their sizes, where given)."""
        results: list[Any] = [None] * len(items)
        if not items:
            return results
        finished = self.completed(fn, items)
        with progress_bar(len(items), desc, weights) as bar:
            for index, result in finished:
                results[index] = result
                bar.advance(result, index)
        return results

    @abstractmethod
    def completed(
        self, fn: Callable[[Any], Any], items: Sequence[Any]
    ) -> Iterator[tuple[int, Any]]:
        """(index, ``fn(item)``) of every item, as each finishes; what it does before returning
        the iterator (joining a cluster) happens before the progress display opens."""
