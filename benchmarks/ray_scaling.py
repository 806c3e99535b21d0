"""Curation throughput under the local and Ray executors with 1 and 2 workers, back to back on the
same input.

    .venv/bin/python -m benchmarks.ray_scaling [--shards 8] [--copies 1] [--repeat 1]

(as a module: run as a script, benchmarks/tokenize.py would shadow the standard library's tokenize)

Input: the prose corpus of tests/data (Shakespeare, KJV, Brown; ``--copies`` repeats it with fresh
ids) dealt round-robin into ``--shards`` JSONL files. Recipe: read, language, gopher_quality,
gopher_repetition, minhash (its signature and candidate-pair passes go through the executor,
union-find runs in the driver). Each configuration writes a fresh run folder; the figure is
wall time, since it measures parallelism (the machine is shared: the load average is printed).
Ray starts once (``num_cpus`` = CPUs of this machine) and its start-up is timed apart.
Last, the time ``write_report`` takes on the finished run. First, a table of CPU seconds per
step on one core (this process's CPU time, which the neighbours disturb far less than wall
time), on the prose and on the sample WARC: the basis of the estimates in docs/distributed.md.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import ray

from scratchlm.pipelines.executors import make_executor
from scratchlm.pipelines.recipe import parse_recipe
from scratchlm.pipelines.report import write_report
from scratchlm.pipelines.runner import run_curation

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
PROSE = {"shakespeare": DATA / "heldout", "kjv": DATA / "prose", "brown": DATA / "prose"}
WARC = REPO / "tests" / "data" / "web-sample.warc.gz"
RECIPE = {
    "name": "ray-bench",
    "steps": [
        {"read": {}},
        {"language": {"keep": ["en"]}},
        {"gopher_quality": {}},
        {"gopher_repetition": {}},
        {"minhash": {}},
    ],
}


def make_input(folder: Path, shards: int, copies: int) -> tuple[int, int]:
    """Deal the prose records into ``shards`` files; returns (documents, text bytes)."""
    records = [
        json.loads(line)
        for name, where in PROSE.items()
        for line in gzip.decompress((where / f"{name}.jsonl.gz").read_bytes()).splitlines()
    ]
    folder.mkdir(parents=True)
    files = [open(folder / f"prose-{i:03d}.jsonl", "w", encoding="utf-8") for i in range(shards)]
    n = size = 0
    for copy in range(copies):
        for record in records:
            files[n % shards].write(
                json.dumps({"id": f"{record['id']}#{copy}", "text": record["text"]}) + "\n"
            )
            n += 1
            size += len(record["text"].encode())
    for f in files:
        f.close()
    return n, size


def cpu_seconds() -> float:
    """CPU seconds of this process and of its finished children (shards run in a child under a
    per-document deadline)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class CpuMeter:
    """An in-process executor that books this process's CPU seconds to each ``map`` call's label."""

    def __init__(self) -> None:
        self.inner = make_executor("local", 1)
        self.seconds: dict[str, float] = {}

    def map(self, fn, items, desc="", weights=None):
        started = cpu_seconds()
        results = self.inner.map(fn, items, desc, weights)
        self.seconds[desc] = self.seconds.get(desc, 0.0) + cpu_seconds() - started
        return results


def stage_costs(inputs: list[str], out: Path, recipe: dict, size: int) -> None:
    """CPU seconds per step (one core, in this process) and per MB of the run's input text."""
    meter = CpuMeter()
    started = cpu_seconds()
    result = run_curation(parse_recipe(recipe), inputs, out, meter, log=lambda *a: None)
    total = cpu_seconds() - started
    print("| pass | CPU s | CPU s per input MB | docs in |")
    print("|---|---:|---:|---:|")
    docs_in = {folder: stats.docs_in for folder, stats in result.steps}
    for label, seconds in meter.seconds.items():
        print(
            f"| {label} | {seconds:.2f} | {seconds / (size / 1e6):.3f} | {docs_in.get(label, '')} |"
        )
    rest = total - sum(meter.seconds.values())
    print(f"| driver (union-find, stats) | {rest:.2f} | {rest / (size / 1e6):.3f} | |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument(
        "--repeat", type=int, default=1, help="best of this many runs per configuration"
    )
    parser.add_argument("--costs-only", action="store_true", help="only the per-step CPU table")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ray-bench-"))
    try:
        docs, size = make_input(work / "in", args.shards, args.copies)
        print(
            f"input: {docs:,} documents, {size / 1e6:.1f} MB in {args.shards} shards; "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
        )
        stage_costs([str(work / "in")], work / "costs", RECIPE, size)
        warc_bytes = WARC.stat().st_size
        print(
            f"web sample WARC, {warc_bytes / 1e6:.1f} MB "
            "compressed (read = WARC parse + HTML extraction):"
        )
        stage_costs(
            [str(WARC)], work / "costs-warc", {"name": "warc", "steps": [{"read": {}}]}, warc_bytes
        )
        if args.costs_only:
            return
        started = time.perf_counter()
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
        print(f"ray.init: {time.perf_counter() - started:.1f} s")
        recipe = parse_recipe(RECIPE)
        print("| executor | workers | seconds | docs/s | MB/s | docs out |")
        print("|---|---:|---:|---:|---:|---:|")
        last = work / "run"
        for name, workers in (("local", 1), ("ray", 1), ("local", 2), ("ray", 2)):
            best = float("inf")
            for attempt in range(args.repeat):
                out = work / f"{name}-{workers}-{attempt}"
                started = time.perf_counter()
                result = run_curation(
                    recipe,
                    [str(work / "in")],
                    out,
                    make_executor(name, workers),
                    log=lambda *a: None,
                )
                best = min(best, time.perf_counter() - started)
                kept = result.steps[-1][1].docs_out
                last = out
            print(
                f"| {name} | {workers} | {best:.1f} | "
                f"{docs / best:,.0f} | {size / 1e6 / best:.2f} | {kept:,} |"
            )
        started = time.perf_counter()
        write_report(last)
        print(f"write_report on the last run: {time.perf_counter() - started:.1f} s")
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
    finally:
        if ray.is_initialized():
            ray.shutdown()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
