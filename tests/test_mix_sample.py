"""The mixture tokenizer's training sample follows the weights."""

from __future__ import annotations

import json
from pathlib import Path

from scratchlm.tokenizer.corpus import corpus_files
from scratchlm.tokenizer.mix_sample import WeightedFiles, weighted_sample
from tests.mix_sources import PROSE, pieces
from tests.train_shards import read_texts


def jsonl(path: Path, texts: list[str]) -> Path:
    path.write_text(
        "".join(
            json.dumps({"id": f"{path.stem}-{i}", "text": t}) + "\n" for i, t in enumerate(texts)
        ),
        encoding="utf-8",
    )
    return path


def test_sample_bytes_follow_the_weights_and_the_seed(tmp_path: Path) -> None:
    brown = pieces(read_texts(PROSE / "brown.jsonl.gz", 200_000))
    kjv = pieces(read_texts(PROSE / "kjv.jsonl.gz", 100_000))
    sources = [
        WeightedFiles("brown", corpus_files([str(jsonl(tmp_path / "brown.jsonl", brown))]), 0.25),
        WeightedFiles("kjv", corpus_files([str(jsonl(tmp_path / "kjv.jsonl", kjv))]), 0.75),
    ]
    sample = list(weighted_sample(sources, None, seed=0))
    kept = {
        name: sum(len(t.encode()) for t in sample if t in set(texts))
        for name, texts in (("brown", brown), ("kjv", kjv))
    }
    assert kept["kjv"] == sum(len(t.encode()) for t in kjv)  # the limiting source, whole
    assert abs(kept["brown"] / sum(kept.values()) - 0.25) < 0.03
    assert sample == list(weighted_sample(sources, None, seed=0))
    assert sample != list(weighted_sample(sources, None, seed=1))
    limited = list(weighted_sample(sources, 40_000, seed=0))
    assert abs(sum(len(t.encode()) for t in limited) - 40_000) < 4_000
