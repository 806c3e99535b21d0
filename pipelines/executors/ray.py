"""The Ray executor: the same ``map`` as the local one, as Ray tasks on a cluster (or this machine).

Each item (one input shard of one step, or one unit of a global stage's ``prepare``) is one Ray
task. A task whose worker process dies (killed, out of memory, node lost) is retried by Ray; the
shard writer writes temporary files and renames them, so a retried task overwrites cleanly. An
exception raised by the stage itself is not retried: it is a bug or bad data, and it stops the run.
Outputs go to the run folder, which every node must see at the same path (NFS, Lustre, EFS...).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import ray

from scratchlm.pipelines.progress import progress_bar

TASK_RETRIES = 3  # attempts after the first when a worker process dies mid-task


class RayExecutor:
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

    def map(
        self,
        fn: Callable[[Any], Any],
        items: Sequence[Any],
        desc: str = "",
        weights: Sequence[int] | None = None,
    ) -> list[Any]:
        """``fn`` over ``items`` as Ray tasks, results in item order; at most ``workers`` run at
        once (``weights``: the items' sizes, for the progress display's ETA)."""
        results: list[Any] = [None] * len(items)
        if not items:
            return results
        self._connect()
        remote = ray.remote(fn).options(
            num_cpus=1, max_retries=TASK_RETRIES, retry_exceptions=False
        )
        limit = self._in_flight()
        pending: dict[Any, int] = {}
        queue = iter(enumerate(items))
        with progress_bar(len(items), desc, weights) as bar:
            for index, item in queue:
                pending[remote.remote(item)] = index
                if len(pending) >= limit:
                    break
            while pending:
                (ready,), _ = ray.wait(list(pending), num_returns=1)
                index = pending.pop(ready)
                results[index] = ray.get(ready)
                bar.advance(results[index], index)
                for next_index, item in queue:
                    pending[remote.remote(item)] = next_index
                    break
        return results
