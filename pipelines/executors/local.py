"""The default executor: a process pool over shards on this machine (in-process for one worker)."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Callable, Sequence

from scratchlm.pipelines.deadline import die_with
from scratchlm.pipelines.progress import progress_bar


class LocalExecutor:
    def __init__(self, workers: int = 1) -> None:
        self.workers = max(1, workers)

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
        with progress_bar(len(items), desc, weights) as bar:
            if self.workers == 1 or len(items) <= 1:
                for i, item in enumerate(items):
                    results[i] = fn(item)
                    bar.advance(results[i], i)
                return results
            context = multiprocessing.get_context("fork")
            workers = min(self.workers, len(items))
            # the workers die with this process: a driver killed with -9 leaves no idle pool behind
            with ProcessPoolExecutor(
                workers, mp_context=context, initializer=die_with, initargs=(os.getpid(),)
            ) as pool:
                futures = {pool.submit(fn, item): i for i, item in enumerate(items)}
                for future in as_completed(futures):
                    results[futures[future]] = future.result()
                    bar.advance(results[futures[future]], futures[future])
        return results
