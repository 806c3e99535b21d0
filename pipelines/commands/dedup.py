"""``scratchlm dedup index``: build a MinHash index of a corpus, to dedup a later crawl against it."""
from __future__ import annotations

import argparse
from pathlib import Path

from curate.dedup.index import build_index
from curate.errors import InputError
from curate.shards import done_shards
from curate.stages.minhash import MinHash
from pipelines.executors import make_executor


def parquet_shards(paths: list[str]) -> list[Path]:
    """Shard files in order: a step folder gives its finished ``part-*.parquet``, a file itself."""
    shards: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found = done_shards(path)
            if not found:
                raise InputError(f"{path}: no finished part-*.parquet shards in this folder")
            shards.extend(found)
        elif path.is_file():
            shards.append(path)
        else:
            raise InputError(f"input path {path} does not exist")
    return shards


def index(args: argparse.Namespace) -> int:
    stage = MinHash(ngram=args.ngram, bands=args.bands, rows=args.rows, seed=args.seed)
    executor = make_executor("local", args.workers)
    manifest = build_index(parquet_shards(args.input), args.output, stage.spec, executor)
    print(f"index of {manifest['documents']:,} documents in {len(manifest['shards'])} shards: {args.output}")
    print(f"use it with: - minhash: {{index: {args.output}}}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    dedup = subparsers.add_parser("dedup", help="deduplication tools")
    commands = dedup.add_subparsers(dest="dedup_command", metavar="COMMAND", required=True)
    p = commands.add_parser("index", help="build a MinHash index of curated Parquet shards",
                            formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--input", nargs="+", required=True, metavar="PATH",
                   help="Parquet shards, or step folders of a curated run (e.g. runs/x/04_minhash)")
    p.add_argument("--output", required=True, type=Path, metavar="DIR", help="index folder")
    defaults = MinHash()
    p.add_argument("--ngram", type=int, default=defaults.ngram, help="words per shingle (must match the recipe)")
    p.add_argument("--bands", type=int, default=defaults.bands, help="LSH bands (must match the recipe)")
    p.add_argument("--rows", type=int, default=defaults.rows, help="rows per band (must match the recipe)")
    p.add_argument("--seed", type=int, default=defaults.seed, help="permutation seed (must match the recipe)")
    p.add_argument("--workers", type=int, default=1, help="parallel worker processes")
    p.set_defaults(func=index)
