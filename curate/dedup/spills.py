"""External sort of (key, document) pairs: sorted spills per shard on disk, merged by key range.

Each shard spills its keys sorted, one spill per band (``write_spills``); the merge
(``iter_groups``) splits the 64-bit key space into ranges small enough for ``chunk_items`` entries,
finds each range in every spill by binary search on the memory-mapped files, and sorts just that
slice. Memory is bounded by one range, not by the corpus; keys are hashes, so ranges are evenly
filled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from scratchlm.curate.dedup.store import group_starts, save_npy


@dataclass(frozen=True)
class Spill:
    """One shard's sorted keys of one band and the local rows they belong to; ``base`` maps rows to
    global ids."""

    keys: np.ndarray  # uint64, sorted
    rows: np.ndarray  # uint32, aligned with keys
    base: int


def write_spills(folder: Path, keys: np.ndarray, rows: np.ndarray) -> None:
    """Sort each row of ``keys`` (``[bands, n]``: a spill per band) and save ``keys.npy`` and
    ``rows.npy`` under ``folder``."""
    order = np.argsort(keys, axis=1, kind="stable")
    save_npy(folder / "keys.npy", np.take_along_axis(keys, order, axis=1))
    save_npy(folder / "rows.npy", rows.astype(np.uint32)[order])


def load_spill(folder: Path, band: int, base: int) -> Spill:
    """The spill of band ``band`` of a shard folder, memory-mapped."""
    keys = np.load(folder / "keys.npy", mmap_mode="r")
    rows = np.load(folder / "rows.npy", mmap_mode="r")
    return Spill(keys[band], rows[band], base)


def iter_groups(spills: list[Spill], chunk_items: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(keys, global ids) sorted by key then id, in slices that never split a key."""
    total = sum(len(s.keys) for s in spills)
    parts = max(1, math.ceil(total / max(1, chunk_items)))
    bounds = [np.uint64((p << 64) // parts) for p in range(parts)]
    for p in range(parts):
        keys, gids = [], []
        for spill in spills:
            lo = 0 if p == 0 else int(np.searchsorted(spill.keys, bounds[p], side="left"))
            hi = (
                len(spill.keys)
                if p == parts - 1
                else int(np.searchsorted(spill.keys, bounds[p + 1], side="left"))
            )
            if hi > lo:
                keys.append(np.asarray(spill.keys[lo:hi]))
                gids.append(np.asarray(spill.rows[lo:hi], dtype=np.int64) + spill.base)
        if not keys:
            continue
        k, g = np.concatenate(keys), np.concatenate(gids)
        order = np.lexsort((g, k))
        yield k[order], g[order]


def star_edges(
    keys: np.ndarray, gids: np.ndarray, first_new: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """For each group of equal keys, edges from its first (smallest) id to each other member.

    Members below ``first_new`` belong to an earlier index: edges between two of them are left out.
    """
    if len(keys) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    is_start = group_starts(keys)
    group = np.cumsum(is_start) - 1
    first = gids[is_start][group]
    keep = ~is_start & (gids >= first_new)
    return first[keep], gids[keep]
