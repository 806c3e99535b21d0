"""``ablation.html`` and ``ablation.png``: validation curves, final losses with their seed spread,
data kept."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any, Sequence

from matplotlib.figure import Figure

from scratchlm.curate.writer import write_atomic
from scratchlm.model.tasks import wilson_interval
from scratchlm.pipelines.ablation.compare import VariantResult
from scratchlm.pipelines.report.figures import png
from scratchlm.pipelines.report.page import Plot, Section, para, render, table

PNG = "ablation.png"
HTML = "ablation.html"


def loss_text(value: float) -> str:
    """How the page writes a loss (the test reads it back the same way)."""
    return f"{value:.4f}"


def figure(results: Sequence[VariantResult]) -> bytes:
    """Left: mean validation loss per variant over steps (band: min to max over seeds). Right: final
    loss, mean with a bar of one standard deviation over seeds."""
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    curves, finals = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    for index, result in enumerate(results):
        color = f"C{index}"
        steps = [step for step, _ in result.trainings[0].curve]
        per_step = list(
            zip(*[[loss for _, loss in training.curve] for training in result.trainings])
        )
        curves.plot(
            steps,
            [sum(v) / len(v) for v in per_step],
            "o-",
            color=color,
            markersize=3,
            label=result.name,
        )
        if len(result.trainings) > 1:
            curves.fill_between(
                steps,
                [min(v) for v in per_step],
                [max(v) for v in per_step],
                color=color,
                alpha=0.2,
            )
        finals.errorbar([index], [result.mean], yerr=[result.std], fmt="o", color=color, capsize=5)
        finals.plot([index] * len(result.trainings), result.losses, "x", color=color, alpha=0.6)
    curves.set_xlabel("step")
    curves.set_ylabel("loss on the evaluation text (nats/token)")
    curves.set_title("Validation loss (mean over seeds; band: min to max)")
    curves.grid(alpha=0.3)
    curves.legend(fontsize=8)
    finals.set_xlim(-0.5, len(results) - 0.5)
    finals.set_xticks(
        range(len(results)), [r.name for r in results], rotation=20, ha="right", fontsize=8
    )
    finals.set_title(f"Final loss (mean ± 1 s.d., x: each of {len(results[0].trainings)} seeds)")
    finals.grid(alpha=0.3, axis="y")
    return png(fig)


def paired_difference(result: VariantResult, reference: VariantResult) -> tuple[float, float]:
    """Mean and sample s.d. over seeds of (this variant's final loss - the reference's), seed by
    seed: runs of one seed share their initial weights, so the pairing removes that part of the
    spread."""
    differences = [a - b for a, b in zip(result.losses, reference.losses)]
    return statistics.fmean(differences), statistics.stdev(differences) if len(
        differences
    ) > 1 else 0.0


def _results_table(results: Sequence[VariantResult]) -> str:
    budget = results[0].trainings[0].tokens
    rows = []
    for r in results:
        mean, sd = paired_difference(r, results[0])
        lowest = [training.lowest for training in r.trainings]
        rows.append(
            [
                r.name,
                "; ".join(r.changes),
                r.docs_kept,
                r.train_tokens,
                f"{budget / r.train_tokens:.2f}",
                loss_text(r.mean),
                loss_text(r.std),
                f"{mean:+.4f} ± {sd:.4f}",
                len(r.trainings),
                ", ".join(loss_text(x) for x in r.losses),
                f"{loss_text(statistics.fmean(loss for _, loss in lowest))} "
                f"(steps {', '.join(str(step) for step, _ in lowest)})",
            ]
        )
    headers = [
        "variant",
        "changes to the base recipe",
        "documents kept",
        "tokens kept",
        "passes over the data",
        "final loss (mean)",
        "s.d. over seeds",
        f"minus {results[0].name}, paired by seed (mean ± s.d.)",
        "seeds",
        "final loss per seed",
        "lowest loss during training, mean over seeds (at steps)",
    ]
    return table(headers, rows, "results")


def _kept_by_input(results: Sequence[VariantResult]) -> list[str]:
    inputs = list(dict.fromkeys(name for r in results for name in r.kept_by_input))
    rows = []
    for r in results:
        chars = sum(entry["chars"] for entry in r.kept_by_input.values()) or 1
        cells = [r.kept_by_input.get(name, {"docs": 0, "chars": 0}) for name in inputs]
        rows.append(
            [
                r.name,
                *[
                    f"{c['docs']:,} docs, {c['chars'] / 1e6:.2f} M chars ({c['chars'] / chars:.0%})"
                    for c in cells
                ],
            ]
        )
    return [
        para(
            "Each variant's final curated documents by "
            "the input file they came from (meta.source): "
            "documents, characters, and the share of the variant's characters."
        ),
        table(["variant", *inputs], rows, "kept-by-input"),
    ]


def _decontamination(results: Sequence[VariantResult]) -> list[str]:
    files = sorted({name for r in results for name in r.decontaminated})
    if not files:
        return [para("No variant has a decontaminate step.", "note")]
    rows = [[r.name, *[r.decontaminated.get(f, 0) for f in files]] for r in results]
    return [
        para(
            "Training documents removed (or flagged, "
            "with action: annotate) as contaminated by each "
            "evaluation file, from the decontaminate step's reasons in stats.json."
        ),
        table(["variant", *files], rows, "decontamination"),
    ]


def _mean_sd(values: Sequence[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{loss_text(statistics.fmean(values))} ± {loss_text(sd)}"


def _heldout(results: Sequence[VariantResult]) -> list[str]:
    names = list(results[0].scores[0]["heldout"]) if results[0].scores else []
    if not names:
        return [para("No run was scored on the evaluation files one by one.", "note")]
    rows = [
        [r.name, *[_mean_sd([s["heldout"][n]["loss"] for s in r.scores]) for n in names]]
        for r in results
    ]
    tokens = ", ".join(f"{n}: {results[0].scores[0]['heldout'][n]['tokens']:,}" for n in names)
    return [
        para(
            "Loss of each run's final checkpoint on each evaluation file alone (nats/token, "
            f"mean ± s.d. over seeds), on its first tokens: {tokens}."
        ),
        table(["variant", *names], rows, "heldout"),
    ]


def _accuracy(acc: dict[str, Any]) -> str:
    return f"{acc['value']:.3f} [{acc['low']:.3f}, {acc['high']:.3f}]"


def _tasks(results: Sequence[VariantResult]) -> list[str]:
    tasks = list(results[0].scores[0]["tasks"]) if results[0].scores else []
    if not tasks:
        return [para("No --task file was scored.", "note")]
    blocks = []
    for task in tasks:
        rows = []
        for r in results:
            accs = [score["tasks"][task]["acc"] for score in r.scores]
            pooled = wilson_interval(sum(a["correct"] for a in accs), sum(a["total"] for a in accs))
            rows.append(
                [
                    r.name,
                    f"{statistics.fmean(a['value'] for a in accs):.3f}",
                    f"[{pooled[0]:.3f}, {pooled[1]:.3f}]",
                    "; ".join(_accuracy(a) for a in accs),
                ]
            )
        first = results[0].scores[0]["tasks"][task]
        blocks += [
            para(
                f"{task}: {first['items']:,} items ({first['task']}), scored as scratchlm "
                "eval --task does. Accuracy: mean over seeds; the pooled interval is the 95% "
                "Wilson interval of all seeds' answers together (it ignores that seeds share "
                "the items); then each seed's accuracy with its own 95% Wilson interval."
            ),
            table(
                [
                    "variant",
                    "accuracy (mean over seeds)",
                    "pooled 95% interval",
                    "each seed: accuracy [95% Wilson]",
                ],
                rows,
                f"task-{task}",
            ),
        ]
    return blocks


def write_page(
    name: str, results: Sequence[VariantResult], output: Path, eval_inputs: Sequence[str]
) -> Path:
    """Write ``ablation.png`` and ``ablation.html`` (the plot inlined) into ``output``."""
    image = figure(results)
    (output / PNG).write_bytes(image)
    first = results[0].trainings[0]
    overrides = ", ".join(f"{k}={v}" for k, v in first.train.get("model", {}).items())
    setup = (
        f"Every variant: one tokenizer trained on the union of all variants' documents, preset "
        f"{first.train['preset']}{f' with {overrides}' if overrides else ''} "
        f"({first.model['n_layer']} layers, "
        f"{first.model['n_embd']} wide, "
        f"context {first.model['block_size']}, {first.params:,} parameters), "
        f"{first.steps} steps, {first.tokens:,} training tokens per run, seeds "
        f"{', '.join(str(r.seed) for r in results[0].trainings)}; "
        "validation on the same evaluation text "
        f"({', '.join(eval_inputs)}, {results[0].manifest['splits']['val']['tokens']:,} tokens)."
    )
    sections = [
        Section(
            "Results",
            [para(setup)],
            [Plot("ablation", image, "validation loss per variant")],
            [_results_table(results)],
        ),
        Section("Loss by evaluation file", _heldout(results)),
        Section("Tasks", _tasks(results)),
        Section("Kept, by input file", _kept_by_input(results)),
        Section("Decontamination", _decontamination(results)),
    ]
    html = render(
        f"Ablation: {name}",
        [para("What each curation choice does to the trained model.")],
        sections,
    )
    write_atomic(output / HTML, html)
    return output / HTML
