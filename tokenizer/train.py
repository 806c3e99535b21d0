"""Fast byte-level BPE training with HF ``tokenizers``, streamed from the curated corpus.

GPT-2 style: the byte-level pre-tokeniser (GPT-2's regex, bytes mapped to printable
characters), no normaliser, all 256 bytes in the initial alphabet (so nothing is ever
unknown), and ``<|endoftext|>`` as special token 0.
"""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from scratchlm.curate.checksum import file_sha256
from scratchlm.curate.writer import write_atomic
from scratchlm.tokenizer.config import TOKENIZER_FILE, BpeConfig
from scratchlm.tokenizer.corpus import CorpusFile, TextCounter, corpus_texts, limited

STATS_FILE = "tokenizer.stats.json"


def new_byte_level_bpe() -> Tokenizer:
    """An untrained GPT-2 style byte-level BPE tokenizer."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    return tokenizer


def train_bpe(texts: Iterable[str], config: BpeConfig) -> Tokenizer:
    """Train on an iterator of texts, consumed once as they come (``tokenizers`` buffers 256 of
    them)."""
    tokenizer = new_byte_level_bpe()
    trainer = trainers.BpeTrainer(
        vocab_size=config.vocab_size,
        min_frequency=config.min_frequency,
        special_tokens=list(config.special_tokens),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer)
    return tokenizer


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def config_plain(config: BpeConfig) -> dict:
    """The config as JSON data (tuples as lists), as the stats file records it."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()}


def train_to_folder(files: list[CorpusFile], config: BpeConfig, output: Path) -> dict:
    """Train, save ``tokenizer.json`` atomically and ``tokenizer.stats.json`` (sha256 and counts)
    beside it."""
    return train_texts_to_folder(corpus_texts(files), config, output, [f.source for f in files])


def train_texts_to_folder(
    texts: Iterable[str], config: BpeConfig, output: Path, inputs: list[str]
) -> dict:
    """Train on ``texts`` (up to ``config.limit_bytes`` of them) into ``output``; ``inputs`` names
    where they came from, for ``trained_already``."""
    started = time.perf_counter()
    counter = TextCounter()
    tokenizer = train_bpe(limited(texts, config.limit_bytes, counter), config)
    output.mkdir(parents=True, exist_ok=True)
    path = output / TOKENIZER_FILE
    write_atomic(path, tokenizer.to_str())
    stats = {
        "tokenizer": TOKENIZER_FILE,
        "sha256": file_sha256(path),
        "vocab_size": tokenizer.get_vocab_size(),
        "config": config_plain(config),
        "inputs": inputs,
        "docs": counter.docs,
        "bytes": counter.bytes,
        "seconds": round(time.perf_counter() - started, 3),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    write_atomic(output / STATS_FILE, json.dumps(stats, indent=2))
    return stats


def trained_already(inputs: list[str], config: BpeConfig, output: Path) -> dict | None:
    """The stats of an earlier training on the same ``inputs`` and config whose tokenizer file is
    intact, else None."""
    stats_path, path = output / STATS_FILE, output / TOKENIZER_FILE
    if not (stats_path.exists() and path.exists()):
        return None
    stats = json.loads(stats_path.read_text(encoding="utf-8"))
    same = stats.get("inputs") == inputs and stats.get("config") == config_plain(config)
    return stats if same and stats.get("sha256") == file_sha256(path) else None
