"""The per-document deadline: a shard is processed in a child process that its worker watches.

Before each call of a stage (one document, or one batch for stages with ``map_batch``) the child
writes the call's first document index, its size and its start time into a small shared array;
after the call it clears the start time. The supervising worker sleeps until the current call's
deadline and, when a call overruns, kills the child (whatever it runs: a regular expression, a
loop in a user's function, native code) and processes the shard again from its start with a
``Plan`` that says what to do differently: an overrunning batch is run one document at a time,
and an overrunning document is not given to the stage again but rejected as ``<step>:timeout``.
A child that dies inside a call (a crash in native code) is handled the same way, as
``<step>:crash``. Nothing is written under the shard's real names until the child finishes, so a
restart yields the same bytes as a run in which the document had been rejected at once; the cost
of a hostile document is its deadline plus a second pass over the part of the shard before it.
Per document the child only writes three numbers into shared memory.
"""
from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")
_STARTED, _INDEX, _COUNT = range(3)  # the shared array's slots
TIMEOUT, CRASH = "timeout", "crash"
_PR_SET_PDEATHSIG = 1  # prctl(2)


@dataclass(frozen=True)
class Abandoned:
    """Why a document was taken from its stage: ``kind`` is TIMEOUT or CRASH."""

    kind: str
    seconds: float

    def reason(self, step: str) -> str:
        return f"{step}:{self.kind}"

    def error(self, step: str) -> str:
        if self.kind == TIMEOUT:
            return f"{step} ran {self.seconds:.1f} s on this document, past the deadline; the work was abandoned"
        return f"the process running {step} died on this document after {self.seconds:.1f} s"


@dataclass
class Plan:
    """What a pass over a shard does differently after earlier passes overran."""

    abandoned: dict[int, Abandoned] = field(default_factory=dict)  # document index -> why it is rejected
    one_by_one: set[int] = field(default_factory=set)  # first index of batches to run a document at a time


class Watch:
    """The child's side: tells the supervisor which call runs since when (or nothing, unwatched)."""

    def __init__(self, shared: Any = None) -> None:
        self.shared = shared

    def start(self, index: int, count: int = 1) -> None:
        if self.shared is not None:
            self.shared[_INDEX], self.shared[_COUNT] = index, count
            self.shared[_STARTED] = time.monotonic()

    def stop(self) -> None:
        if self.shared is not None:
            self.shared[_STARTED] = 0.0


@dataclass(frozen=True)
class _Overrun:
    index: int
    count: int
    abandoned: Abandoned


def _die_with(supervisor: int) -> None:
    """Have the kernel kill this process when its supervisor dies (Linux), so that a worker killed by
    its executor (and retried there) leaves no child writing the same shard."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: an orphan finishes its shard; the files are renamed atomically
        pass
    if os.getppid() != supervisor:  # the supervisor died before the request took effect
        os._exit(1)


class WorkerError(RuntimeError):
    """The shard's processing raised; the message holds the child's traceback."""


def supervise(work: Callable[[Plan, Watch], T], timeout_s: float) -> T:
    """``work(plan, watch)`` in a child process, passed again with a new plan until no call overruns."""
    plan = Plan()
    while True:
        outcome = _Pass(work, plan, timeout_s).run()
        if not isinstance(outcome, _Overrun):
            return outcome
        if outcome.count > 1:
            plan.one_by_one.add(outcome.index)
        else:
            plan.abandoned[outcome.index] = outcome.abandoned


class _Pass(Generic[T]):
    """One pass of ``work`` in a forked child, watched by this process."""

    def __init__(self, work: Callable[[Plan, Watch], T], plan: Plan, timeout_s: float) -> None:
        self.work, self.plan, self.timeout_s = work, plan, timeout_s
        context = multiprocessing.get_context("fork")
        self.shared = context.RawArray("d", 3)
        self.receiver, self.sender = context.Pipe(duplex=False)
        self.process = context.Process(target=self._child, args=(os.getpid(),), name="scratchlm-shard")

    def _child(self, supervisor: int) -> None:
        _die_with(supervisor)
        self.receiver.close()
        try:
            message: tuple[str, Any] = ("ok", self.work(self.plan, Watch(self.shared)))
        except BaseException:  # noqa: BLE001 - everything goes back to the supervisor
            message = ("error", traceback.format_exc())
        self.sender.send(message)
        self.sender.close()
        os._exit(0)  # no exit handlers or buffers inherited from the parent

    def _current_call(self) -> tuple[float, int, int]:
        """(start time, first index, count) of the call in progress, read consistently."""
        while True:
            started = self.shared[_STARTED]
            index, count = int(self.shared[_INDEX]), int(self.shared[_COUNT])
            if self.shared[_STARTED] == started:
                return started, index, count

    def run(self) -> T | _Overrun:
        self.process.start()
        self.sender.close()
        try:
            return self._watch()
        finally:
            if self.process.is_alive():
                self.process.kill()
            self.process.join()
            self.receiver.close()

    def _watch(self) -> T | _Overrun:
        while True:
            started, index, count = self._current_call()
            elapsed = time.monotonic() - started if started else 0.0
            if started and elapsed >= self.timeout_s:
                self.process.kill()
                return _Overrun(index, count, Abandoned(TIMEOUT, elapsed))
            if not self.receiver.poll(self.timeout_s - elapsed):
                continue
            try:
                status, payload = self.receiver.recv()
            except EOFError:  # the child died without answering
                started, index, count = self._current_call()
                self.process.join()
                if not started:
                    raise WorkerError(f"the shard's process died outside any stage call "
                                      f"(exit code {self.process.exitcode})") from None
                return _Overrun(index, count, Abandoned(CRASH, time.monotonic() - started))
            if status == "error":
                raise WorkerError(payload)
            return payload
