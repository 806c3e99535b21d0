"""Decontamination: memory of the n-gram index of many test items, and documents checked per second.

    .venv/bin/python -m benchmarks.decontam --items 100000

The test items are HellaSwag-shaped (a 30-word context and four 20-word endings) cut from the
Shakespeare and KJV prose (``benchmarks.dedup_data.prose_texts``: tests/data), with each item's
words shuffled so that nearly all of its 13-grams are distinct, as those of real items are.

Memory is measured in fresh processes, as a worker sees it: the growth of the resident set
(and its peak, ``VmHWM``) when the index is built in the worker, and when it is loaded
from the folder ``prepare`` writes (arrays memory-mapped, shared between workers) and then used
on every document. The rate is one core checking the Brown corpus (500 texts, 6 MB, none
contaminated) with ``decontaminate``, ``gopher_quality`` and ``gopher_repetition``, back to back
on the same documents, best of ``--repeat`` runs each. Times are this process's CPU seconds
(``time.process_time``; the stages are single-threaded), which a shared machine disturbs far
less than wall-clock time; the build is given both.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.dedup_data import PROSE, REPO, prose_texts
from scratchlm.curate.decontam.ngrams import NgramIndex, words_of
from scratchlm.curate.document import Document
from scratchlm.curate.stages.decontaminate import ContaminationFilter, Decontaminate
from scratchlm.curate.stages.gopher_quality import GopherQuality
from scratchlm.curate.stages.gopher_repetition import GopherRepetition


def prose(name: str) -> list[str]:
    """The texts of a prose sample (``brown``...), from tests/data."""
    texts = prose_texts((name,))
    if not texts:
        raise SystemExit(f"{name}.jsonl.gz: not found under {' or '.join(map(str, PROSE))}")
    return texts


def write_items(path: Path, count: int, seed: int) -> None:
    words = [w for t in prose_texts(("shakespeare", "kjv")) for w in t.split()]
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        for _ in range(count):
            spans = []
            for size in (30, 20, 20, 20, 20):
                start = rng.randrange(len(words) - size)
                span = words[start : start + size]
                rng.shuffle(span)
                spans.append(" ".join(span))
            out.write(
                json.dumps({"ctx": spans[0], "endings": spans[1:], "label": rng.randrange(4)})
                + "\n"
            )


def rss_mb(field: str = "VmRSS") -> float:
    """This process's resident set (``VmRSS``) or its peak (``VmHWM``), in MiB."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":")) / 1024


def memory(mode: str, items: Path, index_dir: Path, n: int) -> dict[str, float]:
    """Resident growth and peak (MB) of a fresh process that builds (or loads) the index and uses
    it."""
    code = f"""
import json, sys
sys.path.insert(0, {str(REPO)!r})
from benchmarks.decontam import rss_mb, prose
from pathlib import Path
from scratchlm.curate.decontam.ngrams import NgramIndex, words_of
texts = prose("brown")
base = rss_mb()
if {mode!r} == "build":
    index = NgramIndex.build([{str(items)!r}], {n})
else:
    index = NgramIndex.load(Path({str(index_dir)!r}))
for text in texts:
    index.find(words_of(text))
print(json.dumps({{"rss": rss_mb() - base, "peak": rss_mb("VmHWM") - base}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out)


def python_set(index_dir: Path) -> float:
    """Resident growth (MB) of a fresh process holding the index's n-gram hashes as a Python set of
    ints, the plain alternative to the sorted array."""
    code = f"""
import json, sys
sys.path.insert(0, {str(REPO)!r})
from pathlib import Path
from benchmarks.decontam import rss_mb
from scratchlm.curate.decontam.ngrams import NgramIndex
hashes = NgramIndex.load(Path({str(index_dir)!r})).hashes
base = rss_mb()
ngrams = set(hashes.tolist())
print(json.dumps(rss_mb() - base))
"""
    return json.loads(
        subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True
        ).stdout
    )


def window_funnel(index: NgramIndex, texts: list[str]) -> tuple[float, float, float]:
    """Over ``texts``: the share of n-word windows made only of words the items hold (they are
    hashed), the share of those that pass the bitmap (they are searched), and microseconds per
    searched key."""
    windows = hashed = passed = 0
    searched = []
    for text in texts:
        words = words_of(text)
        windows += max(len(words) - index.n + 1, 0)
        _, hashes = index.windows(words)
        hashed += len(hashes)
        passed += int(index.in_bitmap(hashes).sum())
        searched.append(hashes)
    keys = np.concatenate(searched)
    started = time.process_time()
    np.searchsorted(index.hashes, keys)
    per_key = (time.process_time() - started) / max(len(keys), 1) * 1e6
    return hashed / max(windows, 1), passed / max(hashed, 1), per_key


def rate(stage: Callable[[Document], object], texts: list[str], repeat: int) -> float:
    """MB/s of one stage over ``texts`` (best of ``repeat``)."""
    size = sum(len(t.encode()) for t in texts) / 1e6
    best = float("inf")
    for _ in range(repeat):
        docs = [Document(str(i), t, {}) for i, t in enumerate(texts)]
        started = time.process_time()
        for doc in docs:
            stage(doc)
        best = min(best, time.process_time() - started)
    return size / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--n", type=int, default=13)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        items, index_dir = Path(tmp) / "items.jsonl", Path(tmp) / "index"
        write_items(items, args.items, args.seed)
        items_mb = items.stat().st_size / 2**20
        started, cpu = time.perf_counter(), time.process_time()
        index = NgramIndex.build([str(items)], args.n)
        build_s, build_cpu = time.perf_counter() - started, time.process_time() - cpu
        index.save(index_dir)
        disk = sum(p.stat().st_size for p in index_dir.iterdir()) / 2**20
        built = memory("build", items, index_dir, args.n)
        loaded = memory("load", items, index_dir, args.n)
        as_set = python_set(index_dir)
        funnel = window_funnel(index, prose("brown"))
        stage = ContaminationFilter(Decontaminate(eval_files=(str(items),), n=args.n))
        stage.index  # noqa: B018 -- build the stage's own cached index before timing
        texts = prose("brown")
        decontam = rate(stage, texts, args.repeat)
        gopher = rate(GopherQuality(), texts, args.repeat)
        repetition = rate(GopherRepetition(), texts, args.repeat)
    rows = [
        ("test items", f"{args.items:,} ({items_mb:.0f} MB JSONL)"),
        ("distinct n-grams", f"{len(index.hashes):,} (n={args.n})"),
        ("vocabulary", f"{len(index.vocab):,} words"),
        ("index arrays", f"{index.nbytes / 2**20:.0f} MB"),
        ("index on disk", f"{disk:.0f} MB"),
        ("worker building it: RSS growth", f"{built['rss']:.0f} MB (peak +{built['peak']:.0f} MB)"),
        (
            "worker loading it: RSS growth",
            f"{loaded['rss']:.0f} MB (peak +{loaded['peak']:.0f} MB)",
        ),
        (
            "the hashes as a Python set",
            f"{as_set:.0f} MB ({as_set * 2**20 / len(index.hashes):.0f} bytes an n-gram)",
        ),
        ("Brown windows of item words (hashed)", f"{funnel[0]:.1%}"),
        ("... of those, passing the bitmap", f"{funnel[1]:.1%} (the rest skip the binary search)"),
        (
            "binary search of the sorted hashes",
            f"{funnel[2]:.2f} µs a key (CPU time, all hashed keys at once)",
        ),
        ("build time", f"{build_s:.1f} s wall, {build_cpu:.1f} s CPU"),
        ("decontaminate rate", f"{decontam:.1f} MB/s (CPU time, one core)"),
        ("gopher_quality rate", f"{gopher:.1f} MB/s (CPU time, one core)"),
        ("gopher_repetition rate", f"{repetition:.1f} MB/s (CPU time, one core)"),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")


if __name__ == "__main__":
    main()
