"""Array-based union-find over document ids (8 bytes per document), vectorised over edge chunks.

Every link points from the larger root to the smaller, so a set's root is its smallest id:
"first in input order" is the root itself. When the parent array does not fit the memory
budget it lives in a file (``numpy.memmap``) and the operating system pages it: same code,
same result, memory bounded by the page cache the system grants.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

CHUNK = 1 << 20  # ids per step when walking the whole array


class UnionFind:
    def __init__(self, n: int, memory_bytes: int, spill_path: Path) -> None:
        self.n = n
        self.spilled = n * 8 > memory_bytes
        if self.spilled:
            spill_path.parent.mkdir(parents=True, exist_ok=True)
            self.parent = np.memmap(spill_path, dtype=np.int64, mode="w+", shape=(max(n, 1),))[:n]
            for start in range(0, n, CHUNK):
                stop = min(n, start + CHUNK)
                self.parent[start:stop] = np.arange(start, stop, dtype=np.int64)
        else:
            self.parent = np.arange(n, dtype=np.int64)

    def find(self, ids: np.ndarray) -> np.ndarray:
        """Roots of ``ids``, compressing the paths walked."""
        ids = np.asarray(ids, dtype=np.int64)
        roots = self.parent[ids]
        while True:
            up = self.parent[roots]
            if np.array_equal(up, roots):
                break
            roots = up
        self.parent[ids] = roots
        return roots

    def union(self, left: np.ndarray, right: np.ndarray) -> None:
        """Merge the sets of each pair ``(left[i], right[i])``."""
        left = np.asarray(left, dtype=np.int64)
        right = np.asarray(right, dtype=np.int64)
        while len(left):
            a, b = self.find(left), self.find(right)
            differ = a != b
            if not differ.any():
                return
            a, b = a[differ], b[differ]
            low, high = np.minimum(a, b), np.maximum(a, b)
            # several pairs may share ``high``: one write wins, the loop links the rest next round
            self.parent[high] = low
            left, right = low, high

    def roots(self) -> Iterator[tuple[int, np.ndarray]]:
        """(first id, roots of ids first .. first+len-1), the whole array in chunks."""
        for start in range(0, self.n, CHUNK):
            ids = np.arange(start, min(self.n, start + CHUNK), dtype=np.int64)
            yield start, self.find(ids)

    def close(self) -> None:
        if isinstance(self.parent, np.memmap):
            self.parent.flush()
        self.parent = np.empty(0, dtype=np.int64)
