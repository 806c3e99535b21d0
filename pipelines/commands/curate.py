"""``scratchlm curate`` and ``scratchlm run``: a recipe's curation steps, or the whole recipe."""

from __future__ import annotations

import argparse
from pathlib import Path

from scratchlm.pipelines.commands._options import (
    add_doc_timeout,
    add_keep_intermediate,
    add_task_bytes,
)
from scratchlm.pipelines.executors import EXECUTORS, make_executor
from scratchlm.pipelines.recipe import (
    load_recipe,
    with_doc_timeout,
    with_keep_intermediate,
    with_task_bytes,
)
from scratchlm.pipelines.run import run_recipe


def add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recipe", help="recipe YAML file")
    parser.add_argument(
        "--input",
        nargs="+",
        required=True,
        metavar="PATH",
        help="input files, folders or globs (default: none; required)",
    )
    parser.add_argument(
        "--output", required=True, type=Path, metavar="DIR", help="run folder (required)"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="parallel worker processes (default: 1)"
    )
    parser.add_argument(
        "--executor", choices=EXECUTORS, default="local", help="executor (default: local)"
    )
    parser.add_argument(
        "--ray-address",
        metavar="ADDR",
        default=None,
        help="Ray cluster to join (auto, or HOST:PORT of the head); unset: $RAY_ADDRESS, else a "
        "Ray on this machine. With --executor ray, --workers 0 runs a task per cluster CPU",
    )
    add_doc_timeout(parser)
    add_task_bytes(parser)
    add_keep_intermediate(parser)


def curate(args: argparse.Namespace) -> int:
    return run(args, sections=False)


def run(args: argparse.Namespace, sections: bool = True) -> int:
    recipe = with_doc_timeout(load_recipe(args.recipe), args.doc_timeout)
    recipe = with_task_bytes(recipe, args.task_bytes)
    recipe = with_keep_intermediate(recipe, args.keep_intermediate)
    executor = make_executor(args.executor, args.workers, args.ray_address)
    run_recipe(recipe, args.input, args.output, executor, sections)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    commands = (
        ("curate", "run a recipe's curation steps", curate),
        ("run", "run a whole recipe: curation, then bpe, shard and train", run),
    )
    for name, summary, func in commands:
        p = subparsers.add_parser(name, help=summary)
        add_run_options(p)
        p.set_defaults(func=func)
