"""A tokenizer training sample that follows a mixture's weights.

Each source's share of the sample's text bytes is its weight. The sample is the largest that
uses no document twice (capped at ``limit_bytes``): a first pass counts each source's bytes, then
a document is kept when a keyed hash of its text falls below its source's keep fraction, so the
sample streams, is the same for a seed, and is spread over each source rather than its opening.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from scratchlm.tokenizer.corpus import CorpusFile, corpus_texts

SAMPLE_SALT = b"scratchlm-mix-sample/1"


@dataclass(frozen=True)
class WeightedFiles:
    """One source's curated files and its weight."""

    name: str
    files: list[CorpusFile]
    weight: float


def text_bytes(files: list[CorpusFile]) -> int:
    return sum(len(text.encode("utf-8")) for text in corpus_texts(files))


def keep_fractions(sizes: list[int], weights: list[float], limit_bytes: int | None) -> list[float]:
    """Per source, the share of its documents to keep so that bytes follow the weights."""
    sample = min(size / weight for size, weight in zip(sizes, weights))
    if limit_bytes is not None:
        sample = min(sample, limit_bytes)
    return [
        min(1.0, weight * sample / size) if size else 0.0 for size, weight in zip(sizes, weights)
    ]


def kept(text: str, fraction: float, seed: int) -> bool:
    digest = hashlib.blake2b(
        text.encode("utf-8"),
        digest_size=8,
        key=SAMPLE_SALT,
        salt=seed.to_bytes(8, "big", signed=True),
    ).digest()
    return int.from_bytes(digest, "big") < fraction * 2**64


def weighted_sample(
    sources: list[WeightedFiles], limit_bytes: int | None, seed: int
) -> Iterator[str]:
    """The texts of the sample, source after source."""
    sizes = [text_bytes(s.files) for s in sources]
    fractions = keep_fractions(sizes, [s.weight for s in sources], limit_bytes)
    for source, fraction in zip(sources, fractions):
        yield from (t for t in corpus_texts(source.files) if kept(t, fraction, seed))


def sample_inputs(sources: list[WeightedFiles], limit_bytes: int | None, seed: int) -> list[str]:
    """What the sample depends on, as the tokenizer's stats record its inputs."""
    return [f"mix seed {seed} limit {limit_bytes}"] + [
        f"{s.name} weight {s.weight:g}: {f.source}" for s in sources for f in s.files
    ]
