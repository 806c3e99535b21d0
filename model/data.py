"""Batches from a token shard folder (``manifest.json`` + memory-mapped ``.npy`` shards).

Training batches are random windows of ``block_size + 1`` tokens drawn by a generator seeded
with (seed, rank, step), so a resumed run sees exactly the batches an unbroken run would have.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from scratchlm.model.errors import ModelError

FORMAT = "scratchlm-shards/1"
# a shard folder's names (tokenizer/shard_format.py writes them; a test checks they agree)
MANIFEST = "manifest.json"
TOKENIZER_FILE = "tokenizer.json"  # the tokenizer, copied from here into each checkpoint
DTYPES = {"uint16": np.uint16, "uint32": np.uint32}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class ShardSet:
    """A checked shard folder: its manifest and the token arrays of each split, memory-mapped."""

    folder: Path
    manifest: dict
    splits: dict[str, list[np.ndarray]]
    # a mixture's per-source shards (``source`` in their manifest entries): (split, source) ->
    # arrays
    sources: dict[tuple[str, str], list[np.ndarray]] = field(default_factory=dict)

    @property
    def val_sources(self) -> list[str]:
        """The sources of a mixture that keep their own validation split, in manifest order."""
        return list(dict.fromkeys(source for split, source in self.sources if split == "val"))

    @property
    def vocab_size(self) -> int:
        return int(self.manifest["vocab_size"])

    @property
    def eos_id(self) -> int:
        return int(self.manifest["eos_id"])

    @property
    def tokenizer_path(self) -> Path:
        return self.folder / self.manifest.get("tokenizer", TOKENIZER_FILE)

    @property
    def content_id(self) -> str:
        """A digest of the shards' checksums: the same data wherever the folder is."""
        checksums = "".join(entry.get("sha256", "") for entry in self.manifest.get("shards", []))
        return hashlib.sha256(checksums.encode()).hexdigest()

    def document_openings(self, split: str, count: int, length: int) -> list[np.ndarray]:
        """The first ``length`` tokens of the first ``count`` documents of a split (sample
        prompts)."""
        openings: list[np.ndarray] = []
        for entry in self.manifest.get("shards", []):
            if entry["split"] != split or len(openings) >= count:
                continue
            tokens = np.load(self.folder / entry["file"], mmap_mode="r")
            for start in np.load(self.folder / entry["docs_file"], mmap_mode="r")[
                : count - len(openings)
            ]:
                openings.append(np.asarray(tokens[start : start + length], dtype=np.int64))
        return openings


def open_shards(folder: Path | str, verify: bool = True) -> ShardSet:
    """Read and check ``manifest.json``; with ``verify``, each shard's sha256 too."""
    folder = Path(folder)
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: no manifest (is {folder} a shard folder?)") from None
    except (OSError, ValueError) as err:
        raise ModelError(f"{path}: unreadable manifest: {err}") from None
    if manifest.get("format") != FORMAT:
        raise ModelError(f"{path}: format {manifest.get('format')!r}, expected {FORMAT!r}")
    dtype = DTYPES.get(manifest.get("dtype"))
    if dtype is None:
        raise ModelError(
            f"{path}: dtype {manifest.get('dtype')!r}, expected one of {', '.join(DTYPES)}"
        )
    splits: dict[str, list[np.ndarray]] = {}
    sources: dict[tuple[str, str], list[np.ndarray]] = {}
    for entry in manifest.get("shards", []):
        shard = folder / entry["file"]
        if not shard.exists():
            raise ModelError(f"{shard}: listed in the manifest but missing")
        if verify and sha256_file(shard) != entry["sha256"]:
            raise ModelError(f"{shard}: sha256 does not match the manifest (corrupted or replaced)")
        tokens = np.load(shard, mmap_mode="r")
        if tokens.dtype != dtype or tokens.ndim != 1 or len(tokens) != entry["tokens"]:
            raise ModelError(
                f"{shard}: expected {entry['tokens']} tokens of {manifest['dtype']}, "
                f"found {tokens.shape} of {tokens.dtype}"
            )
        splits.setdefault(entry["split"], []).append(tokens)
        if "source" in entry:
            sources.setdefault((entry["split"], entry["source"]), []).append(tokens)
    return ShardSet(folder, manifest, splits, sources)


class BatchLoader:
    """Random (inputs, targets) windows from one split (of one source of a mixture, when
    ``source`` is given), placed on ``device``."""

    def __init__(
        self,
        shards: ShardSet,
        split: str,
        block_size: int,
        batch: int,
        device: torch.device,
        seed: int,
        rank: int = 0,
        source: str | None = None,
    ) -> None:
        if split not in shards.splits:
            raise ModelError(
                f"{shards.folder}: no split {split!r} (its splits: "
                f"{', '.join(sorted(shards.splits))})"
            )
        chosen = shards.splits[split] if source is None else shards.sources.get((split, source), [])
        arrays = [a for a in chosen if len(a) > block_size]
        if not arrays:
            which = f"split {split!r}" + (f" of source {source!r}" if source else "")
            raise ModelError(
                f"{shards.folder}: {which} has no shard longer than "
                f"block_size + 1 = {block_size + 1} tokens"
            )
        self.arrays = arrays
        # window starts per shard; a start s takes tokens s .. s + block_size
        self.cum_starts = np.cumsum([len(a) - block_size for a in arrays])
        self.block_size, self.batch = block_size, batch
        self.device, self.seed, self.rank = device, seed, rank

    def windows(self, starts: np.ndarray) -> torch.Tensor:
        """Global window starts -> (len(starts), block_size + 1) int64 tokens on the host."""
        shard = np.searchsorted(self.cum_starts, starts, side="right")
        offsets = starts - np.concatenate([[0], self.cum_starts[:-1]])[shard]
        rows = [self.arrays[s][o : o + self.block_size + 1] for s, o in zip(shard, offsets)]
        return torch.from_numpy(np.stack(rows).astype(np.int64))

    def to_device(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.device.type == "cuda":
            rows = rows.pin_memory().to(self.device, non_blocking=True)
        return rows[:, :-1], rows[:, 1:]

    def step_batches(self, step: int, count: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The ``count`` micro-batches of training step ``step`` on this rank."""
        rng = np.random.default_rng([self.seed, self.rank, step])
        starts = rng.integers(0, self.cum_starts[-1], size=(count, self.batch))
        return [self.to_device(self.windows(s)) for s in starts]

    def eval_batches(
        self, max_tokens: int, world: int = 1, rank: int = 0
    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Share ``rank`` of ``world`` of the consecutive, non-overlapping windows covering up to
        ``max_tokens``."""
        firsts = np.concatenate([[0], self.cum_starts[:-1]])
        starts = np.concatenate(
            [
                first + np.arange(0, len(a) - self.block_size, self.block_size)
                for first, a in zip(firsts, self.arrays)
            ]
        )
        starts = starts[: max(max_tokens // self.block_size, 1)][rank::world]
        return [
            self.to_device(self.windows(starts[i : i + self.batch]))
            for i in range(0, len(starts), self.batch)
        ]
