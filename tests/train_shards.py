"""Test and benchmark helper: real text -> a byte-level BPE (``tokenizers``) -> a shard folder.

Writes the shard format of the design (manifest.json, train/val ``.npy`` + ``.docs.npy``) on its
own, so the trainer's tests do not depend on the ``tokenizer/`` package.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from scratchlm.model.data import sha256_file

EOS = "<|endoftext|>"


def read_texts(path: Path, limit_chars: int | None = None) -> list[str]:
    """Document texts of a ``.jsonl.gz`` file, stopping once ``limit_chars`` are collected."""
    texts, total = [], 0
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            text = json.loads(line)["text"]
            texts.append(text)
            total += len(text)
            if limit_chars is not None and total >= limit_chars:
                break
    return texts


def train_bpe(texts: list[str], vocab_size: int) -> Tokenizer:
    """A GPT-2-style byte-level BPE with ``<|endoftext|>`` as id 0."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    return tok


def brown_shards(folder: Path, chars: int = 150_000, vocab_size: int = 512) -> Path:
    """A small shard folder of Brown text (tests/data/prose), the last two documents as ``val``."""
    texts = read_texts(Path(__file__).parent / "data" / "prose" / "brown.jsonl.gz", chars)
    tok = train_bpe(texts, vocab_size)
    return write_shards(folder, tok, {"train": texts[:-2], "val": texts[-2:]})


def write_shards(
    folder: Path, tok: Tokenizer, splits: dict[str, list[str]], shard_tokens: int = 1 << 30
) -> Path:
    """Encode each split's documents (each followed by EOS) into shards of at most
    ``shard_tokens``."""
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    eos = tok.token_to_id(EOS)
    vocab = tok.get_vocab_size()
    dtype = np.uint16 if vocab <= 65_535 else np.uint32
    shards, totals = [], {}
    for split, texts in splits.items():
        docs = [enc.ids + [eos] for enc in tok.encode_batch(texts)]
        chunks, current = [], []
        for doc in docs:
            if current and sum(len(d) for d in current) + len(doc) > shard_tokens:
                chunks.append(current)
                current = []
            current.append(doc)
        chunks.append(current)
        for i, chunk in enumerate(chunks):
            name = f"{split}-{i:05d}"
            tokens = np.concatenate([np.asarray(d, dtype=dtype) for d in chunk])
            starts = np.cumsum([0] + [len(d) for d in chunk[:-1]]).astype(np.int64)
            np.save(folder / f"{name}.npy", tokens)
            np.save(folder / f"{name}.docs.npy", starts)
            shards.append(
                {
                    "file": f"{name}.npy",
                    "docs_file": f"{name}.docs.npy",
                    "split": split,
                    "tokens": int(len(tokens)),
                    "docs": len(chunk),
                    "sha256": sha256_file(folder / f"{name}.npy"),
                }
            )
        totals[split] = {
            "tokens": sum(len(d) for d in docs),
            "docs": len(docs),
            "shards": len(chunks),
        }
    manifest = {
        "format": "scratchlm-shards/1",
        "dtype": np.dtype(dtype).name,
        "eos_id": eos,
        "vocab_size": vocab,
        "tokenizer": "tokenizer.json",
        "tokenizer_sha256": sha256_file(folder / "tokenizer.json"),
        "splits": totals,
        "shards": shards,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return folder
