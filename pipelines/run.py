"""``scratchlm run`` and ``scratchlm curate``: curation, then (for run) each later section
present, in order.

A run folder whose recipe changed only in its later sections (bpe, shard, train) goes on: its
curation is kept, and each section redoes its work when its options or its input changed, so a
changed section and those after it are redone.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from pipelines.recipe import SECTIONS, Recipe
from pipelines.report import write_report
from pipelines.runner import CurationResult, run_curation

# section -> module whose ``run_section(config, run_dir, curated_dir, executor)`` carries it out
SECTION_RUNNERS = {
    "bpe": "pipelines.sections.bpe",
    "shard": "pipelines.sections.shard",
    "train": "pipelines.sections.train",
}


def run_recipe(recipe: Recipe, inputs: list[str], output: Path, executor: Any,
               sections: bool = True) -> CurationResult:
    """Curate (printing the stats table), run the recipe's later sections unless ``sections`` is
    False (``scratchlm curate``), then write the report."""
    result = run_curation(recipe, inputs, output, executor)
    changed = result.changed_sections
    if changed:
        print(f"the recipe's {', '.join(changed)} changed: the curation in {output} is kept; "
              f"{'they are' if len(changed) > 1 else 'it is'} redone, and what follows")
    for key in SECTIONS if sections else ():
        if key in recipe.sections:
            module = importlib.import_module(SECTION_RUNNERS[key])
            module.run_section(recipe.sections[key], output, result.final_dir, executor)
    print(f"report: {write_report(output)}")
    return result
