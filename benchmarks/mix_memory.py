"""Peak memory of ``mix_shards`` as the number of documents grows; prints a table.

    .venv/bin/python -m benchmarks.mix_memory --docs 100000 400000 1600000

Two generated source shard folders (random token documents of 10 to 90 tokens, shards of 1M
tokens), weights 0.7 and 0.3 of a budget that repeats the smaller source 1.5 times; each mixture
is written in a fresh child process, which reports its own peak RSS (``VmHWM`` of
``/proc/self/status``: ``getrusage``'s ``ru_maxrss`` would carry over the forking parent's, which
grows with the generated sources).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARD_TOKENS = 1_000_000
CHILD = """import json, sys, time
from pathlib import Path
from scratchlm.tokenizer.mixing import mix_shards, open_source
root, total = Path(sys.argv[1]), int(sys.argv[2])
sources = [open_source("big", root / "big", 0.7, 1.0),
           open_source("small", root / "small", 0.3, 2.0)]
started = time.perf_counter()
manifest = mix_shards(sources, root / "big" / "tokenizer.json", root / "out", total, 0, 1_000_000,
                      log=lambda _: None)
status = open("/proc/self/status").read().split("VmHWM:")[1]
peak_kb = int(status.split()[0])
print(json.dumps({"seconds": time.perf_counter() - started,
                  "docs": manifest["splits"]["train"]["docs"],
                  "tokens": manifest["splits"]["train"]["tokens"],
                  "peak_rss_mb": peak_kb / 1024}))
"""


def write_source(folder: Path, docs: int, seed: int) -> int:
    """A shard folder of ``docs`` random documents (all train but a few val); its train tokens."""
    from scratchlm.curate.checksum import file_sha256
    from scratchlm.tokenizer.shard_format import FORMAT, shard_names, write_npy

    folder.mkdir(parents=True)
    (folder / "tokenizer.json").write_text("{}", encoding="utf-8")
    rng = np.random.default_rng(seed)
    lengths = rng.integers(10, 91, docs)
    entries, start, index = [], 0, 0
    while start < docs:
        ends = np.cumsum(lengths[start:])
        count = max(1, int(np.searchsorted(ends, SHARD_TOKENS, side="right")))
        block = lengths[start : start + count]
        tokens = rng.integers(1, 4000, int(block.sum()), dtype=np.uint16)
        tokens[np.cumsum(block) - 1] = 0
        offsets = np.concatenate([[0], np.cumsum(block[:-1])]).astype(np.int64)
        split = "val" if start + count >= docs and index else "train"
        file, docs_file = shard_names(split, 0 if split == "val" else index)
        entries.append(
            {
                "file": file,
                "docs_file": docs_file,
                "split": split,
                "tokens": len(tokens),
                "docs": count,
                "sha256": write_npy(folder / file, [tokens], np.dtype(np.uint16), len(tokens)),
                "docs_sha256": write_npy(folder / docs_file, [offsets], np.dtype(np.int64), count),
            }
        )
        start, index = start + count, index + 1
    manifest = {
        "format": FORMAT,
        "dtype": "uint16",
        "eos_id": 0,
        "vocab_size": 4000,
        "tokenizer": "tokenizer.json",
        "tokenizer_sha256": file_sha256(folder / "tokenizer.json"),
        "shards": entries,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return sum(e["tokens"] for e in entries if e["split"] == "train")


def measure(docs: int, workdir: Path | None) -> dict:
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        root = Path(tmp)
        big = write_source(root / "big", docs * 3 // 4, 1)
        small = write_source(root / "small", docs // 4, 2)
        total = min(int(big / 0.7), int(1.5 * small / 0.3))
        started = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(root), str(total)],
            cwd=REPO,
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(out.stdout)
        result["wall_seconds"] = time.perf_counter() - started
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--docs",
        type=int,
        nargs="+",
        default=[100_000, 400_000, 1_600_000],
        help="source documents in all (3/4 in the big source, 1/4 in the small)",
    )
    parser.add_argument(
        "--workdir", type=Path, default=None, help="where to write (default: a temp dir)"
    )
    args = parser.parse_args()
    print(
        "| source documents | mixed documents | "
        "mixed tokens | seconds | documents/s | peak RSS MB |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for docs in args.docs:
        r = measure(docs, args.workdir)
        print(
            f"| {docs:,} | {r['docs']:,} | {r['tokens']:,} | {r['seconds']:.1f} | "
            f"{r['docs'] / r['seconds']:,.0f} | {r['peak_rss_mb']:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
