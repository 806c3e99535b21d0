"""Compiled loops (numba) over the UTF-8 bytes of a batch of texts.

Each kernel walks the code points of every text, applies the per-code-point part of the
normalisation (``curate.dedup.normalize``: white space, punctuation, digits) and hashes:

* ``text_hashes``: one 64-bit hash per normalised text (exact dedup);
* ``minhash_signatures``: word n-gram shingles, each hashed to 32 bits, then MinHash over
  datasketch's ``affine32`` permutations (``curate.dedup.signatures`` holds the definition).

The Python reference of both lives in ``curate.dedup.signatures``; tests check they agree.
"""

from __future__ import annotations

import numba
import numpy as np

SPACE, PUNCT, DIGIT = 1, 2, 3
FLAG_WHITESPACE, FLAG_PUNCTUATION, FLAG_DIGITS = 1, 2, 4
FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)
SHINGLE_MULT = np.uint64(0x9E3779B97F4A7C15)
EMPTY = np.uint32(0xFFFFFFFF)


@numba.njit(cache=True, inline="always")
def _decode(data, i, end):
    """The code point starting at byte ``i`` and the index of the next one (invalid bytes as
    U+FFFD). Worst case: O(1) (at most four bytes)."""
    c = np.int64(data[i])
    if c < 0x80:
        return c, i + 1
    if c >= 0xF0:
        n, c = 3, c & 0x07
    elif c >= 0xE0:
        n, c = 2, c & 0x0F
    elif c >= 0xC0:
        n, c = 1, c & 0x1F
    else:
        return 0xFFFD, i + 1
    if i + n >= end:
        return 0xFFFD, end
    for k in range(1, n + 1):
        c = (c << 6) | (np.int64(data[i + k]) & 0x3F)
    if c >= 0x110000:
        c = 0xFFFD
    return c, i + n + 1


@numba.njit(cache=True, inline="always")
def fmix64(h):
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return h


@numba.njit(cache=True, inline="always")
def fmix32(h):
    """MurmurHash3's 32-bit finalizer, as datasketch's ``affine32`` scheme pre-mixes each hash."""
    h ^= h >> np.uint32(16)
    h = np.uint32(h * np.uint32(0x85EBCA6B))
    h ^= h >> np.uint32(13)
    h = np.uint32(h * np.uint32(0xC2B2AE35))
    h ^= h >> np.uint32(16)
    return h


@numba.njit(cache=True)
def text_hashes(data, offsets, table, flags, out):
    """64-bit FNV-1a over the normalised code points of each text, then fmix64.
    Worst case: O(bytes) (one pass over each text's bytes)."""
    for d in range(offsets.shape[0] - 1):
        h = FNV_OFFSET
        pending_space = False
        started = False
        i, end = offsets[d], offsets[d + 1]
        while i < end:
            cp, i = _decode(data, i, end)
            cls = table[cp]
            if cls == PUNCT and flags & FLAG_PUNCTUATION:
                continue
            if cls == DIGIT and flags & FLAG_DIGITS:
                cp = 48
            elif cls == SPACE and flags & FLAG_WHITESPACE:
                pending_space = started
                continue
            if pending_space:
                h = (h ^ np.uint64(32)) * FNV_PRIME
                pending_space = False
            h = (h ^ np.uint64(cp)) * FNV_PRIME
            started = True
        out[d] = fmix64(h)


@numba.njit(cache=True)
def long_runs(data, offsets, marked, limit, out):
    """``out[d]``: whether text ``d`` holds more than ``limit`` consecutive code points that
    ``marked`` marks. Worst case: O(bytes)."""
    for d in range(offsets.shape[0] - 1):
        run = 0
        i, end = offsets[d], offsets[d + 1]
        while i < end:
            cp, i = _decode(data, i, end)
            run = run + 1 if marked[cp] else 0
            if run > limit:
                out[d] = True
                break


@numba.njit(cache=True)
def _shingle_hashes(data, start, end, table, flags, ngram, words, shingles):
    """Fill ``shingles`` with the 32-bit hashes of one text's word n-grams; returns their count.
    Worst case: O(bytes + words * ngram) (one pass for the words, ``ngram`` steps per shingle)."""
    n_words = 0
    h = FNV_OFFSET
    in_word = False
    i = start
    while i < end:
        cp, i = _decode(data, i, end)
        cls = table[cp]
        if cls == SPACE:
            if in_word:
                words[n_words] = h
                n_words += 1
                h = FNV_OFFSET
                in_word = False
            continue
        if cls == PUNCT and flags & FLAG_PUNCTUATION:
            continue
        if cls == DIGIT and flags & FLAG_DIGITS:
            cp = 48
        h = (h ^ np.uint64(cp)) * FNV_PRIME
        in_word = True
    if in_word:
        words[n_words] = h
        n_words += 1
    if n_words == 0:
        return 0
    span = min(ngram, n_words)
    count = n_words - span + 1
    for s in range(count):
        acc = np.uint64(0)
        for j in range(span):
            acc = acc * SHINGLE_MULT + words[s + j]
        shingles[s] = fmix32(np.uint32(fmix64(acc) >> np.uint64(32)))
    return count


@numba.njit(cache=True, inline="always")
def permutation_minima(shingles, start, end, a, b, row):
    """``row[k] = min over shingles[start:end] of a[k] * h + b[k] (mod 2**32)`` (EMPTY for none).
    Worst case: O(shingles * num_perm)."""
    for k in range(a.shape[0]):
        ak = a[k]
        bk = b[k]
        low = EMPTY
        for s in range(start, end):
            v = np.uint32(ak * shingles[s] + bk)
            if v < low:  # noqa: PLR1730 - the compiled loop as benchmarked
                low = v
        row[k] = low


@numba.njit(cache=True)
def minhash_signatures(data, offsets, table, flags, ngram, a, b, out, counts):
    """MinHash rows ``out[d, k] = min over shingles of a[k] * fmix32(h) + b[k] (mod 2**32)``.
    Worst case: O(bytes * num_perm) (a text of b bytes has at most b shingles)."""
    longest = 1
    for d in range(offsets.shape[0] - 1):
        longest = max(longest, offsets[d + 1] - offsets[d] + 1)
    words = np.empty(longest, dtype=np.uint64)
    shingles = np.empty(longest, dtype=np.uint32)
    for d in range(offsets.shape[0] - 1):
        count = _shingle_hashes(
            data, offsets[d], offsets[d + 1], table, flags, ngram, words, shingles
        )
        counts[d] = count
        permutation_minima(shingles, 0, count, a, b, out[d])
