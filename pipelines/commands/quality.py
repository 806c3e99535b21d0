"""``scratchlm quality train``: a fastText quality classifier from good and random text."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from itertools import islice

from scratchlm.curate.text.classifier import TrainOptions, train
from scratchlm.pipelines.commands._options import add_path
from scratchlm.tokenizer.corpus import corpus_files
from scratchlm.tokenizer.corpus import iter_texts as file_texts


def iter_texts(arguments: list[str], limit: int | None) -> Iterator[str]:
    """Texts of the documents in the given files, folders, globs (any format ``read`` knows) or
    curated step folders, at most ``limit`` of them."""
    return islice((text for file in corpus_files(arguments) for text in file_texts(file)), limit)


def train_command(args: argparse.Namespace) -> int:
    options = TrainOptions(
        epoch=args.epoch,
        lr=args.lr,
        dim=args.dim,
        word_ngrams=args.word_ngrams,
        bucket=args.bucket,
        min_count=args.min_count,
        valid_fraction=args.valid_fraction,
        seed=args.seed,
    )
    report = train(
        iter_texts(args.positive, args.max_docs),
        iter_texts(args.negative, args.max_docs),
        args.output,
        options,
    )
    print(json.dumps(report, indent=1))
    print(f"model written to {args.output}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    quality = subparsers.add_parser("quality", help="quality classifier tools")
    commands = quality.add_subparsers(dest="quality_command", metavar="COMMAND", required=True)
    p = commands.add_parser(
        "train", help="train a fastText classifier: positive (reference) vs negative (web) text"
    )
    p.add_argument(
        "--positive", nargs="+", required=True, metavar="PATH", help="files of good reference text"
    )
    p.add_argument(
        "--negative", nargs="+", required=True, metavar="PATH", help="files of random web text"
    )
    add_path(p, "--output", "model file to write (.bin)", metavar=None, required=True)
    p.add_argument(
        "--max-docs", type=int, default=None, help="at most this many documents per class"
    )
    defaults = TrainOptions()
    p.add_argument("--epoch", type=int, default=defaults.epoch, help="training epochs")
    p.add_argument("--lr", type=float, default=defaults.lr, help="learning rate")
    p.add_argument("--dim", type=int, default=defaults.dim, help="embedding size")
    p.add_argument(
        "--word-ngrams", type=int, default=defaults.word_ngrams, help="word n-gram length"
    )
    p.add_argument(
        "--bucket",
        type=int,
        default=defaults.bucket,
        help="hash buckets for word n-grams (model size)",
    )
    p.add_argument("--min-count", type=int, default=defaults.min_count, help="minimum word count")
    p.add_argument(
        "--valid-fraction",
        type=float,
        default=defaults.valid_fraction,
        help="held-out share for the report",
    )
    p.add_argument(
        "--seed", type=int, default=defaults.seed, help="seed of the shuffle and of fastText"
    )
    p.set_defaults(func=train_command)
