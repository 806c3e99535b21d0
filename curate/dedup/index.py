"""A dedup index: the scanned shards of an earlier corpus, to drop new documents that repeat it.

``build_index`` runs the per-shard pass (with full signatures) over a corpus's Parquet shards
into ``PATH/shards`` and writes ``PATH/index.json`` last, naming the settings; ``open_index``
refuses an index built with other settings, whose band hashes could never match.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Sequence

from scratchlm.curate.dedup.corpus import ScanSpec
from scratchlm.curate.dedup.pipeline import SIGNATURES, scan, shard_counts
from scratchlm.curate.dedup.store import load_json, save_json
from scratchlm.curate.errors import ConfigError
from scratchlm.curate.stage import Executor

FORMAT = "scratchlm-dedup-index/1"
INDEX_FILE = "index.json"  # the index's manifest: settings and shard folders, written last
MATCHING = ("norm", "ngram", "bands", "rows", "seed")  # settings that must agree with the stage's


def _settings(spec: ScanSpec) -> dict:
    plain = dataclasses.asdict(spec)
    return {k: plain[k] for k in MATCHING}


def build_index(inputs: Sequence[Path], out: Path, spec: ScanSpec, executor: Executor) -> dict:
    """Scan ``inputs`` into an index at ``out``; returns its manifest (resumes an interrupted
    build)."""
    spec = dataclasses.replace(spec, signatures=True, score_field="")
    folders = scan(inputs, out / SIGNATURES, spec, executor, desc="index signatures")
    counts = shard_counts(folders)
    manifest = {
        "format": FORMAT,
        "settings": _settings(spec),
        "documents": sum(counts),
        "shards": [
            {"folder": f.relative_to(out).as_posix(), "docs": n} for f, n in zip(folders, counts)
        ],
    }
    save_json(out / INDEX_FILE, manifest)
    return manifest


def open_index(path: Path, spec: ScanSpec) -> tuple[list[Path], list[int]]:
    """The shard folders and document counts of the index at ``path``, checked against ``spec``."""
    manifest_file = path / INDEX_FILE
    if not manifest_file.exists():
        raise ConfigError(
            f"{path}: not a dedup index (no index.json); build one with `scratchlm dedup index`"
        )
    manifest = load_json(manifest_file)
    if manifest.get("format") != FORMAT:
        raise ConfigError(
            f"{manifest_file}: unknown format {manifest.get('format')!r} (expected {FORMAT})"
        )
    wanted = _settings(spec)
    for key in MATCHING:
        if manifest["settings"].get(key) != wanted[key]:
            raise ConfigError(
                f"{manifest_file}: built with {key}={manifest['settings'].get(key)!r}, "
                f"but this step uses {key}={wanted[key]!r}"
            )
    return [path / s["folder"] for s in manifest["shards"]], [
        int(s["docs"]) for s in manifest["shards"]
    ]
