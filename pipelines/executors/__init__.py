"""Executors schedule work over shards; stage code never knows which one runs it."""

from __future__ import annotations

from scratchlm.curate.errors import ConfigError
from scratchlm.curate.stage import Executor
from scratchlm.pipelines.executors.local import LocalExecutor

EXECUTORS = ("local", "ray")


def make_executor(name: str, workers: int, ray_address: str | None = None) -> Executor:
    if ray_address is not None and name != "ray":
        raise ConfigError("--ray-address needs --executor ray")
    if name == "local":
        return LocalExecutor(workers)
    if name == "ray":
        try:
            from scratchlm.pipelines.executors.ray import RayExecutor
        except ImportError as err:
            raise ConfigError(
                f"--executor ray needs Ray: pip install 'scratchlm[ray]' ({err})"
            ) from None
        return RayExecutor(workers, address=ray_address)
    raise ConfigError(f"--executor: unknown executor {name!r} (known: {', '.join(EXECUTORS)})")
