"""Dedup speed on one core: MinHash signatures (ours, datasketch, rensa) and whole near-dedup (ours,
datatrove).

Corpus: the prose samples (Brown, KJV, Shakespeare) cut into 800-word documents, each with
``--variants`` edited copies (word-edit rate 0 to 0.1), shuffled into four JSONL files.
Times are CPU seconds of one process (the signature loops run in this process; the whole runs
are subprocesses, measured by GNU time), which a busy shared machine disturbs less than wall time.
All tools get the same texts and settings: 5-word shingles, 112 permutations (14 bands x 8 rows),
seed 1. Whole near-dedup is timed as a subprocess with GNU time (wall, peak RSS): ours is
the curation runner (what ``scratchlm curate`` calls, without the CLI's imports of every
subcommand) with ``read`` + ``minhash`` and one worker; datatrove is its four
MinHash stages (signatures, buckets, clusters, filter), one worker (the bucket stage needs
one task per band, run one after another), from the
venv given by ``--datatrove-python``. ``--scale N`` instead times ours on N short documents
(words drawn from the same prose, a tenth of them edited copies) to show memory stays bounded.

    .venv/bin/python -m benchmarks.dedup_speed
    .venv/bin/python -m benchmarks.dedup_speed --scale 1000000
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from benchmarks.dedup_data import REPO, chunks, edit, prose_texts
from scratchlm.curate.dedup.normalize import Normalization, char_classes
from scratchlm.curate.dedup.signatures import permutations, signature_batch

NUM_PERM, SEED, NGRAM = 112, 1, 5
# ``scratchlm curate RECIPE --workers 1`` without the CLI, which imports every subcommand (torch...)
CURATE = """
import sys
from pathlib import Path
from scratchlm.pipelines.executors.local import LocalExecutor
from scratchlm.pipelines.recipe import load_recipe
from scratchlm.pipelines.runner import run_curation
run_curation(load_recipe(sys.argv[1]), [sys.argv[2]], Path(sys.argv[3]), LocalExecutor(1))
"""
DATATROVE = """
import sys
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.minhash import (MinhashConfig, MinhashDedupBuckets,
                                              MinhashDedupCluster, MinhashDedupFilter,
                                              MinhashDedupSignature)
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
src, work = sys.argv[1], sys.argv[2]
config = MinhashConfig(n_grams=5, num_buckets=14, hashes_per_bucket=8, seed=1)
def run(pipeline, name, tasks=1):
    LocalPipelineExecutor(pipeline, tasks=tasks, workers=1, logging_dir=f"{work}/logs/{name}").run()
run([JsonlReader(src), MinhashDedupSignature(f"{work}/sigs", config=config)], "sigs")
run([MinhashDedupBuckets(f"{work}/sigs", f"{work}/buckets", config=config)], "buckets",
    tasks=14)  # one per band
run([MinhashDedupCluster(f"{work}/buckets", f"{work}/remove_ids", config=config)], "clusters")
run([JsonlReader(src),
     MinhashDedupFilter(f"{work}/remove_ids", exclusion_writer=JsonlWriter(f"{work}/removed")),
     JsonlWriter(f"{work}/output")], "filter")
"""


def speed_corpus(variants: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for base in chunks(prose_texts(), 800):
        texts.append(base)
        texts += [edit(base, rng.uniform(0.0, 0.1), rng) for _ in range(variants)]
    rng.shuffle(texts)
    return texts


def scale_corpus(n: int, seed: int = 0) -> list[str]:
    """``n`` documents of 40 words drawn from the prose's word stream (so with its word
    frequencies), one in ten an edited copy (word-edit rate 0.03) of an earlier document."""
    rng = random.Random(seed)
    words = pa.array(" ".join(prose_texts()).split())
    picks = pa.array(np.random.default_rng(seed).integers(0, len(words), size=n * 40))
    lists = pa.ListArray.from_arrays(
        pa.array(np.arange(0, n * 40 + 1, 40, dtype=np.int32)), words.take(picks)
    )
    texts = pc.binary_join(lists, " ").to_pylist()
    for i in range(9, n, 10):
        texts[i] = edit(texts[rng.randrange(i)], 0.03, rng)
    return texts


def write_parquet(texts: list[str], folder: Path, files: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(files):
        ids = [f"doc{i}" for i in range(f, len(texts), files)]
        pq.write_table(pa.table({"id": ids, "text": texts[f::files]}), folder / f"part{f}.parquet")


def write_jsonl(texts: list[str], folder: Path, files: int = 4) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(files):
        with open(folder / f"part{f}.jsonl", "w", encoding="utf-8") as out:
            for i in range(f, len(texts), files):
                out.write(json.dumps({"id": f"doc{i}", "text": texts[i]}) + "\n")


def timed(cmd: list[str]) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS in MiB) of a command, by GNU time."""
    result = subprocess.run(
        ["/usr/bin/time", "-f", "%e %U %S %M", *cmd], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed:\n{result.stderr[-3000:]}")
    wall, user, system, rss_kb = result.stderr.strip().splitlines()[-1].split()
    return float(wall), float(user) + float(system), int(rss_kb) / 1024


def ours_whole(src: Path, work: Path, options: str = "{}") -> tuple[float, float, float]:
    work.mkdir(parents=True, exist_ok=True)
    recipe = work / "recipe.yaml"
    recipe.write_text(
        f"name: speed\nsteps:\n  - read: {{}}\n  - minhash: {options}\n", encoding="utf-8"
    )
    return timed([sys.executable, "-c", CURATE, str(recipe), str(src), str(work / "run")])


def shingle_lists(texts: list[str]) -> list[list[str]]:
    """Plain 5-word shingles (lowercase, whitespace split) as datasketch and rensa users build
    them."""
    out = []
    for text in texts:
        ws = text.lower().split()
        out.append(list({" ".join(ws[i : i + NGRAM]) for i in range(max(1, len(ws) - NGRAM + 1))}))
    return out


def signature_rates(texts: list[str], datasketch_docs: int) -> list[tuple[str, int, float]]:
    from datasketch import MinHash

    rows = []
    norm = Normalization(punctuation=True, digits=True)
    perms = permutations(NUM_PERM, SEED)
    char_classes()
    signature_batch(pa.array(texts[:8]), norm, NGRAM, perms)  # compile outside the timing
    started = time.process_time()
    array = pa.array(texts)
    for s in range(0, len(texts), 1024):
        signature_batch(array[s : s + 1024], norm, NGRAM, perms)
    rows.append(
        ("ours (normalise + shingle + hash + MinHash)", len(texts), time.process_time() - started)
    )
    started = time.process_time()
    shingled = shingle_lists(texts)
    rows.append(
        ("shingling in Python (for datasketch, rensa)", len(texts), time.process_time() - started)
    )
    encoded = [[s.encode("utf-8") for s in doc] for doc in shingled[:datasketch_docs]]
    started = time.process_time()
    for doc in encoded:
        m = MinHash(num_perm=NUM_PERM, seed=SEED)
        m.update_batch(doc)
    rows.append(
        ("datasketch MinHash.update_batch (sha1)", len(encoded), time.process_time() - started)
    )
    started = time.process_time()
    MinHash.bulk(encoded, num_perm=NUM_PERM, seed=SEED)
    rows.append(("datasketch MinHash.bulk (sha1)", len(encoded), time.process_time() - started))
    try:
        from rensa import RMinHash
    except ImportError:
        print(
            "rensa is not installed (.venv/bin/pip install rensa==0.5.0, "
            "for this benchmark only): its rows are left out"
        )
        return rows
    started = time.process_time()
    for doc in shingled:
        m = RMinHash(NUM_PERM, SEED)
        m.update(doc)
        m.digest()
    rows.append(("rensa RMinHash.update", len(shingled), time.process_time() - started))
    started = time.process_time()
    RMinHash.digest_matrix_from_token_sets(shingled, NUM_PERM, SEED)
    rows.append(
        (
            "rensa RMinHash.digest_matrix_from_token_sets",
            len(shingled),
            time.process_time() - started,
        )
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--variants", type=int, default=5)
    parser.add_argument(
        "--datasketch-docs", type=int, default=4000, help="datasketch is timed on this many"
    )
    parser.add_argument(
        "--datatrove-python", default=str(REPO / ".bench" / "datatrove-venv" / "bin" / "python")
    )
    parser.add_argument(
        "--scale", type=int, default=0, help="only time ours on this many short documents"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.scale:
            started = time.process_time()
            texts = scale_corpus(args.scale)
            write_parquet(texts, work / "src", files=10)
            print(
                f"{len(texts):,} documents, {sum(map(len, texts)) / 1e6:.1f} MB, "
                f"generated in {time.process_time() - started:.1f} CPU s"
            )
            wall, cpu, rss = ours_whole(work / "src", work / "ours")
            stats = json.loads((work / "ours" / "run" / "stats.json").read_text())
            print(
                f"ours, read + minhash: {wall:.1f} s wall, "
                f"{cpu:.1f} s CPU, peak RSS {rss:.0f} MiB; "
                f"minhash step: {json.dumps(stats['02_minhash']['dropped'])} "
                f"of {stats['02_minhash']['docs_in']:,}"
            )
            return
        texts = speed_corpus(args.variants)
        mb = sum(len(t.encode()) for t in texts) / 1e6
        print(f"{len(texts):,} documents, {mb:.1f} MB")
        print(f"\n{'signatures, one core (CPU time)':<48} {'docs':>7} {'CPU s':>8} {'docs/s':>9}")
        for name, n, seconds in signature_rates(texts, args.datasketch_docs):
            print(f"{name:<48} {n:>7,} {seconds:>8.2f} {n / seconds:>9,.0f}")
        write_jsonl(texts, work / "src")
        print(
            f"\n{'whole near-dedup, one core':<42} {'wall s':>7} "
            f"{'CPU s':>7} {'peak RSS MiB':>13} {'dropped':>8}"
        )
        for label, options in [
            ("ours: runner, read + minhash", "{}"),
            ("ours, verify: false (as datatrove)", "{verify: false}"),
        ]:
            folder = work / f"ours{len(options)}"
            wall, cpu, rss = ours_whole(work / "src", folder, options)
            stats = json.loads((folder / "run" / "stats.json").read_text())
            print(
                f"{label:<42} {wall:>7.1f} {cpu:>7.1f} {rss:>13.0f} "
                f"{stats['02_minhash']['docs_dropped']:>8,}"
            )
        if not Path(args.datatrove_python).exists():
            print(
                f"no datatrove venv at {args.datatrove_python} "
                "(python -m venv it, pip install datatrove==0.10.1 "
                "tokenizers orjson 'xxhash<4'): its row is left out"
            )
            return
        script = work / "datatrove_minhash.py"
        script.write_text(DATATROVE, encoding="utf-8")
        wall, cpu, rss = timed(
            [args.datatrove_python, str(script), str(work / "src"), str(work / "dt")]
        )
        removed = sum(1 for p in (work / "dt" / "removed").glob("*.jsonl.gz") for _ in gzip.open(p))
        print(
            f"{'datatrove: four MinHash stages':<42} "
            f"{wall:>7.1f} {cpu:>7.1f} {rss:>13.0f} {removed:>8,}"
        )


if __name__ == "__main__":
    main()
