"""Our quality filters next to datatrove's on the same real documents: decisions and speed.

    .venv/bin/python -m benchmarks.vs_datatrove [--shakespeare] [--tokens]

datatrove 0.10.1 (with spaCy, its English word tokenizer) lives in its own virtual environment,
.bench/datatrove-venv, made on first use. The documents are the sample WARC's pages extracted
by our ``read`` step (resiliparse), the Brown and KJV prose and the langid fortunes (with
``--shakespeare`` also the plays of tests/data/heldout). Both sides get the same lid.176 model
and LDNOOBW lists. For each filter alone, the table gives how often the two agree on keep or
drop; every kind of disagreement is listed with examples. Then both run the chain LID ->
Gopher repetition -> Gopher quality -> C4 -> FineWeb, back to back in single processes, and
the CPU seconds of each are compared, both processes pinned to the same single core.
``--tokens`` compares only the word counts of ``curate.text.words.split_words`` with spaCy's.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from scratchlm.curate.document import Document
from scratchlm.curate.readers import ReaderOptions, read_file
from scratchlm.curate.stages.c4_badwords import C4Badwords
from scratchlm.curate.stages.c4_quality import C4Quality
from scratchlm.curate.stages.fineweb_quality import FinewebQuality
from scratchlm.curate.stages.gopher_quality import GopherQuality
from scratchlm.curate.stages.gopher_repetition import GopherRepetition
from scratchlm.curate.stages.language import Language
from scratchlm.curate.text.langid import lid176_path
from scratchlm.curate.text.words import split_words
from scratchlm.curate.writer import write_atomic

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / ".bench"
VENV = BENCH / "datatrove-venv"
WORK = BENCH / "vs_datatrove"
DATA = REPO / "tests" / "data"
REQUIREMENTS = [
    "datatrove==0.10.1",
    "spacy==3.8.18",
    "fasttext-numpy2-wheel==0.9.2",
    "fasteners==0.20",
    "regex==2026.12.2",
]  # datatrove 0.10.1 imports regex without declaring it
CHAIN = ["language", "gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality"]


def ensure_venv() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *REQUIREMENTS], check=True)
    return python


def build_corpus(shakespeare: bool) -> Path:
    path = WORK / ("corpus-shakespeare.jsonl" if shakespeare else "corpus.jsonl")
    if path.exists():
        return path
    WORK.mkdir(parents=True, exist_ok=True)
    records = []
    warc = DATA / "web-sample.warc.gz"
    for item in read_file(str(warc), warc.name, ReaderOptions()):
        if isinstance(item, Document):
            records.append({"id": item.meta["url"], "text": item.text})
    names = [
        DATA / "prose" / "brown.jsonl.gz",
        DATA / "prose" / "kjv.jsonl.gz",
        DATA / "langid-dev.jsonl.gz",
    ]
    if shakespeare:
        names.append(DATA / "heldout" / "shakespeare.jsonl.gz")
    for name in names:
        with gzip.open(name, "rt", encoding="utf-8") as stream:
            records += [{"id": r["id"], "text": r["text"]} for r in map(json.loads, stream)]
    write_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return path


def ours() -> dict:
    """Our stage of each filter compared, by name, in the order of the table's rows."""
    return {
        "language": Language(keep=["en"]),
        "gopher_repetition": GopherRepetition(),
        "gopher_quality": GopherQuality(),
        "c4_quality": C4Quality(),
        "c4_badwords": C4Badwords(),
        "fineweb_quality": FinewebQuality(),
    }


def our_decisions(texts: list[str]) -> dict[str, list]:
    out = {}
    for name, stage in ours().items():
        results = (
            stage.map_batch([Document(str(i), t) for i, t in enumerate(texts)])
            if name == "language"
            else [stage(Document(str(i), t)) for i, t in enumerate(texts)]
        )
        out[name] = [True if r is None or isinstance(r, Document) else r for r in results]
    return out


def our_chain(records: list[dict]) -> tuple[float, list[str]]:
    stages = ours()
    language = stages["language"]
    language.map_batch(
        [Document("warm", "Warm up the filters with a short English sentence of text.")]
    )
    start = time.process_time()
    docs = [Document(r["id"], r["text"]) for r in records]
    survivors = []
    for i in range(0, len(docs), 256):
        batch = docs[i : i + 256]
        survivors += [d for d, r in zip(batch, language.map_batch(batch)) if r is None]
    kept = []
    for doc in survivors:
        for name in CHAIN[1:]:
            result = stages[name](doc)
            if isinstance(result, str):
                break
            if isinstance(result, Document):
                doc = result
        else:
            kept.append(doc.id)
    return time.process_time() - start, kept


def compare_tokens(python: Path, corpus: Path, records: list[dict]) -> None:
    """Word counts per document: ours against datatrove's spaCy tokenizer."""
    out = WORK / "spacy-tokens.json"
    subprocess.run(
        [
            str(python),
            "-P",
            str(REPO / "benchmarks" / "_datatrove_side.py"),
            "--tokens",
            str(corpus),
            str(out),
        ],
        check=True,
    )
    theirs = json.loads(out.read_text())
    mine = [len(split_words(r["text"])) for r in records]
    relative = [abs(a - b) / b for a, b in zip(mine, theirs) if b]
    print(
        f"word tokens: ours {sum(mine):,}, "
        f"spaCy {sum(theirs):,} ({sum(mine) / sum(theirs) - 1:+.2%} in all); "
        f"per document |ours - spaCy| / spaCy: mean {sum(relative) / len(relative):.2%}, "
        f"equal counts in {sum(a == b for a, b in zip(mine, theirs)):,} "
        f"of {len(records):,} documents"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--shakespeare", action="store_true", help="add the Shakespeare plays of tests/data/heldout"
    )
    parser.add_argument(
        "--examples", type=int, default=3, help="example documents per kind of disagreement"
    )
    parser.add_argument(
        "--tokens", action="store_true", help="compare only word counts with spaCy's, then stop"
    )
    args = parser.parse_args()
    python = ensure_venv()
    # one core for both sides (the datatrove process inherits the affinity); CPU seconds are timed
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    corpus = build_corpus(args.shakespeare)
    records = [json.loads(line) for line in corpus.open(encoding="utf-8")]
    megabytes = sum(len(r["text"].encode("utf-8")) for r in records) / 1e6
    print(f"{len(records):,} documents, {megabytes:.1f} MB of text ({corpus.relative_to(REPO)})\n")
    if args.tokens:
        compare_tokens(python, corpus, records)
        return

    theirs_file = WORK / "datatrove.json"
    badwords = REPO / "curate" / "data" / "wordlists" / "ldnoobw"
    # -P: benchmarks/ holds a tokenize.py that would shadow the standard library module
    subprocess.run(
        [
            str(python),
            "-P",
            str(REPO / "benchmarks" / "_datatrove_side.py"),
            str(corpus),
            str(theirs_file),
            str(lid176_path()),
            str(badwords),
        ],
        check=True,
    )
    theirs = json.loads(theirs_file.read_text())
    mine = our_decisions([r["text"] for r in records])

    print(
        f"{'filter':20}{'agree':>9}{'both keep':>11}"
        f"{'both drop':>11}{'only ours':>11}{'only dt':>9}"
    )
    kinds: dict[str, Counter] = {}
    examples: dict[tuple, list[str]] = defaultdict(list)
    for name in mine:
        a, b = mine[name], theirs["decisions"][name]
        cells = Counter((x is True, y is True) for x, y in zip(a, b))
        agree = (cells[(True, True)] + cells[(False, False)]) / len(records)
        print(
            f"{name:20}{agree:>9.2%}{cells[(True, True)]:>11,}{cells[(False, False)]:>11,}"
            f"{cells[(False, True)]:>11,}{cells[(True, False)]:>9,}"
        )
        kinds[name] = Counter()
        for record, x, y in zip(records, a, b):
            if (x is True) != (y is True):
                kind = (name, "keep" if x is True else x, "keep" if y is True else y)
                kinds[name][kind] += 1
                if len(examples[kind]) < args.examples:
                    examples[kind].append(record["id"])
    print("\nkinds of disagreement (ours / datatrove): count, examples")
    for name in mine:
        for kind, count in kinds[name].most_common():
            print(f"  {kind[1]} / {kind[2]}: {count}  {', '.join(examples[kind])}")

    seconds, kept = our_chain(records)
    dt_seconds, dt_kept = theirs["chain_seconds"], theirs["chain_kept"]
    differ = len(set(kept) ^ set(dt_kept))
    print("\nchain LID -> Gopher repetition -> Gopher quality -> C4 -> FineWeb, one process each")
    print(f"{'':12}{'CPU s':>8}{'MB/s':>8}{'kept':>7}")
    print(f"{'datatrove':12}{dt_seconds:>8.1f}{megabytes / dt_seconds:>8.2f}{len(dt_kept):>7,}")
    print(f"{'scratchlm':12}{seconds:>8.1f}{megabytes / seconds:>8.2f}{len(kept):>7,}")
    print(f"speed-up {dt_seconds / seconds:.1f}x; documents kept by one chain only: {differ}")


if __name__ == "__main__":
    main()
