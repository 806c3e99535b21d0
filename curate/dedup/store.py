"""Atomic writes of the arrays and small files dedup keeps under its work folder, and lookups in its
sorted key arrays (also used by the perplexity step's score table)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from scratchlm.curate.atomic import AtomicPath
from scratchlm.curate.writer import write_atomic


def save_npy(path: Path, array: np.ndarray) -> None:
    """``np.save`` under a temporary name, then rename into place."""
    with AtomicPath(path) as tmp, open(tmp, "wb") as f:
        np.save(f, np.ascontiguousarray(array))


def group_starts(values: np.ndarray) -> np.ndarray:
    """Mask of the positions where a sorted array's value changes (its distinct values' first
    places)."""
    starts = np.ones(len(values), dtype=bool)
    starts[1:] = values[1:] != values[:-1]
    return starts


def find_sorted(sorted_keys: np.ndarray, keys: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Binary search of ``keys`` in a sorted uint64 array (memory-mapped is fine): each key's
    position and whether it is there."""
    wanted = np.array(keys, dtype=np.uint64)
    if not len(sorted_keys):
        return np.zeros(len(wanted), dtype=np.int64), np.zeros(len(wanted), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, wanted), len(sorted_keys) - 1)
    return at, sorted_keys[at] == wanted


def save_json(path: Path, data: Any) -> None:
    write_atomic(path, json.dumps(data, indent=1, sort_keys=True))


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
