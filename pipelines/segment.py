"""One segment of consecutive steps over one shard, fused into a single streaming pass.

The shard's documents are read in batches; each batch goes through every step of the segment
before the next batch is read, so no step's output is stored between them. Each step keeps its
own counts, its own rejects (``STEP/rejects/part-N.parquet``) and its own ``part-N.done``; only
the steps that must (the segment's last, or every step with ``keep_intermediate``) write their
full output, the others the first few kept documents the report samples
(``STEP/kept-sample/part-N.parquet``). Every file is written under a temporary name and renamed;
the ``.done`` markers come last, in step order, so a shard of a segment is finished when its last
step's marker exists.

Between two steps a document is cleaned and measured exactly as writing it and reading it back
would (``curate.text.clean``), so each step's counts are those of an unfused run.
"""

from __future__ import annotations

import functools
import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from scratchlm.curate import layout
from scratchlm.curate.document import Document
from scratchlm.curate.memory import release_freed_memory
from scratchlm.curate.readers import Counted, FileError, ReadItem, Rejected
from scratchlm.curate.readers.spans import Span
from scratchlm.curate.remote import is_remote
from scratchlm.curate.shards import iter_documents
from scratchlm.curate.stage import MapStage, Source, StageResult, iter_batches
from scratchlm.curate.stats import StageStats
from scratchlm.curate.text.clean import clean_document
from scratchlm.curate.writer import ShardWriter, text_bytes, write_atomic
from scratchlm.pipelines.deadline import Plan, Watch, supervise
from scratchlm.pipelines.progress import count_documents

BATCH_DOCS = 256
REASONS_KEY = "filter_reasons"  # where annotate mode records the reasons a doc would be dropped
# row groups of a step's rejects and kept sample: a segment has two such writers open per step, so
# each buffers at most about one batch (its full output keeps ShardWriter's 2,048 rows / 64 MB)
SIDE_ROW_GROUPS = {"row_group_rows": BATCH_DOCS, "row_group_bytes": 4 << 20}


@dataclass(frozen=True)
class StepTask:
    """One step of a segment: what it runs, its folder, what it writes of the documents it keeps."""

    name: str  # the recipe's stage name, as reasons name it ("gopher_quality:word_count")
    stage: Source | MapStage  # a global stage's is the map stage its ``prepare`` returned
    output_dir: str
    write_output: bool = True  # its full output (the segment's last step, or keep_intermediate)
    sample_rows: int = 0  # otherwise: its first kept documents written for the report
    annotate: bool = False  # its reasons are recorded in the documents kept (action: annotate)


@dataclass(frozen=True)
class ShardTask:
    """A segment's steps applied to one shard: everything a worker needs, picklable."""

    steps: tuple[StepTask, ...]
    source: str  # the input file's stable name (a segment that starts with the source)
    input_path: str  # that file, or the Parquet shard of the step before the first
    part: str  # "part-00000"
    doc_timeout_s: float = (
        0.0  # the per-document deadline (0: none, the shard runs in the worker itself)
    )
    span: Span | None = None  # the read step's part of a big input file (None: all of it)


Indexed = tuple[int, Document]  # a document and its position in the segment's input


def process_shard(task: ShardTask) -> list[StageStats]:
    """Run the segment's steps over one shard, writing each step's files and ``.done`` marker;
    with a deadline, in a watched child process (``pipelines.deadline``). Returns each step's
    stats."""
    release_freed_memory()
    if task.doc_timeout_s > 0:
        return supervise(functools.partial(_process_shard, task), task.doc_timeout_s)
    return _process_shard(task, Plan(), Watch())


class _StepRun:
    """One step's side of a pass: its counts and its open writers."""

    def __init__(self, step: StepTask, part: str) -> None:
        self.step = step
        folder = Path(step.output_dir)
        self.done = folder / layout.done_file(part)
        self.stats = StageStats()
        self.rejects = ShardWriter(
            folder / layout.REJECTS / layout.shard_file(part), rejects=True, **SIDE_ROW_GROUPS
        )
        self.output: ShardWriter | None = None
        if step.write_output:
            self.output = ShardWriter(folder / layout.shard_file(part))
        elif step.sample_rows > 0:
            self.output = ShardWriter(
                folder / layout.KEPT_SAMPLE / layout.shard_file(part), **SIDE_ROW_GROUPS
            )

    def reject(self, doc: Document, reason: str) -> None:
        self.stats.dropped[reason] += 1
        self.rejects.write(doc, reason)

    def keep(self, doc: Document) -> int:
        """Count (and write, where this step writes) a kept document; returns its text's size."""
        clean_document(doc)
        size = text_bytes(doc)
        self.stats.docs_out += 1
        self.stats.bytes_out += size
        if self.output is not None and (
            self.step.write_output or self.output.rows < self.step.sample_rows
        ):
            self.output.write(doc)
        return size

    def close(self) -> None:
        if self.output is not None:
            self.output.close()
        self.rejects.close()


def _read_items(task: ShardTask, plan: Plan, watch: Watch) -> Iterator[ReadItem]:
    """The shard's items; for a segment that starts with the source each record's reading of a
    local file is a watched call (a remote file's reading waits on the network, which its own
    timeouts and retries bound)."""
    source = task.steps[0].stage
    if not isinstance(source, Source):
        yield from iter_documents(task.input_path)
        return
    items = source.read(task.input_path, task.source, task.span)
    if is_remote(task.input_path):
        yield from items
        return
    for index in itertools.count():
        why = plan.abandoned.get((0, index))
        if why is not None:  # a reader cannot skip one record: the rest of the file is given up
            record = index + 1 + (task.span.records if task.span else 0)  # the file's numbering
            rest = "the rest of the file" if task.span is None else "the rest of this task's part"
            yield FileError(
                task.source, f"record {record}", f"{why.error('read')}; {rest} was not read"
            )
            return
        watch.start(index)
        item = next(items, None)
        watch.stop()
        if item is None:
            return
        yield item


def _documents(task: ShardTask, first: _StepRun, plan: Plan, watch: Watch) -> Iterator[Indexed]:
    """The segment's input documents with their positions, counted into its first step (which
    also takes the reader's rejects, file errors and counts)."""
    for index, item in enumerate(_read_items(task, plan, watch)):
        if isinstance(item, FileError):
            first.stats.errors.append(item.as_dict())
            continue
        if isinstance(item, Counted):
            first.stats.counted[item.name] += 1
            continue
        doc = item.doc if isinstance(item, Rejected) else item
        first.stats.docs_in += 1
        first.stats.bytes_in += text_bytes(doc)
        if isinstance(item, Rejected):
            first.reject(item.doc, item.reason)
        else:
            yield index, item


def _stage_results(
    step: int, name: str, stage: MapStage, batch: list[Indexed], plan: Plan, watch: Watch
) -> list[StageResult]:
    """Step ``step``'s answers for a batch: in one watched call while the plan allows, else one
    document at a time, a document abandoned on an earlier pass rejected at once."""
    indices = [index for index, _ in batch]
    if indices[-1] < plan.one_by_one_from.get(step, indices[-1] + 1) and not any(
        (step, index) in plan.abandoned for index in indices
    ):
        watch.start(indices[0], len(batch), step)
        results = stage.map_batch([doc for _, doc in batch])
        watch.stop()
        return results
    results: list[StageResult] = []
    for index, doc in batch:
        why = plan.abandoned.get((step, index))
        if why is not None:
            doc.meta["error"] = why.error(name)
            results.append(why.reason(name))
            continue
        watch.start(index, 1, step)
        results.append(stage(doc))
        watch.stop()
    return results


def _apply_step(
    position: int, run: _StepRun, batch: list[Indexed], plan: Plan, watch: Watch
) -> list[Indexed]:
    """One step over a batch: rejects routed, reasons annotated, transforms applied; the kept
    documents are returned for the next step."""
    stage = run.step.stage
    if isinstance(stage, Source):  # its rejects came with the items it read
        results: list[StageResult] = [None] * len(batch)
    else:
        results = _stage_results(position, run.step.name, stage, batch, plan, watch)
    kept: list[Indexed] = []
    for (index, doc), result in zip(batch, results):
        if isinstance(result, str):
            if not run.step.annotate:
                run.reject(doc, result)
                continue
            run.stats.annotated[result] += 1
            doc.meta.setdefault(REASONS_KEY, []).append(result)
        elif isinstance(result, Document):
            doc = result
        kept.append((index, doc))
    return kept


def _process_shard(task: ShardTask, plan: Plan, watch: Watch) -> list[StageStats]:
    runs = [_StepRun(step, task.part) for step in task.steps]
    counted_docs = counted_bytes = 0
    clock = time.perf_counter()
    for batch in iter_batches(_documents(task, runs[0], plan, watch), BATCH_DOCS):
        first = runs[0].stats
        count_documents(first.docs_in - counted_docs, first.bytes_in - counted_bytes)
        counted_docs, counted_bytes = first.docs_in, first.bytes_in
        for position, run in enumerate(runs):
            if position > 0:
                run.stats.docs_in += len(batch)
            batch = _apply_step(position, run, batch, plan, watch)
            sizes = [run.keep(doc) for _, doc in batch]
            if position + 1 < len(runs):
                runs[position + 1].stats.bytes_in += sum(sizes)
            now = time.perf_counter()
            run.stats.seconds += now - clock
            clock = now
            if not batch:
                break
    for run in runs:
        run.close()
        now = time.perf_counter()
        run.stats.seconds += now - clock
        clock = now
    for run in runs:  # in step order, the last step's marker last: what resuming relies on
        write_atomic(run.done, json.dumps(run.stats.to_dict(), sort_keys=True))
    return [run.stats for run in runs]
