"""The report's sections, each built from the run's data; a section is left out when its data is
absent."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Callable, Sequence

from scratchlm.curate import layout
from scratchlm.curate.stages.read import counted_lines
from scratchlm.pipelines.report import DATACARD, figures
from scratchlm.pipelines.report.datacard import LANGUAGE_STAGE, limitations
from scratchlm.pipelines.report.page import Plot, Section, heading, link, para, snippet, table
from scratchlm.pipelines.report.run import RunData
from scratchlm.pipelines.report.sample import SAMPLE_FILES, Example, Sample, excerpt, find_text
from scratchlm.pipelines.report.thresholds import beyond, thresholds
from scratchlm.pipelines.report.trained import tokenizer, training

TOP_LANGUAGES = 25
CLUSTER_FIELD = "cluster_size"  # written by the dedup stages on each dropped duplicate
MAX_SIZE_ROWS = 16
LISTED_ERRORS = 50


def _sampled_note(run: RunData, samples: Sequence[Sample]) -> list[str]:
    if any(s.partial for s in samples):
        return [
            para(
                f"From a bounded sample: the first rows of up to {SAMPLE_FILES} shards, up to "
                f"{run.sample_rows:,} documents per step and per outcome (kept or dropped).",
                "note",
            )
        ]
    return []


def funnel(run: RunData) -> Section:
    rows, labels, docs, nbytes = [], ["input"], [], []
    for folder, s in run.stats.items():
        if not docs:
            docs.append(s["docs_in"])
            nbytes.append(s["bytes_in"])
        labels.append(folder)
        docs.append(s["docs_out"])
        nbytes.append(s["bytes_out"])
        rows.append(
            [
                folder,
                s["docs_in"],
                s["docs_out"],
                s["docs_dropped"],
                sum(s.get("annotated", {}).values()),
                s["bytes_in"],
                s["bytes_out"],
                len(s["errors"]),
                round(s["seconds"], 1),
            ]
        )
    headers = [
        "step",
        "docs in",
        "docs out",
        "dropped",
        "annotated",
        "bytes in",
        "bytes out",
        "file errors",
        "seconds",
    ]
    section = Section("Funnel: documents and bytes through each step")
    section.plots.append(
        Plot("funnel", figures.funnel(labels, docs, nbytes), "documents and bytes after each step")
    )
    section.parts.append(table(headers, rows, "funnel"))
    for folder, s in run.stats.items():
        section.parts.extend(
            para(f"{folder}: {line}", "note")
            for line in counted_lines(Counter(s.get("counted", {})))
        )
    errors = [(folder, e) for folder, s in run.stats.items() for e in s["errors"]]
    if errors:
        section.parts.append(heading(f"File errors ({len(errors)})"))
        section.parts.append(
            table(
                ["step", "file", "offset", "error"],
                [
                    [f, e.get("file", ""), e.get("offset", ""), e.get("error", "")]
                    for f, e in errors[:LISTED_ERRORS]
                ],
            )
        )
        if len(errors) > LISTED_ERRORS:
            section.parts.append(
                para(f"... and {len(errors) - LISTED_ERRORS:,} more, listed in stats.json.", "note")
            )
    return section


def rejects(run: RunData) -> Section | None:
    dropping = [
        (folder, s, sample)
        for (folder, s), sample in zip(run.stats.items(), run.samples)
        if s["dropped"]
    ]
    if not dropping:
        return None
    section = Section("Rejects by reason, with real examples")
    section.notes.append(
        para(
            "Each reason with the first documents it dropped, so you can judge whether the "
            "filter is right. The counts are exact (stats.json); the examples come from "
            "the first rows of the reject shards."
        )
    )
    labels, counts = [], []
    for folder, s, sample in dropping:
        section.parts.append(heading(folder))
        rows = []
        for reason, count in sorted(s["dropped"].items(), key=lambda kv: -kv[1]):
            labels.append(f"{folder}  {reason}")
            counts.append(count)
            rows.append([reason, count, f"{100 * count / max(s['docs_in'], 1):.1f}%"])
        section.parts.append(
            table(["reason", "dropped", "of step input"], rows, f"rejects-{folder}")
        )
        for reason, _count, _share in rows:
            examples = sample.rejected.snippets.get(reason, [])
            section.parts.append(
                para(
                    f"{reason}: "
                    + (
                        f"{len(examples)} example(s)"
                        if examples
                        else "no example in the sampled rows"
                    ),
                    "note",
                )
            )
            stage = run.stage(folder)
            for example in examples:
                why = _why(sample.stage, stage, reason, example)
                if example.duplicate_of:
                    why.append(f"duplicate of {example.duplicate_of}")
                section.parts.append(snippet(example.id, example.text, "; ".join(why)))
                if example.duplicate_of:
                    section.parts.append(_kept(run, folder, example))
    section.plots.append(
        Plot(
            "rejects",
            figures.bars(
                "Documents dropped, by step and reason", labels, {"dropped": counts}, "documents"
            ),
            "rejects by reason",
        )
    )
    return section


def _why(stage_name: str, stage: object, reason: str, example: Example) -> list[str]:
    """What dropped an example: its language against the kept ones for ``language:not_kept``,
    else each numeric field beyond one of the recipe's thresholds, next to the threshold."""
    if reason == "language:not_kept":
        keep = getattr(stage, "keep", [])
        return [f"lang = {example.lang}" + (f" (keep = {', '.join(keep)})" if keep else "")]
    return [
        f"{name} = {value:g} ({label} = {limit:g})"
        for name, value in example.numbers.items()
        for label, limit in thresholds(stage_name, stage, name).items()
        if beyond({label: limit}, value)
    ]


def _kept(run: RunData, folder: str, example: Example) -> str:
    """The document a dropped duplicate repeats: its id and start, read from the one output shard
    of the step that holds it (an earlier dedup index's documents are not in the run)."""
    text = None
    if example.duplicate_part:
        shard = run.run_dir / folder / layout.shard_file(example.duplicate_part)
        text = find_text(shard, example.duplicate_of)
    if text is None:
        where = "" if example.duplicate_part else ": a document of the dedup index"
        return para(
            f"kept: {example.duplicate_of} (its text is not in this step's output{where})", "note"
        )
    return snippet(f"kept: {example.duplicate_of}", excerpt(text), kept=True)


def languages(run: RunData) -> Section | None:
    """Languages at the ``language`` step (else the first step with ``meta.lang``): kept and dropped
    documents."""
    with_lang = [s for s in run.samples if s.kept.langs or s.rejected.langs]
    if not with_lang:
        return None
    sample = next((s for s in with_lang if s.stage == LANGUAGE_STAGE), with_lang[0])
    folder, kept, dropped = sample.folder, sample.kept.langs, sample.rejected.langs
    total = kept + dropped
    top = [lang for lang, _ in total.most_common(TOP_LANGUAGES)]
    other = set(total) - set(top)
    labels = top + (["other"] if other else [])
    series = {
        name: [c[lang] for lang in top] + ([sum(c[o] for o in other)] if other else [])
        for name, c in (("kept", kept), ("dropped", dropped))
    }
    section = Section(f"Languages (meta.lang at {folder})")
    section.notes.extend(_sampled_note(run, [sample.kept, sample.rejected]))
    section.plots.append(
        Plot(
            "languages",
            figures.bars(f"Documents by language at {folder}", labels, series, "documents"),
            "language distribution",
        )
    )
    rows = [
        [lang, kept[lang], dropped[lang]] for lang in sorted(total, key=lambda x: (-total[x], x))
    ]
    section.parts.append(table(["language", "kept", "dropped"], rows, "languages"))
    return section


def lengths(run: RunData) -> Section | None:
    first, last = run.samples[0], run.samples[-1]
    series = {
        f"before: {first.folder}": first.kept.lengths,
        f"after: {last.folder}": last.kept.lengths,
    }
    if not any(series.values()):
        return None
    section = Section("Document lengths before and after curation")
    section.notes.extend(_sampled_note(run, [first.kept, last.kept]))
    section.plots.append(
        Plot("lengths", figures.length_histograms(series), "document length histograms")
    )
    rows = [
        [
            name,
            len(v),
            int(statistics.median(v)) if v else 0,
            round(statistics.fmean(v)) if v else 0,
        ]
        for name, v in series.items()
    ]
    section.parts.append(
        table(["sample", "documents", "median chars", "mean chars"], rows, "lengths")
    )
    return section


def _natural(name: str) -> list:
    """Sort key putting ``gopher_dup_5gram`` before ``gopher_dup_10gram``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _new_signals(run: RunData) -> list[tuple[int, str]]:
    """(step index, meta field): numeric fields that first appear at a step (its quality
    signals)."""
    found, before = [], set()
    for index, sample in enumerate(run.samples):
        fields = set(sample.kept.numbers) | set(sample.rejected.numbers)
        if index > 0:
            found.extend(
                (index, f) for f in sorted(fields - before - {CLUSTER_FIELD}, key=_natural)
            )
        before |= sample.kept.keys | sample.rejected.keys
    return found


def signals(run: RunData) -> Section | None:
    found = _new_signals(run)
    if not found:
        return None
    section = Section("Quality signals, with the recipe's thresholds")
    section.notes.append(
        para(
            "Each numeric field a step writes into meta, over the documents it kept and dropped; "
            "dashed lines are the thresholds set in recipe.yaml."
        )
    )
    if run.recipe_error:
        section.notes.append(para(f"Thresholds are not drawn: {run.recipe_error}", "note"))
    section.notes.extend(
        _sampled_note(
            run, [s for i, _ in found for s in (run.samples[i].kept, run.samples[i].rejected)]
        )
    )
    rows, by_step, zeros = [], {}, []
    for index, field in found:
        sample = run.samples[index]
        limits = thresholds(sample.stage, run.stage(sample.folder), field)
        kept, dropped = sample.kept.numbers.get(field, []), sample.rejected.numbers.get(field, [])
        if any(kept) or any(dropped):
            by_step.setdefault(index, []).append(figures.Signal(field, kept, dropped, limits))
        else:  # a histogram of zeros says nothing: the sentence below names the field instead
            zeros.append(f"{sample.folder} {field}")
        rule = sum(beyond(limits, value) for value in dropped) if limits else "-"
        rows.append(
            [
                sample.folder,
                field,
                len(kept),
                len(dropped),
                ", ".join(f"{k} = {v:g}" for k, v in limits.items()) or "-",
                rule,
            ]
        )
    if zeros:
        section.notes.append(
            para(f"Zero on every sampled document, so not plotted: {', '.join(zeros)}.")
        )
    for index, panels in by_step.items():
        folder = run.samples[index].folder
        section.plots.append(
            Plot(
                f"signals-{folder}",
                figures.signal_grid(f"{folder}: quality signals", panels),
                f"{folder} quality signal histograms",
            )
        )
    section.notes.append(
        para(
            "In the table, dropped docs are the sampled dropped documents that "
            "have the field; beyond the thresholds, those whose value breaks "
            "them: what this rule dropped."
        )
    )
    section.parts.append(
        table(
            [
                "step",
                "field",
                "kept docs",
                "dropped docs",
                "thresholds",
                "dropped beyond the thresholds",
            ],
            rows,
            "signals",
        )
    )
    return section


def _size_rows(sizes: Counter) -> list[tuple[str, int, int]]:
    """(size label, clusters, documents dropped): one row per size, or power-of-two bins past 16
    sizes."""

    def label(k: int) -> str:
        if len(sizes) <= MAX_SIZE_ROWS or k <= 4:
            return str(k)
        top = 1 << (k - 1).bit_length()
        return f"{top // 2 + 1}-{top}"

    rows: dict[str, list[int]] = {}
    for k, dropped in sorted(sizes.items()):
        row = rows.setdefault(label(k), [0, 0])
        row[0] += max(1, round(dropped / max(k - 1, 1)))
        row[1] += dropped
    return [(name, clusters, dropped) for name, (clusters, dropped) in rows.items()]


def clusters(run: RunData) -> Section | None:
    """Cluster sizes of the dedup steps: a cluster of k documents keeps one and drops k - 1."""
    section = Section("Duplicate clusters")
    for sample in run.samples:
        sizes = Counter(int(v) for v in sample.rejected.numbers.get(CLUSTER_FIELD, []))
        if not sizes:
            continue
        rows = _size_rows(sizes)
        section.notes.extend(_sampled_note(run, [sample.rejected]))
        section.plots.append(
            Plot(
                f"clusters-{sample.folder}",
                figures.bars(
                    f"{sample.folder}: clusters by size",
                    [r[0] for r in rows],
                    {"clusters": [r[1] for r in rows]},
                    "clusters (dropped documents / (size - 1))",
                ),
                f"{sample.folder} cluster sizes",
            )
        )
        section.parts.append(heading(sample.folder))
        section.parts.append(
            table(
                ["cluster size", "clusters", "documents dropped"], rows, f"clusters-{sample.folder}"
            )
        )
    return section if section.plots else None


def tokens(run: RunData) -> Section | None:
    splits = (run.manifest or {}).get("splits")
    if not splits:
        return None
    names = sorted(splits)
    section = Section("Tokens per split")
    section.notes.append(
        para(
            f"From shards/manifest.json: vocabulary {run.manifest.get('vocab_size', '?')}, "
            f"dtype {run.manifest.get('dtype', '?')}."
        )
    )
    section.plots.append(
        Plot(
            "tokens",
            figures.bars(
                "Tokens per split",
                names,
                {"tokens": [splits[n]["tokens"] for n in names]},
                "tokens",
            ),
            "tokens per split",
        )
    )
    section.parts.append(
        table(
            ["split", "tokens", "documents", "shards"],
            [[n, splits[n]["tokens"], splits[n]["docs"], splits[n]["shards"]] for n in names],
            "tokens",
        )
    )
    return section


def card(run: RunData) -> Section:
    section = Section("Data card: licences and known limitations")
    section.notes.append("<p>" + link(DATACARD, DATACARD) + "</p>")
    licences = run.recipe.licences if run.recipe else []
    section.parts.append(heading("Licences (as declared in the recipe)"))
    section.parts.extend(para(item) for item in licences or ["None declared."])
    section.parts.append(heading("Known limitations"))
    section.parts.extend(para(note) for note in limitations(run))
    return section


BUILDERS: list[Callable[[RunData], Section | None]] = [
    funnel,
    rejects,
    languages,
    lengths,
    signals,
    clusters,
    tokens,
    tokenizer,
    training,
    card,
]


def build_sections(run: RunData) -> list[Section]:
    return [s for s in (build(run) for build in BUILDERS) if s is not None]
