"""Repetition measures of Gopher (Rae et al. 2021, App. A): duplicated elements and n-grams.

N-grams are compared through 64-bit rolling hashes of word ids computed with NumPy, one vector
operation per ``n``; two different n-grams share a hash with probability about 2^-64 per pair.
"""

from __future__ import annotations

import numpy as np

_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
_MIX = np.uint64(0xBF58476D1CE4E5B9)


def duplicates(items: list[str]) -> tuple[int, int]:
    """How many items repeat an earlier one, and how many characters those repeats hold.
    Worst case: O(total characters) (each item hashed once, compared only on equal hashes)."""
    seen: set[str] = set()
    count = chars = 0
    for item in items:
        if item in seen:
            count += 1
            chars += len(item)
        else:
            seen.add(item)
    return count, chars


class NgramIndex:
    """The words of one document, ready for n-gram counts at several ``n``.
    Building it costs O(W + characters) for W words."""

    def __init__(self, words: list[str]) -> None:
        # str hashes are cached by Python and equal for equal strings within the process
        ids = np.fromiter(map(hash, words), dtype=np.int64, count=len(words)).view(np.uint64)
        with np.errstate(over="ignore"):
            self._unigrams = (ids ^ (ids >> np.uint64(31))) * _MIX
        self._keys = self._unigrams
        self._n = 1
        self.offsets = np.zeros(len(words) + 1, dtype=np.int64)
        np.cumsum(
            np.fromiter(map(len, words), dtype=np.int64, count=len(words)), out=self.offsets[1:]
        )

    def keys(self, n: int) -> np.ndarray:
        """One hash per n-gram position (``len(words) - n + 1`` of them); the keys of the last n
        asked are kept, so asking n in increasing order builds each from the one before.
        Worst case: O(W) per step of n (one vector operation each)."""
        if n < self._n:  # another user of a shared index: start again from the words
            self._keys, self._n = self._unigrams, 1
        with np.errstate(over="ignore"):
            while self._n < n:
                self._keys = self._keys[:-1] * _MULTIPLIER + self._unigrams[self._n :]
                self._n += 1
        return self._keys

    def span_chars(self, start: np.ndarray | int, n: int) -> np.ndarray | int:
        """Characters of the n words from ``start`` (spaces not counted)."""
        return self.offsets[start + n] - self.offsets[start]

    def top_ngram_chars(self, n: int) -> int:
        """Characters covered by the most frequent n-gram (its length with single spaces, times its
        count); among equally frequent n-grams, the one that occurs first.
        Worst case: O(W log W) (np.unique sorts the W hashes)."""
        keys = self.keys(n)
        if len(keys) == 0:
            return 0
        _, first, counts = np.unique(keys, return_index=True, return_counts=True)
        best = counts.max()
        position = int(first[counts == best].min())
        return int((self.span_chars(position, n) + n - 1) * best)

    def duplicate_ngram_chars(self, n: int) -> int:
        """Characters of the words inside n-grams that repeat an earlier, non-overlapping n-gram.

        Scanning left to right, an n-gram seen before adds its characters and the scan jumps past
        it, so overlapping repeats count once. Only positions of n-grams occurring more than once
        can change the result, so the scan visits those alone.
        Worst case: O(W log W) (np.unique sorts the W hashes; the scan is one pass).
        """
        keys = self.keys(n)
        if len(keys) < 2:
            return 0
        _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        repeated = np.flatnonzero(counts[inverse] > 1)
        if len(repeated) == 0:
            return 0
        seen: set[int] = set()
        chars = 0
        skip_until = 0
        for position, key in zip(repeated.tolist(), keys[repeated].tolist()):
            if position < skip_until:
                continue
            if key in seen:
                chars += int(self.span_chars(position, n))
                skip_until = position + n
            else:
                seen.add(key)
        return chars
