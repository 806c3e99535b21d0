"""The data card (``report/datacard.md``): sources, recipe, counts, licences and known
limitations."""

from __future__ import annotations

from scratchlm.pipelines.report.run import RunData

LISTED_SOURCES = 50
LANGUAGE_STAGE = "language"
DEDUP_STAGES = {"exact_dedup", "minhash"}


def _cell(value: object) -> str:
    """A Markdown table cell: pipes escaped, one line."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def limitations(run: RunData) -> list[str]:
    """What a user of this data should know, derived from what the run did and did not do."""
    stages = {sample.stage for sample in run.samples}
    notes = []
    if LANGUAGE_STAGE not in stages:
        notes.append("No language identification step: the corpus may mix languages.")
    if not stages & DEDUP_STAGES:
        notes.append("No deduplication step: repeated and near-repeated documents remain.")
    if stages <= {"read", LANGUAGE_STAGE} | DEDUP_STAGES:
        notes.append(
            "No quality filter: boilerplate, spam and machine-generated text are not removed."
        )
    errors = sum(len(s["errors"]) for s in run.stats.values())
    if errors:
        notes.append(
            f"{errors} file error(s) while reading (truncated or corrupt inputs); the documents "
            "after each error position are missing. They are listed in stats.json."
        )
    if not run.recipe or not run.recipe.licences:
        notes.append(
            "The recipe declares no licences: the terms of use of the sources are unknown here."
        )
    notes.append("Licences are as declared in the recipe, not checked per document.")
    notes.append(
        "Filters are heuristics with published thresholds; the report's reject examples show what "
        "they remove, and they also remove some good text and keep some bad text."
    )
    return notes


def datacard(run: RunData) -> str:
    lines = [f"# Data card: {run.name}", "", f"Run folder: `{run.run_dir}`", "", "## Sources", ""]
    lines.append(f"{len(run.inputs):,} input file(s) (from inputs.json):")
    lines.append("")
    lines.extend(f"- `{source}`" for source in run.inputs[:LISTED_SOURCES])
    if len(run.inputs) > LISTED_SOURCES:
        lines.append(f"- ... and {len(run.inputs) - LISTED_SOURCES:,} more")
    lines += ["", "## Recipe", "", "```yaml", run.recipe_text.rstrip(), "```", "", "## Counts", ""]
    lines.append("| step | docs in | docs out | dropped | bytes in | bytes out |")
    lines.append("|---|---:|---:|---:|---:|---:|")
    for folder, s in run.stats.items():
        lines.append(
            f"| {_cell(folder)} | {s['docs_in']:,} | {s['docs_out']:,} | {s['docs_dropped']:,} "
            f"| {s['bytes_in']:,} | {s['bytes_out']:,} |"
        )
    splits = (run.manifest or {}).get("splits", {})
    if splits:
        lines += ["", "| split | tokens | docs |", "|---|---:|---:|"]
        lines.extend(
            f"| {_cell(name)} | {v['tokens']:,} | {v['docs']:,} |"
            for name, v in sorted(splits.items())
        )
    lines += ["", "## Licences", ""]
    licences = run.recipe.licences if run.recipe else []
    if licences:
        lines.extend(f"- {item}" for item in licences)
    else:
        lines.append("None declared in the recipe.")
    lines += ["", "## Known limitations", ""]
    lines.extend(f"- {note}" for note in limitations(run))
    return "\n".join(lines) + "\n"
