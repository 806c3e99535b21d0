"""The ``perplexity`` step: score each document with a trained scratchlm model, keep the likely
ones.

The CCNet idea (Wenzek et al. 2020, "CCNet: Extracting High Quality Monolingual Datasets from Web
Crawl Data", "LM filtering"): a language model trained on reference text (there a KenLM on
Wikipedia, here the user's own checkpoint) gives low perplexity to text like its reference. CCNet
split each language's documents into head, middle and tail by perplexity; here either a fixed
``max_perplexity`` or a ``percentile`` band of this step's input (e.g. ``[0, 60]``) decides.
``meta.perplexity`` is written for every scored document.

torch and ``model/`` are imported only when a worker first scores (``curate`` stays torch-free at
import). A band needs every score first: ``prepare`` scores all input shards once and stores the
cutoffs and every score, keyed by ``doc_key`` (id and ``meta.source``, the key dedup uses), in the
step's work folder (16 bytes a document, sorted and memory-mapped); the per-document pass looks the
scores up instead of scoring again.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import ClassVar

import numpy as np

from scratchlm.curate.dedup.corpus import doc_key
from scratchlm.curate.dedup.store import find_sorted, save_npy
from scratchlm.curate.document import Document
from scratchlm.curate.signals import Signal
from scratchlm.curate.stage import BatchStage, Executor, Filtering, GlobalStage, StageResult
from scratchlm.curate.writer import write_atomic

CUTOFFS = "cutoffs-{}.json"
SCORES = "scores-{}"


class Scorer:
    """A checkpoint's model and tokenizer, on the CPU, in eval mode."""

    def __init__(self, checkpoint: str) -> None:
        import torch
        from tokenizers import Tokenizer

        from scratchlm.model.evaluate import load_model

        self.torch = torch
        self.model, saved = load_model(Path(checkpoint), torch.device("cpu"))
        # read with the tokenizers library itself: ``tokenizer/`` builds on ``curate/``, so curate
        # may not import it; a literal <|endoftext|> in a text is text, as in the shards
        self.tokenizer = Tokenizer.from_file(str(saved.tokenizer_path))
        self.tokenizer.encode_special_tokens = True
        self.eos = int(saved.state.get("eos_id", 0))
        self.block = self.model.config.block_size

    def perplexity(self, text: str, max_tokens: int) -> float | None:
        """exp(mean negative log-likelihood) of the first ``max_tokens`` tokens, each predicted from
        the end-of-text token and what precedes it within the context; None for an empty text.
        Worst case: O(n) to encode the whole text (HF tokenizers' byte-level BPE, measured linear
        from 50k to 200k characters on every adversarial family), then the model on at most
        ``max_tokens`` tokens."""
        torch = self.torch
        ids = self.tokenizer.encode(text, add_special_tokens=False).ids[:max_tokens]
        if not ids:
            return None
        tokens = torch.tensor([self.eos, *ids])
        total = 0.0
        with torch.no_grad():
            for start in range(0, len(ids), self.block):
                window = tokens[start : start + self.block + 1]
                logits = self.model(window[None, :-1])[0].float()
                total += float(
                    torch.nn.functional.cross_entropy(logits, window[1:], reduction="sum")
                )
        return math.exp(min(total / len(ids), 50.0))


@lru_cache(maxsize=2)
def _scorer(checkpoint: str) -> Scorer:
    return Scorer(checkpoint)


@dataclass(frozen=True)
class ScoreTask:
    stage: Perplexity
    path: str


def score_shard(task: ScoreTask) -> tuple[np.ndarray, np.ndarray]:
    """(keys, perplexities) of one input shard's documents; an empty document scores NaN."""
    from scratchlm.curate.shards import iter_documents

    scorer = _scorer(task.stage.model)
    keys, scores = [], []
    for doc in iter_documents(task.path):
        score = scorer.perplexity(doc.text, task.stage.max_tokens)
        keys.append(doc_key(doc.id, doc.meta))
        scores.append(math.nan if score is None else score)
    return np.array(keys, dtype=np.uint64), np.array(scores, dtype=np.float64)


class ScoreTable:
    """Scores by document key: two sorted, memory-mapped arrays in the step's work folder."""

    def __init__(self, folder: Path) -> None:
        self.keys = np.load(folder / "keys.npy", mmap_mode="r")
        self.scores = np.load(folder / "scores.npy", mmap_mode="r")

    @staticmethod
    def write(folder: Path, keys: np.ndarray, scores: np.ndarray) -> None:
        """Both arrays sorted by key; ``keys.npy`` last, so that its presence means a complete
        table."""
        order = np.argsort(keys, kind="stable")
        save_npy(folder / "scores.npy", scores[order])
        save_npy(folder / "keys.npy", keys[order])

    @staticmethod
    def complete(folder: Path) -> bool:
        return (folder / "keys.npy").exists()

    def lookup(self, keys: list[int]) -> list[float | None]:
        """Each key's score (None for an empty document); KeyError for a document not scored."""
        at, found = find_sorted(self.keys, keys)
        if not found.all():
            raise KeyError("a document of this step's input was not scored by prepare")
        return [None if math.isnan(s) else s for s in self.scores[at].tolist()]


@lru_cache(maxsize=4)
def _table(folder: str) -> ScoreTable:
    return ScoreTable(Path(folder))


@dataclass(frozen=True)
class Perplexity(Filtering, GlobalStage):
    """Keep documents whose perplexity under ``model`` (a checkpoint or training folder) is at most
    ``max_perplexity`` and within the ``percentile`` band [low, high] of this step's input."""

    model: str = ""  # checkpoint or training folder of the scoring model
    max_perplexity: float | None = None
    percentile: tuple[float, float] | None = None
    max_tokens: int = 1024  # score a document by its first tokens

    SIGNALS: ClassVar[tuple[Signal, ...]] = (
        Signal(
            "perplexity",
            "the scoring model's perplexity of the document's first tokens",
            ("max_perplexity",),
        ),
    )

    def __post_init__(self) -> None:
        if not self.model:
            raise ValueError(
                "perplexity needs model: a scratchlm checkpoint folder (or a training folder)"
            )
        if not Path(self.model).exists():
            raise ValueError(f"model {self.model} not found")
        if self.max_perplexity is None and self.percentile is None:
            raise ValueError("give max_perplexity, percentile: [low, high], or both")
        if self.max_perplexity is not None and self.max_perplexity <= 1:
            raise ValueError(f"max_perplexity must be above 1, got {self.max_perplexity}")
        if self.percentile is not None:
            low, high = self.percentile
            if not 0 <= low < high <= 100:
                raise ValueError(
                    "percentile must be [low, high] with 0 <= low "
                    f"< high <= 100, got {list(self.percentile)}"
                )
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, got {self.max_tokens}")

    def prepare(
        self, inputs: Sequence[Path], workdir: Path, executor: Executor
    ) -> PerplexityFilter:
        """With a band: score every input document once and store the scores and the band's
        bounds (kept on resume) for the per-document pass; without one, that pass scores."""
        if self.percentile is None:
            return PerplexityFilter(self)
        digest = hashlib.sha256(
            json.dumps(
                [
                    os.path.abspath(self.model),
                    list(self.percentile),
                    self.max_tokens,
                    [str(p) for p in inputs],
                    "doc_key",
                ]
            ).encode()
        ).hexdigest()[:16]
        path, table = workdir / CUTOFFS.format(digest), workdir / SCORES.format(digest)
        if not (path.exists() and ScoreTable.complete(table)):
            per_shard = executor.map(
                score_shard, [ScoreTask(self, str(p)) for p in inputs], desc="perplexity:score"
            )
            keys = (
                np.concatenate([k for k, _ in per_shard]) if per_shard else np.zeros(0, np.uint64)
            )
            scores = np.concatenate([s for _, s in per_shard]) if per_shard else np.zeros(0)
            scored = scores[~np.isnan(scores)]
            low, high = self.percentile
            bounds = (
                np.percentile(scored, [low, high]).tolist()
                if len(scored)
                else [math.inf, -math.inf]
            )
            ScoreTable.write(table, keys, scores)
            write_atomic(path, json.dumps({"cutoffs": bounds, "documents": len(scored)}))
        bounds = json.loads(path.read_text(encoding="utf-8"))["cutoffs"]
        return PerplexityFilter(self, (bounds[0], bounds[1]), str(table))


@dataclass(frozen=True)
class PerplexityFilter(BatchStage):
    """A perplexity step's per-document pass: each score looked up in ``prepare``'s table (a
    band) or computed here, then the step's rules."""

    stage: Perplexity
    cutoffs: tuple[float, float] | None = None  # a band's perplexity bounds
    scores_dir: str = ""  # a band's scores, by document key

    def map_batch(self, docs: list[Document]) -> list[StageResult]:
        """Worst case per text: ``Scorer.perplexity``'s."""
        if self.scores_dir:
            scores = _table(self.scores_dir).lookup([doc_key(doc.id, doc.meta) for doc in docs])
        else:
            scorer = _scorer(self.stage.model)
            scores = [scorer.perplexity(doc.text, self.stage.max_tokens) for doc in docs]
        return [self._decide(doc, score) for doc, score in zip(docs, scores)]

    def _decide(self, doc: Document, score: float | None) -> StageResult:
        if score is None:
            return "perplexity:empty"
        doc.meta["perplexity"] = score
        if self.stage.max_perplexity is not None and score > self.stage.max_perplexity:
            return "perplexity:too_high"
        if self.cutoffs is not None:
            if score < self.cutoffs[0]:
                return "perplexity:below_band"
            if score > self.cutoffs[1]:
                return "perplexity:above_band"
        return None


STAGE = Perplexity
