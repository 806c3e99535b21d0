"""The encoder that turns the shards' documents into token ids.

``fastokens`` (a Rust reimplementation of the HF pipeline: the same merge-rank BPE, GPT-2's split
regex) encodes when the ``tokenizer.json`` is one whose ids it is known to reproduce exactly: the
byte-level BPE that ``tokenizer/train.py`` writes (no normaliser, the ``ByteLevel`` pre-tokeniser
with GPT-2's regex and no prefix space, a BPE model without dropout, unknown token, subword
affixes or byte fallback, every added token special). Any other tokenizer, or a machine without
``fastokens``, encodes with HF ``tokenizers`` as loaded by ``load_tokenizer``. Either way a
special token's text inside a document encodes as ordinary text (``encode_special_tokens`` /
``split_special_tokens``), and tests/test_tokenizer_encoders.py holds the two to identical ids on
every shipped corpus and every Unicode code point.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import tokenizers
from tokenizers import Tokenizer, pre_tokenizers

from scratchlm.tokenizer.files import load_tokenizer, tokenizer_file

FAST = "fastokens"
BYTE_LEVEL = {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True}
BPE_PLAIN = {
    "dropout": None,
    "unk_token": None,
    "continuing_subword_prefix": None,
    "end_of_word_suffix": None,
    "byte_fallback": False,
    "ignore_merges": False,
}


class Encoder(Protocol):
    """Texts to token ids, each document's ids alone (no end-of-text id, no added tokens)."""

    name: str  # what ran, with its version, as the shard manifest records it

    def encode_batch(self, texts: list[str]) -> Sequence[Sequence[int]]: ...


class TokenizersEncoder:
    """HF ``tokenizers``' ``encode_batch_fast``, on its own threads (``RAYON_NUM_THREADS``)."""

    def __init__(self, tokenizer: Tokenizer, why: str = "") -> None:
        self.tokenizer = tokenizer
        self.name = f"tokenizers {tokenizers.__version__}" + (f" ({why})" if why else "")

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch_fast(texts, add_special_tokens=False)]


class FastokensEncoder:
    """``fastokens``, one document a call (one call is single-threaded and returns one id buffer,
    no Python int per token; its batch call would take threads of its own, which nothing caps),
    on ``threads`` threads of this process, each encoding a contiguous slice of the batch. The
    threads live as long as the encoder: fastokens caches encoded words per thread."""

    def __init__(self, path: Path, threads: int = 1) -> None:
        import fastokens

        self.tokenizer = fastokens.Tokenizer.from_file(str(path))
        self.threads = max(1, threads)
        self.pool = ThreadPoolExecutor(self.threads) if self.threads > 1 else None
        self.name = f"{FAST} {version(FAST)}"

    def _encode_all(self, texts: list[str]) -> list[np.ndarray]:
        encode = self.tokenizer.encode_batch_flat
        return [
            np.frombuffer(encode([text], split_special_tokens=True)[0], np.uint32) for text in texts
        ]

    def encode_batch(self, texts: list[str]) -> list[np.ndarray]:
        if self.pool is None or len(texts) < 2:
            return self._encode_all(texts)
        step = -(-len(texts) // self.threads)
        slices = [texts[i : i + step] for i in range(0, len(texts), step)]
        parts = self.pool.map(self._encode_all, slices)  # fastokens releases the GIL while encoding
        return [ids for part in parts for ids in part]


def encode_threads() -> int:
    """Threads for ``parallel: threads``: ``RAYON_NUM_THREADS`` as ``tokenizers`` reads it
    (``scratchlm shard`` sets it from ``--workers``), else the cores this process may use."""
    if os.environ.get("RAYON_NUM_THREADS", "").isdigit():
        return max(1, int(os.environ["RAYON_NUM_THREADS"]))
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def fast_refusal(spec: dict[str, Any]) -> str | None:
    """Why the fast encoder may not stand in for ``tokenizers`` on this ``tokenizer.json`` (None:
    it may)."""
    model = spec.get("model") or {}
    pre = spec.get("pre_tokenizer") or {}
    pre = {k: v for k, v in pre.items() if k != "trim_offsets"}  # trim_offsets changes offsets only
    if spec.get("normalizer") is not None:
        return f"normalizer {spec['normalizer'].get('type')}"
    if pre != BYTE_LEVEL:
        return f"pre-tokenizer {pre} is not {BYTE_LEVEL}"
    if (spec.get("post_processor") or {"type": "ByteLevel"})["type"] != "ByteLevel":
        return f"post-processor {spec['post_processor']['type']}"
    if model.get("type") != "BPE":
        return f"model {model.get('type')}"
    options = {k: model.get(k, BPE_PLAIN[k]) or BPE_PLAIN[k] for k in BPE_PLAIN}
    if options != BPE_PLAIN:
        return f"BPE options {', '.join(k for k in BPE_PLAIN if options[k] != BPE_PLAIN[k])}"
    if not set(pre_tokenizers.ByteLevel.alphabet()) <= set(model.get("vocab", {})):
        return "not all 256 byte-level symbols in the vocabulary"
    plain = [t["content"] for t in spec.get("added_tokens", []) if not t.get("special")]
    if plain:
        return f"non-special added tokens {plain[:3]}"
    return None


def load_encoder(path: str | Path, fast: bool = True, threads: int = 1) -> Encoder:
    """The encoder for the shards: the fast one where it is exact (and ``fast``), on ``threads``
    threads, else ``tokenizers`` (on its own threads unless ``TOKENIZERS_PARALLELISM=false``)."""
    if not fast:
        return TokenizersEncoder(load_tokenizer(path), "encoder: tokenizers")
    if find_spec(FAST) is None:
        return TokenizersEncoder(load_tokenizer(path), f"{FAST} is not installed")
    file = tokenizer_file(path)
    try:
        refusal = fast_refusal(json.loads(file.read_text(encoding="utf-8")))
    except ValueError:  # not JSON: load_tokenizer says so in one line
        refusal = "a file that is not JSON"
    if refusal is not None:
        return TokenizersEncoder(load_tokenizer(file), f"{FAST} does not take {refusal}")
    return FastokensEncoder(file, threads)
