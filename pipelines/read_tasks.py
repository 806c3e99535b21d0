"""A run's read tasks: one per input file, or several for a file larger than ``task_bytes``.

The plan (``tasks.json`` in the run folder) is made once, by the executor's workers for the big
files, and kept: a resumed run reads the same parts whatever ``--task-bytes`` says now, and a run
folder started before tasks were planned (part files and no plan) keeps one task per file.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scratchlm.curate import layout
from scratchlm.curate.inputs import InputFile
from scratchlm.curate.readers import ReaderOptions
from scratchlm.curate.readers.base import part_ids, seen_across_parts
from scratchlm.curate.readers.spans import Span, plan_spans, records_carry_ids
from scratchlm.curate.remote import is_remote
from scratchlm.curate.stage import Executor
from scratchlm.curate.writer import write_atomic


@dataclass(frozen=True)
class ReadTask:
    source: str  # the input's stable name (ids and meta.source)
    path: str  # where to open it
    span: Span | None = None  # the file's part; None: the whole file


def _plan_file(job: tuple[str, ReaderOptions, int]) -> list[Span] | None:
    return plan_spans(*job)


def _span(plain: dict | None) -> Span | None:
    """A part as ``tasks.json`` records it (its ``seen`` a list there)."""
    return Span(**{**plain, "seen": tuple(plain.get("seen", ()))}) if plain else None


def _with_seen_ids(
    files: list[InputFile], spans: dict[str, list[Span]], options: ReaderOptions, executor: Any
) -> dict[str, list[Span]]:
    """The parts of the split files whose records carry their own ids, each with the earlier parts'
    ids its reading looks up (``Span.seen``): every part read once on the workers, then the parts
    that repeat an earlier part's id read again (``curate.readers.base.seen_across_parts``)."""
    files = [f for f in files if records_carry_ids(f.path, options)]
    jobs = [(f.path, f.source, options, span) for f in files for span in spans[f.source]]
    if not jobs:
        return {}
    found = iter(
        executor.map(part_ids, jobs, desc="planning ids", weights=[j[3].size for j in jobs])
    )
    return {
        f.source: seen_across_parts(
            f.path, f.source, options, spans[f.source], [next(found) for _ in spans[f.source]]
        )
        for f in files
    }


def _is_big(file: InputFile, task_bytes: int) -> bool:
    return (
        task_bytes > 0
        and not is_remote(file.path)
        and os.path.isfile(file.path)
        and os.path.getsize(file.path) > task_bytes
    )


def plan_read_tasks(
    files: list[InputFile],
    options: ReaderOptions,
    task_bytes: int,
    output: Path,
    executor: Executor,
    log: Callable[[str], Any] = print,
) -> list[ReadTask]:
    """The read tasks over ``files``, in input order, a big file's parts in file order; planned
    once per run folder (``tasks.json``), then reused as recorded."""
    recorded = output / layout.TASKS
    if recorded.exists():
        plan = json.loads(recorded.read_text(encoding="utf-8"))
        if plan["task_bytes"] != task_bytes:
            log(f"{output} was planned with task_bytes {plan['task_bytes']:,}: its tasks are kept")
        # inputs.json has checked that the sources are the same
        paths = {f.source: f.path for f in files}
        return [ReadTask(t["source"], paths[t["source"]], _span(t["span"])) for t in plan["tasks"]]
    if any(output.glob(f"*/{layout.DONE_MARKERS}")):  # a run started before read tasks were planned
        task_bytes = 0
    big = [f for f in files if _is_big(f, task_bytes)]
    jobs = [(f.path, options, task_bytes) for f in big]
    sizes = [os.path.getsize(f.path) for f in big]
    planned = executor.map(_plan_file, jobs, desc="planning", weights=sizes) if big else []
    spans = {f.source: s for f, s in zip(big, planned) if s}
    spans.update(_with_seen_ids([f for f in big if f.source in spans], spans, options, executor))
    tasks = [
        ReadTask(f.source, f.path, span) for f in files for span in spans.get(f.source, [None])
    ]
    plain = [{"source": t.source, "span": t.span and dataclasses.asdict(t.span)} for t in tasks]
    write_atomic(recorded, json.dumps({"task_bytes": task_bytes, "tasks": plain}, indent=1))
    if spans:
        log(
            f"{len(spans)} input file(s) larger than {task_bytes:,} bytes split into "
            f"{sum(len(s) for s in spans.values())} read tasks"
        )
    return tasks
