"""``scratchlm mix RECIPE --output DIR``: a mixture recipe's shards, training and report."""

from __future__ import annotations

import argparse
from pathlib import Path

from scratchlm.curate.errors import ConfigError
from scratchlm.pipelines.executors import EXECUTORS, make_executor
from scratchlm.pipelines.recipe import load_recipe
from scratchlm.pipelines.run import run_mixture_recipe


def mix(args: argparse.Namespace) -> int:
    recipe = load_recipe(args.recipe)
    if "mix" not in recipe.sections:
        raise ConfigError(f"recipe {args.recipe} has no mix section (run it with scratchlm run)")
    run_mixture_recipe(recipe, args.output, make_executor(args.executor, args.workers))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "mix",
        help="mix weighted sources into one set of token shards (then train, report)",
        description="Run a mixture recipe: curate its raw-input sources, train its tokenizer on a "
        "sample following the weights, encode the sources, write the mixed shards "
        "(OUTPUT/shards), then train when the recipe has a train section.",
    )
    p.add_argument("recipe", help="recipe YAML file with a mix section")
    p.add_argument(
        "--output", required=True, type=Path, metavar="DIR", help="run folder (required)"
    )
    p.add_argument("--workers", type=int, default=1, help="parallel worker processes")
    p.add_argument("--executor", choices=EXECUTORS, default="local", help="executor")
    p.set_defaults(func=mix)
