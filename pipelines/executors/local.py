"""The default executor: a process pool over shards on this machine (in-process for one worker)."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Callable, Sequence

from scratchlm.pipelines.deadline import settle_fork
from scratchlm.pipelines.executors.base import BaseExecutor


class LocalExecutor(BaseExecutor):
    def __init__(self, workers: int = 1) -> None:
        self.workers = max(1, workers)

    def completed(
        self, fn: Callable[[Any], Any], items: Sequence[Any]
    ) -> Iterator[tuple[int, Any]]:
        """Each item in turn in this process (one worker or one item), else in a pool of
        ``workers`` processes, as they finish."""
        if self.workers == 1 or len(items) <= 1:
            for i, item in enumerate(items):
                yield i, fn(item)
            return
        context = multiprocessing.get_context("fork")
        workers = min(self.workers, len(items))
        # the workers die with this process (a driver killed with -9 leaves no idle pool behind)
        # and run torch on one thread (settle_fork)
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=settle_fork, initargs=(os.getpid(),)
        ) as pool:
            futures = {pool.submit(fn, item): i for i, item in enumerate(items)}
            for future in as_completed(futures):
                yield futures[future], future.result()
