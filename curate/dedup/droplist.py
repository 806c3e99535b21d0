"""The drop list: sorted uint64 document keys, with the keeper's id and shard and the cluster size
of each.

Lookups are a binary search in a memory-mapped array; the ids are read from a small Parquet
file only for documents that are dropped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from scratchlm.curate.atomic import AtomicPath
from scratchlm.curate.dedup.store import find_sorted, save_npy

DROPS = "drops"  # the drop list's folder, in a dedup step's work folder


def write_droplist(
    folder: Path,
    keys: np.ndarray,
    duplicate_of: pa.Array,
    cluster_size: np.ndarray,
    keeper_part: pa.Array,
) -> None:
    order = np.argsort(keys, kind="stable")
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "duplicate_of": duplicate_of.take(pa.array(order)),
            "cluster_size": pa.array(cluster_size[order].astype(np.int64)),
            "keeper_part": keeper_part.take(pa.array(order)),
        }
    )
    with AtomicPath(folder / "info.parquet") as tmp:
        pq.write_table(table, tmp, compression="zstd")
    save_npy(folder / "keys.npy", keys[order])


class DropList:
    def __init__(self, folder: Path) -> None:
        self.keys = np.load(folder / "keys.npy", mmap_mode="r")
        info = pq.read_table(folder / "info.parquet")
        self.duplicate_of = info.column("duplicate_of")
        self.cluster_size = info.column("cluster_size").to_numpy()
        # a drop list of an earlier version has no keeper shards: "" (unknown) for each
        self.keeper_part = (
            info.column("keeper_part")
            if "keeper_part" in info.column_names
            else pa.array([""] * info.num_rows, pa.string())
        )

    def lookup_many(self, keys: list[int]) -> list[tuple[str, int, str] | None]:
        """For each document key: (keeper's id, cluster size, keeper's shard or "") when it is to be
        dropped, else None."""
        at, found = find_sorted(self.keys, keys)
        hits = pa.array(at[found])
        keepers = iter(
            zip(
                self.duplicate_of.take(hits).to_pylist(),
                self.cluster_size[hits.to_numpy()].tolist(),
                self.keeper_part.take(hits).to_pylist(),
            )
        )
        return [next(keepers) if hit else None for hit in found.tolist()]
