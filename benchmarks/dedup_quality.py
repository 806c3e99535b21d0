"""MinHash dedup against exact Jaccard: recall per similarity band, precision of dropped documents.

Corpus: every HTML page of the sample crawl (tests/data/web-sample.warc.gz, text by resiliparse:
real exact duplicates under second URLs, and the graded real near-duplicates of debian-reference
in four languages), and Brown corpus documents (real prose, ~2,000 words), each of the first
``--families`` with ``--variants`` edited copies at word-edit rates drawn from 0 to 0.1 (Jaccard
of 5-gram shingles about 0.4 to 1.0 to the original, lower between two copies), plus unrelated
documents; all shuffled into four JSONL files.
Exact Jaccard is computed for every pair of documents on the very shingles MinHash hashes
(``curate.dedup.signatures.shingles``), by a sparse product of the document x shingle matrix.
The real runner then runs ``read`` and ``minhash`` (14 x 8) with and without verification.

    .venv/bin/python -m benchmarks.dedup_quality

(as a module: benchmarks/tokenize.py would shadow the stdlib)
"""

from __future__ import annotations

import json
import random
import tempfile
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from scipy.sparse import csr_matrix

from benchmarks._cli import int_parser
from benchmarks.dedup_data import edit, prose_texts, warc_pages
from scratchlm.curate.dedup.normalize import Normalization
from scratchlm.curate.dedup.signatures import shingles
from scratchlm.pipelines.executors.local import LocalExecutor
from scratchlm.pipelines.recipe import parse_recipe
from scratchlm.pipelines.runner import run_curation

BANDS = [
    (0.0, 0.5),
    (0.5, 0.6),
    (0.6, 0.7),
    (0.7, 0.75),
    (0.75, 0.8),
    (0.8, 0.85),
    (0.85, 0.9),
    (0.9, 0.95),
    (0.95, 1.01),
]


CONFIGS = [
    ("14 x 8, verify, threshold 0.7", {"threshold": 0.7}),
    ("14 x 8, verify, threshold 0.75", {"threshold": 0.75}),
    ("14 x 8, verify, threshold 0.8 (default)", {}),
    ("14 x 8, no verification", {"verify": False}),
]


def build_corpus(families: int, variants: int, singles: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    texts = prose_texts(("brown",))
    docs = []
    for f in range(families):
        docs.append({"id": f"fam{f}/orig", "text": texts[f]})
        for v in range(variants):
            rate = rng.uniform(0.0, 0.1)
            docs.append({"id": f"fam{f}/v{v}", "text": edit(texts[f], rate, rng)})
    docs += [{"id": f"single{i}", "text": texts[families + i]} for i in range(singles)]
    docs += [{"id": url, "text": text} for url, text in warc_pages()]
    rng.shuffle(docs)
    return docs


def exact_jaccard(docs: list[dict], norm: Normalization, ngram: int) -> np.ndarray:
    """All-pairs Jaccard of the shingle sets, dense ``[n, n]``."""
    vocab: dict[bytes, int] = {}
    rows, cols = [], []
    for i, doc in enumerate(docs):
        ids = {vocab.setdefault(s, len(vocab)) for s in shingles(doc["text"], norm, ngram)}
        rows += [i] * len(ids)
        cols += sorted(ids)
    m = csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(docs), len(vocab))
    )
    inter = (m @ m.T).toarray()
    sizes = np.asarray(m.sum(axis=1)).ravel()
    union = sizes[:, None] + sizes[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1), 0.0)


def run_minhash(docs: list[dict], workdir: Path, options: dict) -> dict[str, str]:
    """Each document's cluster: its keeper's id (its own when kept)."""
    inputs = workdir / "in"
    inputs.mkdir(parents=True, exist_ok=True)
    for part in range(4):
        lines = [json.dumps(d) + "\n" for d in docs[part::4]]
        (inputs / f"part{part}.jsonl").write_text("".join(lines), encoding="utf-8")
    recipe = parse_recipe({"name": "quality", "steps": [{"read": {}}, {"minhash": options}]})
    result = run_curation(recipe, [str(inputs)], workdir / "run", LocalExecutor(1))
    cluster = {}
    for path in sorted(result.final_dir.glob("part-*.parquet")):
        for doc_id in pq.read_table(path, columns=["id"]).column(0).to_pylist():
            cluster[doc_id] = doc_id
    for path in sorted((result.final_dir / "rejects").glob("part-*.parquet")):
        for row in pq.read_table(path).to_pylist():
            cluster[row["id"]] = json.loads(row["meta"])["duplicate_of"]
    return cluster


def report(docs: list[dict], jac: np.ndarray, cluster: dict[str, str], label: str) -> dict:
    ids = [d["id"] for d in docs]
    index = {doc_id: i for i, doc_id in enumerate(ids)}
    label_of = np.array([index[cluster[i]] for i in ids])
    upper = np.triu_indices(len(ids), k=1)
    pair_j = jac[upper]
    same = label_of[upper[0]] == label_of[upper[1]]
    print(f"\n{label}")
    print(f"{'Jaccard band':>14} {'pairs':>7} {'same cluster':>13} {'share':>7}")
    for lo, hi in BANDS:
        inside = (pair_j >= lo) & (pair_j < hi)
        if inside.any():
            print(
                f"{lo:>6.2f}-{min(hi, 1.0):<6.2f} {inside.sum():>8,} "
                f"{same[inside].sum():>13,} {same[inside].mean():>7.3f}"
            )
    high = pair_j >= 0.85
    dropped = [i for i, doc_id in enumerate(ids) if cluster[doc_id] != doc_id]
    good = [i for i in dropped if jac[i, label_of[i]] >= 0.6]
    figures = {
        "recall_j085": float(same[high].mean()),
        "pairs_j085": int(high.sum()),
        "dropped": len(dropped),
        "precision_dropped": len(good) / max(1, len(dropped)),
        "same_cluster_pairs_below_06": int((same & (pair_j < 0.6)).sum()),
    }
    real = [
        (i, j)
        for i, a in enumerate(ids)
        for j, b in enumerate(ids)
        if "debian-reference" in a
        and ".en." in a
        and "debian-reference" in b
        and a[:-8] == b[:-8]
        and i != j
    ]
    for i, j in sorted(real, key=lambda p: ids[p[1]]):
        print(
            f"  real near-duplicate {ids[j].rsplit('/', 1)[1]:>12} "
            f"vs {ids[i].rsplit('/', 1)[1]}: J {jac[i, j]:.2f}, "
            f"{'same cluster' if label_of[i] == label_of[j] else 'apart'}"
        )
    print(
        "recall of pairs with J >= 0.85: "
        f"{figures['recall_j085']:.4f} ({figures['pairs_j085']:,} pairs)"
    )
    print(
        f"dropped documents: {len(dropped)}; with J >= 0.6 to their cluster's kept document: "
        f"{len(good)} (precision {figures['precision_dropped']:.4f})"
    )
    return figures


def main() -> None:
    args = int_parser(__doc__, families=120, variants=4, singles=150, seed=0).parse_args()
    docs = build_corpus(args.families, args.variants, args.singles, args.seed)
    norm = Normalization(punctuation=True, digits=True)
    jac = exact_jaccard(docs, norm, 5)
    print(
        f"{len(docs)} documents, {len(docs) * (len(docs) - 1) // 2:,} pairs, "
        "exact Jaccard on 5-gram shingles"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for n, (label, options) in enumerate(CONFIGS):
            report(docs, jac, run_minhash(docs, Path(tmp) / str(n), options), label)


if __name__ == "__main__":
    main()
