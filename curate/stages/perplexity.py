"""The ``perplexity`` step: score each document with a trained scratchlm model, keep the likely ones.

The CCNet idea (Wenzek et al. 2020, "CCNet: Extracting High Quality Monolingual Datasets from Web
Crawl Data", "LM filtering"): a language model trained on reference text (there a KenLM on Wikipedia,
here the user's own checkpoint) gives low perplexity to text like its reference. CCNet split each
language's documents into head, middle and tail by perplexity; here either a fixed
``max_perplexity`` or a ``percentile`` band of this step's input (e.g. ``[0, 60]``) decides. ``meta.perplexity`` is written for every scored document.

torch and ``model/`` are imported only when a worker first scores (``curate`` stays torch-free at
import). A band needs every score first: ``prepare`` scores all input shards once and stores the
cutoffs; the per-document pass scores again (the same model gives the same numbers).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from curate.document import Document
from curate.stage import Executor, FilterStage, StageResult
from curate.writer import write_atomic

CUTOFFS = "cutoffs-{}.json"


class Scorer:
    """A checkpoint's model and tokenizer, on the CPU, in eval mode."""

    def __init__(self, checkpoint: str) -> None:
        import torch
        from tokenizers import Tokenizer

        from model.evaluate import load_model

        self.torch = torch
        self.model, saved = load_model(Path(checkpoint), torch.device("cpu"))
        self.tokenizer = Tokenizer.from_file(str(saved.folder / "tokenizer.json"))
        self.tokenizer.encode_special_tokens = True
        self.eos = int(saved.state.get("eos_id", 0))
        self.block = self.model.config.block_size

    def perplexity(self, text: str, max_tokens: int) -> float | None:
        """exp(mean negative log-likelihood) of the first ``max_tokens`` tokens, each predicted from
        the end-of-text token and what precedes it within the context; None for an empty text."""
        torch = self.torch
        ids = self.tokenizer.encode(text, add_special_tokens=False).ids[:max_tokens]
        if not ids:
            return None
        tokens = torch.tensor([self.eos, *ids])
        total = 0.0
        with torch.no_grad():
            for start in range(0, len(ids), self.block):
                window = tokens[start:start + self.block + 1]
                logits = self.model(window[None, :-1])[0].float()
                total += float(torch.nn.functional.cross_entropy(logits, window[1:], reduction="sum"))
        return math.exp(min(total / len(ids), 50.0))


@lru_cache(maxsize=2)
def _scorer(checkpoint: str) -> Scorer:
    return Scorer(checkpoint)


@dataclass(frozen=True)
class ScoreTask:
    stage: "Perplexity"
    path: str


def score_shard(task: ScoreTask) -> list[float]:
    """The perplexities of one input shard's documents (empty ones left out)."""
    from curate.shards import iter_texts

    scorer = _scorer(task.stage.model)
    scores = (scorer.perplexity(text, task.stage.max_tokens) for text in iter_texts(task.path))
    return [s for s in scores if s is not None]


@dataclass(frozen=True)
class Perplexity(FilterStage):
    """Keep documents whose perplexity under ``model`` (a checkpoint or training folder) is at most
    ``max_perplexity`` and within the ``percentile`` band [low, high] of this step's input."""

    model: str = ""
    max_perplexity: float | None = None
    percentile: tuple[float, float] | None = None
    max_tokens: int = 1024  # score a document by its first tokens
    # set by ``prepare`` when a band is asked for: the band's perplexity bounds
    cutoffs: tuple[float, float] | None = field(default=None, init=False, compare=False)

    def __post_init__(self) -> None:
        if not self.model:
            raise ValueError("perplexity needs model: a scratchlm checkpoint folder (or a training folder)")
        if not Path(self.model).exists():
            raise ValueError(f"model {self.model} not found")
        if self.max_perplexity is None and self.percentile is None:
            raise ValueError("give max_perplexity, percentile: [low, high], or both")
        if self.max_perplexity is not None and self.max_perplexity <= 1:
            raise ValueError(f"max_perplexity must be above 1, got {self.max_perplexity}")
        if self.percentile is not None:
            low, high = self.percentile
            if not 0 <= low < high <= 100:
                raise ValueError(f"percentile must be [low, high] with 0 <= low < high <= 100, got {list(self.percentile)}")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, got {self.max_tokens}")

    def prepare(self, inputs: Sequence[Path], workdir: Path, executor: Executor) -> None:
        """With a band: score every input document once and store the band's bounds (kept on resume)."""
        if self.percentile is None:
            return
        digest = hashlib.sha256(json.dumps([os.path.abspath(self.model), list(self.percentile), self.max_tokens,
                                            [str(p) for p in inputs]]).encode()).hexdigest()[:16]
        path = workdir / CUTOFFS.format(digest)
        if not path.exists():
            per_shard = executor.map(score_shard, [ScoreTask(self, str(p)) for p in inputs], desc="perplexity:score")
            scores = [s for shard in per_shard for s in shard]
            low, high = self.percentile
            bounds = np.percentile(scores, [low, high]).tolist() if scores else [math.inf, -math.inf]
            workdir.mkdir(parents=True, exist_ok=True)
            write_atomic(path, json.dumps({"cutoffs": bounds, "documents": len(scores)}))
        bounds = json.loads(path.read_text(encoding="utf-8"))["cutoffs"]
        object.__setattr__(self, "cutoffs", (bounds[0], bounds[1]))

    def __call__(self, doc: Document) -> StageResult:
        score = _scorer(self.model).perplexity(doc.text, self.max_tokens)
        if score is None:
            return "perplexity:empty"
        doc.meta["perplexity"] = score
        if self.max_perplexity is not None and score > self.max_perplexity:
            return "perplexity:too_high"
        if self.cutoffs is not None:
            if score < self.cutoffs[0]:
                return "perplexity:below_band"
            if score > self.cutoffs[1]:
                return "perplexity:above_band"
        return None


STAGE = Perplexity
