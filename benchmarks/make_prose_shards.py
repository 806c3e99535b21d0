"""Build a token shard folder from the prose samples for GPU benchmarks and the GPU training run.

A GPT-2-style byte-level BPE is trained on the prose; every 50th document goes to ``val``.

    .venv/bin/python benchmarks/make_prose_shards.py --out .bench/prose-shards
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(
    ROOT / "tests"
)  # instead of benchmarks/, whose tokenize.py shadows the standard library's
from train_shards import read_texts, train_bpe, write_shards  # noqa: E402

SOURCES = [
    ROOT / "tests" / "data" / "prose" / "brown.jsonl.gz",
    ROOT / "tests" / "data" / "prose" / "kjv.jsonl.gz",
]


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--vocab-size", type=int, default=8192)
    p.add_argument("--val-every", type=int, default=50, help="every Nth document goes to val")
    args = p.parse_args()
    texts = [t for src in SOURCES if src.exists() for t in read_texts(src)]
    tok = train_bpe(texts, args.vocab_size)
    val = texts[:: args.val_every]
    train = [t for i, t in enumerate(texts) if i % args.val_every]
    write_shards(args.out, tok, {"train": train, "val": val}, shard_tokens=1_000_000)
    print((args.out / "manifest.json").read_text()[:400])


if __name__ == "__main__":
    main()
