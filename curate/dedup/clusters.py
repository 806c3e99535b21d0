"""From sorted spills to a drop list: candidate pairs per band, union-find, one keeper per cluster.

``candidate_pairs`` merges one band's spills across all shards and writes star edges between
documents sharing a key, optionally keeping only pairs whose estimated Jaccard (the share of
equal signature values) reaches a threshold. ``cluster_drops`` unites all edges and writes
the drop list: every document of a cluster but its keeper, with the keeper's id and shard and
the cluster's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scratchlm.curate.atomic import AtomicPath
from scratchlm.curate.dedup.corpus import Corpus
from scratchlm.curate.dedup.droplist import DROPS, write_droplist
from scratchlm.curate.dedup.spills import iter_groups, star_edges
from scratchlm.curate.dedup.store import group_starts
from scratchlm.curate.dedup.unionfind import UnionFind

EDGE_BYTES = 16  # two int64 ids
VERIFY_BLOCK = 1 << 15  # pairs whose signatures are compared at once (2 x 14 MiB at 112 hashes)


@dataclass(frozen=True)
class PairTask:
    corpus: Corpus
    band: int
    out: str
    chunk_items: int
    threshold: float = 0.0  # 0: keep every candidate pair


def candidate_pairs(task: PairTask) -> int:
    """Write the edges of one band to ``task.out`` (int64 pairs); returns how many. Skips a finished
    band."""
    out = Path(task.out)
    if out.exists():
        return out.stat().st_size // EDGE_BYTES
    written = 0
    with AtomicPath(out) as tmp, open(tmp, "wb") as f:
        for keys, gids in iter_groups(task.corpus.spills(task.band), task.chunk_items):
            left, right = star_edges(keys, gids, task.corpus.first_new)
            for start in range(0, len(left), VERIFY_BLOCK):
                a, b = left[start : start + VERIFY_BLOCK], right[start : start + VERIFY_BLOCK]
                if task.threshold > 0:
                    close = (task.corpus.signatures(a) == task.corpus.signatures(b)).mean(
                        axis=1
                    ) >= task.threshold
                    a, b = a[close], b[close]
                f.write(np.stack([a, b], axis=1).astype(np.int64).tobytes())
                written += len(a)
    return written


def _edge_chunks(path: Path, chunk_items: int):
    total = path.stat().st_size // EDGE_BYTES
    for start in range(0, total, chunk_items):
        pairs = np.fromfile(
            path,
            dtype=np.int64,
            count=2 * min(chunk_items, total - start),
            offset=start * EDGE_BYTES,
        )
        yield pairs[0::2], pairs[1::2]


def _keepers(
    corpus: Corpus, members: np.ndarray, roots: np.ndarray, by_score: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(sorted cluster roots, the keeper of each): the root, or the best score (ties: the root
    side)."""
    cluster_roots = np.unique(roots)
    if not by_score:
        return cluster_roots, cluster_roots
    everyone = np.concatenate([members, cluster_roots])
    cluster = np.concatenate([roots, cluster_roots])
    order = np.lexsort((everyone, -corpus.scores(everyone), cluster))
    first = group_starts(cluster[order])
    return cluster[order][first], everyone[order][first]


def cluster_drops(
    corpus: Corpus,
    edge_files: list[Path],
    workdir: Path,
    memory_bytes: int,
    chunk_items: int,
    by_score: bool,
) -> dict[str, int]:
    """Unite the edges, choose keepers and write ``workdir/drops``; returns counts for the
    summary."""
    uf = UnionFind(corpus.size, memory_bytes, workdir / "parent.i64")
    edges = 0
    for path in edge_files:
        for left, right in _edge_chunks(path, chunk_items):
            uf.union(left, right)
            edges += len(left)
    members, roots = [], []
    for start, chunk_roots in uf.roots():
        ids = np.arange(start, start + len(chunk_roots), dtype=np.int64)
        moved = chunk_roots != ids
        members.append(ids[moved])
        roots.append(chunk_roots[moved])
    uf.close()
    (workdir / "parent.i64").unlink(missing_ok=True)
    member_ids = np.concatenate(members) if members else np.empty(0, np.int64)
    member_roots = np.concatenate(roots) if roots else np.empty(0, np.int64)
    cluster_roots, keepers = _keepers(corpus, member_ids, member_roots, by_score)
    member_cluster = np.searchsorted(cluster_roots, member_roots)  # cluster index of each member
    cluster_size = np.bincount(member_cluster, minlength=len(cluster_roots)) + 1
    # every document of a cluster but its keeper is dropped: members, and roots that lost on score
    everyone = np.concatenate([member_ids, cluster_roots])
    cluster = np.concatenate([member_cluster, np.arange(len(cluster_roots))])
    dropped = (everyone != keepers[cluster]) & (everyone >= corpus.first_new)
    gids, cluster = everyone[dropped], cluster[dropped]
    kept = keepers[cluster]
    write_droplist(
        workdir / DROPS,
        corpus.doc_keys(gids),
        corpus.ids(kept),
        cluster_size[cluster],
        corpus.parts(kept),
    )
    return {
        "documents": corpus.size - corpus.first_new,
        "candidate_pairs": edges,
        "clusters": int(len(cluster_roots)),
        "dropped": int(len(gids)),
    }
