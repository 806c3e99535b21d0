"""``scratchlm dedup index``: build a MinHash index of a corpus, to dedup a later crawl against
it."""

from __future__ import annotations

import argparse
from pathlib import Path

from scratchlm.curate.dedup.index import build_index
from scratchlm.curate.errors import ConfigError, InputError
from scratchlm.curate.shards import done_shards
from scratchlm.curate.stages.minhash import MinHash
from scratchlm.pipelines.executors import make_executor


def parquet_shards(paths: list[str]) -> list[Path]:
    """Shard files in order: a step folder gives its finished ``part-*.parquet``, a file itself."""
    shards: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found = done_shards(path)
            if not found:
                raise InputError(
                    f"{path}: no finished part-*.parquet shards in this folder (a step that ran "
                    "fused with the next ones keeps none: pass a segment's last step, or rerun "
                    "with --keep-intermediate)"
                )
            shards.extend(found)
        elif path.is_file():
            shards.append(path)
        else:
            raise InputError(f"input path {path} does not exist")
    return shards


SETTINGS = ("ngram", "bands", "rows", "seed")


def recipe_minhash(path: str) -> MinHash:
    """The one ``minhash`` step of a recipe file (its shingles, bands, rows, seed and
    normalisation)."""
    from scratchlm.pipelines.recipe import load_recipe

    steps = [step.stage for step in load_recipe(path).steps if isinstance(step.stage, MinHash)]
    if len(steps) != 1:
        raise ConfigError(f"{path}: expected one minhash step, found {len(steps)}")
    return steps[0]


def index(args: argparse.Namespace) -> int:
    given = [f"--{name}" for name in SETTINGS if getattr(args, name) is not None]
    if args.recipe and given:
        raise ConfigError(
            f"give --recipe or {', '.join(given)}, not both: the recipe's minhash step sets them"
        )
    if args.recipe:
        stage = recipe_minhash(args.recipe)
    else:
        stage = MinHash(
            **{name: getattr(args, name) for name in SETTINGS if getattr(args, name) is not None}
        )
    executor = make_executor("local", args.workers)
    manifest = build_index(parquet_shards(args.input), args.output, stage.spec, executor)
    print(
        f"index of {manifest['documents']:,} documents in "
        f"{len(manifest['shards'])} shards: {args.output}"
    )
    print(f"use it with: - minhash: {{index: {args.output}}}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    dedup = subparsers.add_parser("dedup", help="deduplication tools")
    commands = dedup.add_subparsers(dest="dedup_command", metavar="COMMAND", required=True)
    p = commands.add_parser("index", help="build a MinHash index of curated Parquet shards")
    p.add_argument(
        "--input",
        nargs="+",
        required=True,
        metavar="PATH",
        help="Parquet shards, or step folders of a curated run (e.g. runs/x/04_minhash)",
    )
    p.add_argument("--output", required=True, type=Path, metavar="DIR", help="index folder")
    p.add_argument(
        "--recipe",
        metavar="FILE",
        help="take every setting, normalisation included, from this recipe's minhash step",
    )
    defaults = MinHash()
    for name, what in (
        ("ngram", "words per shingle"),
        ("bands", "LSH bands"),
        ("rows", "rows per band"),
        ("seed", "permutation seed"),
    ):
        p.add_argument(
            f"--{name}",
            type=int,
            default=None,
            help=f"{what} (must match the recipe; default {getattr(defaults, name)}, "
            f"with the minhash step's default normalisation)",
        )
    p.add_argument("--workers", type=int, default=1, help="parallel worker processes")
    p.set_defaults(func=index)
