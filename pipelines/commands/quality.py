"""``scratchlm quality train``: a fastText quality classifier from good and random text."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from itertools import islice

from scratchlm.curate.text.classifier import TrainOptions, train
from scratchlm.pipelines.commands._options import add_field_options, add_path
from scratchlm.pipelines.config import field_values
from scratchlm.tokenizer.corpus import corpus_files
from scratchlm.tokenizer.corpus import iter_texts as file_texts


def iter_texts(arguments: list[str], limit: int | None) -> Iterator[str]:
    """Texts of the documents in the given files, folders, globs (any format ``read`` knows) or
    curated step folders, at most ``limit`` of them."""
    return islice((text for file in corpus_files(arguments) for text in file_texts(file)), limit)


def train_command(args: argparse.Namespace) -> int:
    options = TrainOptions(**field_values(TrainOptions, args))
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
    helps = {
        "epoch": "training epochs",
        "lr": "learning rate",
        "dim": "embedding size",
        "word_ngrams": "word n-gram length",
        "bucket": "hash buckets for word n-grams (model size)",
        "min_count": "minimum word count",
        "valid_fraction": "held-out share for the report",
        "seed": "seed of the shuffle and of fastText",
    }
    add_field_options(p, TrainOptions(), helps)
    p.set_defaults(func=train_command)
