"""``scratchlm ablate``: what each curation step does to the trained model."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from scratchlm.pipelines.commands._options import add_doc_timeout, add_keep_intermediate
from scratchlm.pipelines.executors import EXECUTORS, make_executor
from scratchlm.pipelines.recipe import doc_timeout


def ablate(args: argparse.Namespace) -> int:
    from scratchlm.pipelines.ablation.run import run_ablation
    from scratchlm.pipelines.ablation.spec import load_ablation

    ablation = load_ablation(args.ablation)
    if args.doc_timeout is not None:
        ablation = dataclasses.replace(
            ablation, doc_timeout_s=doc_timeout(args.doc_timeout, "--doc-timeout")
        )
    if args.keep_intermediate:
        ablation = dataclasses.replace(ablation, keep_intermediate=True)
    executor = make_executor(args.executor, args.workers, args.ray_address)
    run_ablation(
        ablation,
        args.input,
        args.eval,
        args.output,
        args.seeds,
        executor,
        jobs=args.jobs,
        prepare_only=args.prepare_only,
        tasks=args.task or (),
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "ablate",
        help="curate each variant of a recipe (or mix each variant's weights), train the "
        "same model on each, compare",
    )
    p.add_argument("ablation", help="ablation YAML file (a base recipe and its variants)")
    p.add_argument(
        "--input",
        nargs="+",
        default=[],
        metavar="PATH",
        help="raw input files, folders or globs (none for a mixture ablation: its "
        "sources name their inputs)",
    )
    p.add_argument(
        "--eval",
        nargs="+",
        required=True,
        metavar="PATH",
        help="held-out evaluation text (any format read knows), the same for every variant",
    )
    p.add_argument(
        "--task",
        nargs="+",
        metavar="FILE",
        default=None,
        help="evaluation files scored for every run as scratchlm eval --task does "
        "(accuracy with a 95%% Wilson interval)",
    )
    p.add_argument("--output", required=True, type=Path, metavar="DIR", help="ablation folder")
    p.add_argument(
        "--seeds",
        type=int,
        default=1,
        metavar="K",
        help="trainings per variant (seeds train.seed .. +K-1)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="parallel worker processes for curation (for encoding too when shard.parallel is "
        "processes; by default encoding uses the tokenizer's own threads)",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="trainings at a time, one per GPU where there are GPUs (default: one per GPU, else 1)",
    )
    p.add_argument(
        "--prepare-only",
        action="store_true",
        help="curate, train the tokenizer and encode, then stop: train elsewhere with "
        "python -m scratchlm.pipelines.ablation.trainings DIR, then rerun this command to compare",
    )
    p.add_argument("--executor", choices=EXECUTORS, default="local", help="executor")
    p.add_argument(
        "--ray-address",
        metavar="ADDR",
        default=None,
        help="Ray cluster to join (with --executor ray)",
    )
    add_doc_timeout(p)
    add_keep_intermediate(p)
    p.set_defaults(func=ablate)
