"""``scratchlm tokenizer train`` and ``scratchlm tokenizer eval``."""

from __future__ import annotations

import argparse
import json
from itertools import chain, islice

from scratchlm.pipelines.commands._options import add_path
from scratchlm.pipelines.config import build, field_values
from scratchlm.tokenizer.config import EOS_TOKEN, BpeConfig
from scratchlm.tokenizer.corpus import corpus_files, iter_documents
from scratchlm.tokenizer.evaluate import ALL, eval_table, evaluate
from scratchlm.tokenizer.files import load_tokenizer
from scratchlm.tokenizer.train import TOKENIZER_FILE, train_to_folder


def train(args: argparse.Namespace) -> int:
    config = build(BpeConfig, field_values(BpeConfig, args), "tokenizer train")
    stats = train_to_folder(corpus_files(args.input), config, args.output)
    print(
        f"trained {stats['vocab_size']:,} tokens on "
        f"{stats['docs']:,} documents ({stats['bytes'] / 1e6:.1f} MB) "
        f"in {stats['seconds']:.1f} s, peak RSS {stats['peak_rss_mb']:.0f} MiB"
    )
    print(f"{args.output / TOKENIZER_FILE}  sha256 {stats['sha256']}")
    return 0


def evaluate_command(args: argparse.Namespace) -> int:
    tokenizer = load_tokenizer(args.tokenizer)
    docs = chain.from_iterable(iter_documents(f) for f in corpus_files(args.input))
    stats = evaluate(tokenizer, islice(docs, args.limit_docs))
    print(eval_table(stats))
    if args.json:
        rows = [stats[ALL].row(ALL)] + [
            s.row(lang) for lang, s in sorted(stats.items()) if lang != ALL
        ]
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return 0 if stats[ALL].exact == stats[ALL].docs else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("tokenizer", help="train or evaluate a byte-level BPE tokenizer")
    commands = parser.add_subparsers(dest="tokenizer_command", metavar="COMMAND", required=True)
    defaults = BpeConfig()

    p = commands.add_parser(
        "train", help="train a byte-level BPE (HF tokenizers) on curated documents"
    )
    p.add_argument(
        "--input",
        nargs="+",
        required=True,
        metavar="PATH",
        help="a curated step folder (its part-*.parquet shards) or JSONL/Parquet/text files",
    )
    add_path(p, "--output", "folder for tokenizer.json and its stats", metavar="DIR", required=True)
    p.add_argument(
        "--vocab-size", type=int, default=defaults.vocab_size, help="tokens in the vocabulary"
    )
    p.add_argument(
        "--special-tokens",
        nargs="+",
        default=list(defaults.special_tokens),
        metavar="TOKEN",
        help=f"special tokens, ids 0, 1, ...; the first must be {EOS_TOKEN}",
    )
    p.add_argument(
        "--min-frequency",
        type=int,
        default=defaults.min_frequency,
        help="a pair is merged only if it occurs at least this often",
    )
    p.add_argument(
        "--limit-bytes", type=int, default=None, help="train on at most this many bytes of text"
    )
    p.set_defaults(func=train)

    p = commands.add_parser(
        "eval", help="bytes per token, byte-fallback share and round trip, per language"
    )
    add_path(
        p, "--tokenizer", "tokenizer.json, or the folder holding it", metavar="PATH", required=True
    )
    p.add_argument(
        "--input", nargs="+", required=True, metavar="PATH", help="curated step folder or files"
    )
    p.add_argument(
        "--limit-docs", type=int, default=None, help="evaluate at most this many documents"
    )
    add_path(p, "--json", "also write the table as JSON")
    p.set_defaults(func=evaluate_command)
