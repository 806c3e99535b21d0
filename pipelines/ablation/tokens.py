"""The shared token side of an ablation: one tokenizer for all variants, one evaluation text.

* The tokenizer is trained once on the union of every variant's curated documents (a document
  id seen in an earlier variant is not read again), so no variant gets a vocabulary fitted to it.
* Each variant's documents are sharded whole into ``train``; the ``--eval`` text is sharded once,
  and its shard files become every variant's ``val`` split (hard links, same bytes, same sha256),
  so the trainer's own validation runs are the comparison on one held-out text.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from scratchlm.curate.atomic import AtomicPath
from scratchlm.curate.errors import ConfigError
from scratchlm.curate.stage import Executor
from scratchlm.curate.writer import write_atomic
from scratchlm.tokenizer.config import BpeConfig, ShardConfig
from scratchlm.tokenizer.corpus import corpus_files, iter_documents
from scratchlm.tokenizer.shard_format import FORMAT, MANIFEST, load_manifest, shard_names
from scratchlm.tokenizer.sharding import shard_corpus
from scratchlm.tokenizer.train import TOKENIZER_FILE, train_texts_to_folder, trained_already


def union_texts(folders: Sequence[Path]) -> Iterator[str]:
    """Texts of the curated step folders in order, each document id once (holds the ids seen)."""
    seen: set[str] = set()
    for file in corpus_files([str(f) for f in folders]):
        for doc in iter_documents(file):
            if doc.id not in seen:
                seen.add(doc.id)
                yield doc.text


def train_union_tokenizer(folders: Sequence[Path], config: BpeConfig, output: Path) -> Path:
    """``output/tokenizer.json`` trained on the union of ``folders``; kept when trained on the same
    ones."""
    inputs = [str(f) for f in folders]
    if trained_already(inputs, config, output) is None:
        train_texts_to_folder(union_texts(folders), config, output, inputs)
    return output / TOKENIZER_FILE


def shard_all_train(
    inputs: Sequence[str], tokenizer: Path, output: Path, config: ShardConfig, executor: Executor
) -> dict[str, Any]:
    """Every document of ``inputs`` into the ``train`` split of a shard folder (no ``val``)."""
    return shard_corpus(
        corpus_files(list(inputs)),
        tokenizer,
        output,
        replace(config, val_fraction=0.0),
        executor,
        log=lambda _: None,
    )


def _link(source: Path, target: Path) -> None:
    with AtomicPath(target) as tmp:
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copyfile(source, tmp)


def compose_shards(train_folder: Path, eval_folder: Path, output: Path) -> dict[str, Any]:
    """A shard folder whose ``train`` is ``train_folder``'s and whose ``val`` is ``eval_folder``'s
    ``train``.

    Both must come from the same tokenizer; the manifest is written last, so a complete folder
    is reused as it is.
    """
    if (output / MANIFEST).exists():
        return load_manifest(output)
    train, evaluation = load_manifest(train_folder), load_manifest(eval_folder)
    if train["tokenizer_sha256"] != evaluation["tokenizer_sha256"]:
        raise ConfigError(
            f"{train_folder} and {eval_folder} were encoded with different tokenizers"
        )
    output.mkdir(parents=True, exist_ok=True)
    entries = []
    for split, folder, manifest in (
        ("train", train_folder, train),
        ("val", eval_folder, evaluation),
    ):
        shards = [e for e in manifest["shards"] if e["split"] == "train"]
        for index, entry in enumerate(shards):
            file, docs_file = shard_names(split, index)
            _link(folder / entry["file"], output / file)
            _link(folder / entry["docs_file"], output / docs_file)
            entries.append({**entry, "file": file, "docs_file": docs_file, "split": split})
    _link(train_folder / TOKENIZER_FILE, output / TOKENIZER_FILE)
    splits = {
        split: {
            "tokens": sum(e["tokens"] for e in entries if e["split"] == split),
            "docs": sum(e["docs"] for e in entries if e["split"] == split),
            "shards": sum(e["split"] == split for e in entries),
        }
        for split in ("train", "val")
    }
    manifest = {
        "format": FORMAT,
        "dtype": train["dtype"],
        "eos_id": train["eos_id"],
        "vocab_size": train["vocab_size"],
        "tokenizer": TOKENIZER_FILE,
        "tokenizer_sha256": train["tokenizer_sha256"],
        "splits": splits,
        "shards": entries,
        "encoders": sorted({*train.get("encoders", []), *evaluation.get("encoders", [])}),
        "sources": {"train": str(train_folder), "val": str(eval_folder)},
    }
    write_atomic(output / MANIFEST, json.dumps(manifest, indent=1))
    return manifest
