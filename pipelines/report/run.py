"""Everything the report reads from a run folder, loaded once: stats, recipe, inputs, samples, token
manifest."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scratchlm.curate import layout
from scratchlm.curate.errors import ConfigError
from scratchlm.pipelines.recipe import Recipe, load_recipe
from scratchlm.pipelines.report.sample import SAMPLE_ROWS, StepSample, sample_step
from scratchlm.pipelines.sections.shard import SHARDS_DIR
from scratchlm.tokenizer import shard_format

MANIFEST = Path(SHARDS_DIR) / shard_format.MANIFEST


@dataclass
class RunData:
    run_dir: Path
    stats: dict[str, dict[str, Any]]  # step folder -> its stats.json, in step order
    recipe: Recipe | None  # None when recipe.yaml no longer loads (recipe_error says why)
    recipe_text: str
    recipe_error: str
    inputs: list[str]
    samples: list[StepSample]  # one per step folder, same order as ``stats``
    manifest: dict[str, Any] | None
    sample_rows: int

    @property
    def name(self) -> str:
        return self.recipe.name if self.recipe else self.run_dir.name

    def stage(self, folder: str) -> Any:
        """The configured stage of a step folder, or None when the recipe is unavailable."""
        if self.recipe is None:
            return None
        for index, step in enumerate(self.recipe.steps):
            if self.recipe.step_folder(index) == folder:
                return step.stage
        return None


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}: not valid JSON ({err.msg} at line {err.lineno})") from None


def load_run(run_dir: Path, sample_rows: int = SAMPLE_ROWS) -> RunData:
    """Read a finished curation run; a missing ``stats.json`` means it is not one (or not
    finished)."""
    stats_file = run_dir / layout.STATS
    if not stats_file.exists():
        raise FileNotFoundError(
            f"{stats_file}: no run statistics (is {run_dir} a finished `scratchlm curate` run?)"
        )
    stats = _json(stats_file)
    recipe_file = run_dir / layout.RECIPE
    recipe, recipe_error = None, ""
    try:
        recipe = load_recipe(recipe_file)
    except ConfigError as err:
        recipe_error = str(err)
    recipe_text = recipe_file.read_text(encoding="utf-8") if recipe_file.exists() else ""
    inputs_file = run_dir / layout.INPUTS
    inputs = _json(inputs_file) if inputs_file.exists() else []
    manifest_file = run_dir / MANIFEST
    manifest = _json(manifest_file) if manifest_file.exists() else None
    samples = [sample_step(run_dir / folder, sample_rows) for folder in stats]
    return RunData(
        run_dir, stats, recipe, recipe_text, recipe_error, inputs, samples, manifest, sample_rows
    )
