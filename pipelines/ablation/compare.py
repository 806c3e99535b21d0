"""Reading an ablation's finished trainings back from disk, and refusing to compare unfair ones.

Every figure of the page comes from here, and here only from the trainings' own files: each training
folder's ``log.jsonl``, each variant's shard ``manifest.json`` and curation ``stats.json``.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scratchlm.curate import layout
from scratchlm.curate.errors import ConfigError
from scratchlm.model import train_log
from scratchlm.model.data import MANIFEST
from scratchlm.model.train_log import LOG_NAME, Evaluation, Start, Step
from scratchlm.pipelines.ablation.layout import CURATED, SHARDS, seed_dir

DECONTAMINATE = "decontaminate"


@dataclass
class SeedTraining:
    """One training of one variant: its validation curve on the evaluation text and its set-up."""

    seed: int
    folder: Path
    curve: list[tuple[int, float]]
    tokens: int
    steps: int
    train: dict[str, Any]
    model: dict[str, Any]
    params: int = 0
    tokens_per_s: float = 0.0  # the median of the logged training rates

    @property
    def final_loss(self) -> float:
        return self.curve[-1][1]

    @property
    def lowest(self) -> tuple[int, float]:
        """(step, loss) of the lowest validation loss: where a training that repeats its data starts
        to overfit."""
        return min(self.curve, key=lambda point: point[1])


@dataclass
class VariantResult:
    name: str
    changes: list[str]
    docs_kept: int
    train_tokens: int
    manifest: dict[str, Any]
    trainings: list[SeedTraining]
    decontaminated: dict[str, int] = field(default_factory=dict)
    kept_by_input: dict[str, dict[str, int]] = field(
        default_factory=dict
    )  # input file: docs, chars
    scores: list[dict[str, Any]] = field(default_factory=list)  # per training: ablation/scores.py

    @property
    def losses(self) -> list[float]:
        return [r.final_loss for r in self.trainings]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.losses)

    @property
    def std(self) -> float:
        """Sample standard deviation over seeds (0 for one seed)."""
        return statistics.stdev(self.losses) if len(self.losses) > 1 else 0.0


def read_log(folder: Path, seed: int) -> SeedTraining:
    """A training folder's log: the last start record, validation losses, tokens at the end."""
    path = folder / LOG_NAME
    if not path.exists():
        raise ConfigError(f"{path}: no training log")
    records = train_log.read_log(path)
    starts = [r for r in records if isinstance(r, Start)]
    curve = [(r.step, r.val_loss) for r in records if isinstance(r, Evaluation)]
    trained = [r for r in records if isinstance(r, Step)]
    if not starts or not curve or not trained:
        raise ConfigError(f"{path}: incomplete training log (no start, validation or step record)")
    start = starts[-1]
    return SeedTraining(
        seed,
        folder,
        curve,
        trained[-1].tokens,
        trained[-1].step,
        start.train,
        start.model,
        start.params,
        statistics.median(r.tokens_per_s for r in trained),
    )


def decontamination_counts(summary: dict[str, Any]) -> dict[str, int]:
    """Documents each evaluation file removed (or flagged) in the ``decontaminate`` steps of a
    curation run's ``stats.json`` summary."""
    counts: dict[str, int] = {}
    for folder, stats in summary.items():
        if not folder.endswith(f"_{DECONTAMINATE}"):
            continue
        for reason, n in {**stats["dropped"], **stats.get("annotated", {})}.items():
            if reason.startswith(f"{DECONTAMINATE}:"):
                name = reason.split(":", 1)[1]
                counts[name] = counts.get(name, 0) + n
    return counts


def read_variant(
    folder: Path,
    name: str,
    changes: list[str],
    seeds: list[int],
    kept: dict[str, dict[str, int]] | None = None,
) -> VariantResult:
    """One variant's figures from ``folder`` (``curated/``, ``shards/``, ``seed-N/``); ``kept``: its
    documents by input file (pipelines/ablation/composition.py, which needs the curation stack)."""
    stats = folder / CURATED / layout.STATS  # none for a mixture's variant
    summary = json.loads(stats.read_text(encoding="utf-8")) if stats.exists() else {}
    manifest = json.loads((folder / SHARDS / MANIFEST).read_text(encoding="utf-8"))
    docs = (
        list(summary.values())[-1]["docs_out"] if summary else manifest["splits"]["train"]["docs"]
    )
    trainings = [read_log(seed_dir(folder, seed), seed) for seed in seeds]
    return VariantResult(
        name,
        changes,
        docs,
        manifest["splits"]["train"]["tokens"],
        manifest,
        trainings,
        decontamination_counts(summary),
        kept or {},
    )


def _without_seed(train: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in train.items() if k != "seed"}


def check_fair(results: list[VariantResult], tokenizer_sha256: str) -> None:
    """Refuse (ConfigError) unless every training shares tokenizer, model, training set-up, seeds,
    token budget and evaluation shards."""
    first = results[0]
    reference = first.trainings[0]
    val_files = sorted(e["sha256"] for e in first.manifest["shards"] if e["split"] == "val")
    seeds = [r.seed for r in first.trainings]
    for result in results:
        where = f"variant {result.name}"
        if result.manifest["tokenizer_sha256"] != tokenizer_sha256:
            raise ConfigError(
                f"{where}: its shards were encoded with another tokenizer; the comparison is unfair"
            )
        if (
            sorted(e["sha256"] for e in result.manifest["shards"] if e["split"] == "val")
            != val_files
        ):
            raise ConfigError(
                f"{where}: its validation shards differ from {first.name}'s; "
                "the evaluation text must be one"
            )
        if [r.seed for r in result.trainings] != seeds:
            raise ConfigError(
                f"{where}: seeds {[r.seed for r in result.trainings]} "
                f"differ from {first.name}'s {seeds}"
            )
        for training in result.trainings:
            at = f"{where}, seed {training.seed} ({training.folder / LOG_NAME})"
            if training.model != reference.model:
                raise ConfigError(
                    f"{at}: the model differs from {first.name}'s; the comparison is unfair"
                )
            if _without_seed(training.train) != _without_seed(reference.train):
                changed = sorted(
                    k
                    for k in set(training.train) | set(reference.train)
                    if k != "seed" and training.train.get(k) != reference.train.get(k)
                )
                raise ConfigError(
                    f"{at}: training set-up differs from {first.name}'s in {', '.join(changed)}"
                )
            if training.train.get("seed") != training.seed:
                raise ConfigError(
                    f"{at}: trained with seed {training.train.get('seed')}, "
                    f"expected {training.seed}"
                )
            if (training.tokens, training.steps) != (reference.tokens, reference.steps):
                raise ConfigError(
                    f"{at}: trained {training.tokens:,} tokens "
                    f"in {training.steps} steps, {first.name} "
                    f"{reference.tokens:,} in {reference.steps}; the token budget must be one"
                )
            if training.curve[-1][0] != training.steps:
                raise ConfigError(
                    f"{at}: the last validation is at step "
                    f"{training.curve[-1][0]}, not the final step"
                )
