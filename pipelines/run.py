"""``scratchlm run`` and ``scratchlm curate``: curation, then (for run) each later section
present, in order.

A run folder whose recipe changed only in its later sections (bpe, shard, train) goes on: its
curation is kept, and each section redoes its work when its options or its input changed, so a
changed section and those after it are redone.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from scratchlm.curate import layout
from scratchlm.curate.errors import ConfigError
from scratchlm.curate.stage import Executor
from scratchlm.curate.writer import write_atomic
from scratchlm.pipelines.recipe import SECTIONS, Recipe
from scratchlm.pipelines.report import write_report
from scratchlm.pipelines.runner import CurationResult, run_curation

# section -> module whose ``run_section(config, run_dir, curated_dir, executor)`` carries it out
SECTION_RUNNERS = {
    "bpe": "scratchlm.pipelines.sections.bpe",
    "shard": "scratchlm.pipelines.sections.shard",
    "train": "scratchlm.pipelines.sections.train",
}


def run_recipe(
    recipe: Recipe, inputs: list[str], output: Path, executor: Executor, sections: bool = True
) -> CurationResult:
    """Curate (printing the stats table), run the recipe's later sections unless ``sections`` is
    False (``scratchlm curate``), then write the report."""
    if "mix" in recipe.sections:
        raise ConfigError(
            f"recipe {recipe.name!r} is a mixture (a mix section): run it with "
            f"scratchlm mix RECIPE --output DIR"
        )
    result = run_curation(recipe, inputs, output, executor)
    changed = result.changed_sections
    if changed:
        print(
            f"the recipe's {', '.join(changed)} changed: the curation in {output} is kept; "
            f"{'they are' if len(changed) > 1 else 'it is'} redone, and what follows"
        )
    for key in SECTIONS if sections else ():
        if key in recipe.sections and key in SECTION_RUNNERS:
            module = importlib.import_module(SECTION_RUNNERS[key])
            module.run_section(recipe.sections[key], output, result.final_dir, executor)
    print(f"report: {write_report(output)}")
    return result


def run_mixture_recipe(recipe: Recipe, output: Path, executor: Executor) -> dict:
    """``scratchlm mix``: the mixture's shards (``pipelines/sections/mix.py``), then the recipe's
    train section when present, then the report; returns the shards' manifest."""
    from scratchlm.pipelines.report.mixture import write_mixture_report
    from scratchlm.pipelines.sections.mix import check_mixture, run_mixture

    prepared = check_mixture(recipe)
    output.mkdir(parents=True, exist_ok=True)
    write_atomic(output / layout.RECIPE, recipe.to_yaml())
    manifest = run_mixture(recipe, prepared, output, executor)
    if "train" in recipe.sections:
        module = importlib.import_module(SECTION_RUNNERS["train"])
        module.run_section(recipe.sections["train"], output, output, executor)
    print(f"report: {write_mixture_report(output)}")
    return manifest
