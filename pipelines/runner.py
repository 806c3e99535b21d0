"""Running a recipe's curation steps: one folder per step, one output shard per input shard.

The steps are cut into segments, each a global stage (dedup, perplexity scoring...) or the read
step followed by the map stages up to the next global stage; a segment runs as one fused pass per
shard (``pipelines.segment``), and only its last step writes its full output (every step does with
``keep_intermediate``). A shard of a segment is finished when every step's ``.done`` exists;
otherwise the segment is run again for that shard, from the furthest step whose output is kept
(a run made when every step wrote its output resumes from where it stopped).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from scratchlm.curate import layout
from scratchlm.curate.errors import ConfigError, InputError
from scratchlm.curate.inputs import InputFile, expand_inputs
from scratchlm.curate.memory import release_freed_memory
from scratchlm.curate.readers.spans import Span
from scratchlm.curate.stage import Executor, GlobalStage, MapStage, Source, annotates
from scratchlm.curate.stages.read import counted_lines
from scratchlm.curate.stats import StageStats
from scratchlm.curate.writer import claim_folder, write_atomic
from scratchlm.pipelines.read_tasks import plan_read_tasks
from scratchlm.pipelines.recipe import SECTIONS, Recipe
from scratchlm.pipelines.report.sample import kept_sample_rows
from scratchlm.pipelines.segment import ShardTask, StepTask, process_shard


@dataclass
class CurationResult:
    output: Path
    steps: list[tuple[str, StageStats]]
    changed_sections: list[str] = field(
        default_factory=list
    )  # later sections changed since the last run

    @property
    def final_dir(self) -> Path:
        return self.output / self.steps[-1][0]


def _check_run_folder(output: Path, recipe: Recipe, inputs: list[InputFile]) -> list[str]:
    """Refuse to resume into a folder that holds a run of another curation (name, steps, licences)
    or over other inputs; record the recipe and inputs; return the later sections (bpe, shard,
    train) whose options changed, which their own steps redo."""
    recipe_file, inputs_file = output / layout.RECIPE, output / layout.INPUTS
    inputs_json = json.dumps([f.source for f in inputs], indent=1)
    now = recipe.to_plain()
    recorded = (
        yaml.safe_load(recipe_file.read_text(encoding="utf-8")) if recipe_file.exists() else now
    )
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
    return StageStats.from_dict(
        json.loads((step_dir / layout.done_file(part)).read_text(encoding="utf-8"))
    )


def segments(recipe: Recipe) -> list[range]:
    """The recipe's step indices cut before every global stage: the runs of fused steps."""
    starts = [0] + [
        i for i, step in enumerate(recipe.steps) if i > 0 and isinstance(step.stage, GlobalStage)
    ]
    return [range(start, end) for start, end in zip(starts, starts[1:] + [len(recipe.steps)])]


def resume_point(step_dirs: list[Path], part: str) -> int | None:
    """Where a shard's segment starts again: None when every step has finished it, else the
    position after the furthest finished step whose output is kept (0: from the segment's input)."""
    start = 0
    for position, step_dir in enumerate(step_dirs):
        if not (step_dir / layout.done_file(part)).exists():
            return start
        if (step_dir / layout.shard_file(part)).exists():
            start = position + 1
    return None


def _segment_stages(
    recipe: Recipe, segment: range, inputs: list[Path], workdir: Path, executor: Executor
) -> list[Source | MapStage]:
    """What each step of a segment runs: its stage, or for a global stage (always a segment's
    first) the map stage its ``prepare`` pass over the segment's ``inputs`` returns."""
    stages = [recipe.steps[i].stage for i in segment]
    if isinstance(stages[0], GlobalStage):
        stages[0] = stages[0].prepare(inputs, workdir, executor)
    return stages


def _segment_tasks(
    recipe: Recipe,
    segment: range,
    stages: list[Source | MapStage],
    output: Path,
    parts: list[str],
    sources: list[tuple[str, str]],
    spans: list[Span | None],
) -> list[ShardTask]:
    """The unfinished shards of a segment, each from where it starts again (``spans``: the read
    step's part of a big input file, for a segment read from the input files)."""
    folders = [recipe.step_folder(i) for i in segment]
    step_dirs = [output / folder for folder in folders]
    tasks = []
    for number, (part, (source, path), span) in enumerate(zip(parts, sources, spans)):
        start = resume_point(step_dirs, part)
        if start is None:
            continue
        if start > 0:
            span = None
            shard = layout.shard_file(part)
            source, path = f"{folders[start - 1]}/{shard}", str(step_dirs[start - 1] / shard)
        steps = tuple(
            StepTask(
                recipe.steps[i].name,
                stage,
                str(output / recipe.step_folder(i)),
                write_output=recipe.keep_intermediate or i == segment[-1],
                sample_rows=kept_sample_rows(number, len(parts)),
                annotate=annotates(recipe.steps[i].stage),
            )
            for i, stage in zip(segment[start:], stages[start:])
        )
        tasks.append(ShardTask(steps, source, path, part, recipe.doc_timeout_s, span))
    return tasks


def run_curation(
    recipe: Recipe,
    inputs: list[str],
    output: Path,
    executor: Executor,
    log: Callable[[str], object] = print,
) -> CurationResult:
    """All curation steps of ``recipe`` over ``inputs`` into ``output``, resuming finished shards;
    ``log`` gets the per-step stats table and the final step's folder."""
    release_freed_memory()  # before any worker is forked: they inherit it
    files = expand_inputs(inputs)
    output.mkdir(parents=True, exist_ok=True)
    changed_sections = _check_run_folder(output, recipe, files)
    read_tasks = plan_read_tasks(
        files, recipe.source.options(), recipe.task_bytes, output, executor, log
    )
    parts = [layout.part_name(i) for i in range(len(read_tasks))]
    sources = [(t.source, t.path) for t in read_tasks]
    spans = [t.span for t in read_tasks]  # the read step's; later steps read whole shards
    results: list[tuple[str, StageStats]] = []
    for segment in segments(recipe):
        folders = [recipe.step_folder(i) for i in segment]
        for folder in folders:
            (output / folder).mkdir(exist_ok=True)
        shards = [Path(path) for _, path in sources]
        stages = _segment_stages(
            recipe, segment, shards, output / folders[0] / layout.WORK, executor
        )
        tasks = _segment_tasks(recipe, segment, stages, output, parts, sources, spans)
        if tasks:
            desc = folders[0] if len(folders) == 1 else f"{folders[0]}..{folders[-1]}"
            executor.map(process_shard, tasks, desc=desc, weights=[_input_size(t) for t in tasks])
        for folder in folders:
            stats = StageStats()
            for part in parts:
                stats.merge(shard_stats(output / folder, part))
            write_atomic(
                output / folder / layout.STATS,
                json.dumps(stats.to_dict(), indent=2, sort_keys=True),
            )
            results.append((folder, stats))
        sources = [
            (
                f"{folders[-1]}/{layout.shard_file(part)}",
                str(output / folders[-1] / layout.shard_file(part)),
            )
            for part in parts
        ]
        spans = [None] * len(parts)  # later segments read whole shards
    summary = {folder: stats.to_dict() for folder, stats in results}
    write_atomic(output / layout.STATS, json.dumps(summary, indent=2))
    result = CurationResult(output, results, changed_sections)
    log(stats_table(result))
    for line in [*file_error_lines(result), *counted_lines(results[0][1].counted)]:
        log(line)
    if results[0][1].docs_in == 0:
        raise InputError(
            f"no document could be read from the {len(files)} input file(s); "
            "the file errors above say why"
        )
    log(f"curated documents: {result.final_dir}")
    return result


MAX_ERROR_LINES = 50  # file errors printed after the table; stats.json holds them all


def file_error_lines(result: CurationResult) -> list[str]:
    """One line per file error of the run (file, where, cause), at most MAX_ERROR_LINES and a
    count."""
    errors = [(folder, e) for folder, stats in result.steps for e in stats.errors]
    lines = [
        f"file error: {e['file']} at {e['offset']}: {e['error']}"
        for _, e in errors[:MAX_ERROR_LINES]
    ]
    if len(errors) > MAX_ERROR_LINES:
        lines.append(
            f"... and {len(errors) - MAX_ERROR_LINES:,} more "
            f"file errors ({result.output}/stats.json lists them)"
        )
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
        rows.append(
            (
                folder,
                f"{stats.docs_in:,}",
                f"{stats.docs_out:,}",
                f"{stats.docs_dropped:,}",
                reasons,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [row[i].rjust(widths[i]) for i in (1, 2, 3)] + [row[4]]
        lines.append("  ".join(cells))
    return "\n".join(lines)
