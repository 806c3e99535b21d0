"""Fine-tuning test data: the labelled passages of tests/data/finetune/ (run as a script to rebuild
them) and small seeded checkpoints to fine-tune.

Each record is a run of ``WORDS`` consecutive words (whitespace collapsed to single spaces) from
one document of the Brown corpus, the King James Bible or Shakespeare, labelled with its source.
Whole documents go to one split (by a hash of their id), so no test passage shares a book, play
or Brown text with a training passage.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
FOLDER = REPO / "tests" / "data" / "finetune"
SOURCES = {
    "brown": REPO / "tests/data/prose/brown.jsonl.gz",
    "kjv": REPO / "tests/data/prose/kjv.jsonl.gz",
    "shakespeare": REPO / "tests/data/heldout/shakespeare.jsonl.gz",
}
SIZES = {"train": 240, "val": 50, "test": 50}  # passages per label
WORDS = 40
SEED = 7


def split_of(doc_id: str) -> str:
    """train (70%), val (15%) or test (15%) by a hash of the document id."""
    bucket = int(hashlib.sha1(doc_id.encode()).hexdigest(), 16) % 100
    return "train" if bucket < 70 else "val" if bucket < 85 else "test"


def passages(path: Path, label: str, rng: np.random.Generator) -> dict[str, list[dict]]:
    """``SIZES[split]`` passages per split from the documents of that split, in a seeded order."""
    docs: dict[str, list[tuple[str, list[str]]]] = {split: [] for split in SIZES}
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            words = record["text"].split()
            if len(words) > 2 * WORDS:
                docs[split_of(record["id"])].append((record["id"], words))
    out: dict[str, list[dict]] = {}
    for split, count in SIZES.items():
        chosen, seen = [], set()
        while len(chosen) < count:
            doc_id, words = docs[split][rng.integers(len(docs[split]))]
            start = int(rng.integers(len(words) - WORDS))
            if (doc_id, start // WORDS) in seen:
                continue
            seen.add((doc_id, start // WORDS))
            chosen.append(
                {
                    "text": " ".join(words[start : start + WORDS]),
                    "label": label,
                    "source": f"{doc_id}#word{start}",
                }
            )
        out[split] = chosen
    return out


def build(folder: Path = FOLDER) -> None:
    rng = np.random.default_rng(SEED)
    by_split: dict[str, list[dict]] = {split: [] for split in SIZES}
    for label, path in SOURCES.items():
        for split, records in passages(path, label, rng).items():
            by_split[split] += records
    folder.mkdir(parents=True, exist_ok=True)
    for split, records in by_split.items():
        shuffled = [records[i] for i in rng.permutation(len(records))]
        write_jsonl_gz(folder / f"source-{split}.jsonl.gz", shuffled)


def write_jsonl_gz(path: Path, records: list[dict]) -> None:
    """JSON Lines, gzip-compressed without a timestamp: the same records give the same bytes."""
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
        f.write(lines)


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else FOLDER)


def read_split(split: str) -> list[dict]:
    """The shipped passages of one split."""
    with gzip.open(FOLDER / f"source-{split}.jsonl.gz", "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def tiny_checkpoint(
    out: Path, texts: list[str], vocab_size: int = 1024, seed: int = 0, **model: object
) -> Path:
    """A seeded, randomly initialised small GPT saved as a checkpoint, with a byte-level BPE
    trained on ``texts``."""
    import dataclasses

    import torch

    from scratchlm.model import checkpoint
    from scratchlm.model.config import GPTConfig, pad_vocab
    from scratchlm.model.gpt import GPT
    from train_shards import train_bpe

    tok = train_bpe(texts, vocab_size)
    out.mkdir(parents=True, exist_ok=True)
    tok.save(str(out / "tokenizer.json"))
    settings = {"block_size": 96, "n_layer": 2, "n_head": 2, "n_embd": 64, "dropout": 0.0, **model}
    config = GPTConfig(vocab_size=pad_vocab(tok.get_vocab_size()), **settings)
    torch.manual_seed(seed)
    gpt = GPT(config)
    state = {"step": 0, "tokens": 0, "model_config": dataclasses.asdict(config)}
    weights = checkpoint.weights_for_saving(gpt.state_dict(), config.tie_weights)
    return checkpoint.save(out / "base", 0, weights, state, [out / "tokenizer.json"])
