"""Streams a generated JSONL file through a pass-through recipe (curation only); prints MB/s and
peak RSS.

    .venv/bin/python -m benchmarks.stream_memory --size-mb 1024

The input repeats the real Brown corpus records with fresh ids until it reaches the size.
Peak RSS is the largest of the curate process and its children (``getrusage(RUSAGE_CHILDREN)``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# `scratchlm curate` without its report (the report's plotting would set the peak, not the
# streaming)
CURATE = """import sys
from pathlib import Path
from scratchlm.pipelines.executors import make_executor
from scratchlm.pipelines.recipe import load_recipe
from scratchlm.pipelines.runner import run_curation
run_curation(load_recipe(sys.argv[1]), [sys.argv[2]], Path(sys.argv[3]), make_executor("local", 1))
"""


def generate(path: Path, size_mb: int) -> int:
    records = [
        json.loads(line) for line in gzip.open(REPO / "tests/data/prose/brown.jsonl.gz", "rt")
    ]
    target, written, count = size_mb * 1024 * 1024, 0, 0
    with path.open("w", encoding="utf-8") as f:
        while written < target:
            record = records[count % len(records)]
            line = (
                json.dumps(
                    {"id": f"gen-{count}", "text": record["text"], "source": record["source"]}
                )
                + "\n"
            )
            f.write(line)
            written += len(line.encode())
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where to put the input and run (default: a temp dir)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        tmp_path = Path(tmp)
        data = tmp_path / "input.jsonl"
        docs = generate(data, args.size_mb)
        recipe = tmp_path / "recipe.yaml"
        recipe.write_text("name: passthrough\nsteps:\n  - read: {}\n")
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", CURATE, str(recipe), str(data), str(tmp_path / "run")],
            check=True,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
        )
        seconds = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        size_mb = data.stat().st_size / 1e6
        print("| input MB | documents | seconds | MB/s | peak RSS MB |")
        print("|---:|---:|---:|---:|---:|")
        print(
            f"| {size_mb:,.0f} | {docs:,} | {seconds:.1f} | "
            f"{size_mb / seconds:.1f} | {peak_mb:,.0f} |"
        )


if __name__ == "__main__":
    main()
