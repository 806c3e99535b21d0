"""Language ID: top-1 accuracy per language of both ``language`` backends on the langid sample.

    .venv/bin/python -m benchmarks.langid [--min-chars 120]

The sample is tests/data/langid-dev.jsonl.gz (1,000 fortunes, 100 in each of 10 languages,
labels from the Debian package each came from). Each backend runs through the ``language``
stage itself (``keep: all``), one process, one core; the table gives accuracy per language,
overall, and documents per second.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from collections import Counter
from pathlib import Path

from scratchlm.curate.document import Document
from scratchlm.curate.stages.language import Language

SAMPLE = Path(__file__).resolve().parents[1] / "tests" / "data" / "langid-dev.jsonl.gz"


def load(min_chars: int) -> list[tuple[str, str]]:
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as stream:
        records = [json.loads(line) for line in stream]
    return [(r["lang"], r["text"]) for r in records if len(r["text"]) >= min_chars]


def run(backend: str, sample: list[tuple[str, str]]) -> tuple[Counter, Counter, float]:
    stage = Language(keep="all", backend=backend)
    stage.map_batch([Document("warm", "warm up the model with a sentence of text")])
    docs = [Document(str(i), text) for i, (_, text) in enumerate(sample)]
    start = time.process_time()
    for i in range(0, len(docs), 256):
        stage.map_batch(docs[i : i + 256])
    seconds = time.process_time() - start
    right, wrong = Counter(), Counter()
    for (lang, _), doc in zip(sample, docs):
        (right if doc.meta["lang"] == lang else wrong)[lang] += 1
    return right, wrong, seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--min-chars", type=int, default=120, help="only texts at least this long")
    args = parser.parse_args()
    sample = load(args.min_chars)
    results = {backend: run(backend, sample) for backend in ("fasttext", "langdetect")}
    langs = sorted({lang for lang, _ in sample})
    print(f"{len(sample)} texts of >= {args.min_chars} characters from {SAMPLE.name}\n")
    print(f"{'lang':6}{'docs':>6}" + "".join(f"{b:>12}" for b in results))
    for lang in langs:
        total = sum(1 for label, _ in sample if label == lang)
        cells = "".join(f"{results[b][0][lang] / total:>12.1%}" for b in results)
        print(f"{lang:6}{total:>6}{cells}")
    overall = "".join(f"{sum(r[0].values()) / len(sample):>12.1%}" for r in results.values())
    print(f"{'all':6}{len(sample):>6}{overall}")
    speed = "".join(f"{len(sample) / r[2]:>12,.0f}" for r in results.values())
    print(f"{'doc/s':6}{'':>6}{speed}")


if __name__ == "__main__":
    main()
