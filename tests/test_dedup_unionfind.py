"""The array union-find gives scipy's connected components, in memory and spilled to a file."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from scratchlm.curate.dedup.unionfind import UnionFind


@pytest.mark.parametrize("memory_bytes", [1 << 30, 64])
def test_components_match_scipy(tmp_path, memory_bytes):
    rng = np.random.default_rng(5)
    n = 5000
    left, right = rng.integers(0, n, 3000), rng.integers(0, n, 3000)
    uf = UnionFind(n, memory_bytes, tmp_path / "parent.i64")
    assert uf.spilled == (memory_bytes < n * 8)
    for start in range(0, len(left), 700):  # edges arrive in chunks, as from the pair files
        uf.union(left[start : start + 700], right[start : start + 700])
    roots = np.concatenate([r for _, r in uf.roots()])
    _, labels = connected_components(
        coo_matrix((np.ones(len(left)), (left, right)), shape=(n, n)), directed=False
    )
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        assert (roots[members] == members.min()).all()  # one root per component: its smallest id
