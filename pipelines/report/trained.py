"""The report's sections on what ``scratchlm run`` made of the curated text: the tokenizer and the
training (read from ``RUN/tokenizer/`` and ``RUN/train/``; absent after ``scratchlm curate``)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from itertools import islice

from scratchlm.curate.document import Document
from scratchlm.curate.shards import done_shards, iter_documents
from scratchlm.model.train_log import LOG_NAME, Evaluation, Start, Step, read_log
from scratchlm.pipelines.report.page import Plot, Section, para, snippet, table
from scratchlm.pipelines.report.run import RunData
from scratchlm.pipelines.report.sample import SAMPLE_FILES, spread
from scratchlm.pipelines.sections.bpe import TOKENIZER_DIR
from scratchlm.pipelines.training import LOSS_PLOT, TRAIN_DIR
from scratchlm.tokenizer.evaluate import ALL, evaluate
from scratchlm.tokenizer.files import load_tokenizer
from scratchlm.tokenizer.train import STATS_FILE

LANGUAGE_DOCS = 2_000  # curated documents encoded for the per-language table


def _first_documents(run: RunData, limit: int) -> Iterator[Document]:
    """The first documents of up to SAMPLE_FILES of the final step's shards, ``limit`` in all."""
    shards = spread(done_shards(run.run_dir / list(run.stats)[-1]), SAMPLE_FILES)
    quota = math.ceil(limit / len(shards)) if shards else 0
    for shard in shards:
        yield from islice(iter_documents(shard), quota)


def _per_language(run: RunData) -> list[list[object]]:
    """Rows of language, documents, bytes, tokens and bytes per token over a bounded sample of the
    curated documents (``meta.lang``, as the language step wrote it); none without that field."""
    tokenizer = load_tokenizer(run.run_dir / TOKENIZER_DIR)
    stats = evaluate(tokenizer, _first_documents(run, LANGUAGE_DOCS))
    langs = sorted((k for k in stats if k != ALL), key=lambda k: (-stats[k].bytes, k))
    if langs in ([], ["unknown"]):
        return []
    return [
        [
            lang,
            stats[lang].docs,
            stats[lang].bytes,
            stats[lang].tokens,
            round(stats[lang].bytes_per_token, 3),
        ]
        for lang in [*langs, ALL]
    ]


def tokenizer(run: RunData) -> Section | None:
    stats_file = run.run_dir / TOKENIZER_DIR / STATS_FILE
    if not stats_file.exists():
        return None
    stats = json.loads(stats_file.read_text(encoding="utf-8"))
    section = Section("Tokenizer")
    rows = [
        ["vocabulary", stats["vocab_size"]],
        ["documents trained on", stats["docs"]],
        ["MB of text trained on", round(stats["bytes"] / 1e6, 2)],
        ["training seconds", stats["seconds"]],
    ]
    splits = (run.manifest or {}).get("splits", {})
    final = list(run.stats.values())[-1] if run.stats else {}
    shard_tokens = sum(split["tokens"] for split in splits.values())
    if shard_tokens and final.get("bytes_out"):
        per_token = round(final["bytes_out"] / shard_tokens, 3)
        rows.append(["bytes per token over the shards", per_token])
        section.notes.append(
            para(
                "Bytes per token: the curated text's UTF-8 bytes over the "
                "shards' tokens (one end-of-text token per document included)."
            )
        )
    section.parts.append(table(["", "value"], rows, "tokenizer"))
    by_language = _per_language(run) if run.stats else []
    if by_language:
        section.parts.append(
            para(
                f"Bytes per token by language (meta.lang), over the first "
                f"{LANGUAGE_DOCS:,} curated documents at most, each encoded "
                "alone (no end-of-text token):"
            )
        )
        section.parts.append(
            table(
                ["language", "documents", "bytes", "tokens", "bytes per token"],
                by_language,
                "tokenizer-languages",
            )
        )
    return section


def training(run: RunData) -> Section | None:
    folder = run.run_dir / TRAIN_DIR
    records = read_log(folder / LOG_NAME)
    starts = [r for r in records if isinstance(r, Start)]
    if not starts:
        return None
    start, steps = starts[-1], [r for r in records if isinstance(r, Step)]
    evals = [r for r in records if isinstance(r, Evaluation)]
    section = Section("Training")
    rows = [
        ["parameters", start.params],
        ["preset", start.train["preset"]],
        ["steps done", steps[-1].step if steps else 0],
        ["of max_steps", start.max_steps],
        ["tokens per step", start.batch_tokens],
    ]
    if evals:
        rows += [
            ["validation loss", round(evals[-1].val_loss, 4)],
            ["validation perplexity", round(evals[-1].val_ppl, 2)],
        ]
    section.parts.append(table(["", "value"], rows, "training"))
    if (folder / LOSS_PLOT).exists():
        section.plots.append(Plot("loss", (folder / LOSS_PLOT).read_bytes(), "training loss"))
    samples = [s for s in (evals[-1].samples if evals else []) if isinstance(s, str)]
    if samples:
        step = evals[-1].step
        section.parts.append(para(f"A continuation of a validation document at step {step}:"))
        section.parts.append(snippet(f"step {step}", samples[0]))
    return section
