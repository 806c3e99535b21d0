"""The recipe's ``bpe:`` and ``shard:`` sections (field names and type hints are the schema)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
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
            raise ValueError(
                f"vocab_size must be at least 256 + {len(self.special_tokens)} special tokens"
            )
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


@dataclass(frozen=True)
class MixSource:
    """One source of a mixture: where its documents are, and its share of the training tokens."""

    weight: float  # share of the mixture's training tokens (the weights sum to 1)
    max_epochs: float = 1.0  # the most passes over the source's training documents
    run: str | None = None  # a curated run folder (its last step) or a curated step folder
    shards: str | None = None  # a token shard folder (its tokenizer must be the mixture's)
    input: tuple[str, ...] | None = None  # raw inputs, curated by ``recipe``'s steps
    recipe: str | None = None  # the recipe whose curation steps curate ``input``
    licence: str | None = None  # shown in the data card

    def kind(self) -> str:
        """``run``, ``shards`` or ``input``: where the source's documents come from."""
        given = [k for k in ("run", "shards", "input") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of run, shards, input (got {', '.join(given) or 'none'})"
            )
        return given[0]


MIX_WEIGHT_TOLERANCE = 1e-6
SOURCE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class MixConfig:
    """The recipe's ``mix:`` section: weighted sources, a token budget, a seed."""

    sources: dict[str, MixSource] = field(default_factory=dict)
    # training tokens in all; None: use everything once, the most tokens that no source's
    # max_epochs forbids (with the natural shares as weights, every source exactly once)
    total_tokens: int | None = None
    seed: int = 0  # the interleaving of the sources and the order of each source's documents
    tokenizer: str | None = None  # a given tokenizer.json (else the bpe section's, or the shards')

    def __post_init__(self) -> None:
        if not self.sources:
            raise ValueError("sources: give at least one source")
        for name, source in self.sources.items():
            if not SOURCE_NAME.fullmatch(name):
                raise ValueError(
                    f"sources.{name}: a source name is 1 to 64 letters, digits, _ or -"
                )
            try:
                source.kind()
            except ValueError as err:
                raise ValueError(f"sources.{name}: {err}") from None
            if (source.recipe is None) != (source.input is None):
                raise ValueError(f"sources.{name}: input and recipe go together")
            if not source.weight > 0:
                raise ValueError(f"sources.{name}.weight must be positive, got {source.weight}")
            if not source.max_epochs > 0:
                raise ValueError(
                    f"sources.{name}.max_epochs must be positive, got {source.max_epochs}"
                )
        total = sum(s.weight for s in self.sources.values())
        if abs(total - 1.0) > MIX_WEIGHT_TOLERANCE:
            listed = ", ".join(f"{n} {s.weight:g}" for n, s in self.sources.items())
            raise ValueError(
                f"the weights sum to {total:g} ({listed}); give each source's share "
                f"of the training tokens, summing to 1"
            )
        if self.total_tokens is not None and self.total_tokens <= 0:
            raise ValueError("total_tokens must be positive (or null: use everything once)")
