"""The Ray executor: the same ``map`` as the local one, as Ray tasks on a cluster (or this machine).

Each item (one input shard of one step, or one unit of a global stage's ``prepare``) is one Ray
task. A task whose worker process dies (killed, out of memory, node lost) is retried by Ray; the
shard writer writes temporary files and renames them, so a retried task overwrites cleanly. An
exception raised by the stage itself is not retried: it is a bug or bad data, and it stops the run.
Outputs go to the run folder, which every node must see at the same path (NFS, Lustre, EFS...).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Callable, Sequence

import ray

from scratchlm.pipelines.executors.base import BaseExecutor

TASK_RETRIES = 3  # attempts after the first when a worker process dies mid-task


class RayExecutor(BaseExecutor):
    """``workers`` caps the tasks in flight (0: one per CPU of the cluster); ``address`` picks the
    cluster."""

    def __init__(self, workers: int = 1, address: str | None = None) -> None:
        self.workers = workers
        self.address = address

    def _connect(self) -> None:
        """Join the cluster at ``address`` (or ``$RAY_ADDRESS``); with neither, start Ray on this
        machine."""
        if not ray.is_initialized():
            ray.init(address=self.address, include_dashboard=False)

    def _in_flight(self) -> int:
        if self.workers > 0:
            return self.workers
        return max(1, int(ray.cluster_resources().get("CPU", 1)))

    def completed(
        self, fn: Callable[[Any], Any], items: Sequence[Any]
    ) -> Iterator[tuple[int, Any]]:
        """Each item as a Ray task, as they finish; at most ``workers`` run at once. Joins the
        cluster at once, before the progress display opens."""
        self._connect()
        remote = ray.remote(fn).options(
            num_cpus=1, max_retries=TASK_RETRIES, retry_exceptions=False
        )
        return self._as_finished(remote, items, self._in_flight())

    @staticmethod
    def _as_finished(remote: Any, items: Sequence[Any], limit: int) -> Iterator[tuple[int, Any]]:
        """The items submitted to ``remote``, at most ``limit`` in flight, as they finish."""
        pending: dict[Any, int] = {}
        queue = iter(enumerate(items))
        for index, item in queue:
            pending[remote.remote(item)] = index
            if len(pending) >= limit:
                break
        while pending:
            (ready,), _ = ray.wait(list(pending), num_returns=1)
            index = pending.pop(ready)
            yield index, ray.get(ready)
            for next_index, item in queue:
                pending[remote.remote(item)] = next_index
                break
