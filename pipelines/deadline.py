"""The per-document deadline: shards are processed in a child process that their worker watches.

Each worker process (the local executor's pool worker, a Ray worker, or the main process with one
worker) forks one long-lived child and sends it its shards one after the other, so the child
loads its imports and models once, as a worker did. Before each call of a stage (a batch of
documents, or one document after an overrun) the child writes the call's step (its position in the
fused segment, ``pipelines.segment``), first document index, size and start time into a small
shared array; after the call it clears the start time. The
worker sleeps until the current call's deadline and, when a call overruns, kills the child's
whole process group (whatever it runs: a regular expression, a loop in a user's function, native
code, programs it started), forks a new child and processes the shard again from its start with
a ``Plan`` that says what to do differently: after an overrunning batch, the rest of the shard
goes to that step's stage one document at a time (so a stage that is slow on every batch costs one
restart, not one per batch), and an overrunning document is not given to the stage again but
rejected as ``<step>:timeout`` (the earlier steps of the segment still see it). A child that dies
inside a call (a crash in native code) is handled the same way, as ``<step>:crash``. Nothing is
written under the shard's real names until the child finishes, so a restart yields the same bytes as
a run in which the document had been rejected at once; the cost of a hostile document is its
deadline plus a second pass over the part of its shard before it. Per document the child only writes
a few numbers into shared memory; it also counts documents there, which the worker passes on to the
progress display.
"""

from __future__ import annotations

import ctypes
import math
import multiprocessing
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from scratchlm.pipelines import progress

T = TypeVar("T")
_STARTED, _INDEX, _COUNT, _STEP, _DOCS, _BYTES = range(6)  # the shared array's slots
TIMEOUT, CRASH = "timeout", "crash"
_PR_SET_PDEATHSIG = 1  # prctl(2)
MAX_WAIT_S = 1.0  # the worker wakes at least this often, to pass the child's counts on


@dataclass(frozen=True)
class Abandoned:
    """Why a document was taken from its stage: ``kind`` is TIMEOUT or CRASH."""

    kind: str
    deadline_s: float

    def reason(self, step: str) -> str:
        return f"{step}:{self.kind}"

    def error(self, step: str) -> str:
        if self.kind == TIMEOUT:
            return (
                f"{step} ran past the {self.deadline_s:g} s "
                "deadline on this document; the work was abandoned"
            )
        return f"the process running {step} died on this document"


@dataclass
class Plan:
    """What a pass over a shard does differently after earlier passes overran."""

    # (step, document index) -> why that step rejects the document instead of calling its stage
    abandoned: dict[tuple[int, int], Abandoned] = field(default_factory=dict)
    one_by_one_from: dict[int, int] = field(
        default_factory=dict
    )  # step -> from this index on, one at a time


class Watch:
    """The child's side: tells the supervisor which call runs since when (or nothing, unwatched)."""

    def __init__(self, shared: Any = None) -> None:
        self.shared = shared

    def start(self, index: int, count: int = 1, step: int = 0) -> None:
        if self.shared is not None:
            self.shared[_INDEX], self.shared[_COUNT], self.shared[_STEP] = index, count, step
            self.shared[_STARTED] = time.monotonic()

    def stop(self) -> None:
        if self.shared is not None:
            self.shared[_STARTED] = 0.0


@dataclass(frozen=True)
class _Overrun:
    step: int
    index: int
    count: int
    kind: str


class WorkerError(RuntimeError):
    """The shard's processing raised, or its process died outside a stage call."""


def check_deadline(seconds: float, where: str) -> float:
    """A deadline in seconds: a finite number >= 0 (0: none); anything else is a ValueError."""
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, (int, float))
        or not math.isfinite(seconds)
        or seconds < 0
    ):
        raise ValueError(
            f"{where}: expected a number of seconds >= 0 (0: no deadline), got {seconds!r}"
        )
    return float(seconds)


def supervise(work: Callable[[Plan, Watch], T], timeout_s: float) -> T:
    """``work(plan, watch)`` in this process's shard child, passed again with a new plan until no
    call overruns. ``work`` must be picklable (it is sent to a child that may already exist)."""
    plan = Plan()
    counted = [0, 0]  # documents and bytes passed on to the progress display for this shard
    while True:
        outcome = _child().run(work, plan, timeout_s, counted)
        if not isinstance(outcome, _Overrun):
            return outcome
        if outcome.count > 1:
            plan.one_by_one_from[outcome.step] = min(
                plan.one_by_one_from.get(outcome.step, outcome.index), outcome.index
            )
        else:
            plan.abandoned[outcome.step, outcome.index] = Abandoned(outcome.kind, timeout_s)


_current: _ShardChild | None = None


def _child() -> _ShardChild:
    """This process's shard child, started anew when there is none (first use, or after a kill)."""
    global _current
    if (
        _current is None or _current.supervisor != os.getpid() or not _current.alive()
    ):  # a forked copy's is not ours
        _current = _ShardChild()
    return _current


class _ShardChild:
    """A forked process that runs shard passes sent over a pipe, watched through shared memory."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("fork")
        self.supervisor = os.getpid()
        self.shared = context.RawArray("d", 6)
        self.tasks, child_tasks = context.Pipe(duplex=True)
        self.process = context.Process(
            target=self._serve, args=(child_tasks,), name="scratchlm-shard", daemon=True
        )
        self.process.start()
        child_tasks.close()

    def alive(self) -> bool:
        return self.process.is_alive()

    def _serve(self, tasks: Any) -> None:
        os.setpgrp()  # its own process group: a kill takes whatever it started too
        settle_fork(self.supervisor)
        self.tasks.close()
        progress.count_into(self.shared, _DOCS, _BYTES)
        watch = Watch(self.shared)
        while True:
            try:
                work, plan, cwd = tasks.recv()
            except EOFError:  # the supervisor is done with this child
                os._exit(0)
            try:
                os.chdir(cwd)  # relative paths mean what they mean to the supervisor now
                message: tuple[str, Any] = ("ok", work(plan, watch))
            except BaseException:  # noqa: BLE001 - everything goes back to the supervisor
                message = ("error", traceback.format_exc())
            watch.stop()
            tasks.send(message)

    def _current_call(self) -> tuple[float, int, int, int]:
        """(start time, step, first index, count) of the call in progress, read consistently."""
        while True:
            started = self.shared[_STARTED]
            step, index, count = (
                int(self.shared[_STEP]),
                int(self.shared[_INDEX]),
                int(self.shared[_COUNT]),
            )
            if self.shared[_STARTED] == started:
                return started, step, index, count

    def kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.join()

    def _pass_on_counts(self, counted: list[int]) -> None:
        """Give the progress display what this pass counted beyond what earlier passes did."""
        docs, text_bytes = int(self.shared[_DOCS]), int(self.shared[_BYTES])
        if docs > counted[0] or text_bytes > counted[1]:
            progress.count_documents(max(0, docs - counted[0]), max(0, text_bytes - counted[1]))
            counted[0], counted[1] = max(docs, counted[0]), max(text_bytes, counted[1])

    def run(
        self, work: Callable[[Plan, Watch], T], plan: Plan, timeout_s: float, counted: list[int]
    ) -> T | _Overrun:
        self.shared[_STARTED] = self.shared[_DOCS] = self.shared[_BYTES] = 0.0
        try:
            self.tasks.send((work, plan, os.getcwd()))
            return self._watch(timeout_s, counted)
        except BaseException:
            self.kill()  # an interrupted supervisor leaves no child working on the shard
            raise
        finally:
            self._pass_on_counts(counted)

    def _watch(self, timeout_s: float, counted: list[int]) -> T | _Overrun:
        while True:
            started, step, index, count = self._current_call()
            elapsed = time.monotonic() - started if started else 0.0
            budget = timeout_s
            if started and elapsed >= budget:
                self.kill()
                return _Overrun(step, index, count, TIMEOUT)
            ready = self.tasks.poll(min(budget - elapsed, MAX_WAIT_S))
            self._pass_on_counts(counted)
            if not ready:
                continue
            try:
                status, payload = self.tasks.recv()
            except EOFError:  # the child died without answering
                started, step, index, count = self._current_call()
                self.kill()
                if not started:
                    raise WorkerError(
                        f"the shard's process died outside any stage call "
                        f"(exit code {self.process.exitcode})"
                    ) from None
                return _Overrun(step, index, count, CRASH)
            if status == "error":
                raise WorkerError(payload)
            return payload


def settle_fork(parent: int) -> None:
    """What a forked curation process (a pool worker, a shard child) does first: die with
    ``parent``; and where ``parent`` had imported torch, run torch on one thread. A forked copy
    cannot use the OpenMP threads its parent's torch started (its first parallel operation hangs),
    and curation's parallelism is its processes anyway; a process that imports torch after the
    fork starts threads of its own."""
    die_with(parent)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


def die_with(parent: int) -> None:
    """Have the kernel kill this process when ``parent`` dies (Linux), so that a pool worker or a
    shard child never outlives the run that started it (a worker killed by its executor and retried
    there leaves no child writing the same shard; a driver killed with -9 leaves no idle
    workers)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (
        OSError,
        AttributeError,
    ):  # not Linux: an orphan finishes its shard; files are renamed atomically
        pass
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)
