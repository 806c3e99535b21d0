"""MinHash signatures of word n-gram shingles, and the LSH band hashes built from them.

The MinHash definition is datasketch's (2.0, default ``affine32`` scheme): each shingle's
32-bit hash ``h`` is pre-mixed with MurmurHash3's finalizer and permuted by
``a_k * h + b_k mod 2**32``, ``(a, b)`` drawn as ``datasketch.MinHash._init_permutations``
draws them from ``np.random.RandomState(seed)``. A shingle is the normalised words
``w_i .. w_{i+n-1}`` joined by one space; a text of fewer than ``n`` words is one shingle;
its 32-bit hash is ``shingle_hash32``. So ``datasketch.MinHash(num_perm, seed,
hashfunc=shingle_hash32).update_batch(shingles(text))`` gives the same signature as
``signature_batch``, which does the work in one compiled pass (``curate.dedup.kernels``).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from scratchlm.curate.dedup import kernels
from scratchlm.curate.dedup.normalize import (
    Normalization,
    char_classes,
    prenormalize,
    utf8_buffers,
    words,
)

MASK64 = (1 << 64) - 1


def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``affine32`` permutation parameters datasketch draws for ``(num_perm, seed)``."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def _fmix64(h: int) -> int:
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & MASK64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & MASK64
    return h ^ (h >> 33)


def word_hash64(word: str) -> int:
    """FNV-1a (64-bit) over the code points of a normalised word. Worst case: O(len(word))."""
    h = 0xCBF29CE484222325
    for ch in word:
        h = ((h ^ ord(ch)) * 0x100000001B3) & MASK64
    return h


def shingle_hash32(shingle: bytes) -> int:
    """The 32-bit hash of one shingle (UTF-8 words joined by a space), usable as datasketch's
    hashfunc. Worst case: O(len(shingle))."""
    acc = 0
    for word in shingle.decode("utf-8").split(" "):
        acc = (acc * 0x9E3779B97F4A7C15 + word_hash64(word)) & MASK64
    return _fmix64(acc) >> 32


def shingles(text: str, norm: Normalization, ngram: int) -> list[bytes]:
    """The shingles of one text, in order, with repeats (the reference for the kernel).
    Worst case: O(n * ngram) (each word is in up to ``ngram`` shingles)."""
    ws = words(text, norm)
    if not ws:
        return []
    span = min(ngram, len(ws))
    return [" ".join(ws[i : i + span]).encode("utf-8") for i in range(len(ws) - span + 1)]


def signature_batch(
    texts: pa.Array, norm: Normalization, ngram: int, perms: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """(signatures ``uint32[n, num_perm]``, shingle counts ``int64[n]``) of a batch of texts.
    Worst case: O(characters * num_perm) (see ``kernels.minhash_signatures``)."""
    data, offsets = utf8_buffers(prenormalize(texts.fill_null(""), norm))
    a, b = perms
    out = np.empty((len(texts), len(a)), dtype=np.uint32)
    counts = np.empty(len(texts), dtype=np.int64)
    kernels.minhash_signatures(
        data, offsets, char_classes(), norm.flags(), ngram, a, b, out, counts
    )
    return out, counts


def text_hash_batch(texts: pa.Array, norm: Normalization) -> np.ndarray:
    """64-bit hashes of the normalised texts of a batch (equal normalised texts, equal hashes).
    Worst case: O(characters) (``prenormalize``, then one compiled pass)."""
    data, offsets = utf8_buffers(prenormalize(texts.fill_null(""), norm))
    out = np.empty(len(texts), dtype=np.uint64)
    kernels.text_hashes(data, offsets, char_classes(), norm.flags(), out)
    return out


def band_hashes(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """``uint64[bands, n]``: band ``j`` of each signature (values ``j*rows .. j*rows+rows-1``)
    hashed."""
    n = signatures.shape[0]
    grouped = signatures[:, : bands * rows].reshape(n, bands, rows).astype(np.uint64)
    acc = np.zeros((n, bands), dtype=np.uint64)
    for r in range(rows):
        acc = acc * np.uint64(0x9E3779B97F4A7C15) + grouped[:, :, r]
    acc ^= acc >> np.uint64(33)
    acc *= np.uint64(0xFF51AFD7ED558CCD)
    acc ^= acc >> np.uint64(33)
    return np.ascontiguousarray(acc.T)
