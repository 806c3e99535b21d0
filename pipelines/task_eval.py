"""``scratchlm eval --task FILE``: zero-shot accuracy of a checkpoint on evaluation files.

A file's layout decides the task (``curate.decontam.evalfile`` reads all three):
HellaSwag (``ctx``/``endings``/``label``) and plain (``context``/``choices``/``answer``) files are
multiple choice, each choice scored as the continuation ``" " + choice`` of the context (the
lm-evaluation-harness convention); passage files (``text``) are LAMBADA-style: the context is the
passage before its last word, the continuation a space and the last word.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scratchlm.curate.decontam.evalfile import EvalItem, read_eval_file
from scratchlm.curate.errors import ConfigError
from scratchlm.model.evaluate import autocast, autocast_dtype, load_model, pick_device
from scratchlm.model.tasks import ChoiceItem, Request, Scoring, last_word, multiple_choice
from scratchlm.pipelines.finetune_data import TextTokenizer


def file_layout(path: Path, items: Sequence[EvalItem]) -> str:
    """The one layout of a file's items; a file mixing layouts, or an unlabelled item, is
    refused."""
    layouts = {item.layout for item in items}
    if len(layouts) > 1:
        raise ConfigError(
            f"{path}: mixes layouts ({', '.join(sorted(layouts))}); use one file per task"
        )
    layout = layouts.pop()
    for item in items:
        if layout != "passage" and item.answer is None:
            raise ConfigError(f"{path}:{item.line}: no label/answer, so it cannot be scored")
        if layout == "passage" and len(item.context.split()) < 2:
            raise ConfigError(f"{path}:{item.line}: a passage needs a context before its last word")
    return layout


def encode(tok: TextTokenizer, texts: list[str]) -> list[list[int]]:
    """Token ids of each text; an empty text becomes the end-of-text token (lm-evaluation-harness
    scores an empty context that way)."""
    return [ids or [tok.eos_id] for ids in tok.encode(texts)]


def evaluate_file(scoring: Scoring, tok: TextTokenizer, path: Path) -> dict[str, Any]:
    """The accuracy record of one evaluation file."""
    items = read_eval_file(path)
    layout = file_layout(path, items)
    task = "last_word" if layout == "passage" else "multiple_choice"
    record: dict[str, Any] = {
        "file": str(path),
        "task": task,
        "layout": layout,
        "items": len(items),
    }
    if layout == "passage":
        contexts, words = zip(*(item.context.rsplit(maxsplit=1) for item in items))
        targets = encode(tok, [" " + word for word in words])
        requests = [Request(c, t) for c, t in zip(encode(tok, list(contexts)), targets)]
        result = last_word(scoring, requests)
        record.update(acc=result.acc.to_dict(), perplexity=result.perplexity)
        return record
    contexts = encode(tok, [item.context for item in items])
    choice_ids = iter(encode(tok, [" " + choice for item in items for choice in item.choices]))
    encoded = []
    for ctx, item in zip(contexts, items):
        texts = [" " + choice for choice in item.choices]
        encoded.append(
            ChoiceItem(
                ctx,
                [next(choice_ids) for _ in texts],
                item.answer,  # type: ignore[arg-type]
                [len(text) for text in texts],
            )
        )
    result = multiple_choice(scoring, encoded)
    record.update(acc=result.acc.to_dict(), acc_norm=result.acc_norm.to_dict())
    return record


def _cell(metric: dict[str, Any] | None) -> str:
    if metric is None:
        return "-"
    return f"{metric['value']:.4f} [{metric['low']:.4f}, {metric['high']:.4f}]"


def results_table(records: Sequence[dict[str, Any]]) -> str:
    """One line per file: items, accuracy and normalised accuracy with their 95% Wilson
    intervals."""
    rows = [("file", "task", "items", "acc [95% CI]", "acc_norm [95% CI]", "ppl")]
    for r in records:
        ppl = (
            f"{r['perplexity']:.2f}"
            if "perplexity" in r and math.isfinite(r["perplexity"])
            else "-"
        )
        rows.append(
            (
                Path(r["file"]).name,
                r["task"],
                str(r["items"]),
                _cell(r.get("acc")),
                _cell(r.get("acc_norm")),
                ppl,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.ljust(w) if i < 2 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths))
        )
        for row in rows
    ]
    return "\n".join(lines)


def run_tasks(
    checkpoint_dir: Path,
    tasks: Sequence[Path],
    batch_size: int = 32,
    device: str | None = None,
    precision: str = "auto",
    json_out: Path | None = None,
) -> int:
    """Evaluate a checkpoint on each task file; print the table and write the JSON (``-``: print it
    instead)."""
    for task in tasks:
        if not Path(task).is_file():
            raise ConfigError(f"--task {task}: no such file")
    dev = pick_device(device)
    model, saved = load_model(checkpoint_dir, dev)
    tok = TextTokenizer.load(saved.tokenizer_path)
    scoring = Scoring(model, model.config.block_size, batch_size, dev)
    with autocast(dev, autocast_dtype(precision, dev)):
        records = [evaluate_file(scoring, tok, Path(task)) for task in tasks]
    report = {"checkpoint": str(saved.folder), "step": saved.state.get("step"), "results": records}
    show_results(report, results_table(records), json_out)
    return 0


def show_results(report: dict, table: str, json_out: Path | None) -> None:
    """Print ``table``, and write ``report`` as JSON to ``json_out`` too; ``-``: print only JSON."""
    text = json.dumps(report, indent=2)
    if json_out is not None and str(json_out) == "-":
        print(text)
        return
    print(table)
    if json_out is not None:
        Path(json_out).write_text(text + "\n", encoding="utf-8")
