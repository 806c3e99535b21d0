"""The report of a mixture run (``scratchlm mix``): ``RUN/report/index.html`` and ``datacard.md``.

Both show each source's weight, tokens, share, documents, epochs and licences; the page adds the
validation loss of every source (``RUN/report/loss.png``, from the training log) and links the
curation reports of the sources curated in the run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scratchlm.curate import layout
from scratchlm.curate.errors import ConfigError
from scratchlm.curate.writer import write_atomic
from scratchlm.model.train_log import LOG_NAME, Evaluation, read_log
from scratchlm.pipelines.loss_plot import plot_loss
from scratchlm.pipelines.recipe import Recipe, load_recipe
from scratchlm.pipelines.report import DATACARD, PAGE, REPORT_DIR, write_report
from scratchlm.pipelines.report.page import Plot, Section, link, para, render, table
from scratchlm.pipelines.sections.mix import SOURCES_DIR
from scratchlm.pipelines.sections.shard import SHARDS_DIR
from scratchlm.pipelines.training import LOSS_PLOT, TRAIN_DIR
from scratchlm.tokenizer.config import MixSource
from scratchlm.tokenizer.shard_format import MANIFEST

MANY_EPOCHS = 4  # repeated data is worth little past about 4 epochs (Muennighoff et al. 2023)


def _origin(spec: MixSource) -> str:
    if spec.shards is not None:
        return f"shards {spec.shards}"
    if spec.run is not None:
        return f"curated {spec.run}"
    return f"{', '.join(spec.input or ())} curated by {spec.recipe}"


def _recipe_licences(path: Path) -> list[str]:
    try:
        return load_recipe(path).licences if path.exists() else []
    except ConfigError:
        return []


def licences(spec: MixSource) -> list[str]:
    """The source's licence as the mixture declares it, else as its curation recipe does."""
    if spec.licence:
        return [spec.licence]
    if spec.recipe is not None:
        return _recipe_licences(Path(spec.recipe))
    if spec.run is not None:
        return _recipe_licences(Path(spec.run) / layout.RECIPE)
    return []


def final_losses(run_dir: Path) -> dict[str, float]:
    """Each source's validation loss at the training's last evaluation (none before training)."""
    evals = [
        r
        for r in read_log(run_dir / TRAIN_DIR / LOG_NAME)
        if isinstance(r, Evaluation) and r.val_loss_by_source
    ]
    return evals[-1].val_loss_by_source if evals else {}


HEADERS = (
    "source",
    "from",
    "weight",
    "tokens",
    "share",
    "documents",
    "epochs",
    "max epochs",
    "val tokens",
    "final val loss",
    "licences",
)


def source_rows(manifest: dict[str, Any], recipe: Recipe, losses: dict[str, float]) -> list[list]:
    specs = recipe.sections["mix"].sources
    rows = []
    for s in manifest["mixture"]["sources"]:
        spec = specs.get(s["name"])
        rows.append(
            [
                s["name"],
                _origin(spec) if spec else s["folder"],
                s["weight"],
                s["tokens"],
                f"{s['share']:.2%}",
                s["docs"],
                round(s["epochs"], 2),
                s["max_epochs"],
                s["val_tokens"],
                round(losses[s["name"]], 4) if s["name"] in losses else "-",
                "; ".join(licences(spec) if spec else []) or "unknown",
            ]
        )
    return rows


def notes(manifest: dict[str, Any]) -> list[str]:
    mixture = manifest["mixture"]
    budget = (
        f"a budget of {mixture['total_tokens']:,} tokens"
        if mixture["total_tokens"]
        else f"everything once ({mixture['budget_tokens']:,} tokens, the most no source's "
        f"max_epochs forbids)"
    )
    lines = [
        (
            f"{mixture['tokens']:,} training tokens from {len(mixture['sources'])} sources for "
            f"{budget}, interleaved with seed {mixture['seed']}; each source holds its weight's "
            f"share to within one document and keeps its own validation split."
        )
    ]
    repeated = [s["name"] for s in mixture["sources"] if s["epochs"] > MANY_EPOCHS]
    if repeated:
        lines.append(
            f"Repeated more than {MANY_EPOCHS} times: {', '.join(repeated)}; repeated "
            f"data is worth little past about 4 epochs (Muennighoff et al. 2023)."
        )
    return lines


def _cell(value: object) -> str:
    """A Markdown table cell: counts with thousands separators, pipes escaped."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value).replace("|", "\\|")


def datacard(run_dir: Path, recipe: Recipe, manifest: dict[str, Any], rows: list[list]) -> str:
    lines = [
        f"# Data card: {recipe.name} (a mixture)",
        "",
        f"Run folder: `{run_dir}`",
        "",
        "## Sources",
        "",
        *notes(manifest),
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|---|---|" + "---:|" * 8 + "---|",
    ]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    splits = manifest["splits"]
    lines += ["", "| split | tokens | docs |", "|---|---:|---:|"]
    lines += [f"| {name} | {v['tokens']:,} | {v['docs']:,} |" for name, v in splits.items()]
    recipe_text = (run_dir / layout.RECIPE).read_text(encoding="utf-8").rstrip()
    lines += ["", "## Recipe", "", "```yaml", recipe_text, "```", "", "## Licences", ""]
    declared = [f"- {row[0]}: {row[-1]}" for row in rows]
    lines += declared + [
        "",
        "## Known limitations",
        "",
        "- Licences are as declared in the recipes, not checked per document.",
        "- Each source's curation has the limitations its own data card lists.",
        (
            "- The validation loss of a source is measured on its own held-out "
            "documents; the total pools every source's validation windows."
        ),
    ]
    return "\n".join(lines) + "\n"


def write_mixture_report(run_dir: Path) -> Path:
    """Write the mixture's report (and the curation report of each source curated in the run);
    returns the path of ``index.html``."""
    run_dir = Path(run_dir)
    recipe = load_recipe(run_dir / layout.RECIPE)
    manifest = json.loads((run_dir / SHARDS_DIR / MANIFEST).read_text(encoding="utf-8"))
    out = run_dir / REPORT_DIR
    out.mkdir(exist_ok=True)
    rows = source_rows(manifest, recipe, final_losses(run_dir))
    section = Section(
        "Mixture", [para(line) for line in notes(manifest)], parts=[table(HEADERS, rows, "mixture")]
    )
    sections = [section]
    log = run_dir / TRAIN_DIR / LOG_NAME
    if log.exists():
        png = plot_loss(log, out / LOSS_PLOT, f"{recipe.name}: validation loss per source")
        sections.append(
            Section(
                "Validation loss per source",
                plots=[
                    Plot(
                        "loss",
                        png.read_bytes(),
                        "training and validation loss, total and per source",
                    )
                ],
            )
        )
    curated = sorted((run_dir / SOURCES_DIR).glob(f"*/{layout.STATS}"))
    if curated:
        links = [
            para(f"{d.parent.name}: ")
            + link(
                "../" + write_report(d.parent).relative_to(run_dir).as_posix(), "curation report"
            )
            for d in curated
        ]
        sections.append(Section("Sources curated in this run", parts=links))
    write_atomic(out / DATACARD, datacard(run_dir, recipe, manifest, rows))
    index = out / PAGE
    write_atomic(
        index, render(f"Mixture report: {recipe.name}", [para(f"Run folder {run_dir}.")], sections)
    )
    return index
