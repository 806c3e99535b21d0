"""MinHash signatures equal datasketch's; the compiled kernels equal their Python reference."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pyarrow as pa
import pytest
from datasketch import MinHash

from scratchlm.curate.dedup.normalize import Normalization, normalize_text
from scratchlm.curate.dedup.signatures import (
    permutations,
    shingle_hash32,
    shingles,
    signature_batch,
    text_hash_batch,
)


def sample_texts(data_dir, n: int = 40) -> list[str]:
    """Real English prose and short texts in ten languages and scripts, plus edge cases."""
    texts = []
    with gzip.open(data_dir / "prose" / "brown.jsonl.gz", "rt", encoding="utf-8") as f:
        texts += [json.loads(line)["text"] for _, line in zip(range(n), f)]
    with gzip.open(data_dir / "langid-dev.jsonl.gz", "rt", encoding="utf-8") as f:
        texts += [json.loads(line)["text"] for line in f][::25]
    return texts + [
        "",
        "   ",
        "two words",
        "ﬁne Ｆｕｌｌｗｉｄｔｈ ١٢٣ digits 42, punct—“quotes”!",
        "a\u00a0b\tc\nd e f",
    ]


@pytest.mark.parametrize("num_perm,seed,ngram", [(112, 1, 5), (64, 7, 3)])
def test_signatures_equal_datasketch(data_dir, num_perm, seed, ngram):
    texts = sample_texts(data_dir)
    norm = Normalization(punctuation=True, digits=True)
    sigs, counts = signature_batch(pa.array(texts), norm, ngram, permutations(num_perm, seed))
    for text, sig, count in zip(texts, sigs, counts):
        reference = shingles(text, norm, ngram)
        sketch = MinHash(num_perm=num_perm, seed=seed, hashfunc=shingle_hash32)
        sketch.update_batch(reference)
        assert count == len(reference)
        np.testing.assert_array_equal(sig, sketch.hashvalues)


def test_permutations_are_datasketchs():
    a, b = permutations(112, 3)
    np.testing.assert_array_equal(np.stack([a, b]), MinHash(num_perm=112, seed=3).permutations)


@pytest.mark.parametrize(
    "norm",
    [
        Normalization(),
        Normalization(False, False, False),
        Normalization(punctuation=True, digits=True),
    ],
)
def test_text_hash_equal_iff_normalised_texts_equal(data_dir, norm):
    base = sample_texts(data_dir, 10)
    variants = (
        base
        + [t.upper() for t in base]
        + ["  " + t.replace(" ", "\n ") for t in base]
        + [t.replace(",", "").replace("1", "7") for t in base]
    )
    hashes = text_hash_batch(pa.array(variants), norm)
    normalised = [normalize_text(t, norm) for t in variants]
    for i in range(len(variants)):
        for j in range(i):
            assert (hashes[i] == hashes[j]) == (normalised[i] == normalised[j]), (i, j)
    assert len(set(normalised)) > len(base)  # the variants are not all folded together
