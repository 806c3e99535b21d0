"""``scratchlm shard`` (curated documents to token shards) and ``scratchlm shard verify DIR``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from scratchlm.curate.errors import ConfigError
from scratchlm.pipelines.commands._options import add_field_options, add_path
from scratchlm.pipelines.config import build, field_values
from scratchlm.pipelines.executors import EXECUTORS, make_executor
from scratchlm.pipelines.sections.shard import shard_summary
from scratchlm.tokenizer.config import ShardConfig
from scratchlm.tokenizer.corpus import corpus_files
from scratchlm.tokenizer.sharding import shard_corpus
from scratchlm.tokenizer.verify import verify_shards


def shard(args: argparse.Namespace) -> int:
    missing = [name for name in ("input", "tokenizer", "output") if getattr(args, name) is None]
    if missing:
        raise ConfigError(
            f"shard: --{' --'.join(missing)} required (or: scratchlm shard verify DIR)"
        )
    config = build(ShardConfig, field_values(ShardConfig, args), "shard")
    workers = args.workers if args.workers is not None else os.cpu_count() or 1
    if config.parallel == "threads":  # read by tokenizers when its thread pool starts
        os.environ.setdefault("RAYON_NUM_THREADS", str(max(1, workers)))
    executor = make_executor(args.executor, workers)
    manifest = shard_corpus(corpus_files(args.input), args.tokenizer, args.output, config, executor)
    print(f"{shard_summary(manifest)}: {args.output}")
    return 0


def verify(args: argparse.Namespace) -> int:
    report = verify_shards(args.folder, samples=args.samples, seed=args.seed)
    for problem in report.problems:
        print(f"FAIL {problem}")
    for note in report.decode_skipped:
        print(f"note {note}")
    if not report.ok:
        print(f"{args.folder}: {len(report.problems)} problem(s)")
        return 1
    print(
        f"ok: {report.shards} shards, {report.tokens:,} tokens, {report.docs:,} documents; "
        f"{report.decoded} sampled documents decode to their source text"
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    defaults = ShardConfig()
    p = subparsers.add_parser(
        "shard",
        help="encode curated documents into token shards (or: shard verify DIR)",
        usage="%(prog)s --input PATH... --tokenizer FILE --output DIR [options]\n"
        "       %(prog)s verify DIR [--samples N] [--seed N]",
    )
    p.add_argument(
        "--input", nargs="+", metavar="PATH", help="a curated step folder or JSONL/Parquet files"
    )
    add_path(p, "--tokenizer", "tokenizer.json")
    add_path(p, "--output", "shard folder", metavar="DIR")
    helps = {
        "shard_tokens": "most tokens in one shard",
        "val_fraction": "share of documents (by a hash of their id) in the val split",
        "eos_token": "token appended after each document",
        "parallel": "tokenizer threads in this process, "
        "or one single-threaded worker process per input file",
        "encoder": "auto: fastokens where it gives tokenizers' ids exactly, else tokenizers "
        "(manifest.json's encoders names what ran); tokenizers: always tokenizers",
    }
    add_field_options(p, defaults, helps)
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="tokenizer threads, or worker processes (default: "
        "this machine's cores, as the tokenizer "
        "takes inside scratchlm run)",
    )
    p.add_argument("--executor", choices=EXECUTORS, default="local", help="executor")
    p.set_defaults(func=shard)
    commands = p.add_subparsers(
        dest="shard_command", metavar="verify", title="or check a shard folder"
    )
    v = commands.add_parser(
        "verify", help="check a shard folder: checksums, token range, offsets, decoding"
    )
    v.add_argument("folder", type=Path, metavar="DIR", help="shard folder (with manifest.json)")
    v.add_argument(
        "--samples", type=int, default=8, help="documents per split decoded against their source"
    )
    v.add_argument("--seed", type=int, default=0, help="seed for choosing the sampled documents")
    v.set_defaults(func=verify)
