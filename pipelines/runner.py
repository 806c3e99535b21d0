"""Running a recipe's curation steps: one folder per step, one output shard per input shard.

A shard is finished when its ``.done`` file exists (written last, atomically, holding the
shard's stats), so a killed run resumes by skipping finished shards and yields the same bytes.
"""
from __future__ import annotations

import functools
import itertools
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from curate.document import Document
from curate.errors import ConfigError, InputError
from curate.inputs import InputFile, expand_inputs
from curate.readers import Counted, FileError, ReadItem, Rejected
from curate.readers.spans import Span
from curate.remote import is_remote
from curate.shards import iter_documents
from curate.stage import GlobalStage, StageResult, apply_stage, iter_batches
from curate.stages.read import counted_lines
from curate.stats import StageStats
from curate.writer import ShardWriter, claim_folder, text_bytes, write_atomic
from pipelines.deadline import Plan, Watch, supervise
from pipelines.progress import count_documents
from pipelines.read_tasks import plan_read_tasks
from pipelines.recipe import SECTIONS, Recipe

BATCH_DOCS = 256
REASONS_KEY = "filter_reasons"  # where annotate mode records the reasons a doc would be dropped


@dataclass(frozen=True)
class ShardTask:
    """One step applied to one shard: everything a worker needs, picklable."""

    step_name: str
    stage: Any
    source: str       # input file's stable name (read step) or the previous step's shard
    input_path: str
    output_dir: str
    part: str         # "part-00000"
    doc_timeout_s: float = 0.0  # the per-document deadline (0: none, the shard runs in the worker itself)
    span: Span | None = None    # the read step's part of a big input file (None: all of it)


def _read_items(task: ShardTask, plan: Plan, watch: Watch) -> Iterator[ReadItem]:
    """The shard's items; for the read step each record's reading of a local file is a watched call
    (a remote file's reading waits on the network, which its own timeouts and retries bound)."""
    if task.step_name != "read":
        yield from iter_documents(task.input_path)
        return
    items = task.stage.read(task.input_path, task.source, task.span)
    if is_remote(task.input_path):
        yield from items
        return
    for index in itertools.count():
        if index in plan.abandoned:  # a reader cannot skip one record: the rest of the file is given up
            why = plan.abandoned[index]
            record = index + 1 + (task.span.records if task.span else 0)  # the file's numbering
            rest = "the rest of the file" if task.span is None else "the rest of this task's part"
            error = f"{why.error('read')}; {rest} was not read"
            yield FileError(task.source, f"record {record}", error)
            return
        watch.start(index)
        item = next(items, None)
        watch.stop()
        if item is None:
            return
        yield item


def process_shard(task: ShardTask) -> StageStats:
    """Apply one stage to one shard, writing its output, rejects and ``.done`` marker; with a
    deadline, in a watched child process (``pipelines.deadline``)."""
    if task.doc_timeout_s > 0:
        return supervise(functools.partial(_process_shard, task), task.doc_timeout_s)
    return _process_shard(task, Plan(), Watch())


def _stage_results(task: ShardTask, batch: list[Document], first: int, plan: Plan, watch: Watch) -> list[StageResult]:
    """The stage's answers for a batch whose first document has index ``first`` in the shard."""
    indices = range(first, first + len(batch))
    if first + len(batch) <= plan.one_by_one_from and plan.abandoned.keys().isdisjoint(indices):
        watch.start(first, len(batch))
        results = apply_stage(task.stage, batch)
        watch.stop()
        return results
    results: list[StageResult] = []
    for index, doc in zip(indices, batch):
        if index in plan.abandoned:
            doc.meta["error"] = plan.abandoned[index].error(task.step_name)
            results.append(plan.abandoned[index].reason(task.step_name))
            continue
        watch.start(index)
        results.append(task.stage(doc))
        watch.stop()
    return results


def _process_shard(task: ShardTask, plan: Plan, watch: Watch) -> StageStats:
    started = time.perf_counter()
    out_dir = Path(task.output_dir)
    stats = StageStats()
    output = ShardWriter(out_dir / f"{task.part}.parquet")
    rejects = ShardWriter(out_dir / "rejects" / f"{task.part}.parquet", rejects=True)
    annotate = getattr(task.stage, "action", "drop") == "annotate"

    def reject(doc: Document, reason: str) -> None:
        stats.dropped[reason] += 1
        rejects.write(doc, reason)

    def documents() -> Iterator[Document]:
        for item in _read_items(task, plan, watch):
            if isinstance(item, FileError):
                stats.errors.append(item.as_dict())
                continue
            if isinstance(item, Counted):
                stats.counted[item.name] += 1
                continue
            doc = item.doc if isinstance(item, Rejected) else item
            stats.docs_in += 1
            stats.bytes_in += text_bytes(doc)
            if isinstance(item, Rejected):
                reject(item.doc, item.reason)
            else:
                yield item

    first = counted_docs = counted_bytes = 0
    for batch in iter_batches(documents(), BATCH_DOCS):
        count_documents(stats.docs_in - counted_docs, stats.bytes_in - counted_bytes)
        counted_docs, counted_bytes = stats.docs_in, stats.bytes_in
        if task.step_name == "read":
            results: list[StageResult] = [None] * len(batch)
        else:
            results = _stage_results(task, batch, first, plan, watch)
        first += len(batch)
        for doc, result in zip(batch, results):
            if isinstance(result, str):
                if not annotate:
                    reject(doc, result)
                    continue
                stats.annotated[result] += 1
                doc.meta.setdefault(REASONS_KEY, []).append(result)
            elif isinstance(result, Document):
                doc = result
            stats.docs_out += 1
            output.write(doc)
    output.close()
    stats.bytes_out = output.bytes  # the writer has already measured every text it wrote
    rejects.close()
    stats.seconds = time.perf_counter() - started
    write_atomic(out_dir / f"{task.part}.done", json.dumps(stats.to_dict(), sort_keys=True))
    return stats


@dataclass
class CurationResult:
    output: Path
    steps: list[tuple[str, StageStats]]
    changed_sections: list[str] = field(default_factory=list)  # later sections changed since the last run

    @property
    def final_dir(self) -> Path:
        return self.output / self.steps[-1][0]


def _check_run_folder(output: Path, recipe: Recipe, inputs: list[InputFile]) -> list[str]:
    """Refuse to resume into a folder that holds a run of another curation (name, steps, licences)
    or over other inputs; record the recipe and inputs; return the later sections (bpe, shard,
    train) whose options changed, which their own steps redo."""
    recipe_file, inputs_file = output / "recipe.yaml", output / "inputs.json"
    inputs_json = json.dumps([f.source for f in inputs], indent=1)
    now = recipe.to_plain()
    recorded = yaml.safe_load(recipe_file.read_text(encoding="utf-8")) if recipe_file.exists() else now
    if not isinstance(recorded, dict) or _curation(recorded) != _curation(now):
        raise ConfigError(f"{output} holds a run of a different recipe; choose another --output")
    claim_folder(inputs_file, inputs_json, "a run over different inputs")
    write_atomic(recipe_file, recipe.to_yaml())
    return [key for key in SECTIONS if recorded.get(key) != now.get(key)]


def _curation(plain: dict[str, Any]) -> dict[str, Any]:
    """A recipe's plain form without its later sections: what its curation depends on."""
    return {key: value for key, value in plain.items() if key not in SECTIONS}


def _input_size(task: ShardTask) -> int:
    """A shard's input size in bytes, for the progress display's ETA (1 for a URL or a folder)."""
    if task.span is not None:
        return max(1, task.span.size)
    try:
        return max(1, os.path.getsize(task.input_path)) if os.path.isfile(task.input_path) else 1
    except OSError:
        return 1


def shard_stats(step_dir: Path, part: str) -> StageStats:
    return StageStats.from_dict(json.loads((step_dir / f"{part}.done").read_text(encoding="utf-8")))


def run_curation(recipe: Recipe, inputs: list[str], output: Path, executor: Any, log: Any = print) -> CurationResult:
    """All curation steps of ``recipe`` over ``inputs`` into ``output``, resuming finished shards;
    ``log`` gets the per-step stats table and the final step's folder."""
    files = expand_inputs(inputs)
    output.mkdir(parents=True, exist_ok=True)
    changed_sections = _check_run_folder(output, recipe, files)
    read_options = recipe.steps[0].stage.options()
    read_tasks = plan_read_tasks(files, read_options, recipe.task_bytes, output, executor, log)
    parts = [f"part-{i:05d}" for i in range(len(read_tasks))]
    sources = [(t.source, t.path) for t in read_tasks]
    spans = [t.span for t in read_tasks]  # the read step's; later steps read whole shards
    results: list[tuple[str, StageStats]] = []
    for index, step in enumerate(recipe.steps):
        folder = recipe.step_folder(index)
        step_dir = output / folder
        step_dir.mkdir(exist_ok=True)
        if isinstance(step.stage, GlobalStage):
            step.stage.prepare([Path(p) for _, p in sources], step_dir / "_work", executor)
        tasks = [
            ShardTask(step.name, step.stage, source, path, str(step_dir), part,
                      recipe.doc_timeout_s, span)
            for part, (source, path), span in zip(parts, sources, spans)
            if not (step_dir / f"{part}.done").exists()
        ]
        if tasks:
            executor.map(process_shard, tasks, desc=folder, weights=[_input_size(t) for t in tasks])
        stats = StageStats()
        for part in parts:
            stats.merge(shard_stats(step_dir, part))
        write_atomic(step_dir / "stats.json", json.dumps(stats.to_dict(), indent=2, sort_keys=True))
        results.append((folder, stats))
        sources = [(f"{folder}/{part}.parquet", str(step_dir / f"{part}.parquet")) for part in parts]
        spans = [None] * len(parts)
    summary = {folder: stats.to_dict() for folder, stats in results}
    write_atomic(output / "stats.json", json.dumps(summary, indent=2))
    result = CurationResult(output, results, changed_sections)
    log(stats_table(result))
    for line in [*file_error_lines(result), *counted_lines(results[0][1].counted)]:
        log(line)
    if results[0][1].docs_in == 0:
        raise InputError(f"no document could be read from the {len(files)} input file(s); "
                         "the file errors above say why")
    log(f"curated documents: {result.final_dir}")
    return result


MAX_ERROR_LINES = 50  # file errors printed after the table; stats.json holds them all


def file_error_lines(result: CurationResult) -> list[str]:
    """One line per file error of the run (file, where, cause), at most MAX_ERROR_LINES and a count."""
    errors = [(folder, e) for folder, stats in result.steps for e in stats.errors]
    lines = [f"file error: {e['file']} at {e['offset']}: {e['error']}" for _, e in errors[:MAX_ERROR_LINES]]
    if len(errors) > MAX_ERROR_LINES:
        lines.append(f"... and {len(errors) - MAX_ERROR_LINES:,} more file errors ({result.output}/stats.json lists them)")
    return lines


def stats_table(result: CurationResult) -> str:
    """A per-step table: documents in, out, dropped by reason, and what the step counted."""
    rows = [("step", "in", "out", "dropped", "reasons")]
    for folder, stats in result.steps:
        reasons = ", ".join(f"{r}={n}" for r, n in sorted(stats.dropped.items())) or "-"
        if stats.errors:
            reasons += f" (+{len(stats.errors)} file errors)"
        if stats.counted:
            counts = ", ".join(f"{k}={n:,}" for k, n in sorted(stats.counted.items()))
            reasons += f" (counted: {counts})"
        rows.append((folder, f"{stats.docs_in:,}", f"{stats.docs_out:,}", f"{stats.docs_dropped:,}", reasons))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [row[i].rjust(widths[i]) for i in (1, 2, 3)] + [row[4]]
        lines.append("  ".join(cells))
    return "\n".join(lines)
