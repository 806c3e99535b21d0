"""The recipe's ``bpe:`` and ``shard:`` sections (field names and type hints are the schema)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

EOS_TOKEN = "<|endoftext|>"
TOKENIZER_FILE = "tokenizer.json"  # a trained tokenizer, in its folder


@dataclass(frozen=True)
class BpeConfig:
    """Byte-level BPE training options."""

    vocab_size: int = 8192
    min_frequency: int = 2
    special_tokens: tuple[str, ...] = (EOS_TOKEN,)
    limit_bytes: int | None = None  # train on at most this many UTF-8 bytes of text

    def __post_init__(self) -> None:
        if self.vocab_size < 256 + len(self.special_tokens):
            raise ValueError(f"vocab_size must be at least 256 + {len(self.special_tokens)} special tokens")
        if self.min_frequency < 1:
            raise ValueError("min_frequency must be at least 1")
        if not self.special_tokens or self.special_tokens[0] != EOS_TOKEN:
            raise ValueError(f"special_tokens must start with the end-of-text token {EOS_TOKEN}")
        if self.limit_bytes is not None and self.limit_bytes <= 0:
            raise ValueError("limit_bytes must be positive")


@dataclass(frozen=True)
class ShardConfig:
    """Token shard options: shard size, train/val split, end-of-text token."""

    shard_tokens: int = 10_000_000
    val_fraction: float = 0.01
    eos_token: str = EOS_TOKEN
    batch_docs: int = 512  # documents per encode_batch call
    # threads: this process encodes with the tokenizer's own threads (measured fastest on one
    # machine, docs/benchmarks.md); processes: one single-threaded task per input file, on the
    # executor's workers (local processes or Ray)
    parallel: Literal["threads", "processes"] = "threads"
    # auto: fastokens where it reproduces tokenizers' ids exactly (tokenizer/encoders.py), else
    # tokenizers; tokenizers: always HF tokenizers (the same ids, slower)
    encoder: Literal["auto", "tokenizers"] = "auto"

    def __post_init__(self) -> None:
        if self.shard_tokens <= 0:
            raise ValueError("shard_tokens must be positive")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError("val_fraction must be in [0, 1)")
        if self.batch_docs <= 0:
            raise ValueError("batch_docs must be positive")
