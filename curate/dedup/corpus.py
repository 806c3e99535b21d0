"""The per-shard pass of dedup, and the corpus view that maps global document ids back to shards.

``scan_shard`` reads one Parquet shard in batches and writes, under its own folder:
``doc_keys.npy`` (one uint64 per document, see ``doc_key``), ``ids.parquet`` (document ids, for
``duplicate_of``), the sorted spills of ``curate.dedup.spills`` (band hashes, or the text hash for
exact dedup), optionally ``sigs.u32`` (full signatures, for verification) and ``scores.npy``
(for ``keep: highest:<field>``), and ``done.json`` last. A shard whose ``done.json`` exists
is skipped, so the pass resumes after a kill.

Global document ids number the documents of an earlier index first, then the input shards in
order, then rows in order: the smallest id of a set is its first document in input order.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash

from scratchlm.curate.atomic import AtomicPath
from scratchlm.curate.dedup.normalize import Normalization
from scratchlm.curate.dedup.signatures import (
    band_hashes,
    permutations,
    signature_batch,
    text_hash_batch,
)
from scratchlm.curate.dedup.spills import Spill, load_spill, write_spills
from scratchlm.curate.dedup.store import load_json, save_json, save_npy
from scratchlm.curate.errors import ConfigError
from scratchlm.curate.shards import BATCH_ROWS

SHARD_DONE = "done.json"  # a scanned shard folder's document count, written last


def doc_key(doc_id: str, meta: dict[str, Any]) -> int:
    """A 64-bit key naming a document in its step: its id and ``meta.source`` (file#record)."""
    return xxhash.xxh64_intdigest(f"{doc_id}\x00{meta.get('source', '')}".encode("utf-8"))


@dataclass(frozen=True)
class ScanSpec:
    """What the per-shard pass computes: MinHash bands (``bands > 0``) or one exact text hash."""

    norm: Normalization
    ngram: int = 5
    bands: int = 0
    rows: int = 0
    seed: int = 1
    signatures: bool = False  # keep the full signatures (for verification)
    score_field: str = ""  # meta field whose value ranks documents of a cluster

    @property
    def num_perm(self) -> int:
        return self.bands * self.rows


def _score(meta: dict[str, Any], field: str) -> float:
    value = meta.get(field)
    return (
        float(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool)
        else -math.inf
    )


def scan_shard(task: tuple[str, str, ScanSpec]) -> int:
    """Hash one shard into its folder; returns its number of documents."""
    shard, folder_name, spec = task
    folder = Path(folder_name)
    done = folder / SHARD_DONE
    if done.exists():
        return int(load_json(done)["docs"])
    folder.mkdir(parents=True, exist_ok=True)
    perms = permutations(spec.num_perm, spec.seed) if spec.bands else None
    doc_keys, spill_keys, spill_rows, scores = [], [], [], []
    n = 0
    sigs_out, ids_out = AtomicPath(folder / "sigs.u32"), AtomicPath(folder / "ids.parquet")
    id_schema = pa.schema([("id", pa.string())])
    with (
        open(sigs_out.begin(), "wb") as sig_file,
        pq.ParquetWriter(ids_out.begin(), id_schema, compression="zstd") as ids,
    ):
        for batch in pq.ParquetFile(shard).iter_batches(
            batch_size=BATCH_ROWS, columns=["id", "text", "meta"]
        ):
            metas = [json.loads(m) for m in batch.column(2).to_pylist()]
            id_list = batch.column(0).to_pylist()
            doc_keys.append(
                np.fromiter((doc_key(i, m) for i, m in zip(id_list, metas)), np.uint64, len(metas))
            )
            ids.write_table(pa.table({"id": batch.column(0)}, schema=id_schema))
            if spec.score_field:
                scores.append(
                    np.array([_score(m, spec.score_field) for m in metas], dtype=np.float64)
                )
            rows = np.arange(n, n + len(metas), dtype=np.int64)
            if spec.bands:
                sigs, counts = signature_batch(batch.column(1), spec.norm, spec.ngram, perms)
                if spec.signatures:
                    sig_file.write(sigs.tobytes())
                has_shingles = counts > 0  # an empty text has no signature: never a near-duplicate
                spill_keys.append(band_hashes(sigs[has_shingles], spec.bands, spec.rows))
                spill_rows.append(rows[has_shingles])
            else:
                spill_keys.append(text_hash_batch(batch.column(1), spec.norm)[None, :])
                spill_rows.append(rows)
            n += len(metas)
    bands = max(spec.bands, 1)
    keys = np.concatenate(doc_keys) if doc_keys else np.empty(0, np.uint64)
    if len(np.unique(keys)) != len(keys):
        raise ConfigError(
            f"{shard}: two documents share an id and meta.source; dedup cannot tell them apart"
        )
    save_npy(folder / "doc_keys.npy", keys)
    write_spills(
        folder,
        np.concatenate(spill_keys, axis=1) if spill_keys else np.empty((bands, 0), np.uint64),
        np.concatenate(spill_rows) if spill_rows else np.empty(0, np.int64),
    )
    if spec.score_field:
        save_npy(folder / "scores.npy", np.concatenate(scores) if scores else np.empty(0))
    sigs_out.commit()
    ids_out.commit()
    save_json(done, {"docs": n})
    return n


class Corpus:
    """Scanned shard folders (an earlier index's first), addressed by global document id."""

    def __init__(
        self, folders: list[Path], counts: list[int], first_new: int = 0, num_perm: int = 0
    ) -> None:
        self.folders = folders
        self.offsets = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]).astype(np.int64)
        self.first_new = first_new  # ids below belong to the earlier index
        self.num_perm = num_perm

    @property
    def size(self) -> int:
        return int(self.offsets[-1])

    def spills(self, band: int) -> list[Spill]:
        """Band ``band``'s spill of every shard."""
        return [load_spill(f, band, int(base)) for f, base in zip(self.folders, self.offsets[:-1])]

    def _by_shard(self, gids: np.ndarray):
        """(shard, positions in ``gids``, local rows) for each shard that ``gids`` touches."""
        shard_of = np.searchsorted(self.offsets, gids, side="right") - 1
        order = np.argsort(shard_of, kind="stable")
        bounds = np.searchsorted(shard_of[order], np.arange(len(self.folders) + 1))
        for s in range(len(self.folders)):
            where = order[bounds[s] : bounds[s + 1]]
            if len(where):
                yield s, where, gids[where] - self.offsets[s]

    def signatures(self, gids: np.ndarray) -> np.ndarray:
        out = np.empty((len(gids), self.num_perm), dtype=np.uint32)
        for s, where, rows in self._by_shard(gids):
            sigs = np.memmap(self.folders[s] / "sigs.u32", dtype=np.uint32, mode="r").reshape(
                -1, self.num_perm
            )
            out[where] = sigs[rows]
        return out

    def doc_keys(self, gids: np.ndarray) -> np.ndarray:
        out = np.empty(len(gids), dtype=np.uint64)
        for s, where, rows in self._by_shard(gids):
            out[where] = np.load(self.folders[s] / "doc_keys.npy", mmap_mode="r")[rows]
        return out

    def scores(self, gids: np.ndarray) -> np.ndarray:
        """Documents of the earlier index outrank every new one."""
        out = np.full(len(gids), math.inf)
        for s, where, rows in self._by_shard(gids):
            if self.offsets[s] >= self.first_new:
                out[where] = np.load(self.folders[s] / "scores.npy", mmap_mode="r")[rows]
        return out

    def parts(self, gids: np.ndarray) -> pa.Array:
        """The shard folder name of each document (``part-00003``: the step's input and output
        shard it is in), or "" for one of the earlier index."""
        names = np.array([""] + [f.name for f in self.folders], dtype=object)
        shard_of = np.searchsorted(self.offsets, gids, side="right") - 1
        return pa.array(
            names[np.where(self.offsets[shard_of] >= self.first_new, shard_of + 1, 0)], pa.string()
        )

    def ids(self, gids: np.ndarray) -> pa.Array:
        out: list[Any] = [None] * len(gids)
        for s, where, rows in self._by_shard(gids):
            column = pq.read_table(self.folders[s] / "ids.parquet", columns=["id"]).column(0)
            for position, value in zip(where.tolist(), column.take(pa.array(rows)).to_pylist()):
                out[position] = value
        return pa.array(out, pa.string())
