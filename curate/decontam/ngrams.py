"""An index of the word n-grams of evaluation items, and the lookup of a training text in it.

Words are maximal runs of word characters (``\\w``: letters, digits, underscore), lower-cased, so
case, punctuation and white space do not matter, as in GPT-3's overlap analysis (Brown et al.
2020, appendix C) and NeMo Curator's ``TaskDecontamination``; the default n of 13 is theirs.

Each word of the items' vocabulary gets a fixed pseudo-random 64-bit value (SplitMix64 of its
id, ids numbered in order of first sight in the files); an n-gram's hash is
``sum(value[w_k] * M_k) mod 2**64`` over its n words with odd multipliers ``M_k``, so a window
slides over a text as n vectorised multiply-adds. A window holding a word outside the
vocabulary cannot match and is skipped before the lookup. The index is a sorted ``uint64`` array
of hashes with, per hash, the first item holding it (8 + 4 bytes per distinct n-gram), and a
bitmap of the hashes' top bits (16 bits per n-gram, one random read per lookup) that answers
most misses, so that only its few false positives and the true hits take a binary search.
Items shorter than n words have no n-gram and are counted as ``short``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

import numpy as np

from scratchlm.curate.decontam.evalfile import iter_eval_file
from scratchlm.curate.dedup.store import group_starts
from scratchlm.curate.errors import ConfigError

WORD_RE = re.compile(r"\w+")
SEED = 0x5C0A7C4  # fixes the multipliers: the same text always hashes the same
UNKNOWN = 0  # word id of words outside the vocabulary (and of segment separators)
BUILD_CHUNK_WORDS = 1 << 20  # words hashed at once while building
ARRAYS = ("hashes", "items", "bitmap", "item_file", "item_line")  # saved as <name>.npy
INDEX_FILE = "index.json"  # an index folder's n, files, vocabulary; written after the arrays
BITMAP_BITS_PER_NGRAM = 16  # false positive rate about 1 - exp(-1/16), 6%, or less


# ASCII characters other than letters, digits and underscore, to a space: ASCII text is split by
# ``str.translate`` + ``split`` (CPython's ASCII fast paths), 2-3x faster than the regex
_ASCII_NON_WORD = str.maketrans(
    {c: " " for c in range(128) if not (chr(c).isalnum() or chr(c) == "_")}
)


def words_of(text: str) -> list[str]:
    """The normalised words of ``text``: the ``\\w+`` runs, lower-cased. Worst case: O(n)."""
    if text.isascii():
        return text.lower().translate(_ASCII_NON_WORD).split()
    found = WORD_RE.findall(text)
    # \w runs hold no space and lower() makes none, so one lower() over the joined words is safe
    return " ".join(found).lower().split(" ") if found else []


def word_spans(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """The normalised words of ``text`` with their character spans in it. Worst case: O(n)."""
    matches = list(WORD_RE.finditer(text))
    words = " ".join(m.group() for m in matches).lower().split(" ") if matches else []
    return words, [m.span() for m in matches]


@dataclass(frozen=True)
class Match:
    """The first n-gram of a text found in the index."""

    item: int  # global item number
    windows: np.ndarray  # start word of every matching window, ascending


def splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's output function (Steele et al. 2014), vectorised: a word id to its 64-bit
    value."""
    z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def multipliers(n: int) -> np.ndarray:
    """The n odd multipliers of the window hash."""
    return np.random.default_rng(SEED).integers(0, 2**63, size=n, dtype=np.uint64) * np.uint64(
        2
    ) + np.uint64(1)


def first_of_runs(values: np.ndarray) -> np.ndarray:
    """Positions where a sorted array's value changes: its distinct values' first occurrences."""
    return np.flatnonzero(group_starts(values))


def bitmap_shift(count: int) -> int:
    """How far a hash is shifted right to give its bitmap position (at least 16 bits per hash)."""
    bits = max(count * BITMAP_BITS_PER_NGRAM, 64).bit_length()
    return 64 - bits


def build_bitmap(hashes: np.ndarray) -> np.ndarray:
    """One bit per value of the top bits of ``hashes`` (sorted), set where a hash has them."""
    shift = np.uint64(bitmap_shift(len(hashes)))
    bitmap = np.zeros(1 << (64 - int(shift) - 3), dtype=np.uint8)
    prefixes = hashes >> shift
    prefixes = prefixes[first_of_runs(prefixes)]
    byte = prefixes >> np.uint64(3)
    bit = np.left_shift(1, (prefixes & np.uint64(7)).astype(np.uint8)).astype(np.uint8)
    starts = first_of_runs(byte)
    if len(starts):
        bitmap[byte[starts]] = np.bitwise_or.reduceat(bit, starts)
    return bitmap


def window_hashes(
    ids: np.ndarray, values: np.ndarray, mults: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(start, hash) of every window of ``len(mults)`` words none of which is UNKNOWN.
    Worst case: O(W * len(mults)) for W words (one vectorised multiply-add per word of a window)."""
    n, count = len(mults), len(ids) - len(mults) + 1
    if count <= 0:
        return np.empty(0, np.int64), np.empty(0, np.uint64)
    unknown = np.concatenate(([0], np.cumsum(ids == UNKNOWN)))
    starts = np.flatnonzero(unknown[n:] == unknown[:-n])
    if not len(starts):
        return starts, np.empty(0, np.uint64)
    acc = np.zeros(count, dtype=np.uint64)
    for k in range(n):
        acc += values[k : k + count] * mults[k]
    return starts, acc[starts]


class NgramIndex:
    """Hashes of every n-gram of the items, with the first item holding each; built or loaded."""

    def __init__(
        self,
        n: int,
        vocab: dict[str, int],
        hashes: np.ndarray,
        items: np.ndarray,
        files: list[str],
        item_file: np.ndarray,
        item_line: np.ndarray,
        short: int,
        bitmap: np.ndarray | None = None,
    ) -> None:
        self.n = n
        self.vocab = vocab
        self.hashes = hashes  # uint64, sorted, distinct
        self.bitmap = build_bitmap(hashes) if bitmap is None else bitmap
        self.shift = np.uint64(bitmap_shift(len(hashes)))
        self.items = items  # int32, the first item of each hash
        self.files = files  # file names (no folders), as reasons name them
        self.item_file = item_file  # int32 per item: index into files
        self.item_line = item_line  # int32 per item: line in its file
        self.short = short  # items with fewer than n words
        self.mults = multipliers(n)
        self.values = splitmix64(np.arange(len(vocab) + 1))

    def find(self, words: Sequence[str]) -> Match | None:
        """The windows of ``words`` whose n-gram an item holds, and the item of the first one.
        Worst case: O(W * n + m log H): the windows' hashes, then a binary search among the H
        indexed hashes for each of the m windows that pass the bitmap."""
        if len(words) < self.n or not len(self.hashes):
            return None
        starts, hashes = self.windows(words)
        maybe = np.flatnonzero(self.in_bitmap(hashes))
        if not len(maybe):
            return None
        starts, hashes = starts[maybe], hashes[maybe]
        pos = np.searchsorted(self.hashes, hashes)
        pos[pos == len(self.hashes)] = 0
        hit = self.hashes[pos] == hashes
        if not hit.any():
            return None
        return Match(int(self.items[pos[np.argmax(hit)]]), starts[hit])

    def windows(self, words: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(start, hash) of the n-word windows of ``words`` made only of words the items hold.
        Worst case: O(W * n)."""
        ids = np.fromiter(
            map(self.vocab.get, words, repeat(UNKNOWN)), dtype=np.int64, count=len(words)
        )
        return window_hashes(ids, self.values[ids], self.mults)

    def in_bitmap(self, hashes: np.ndarray) -> np.ndarray:
        """Mask of the hashes whose top bits the bitmap holds: every indexed one, and about 6% of
        others. Worst case: O(len(hashes))."""
        prefixes = hashes >> self.shift
        return (
            self.bitmap[prefixes >> np.uint64(3)] >> (prefixes & np.uint64(7)).astype(np.uint8)
        ) & 1 == 1

    def item_name(self, item: int) -> str:
        """``file#line`` of a global item number."""
        return f"{self.files[self.item_file[item]]}#{self.item_line[item]}"

    def file_name(self, item: int) -> str:
        return self.files[self.item_file[item]]

    @property
    def nbytes(self) -> int:
        """Memory of the arrays (the vocabulary dict not included)."""
        arrays = (self.hashes, self.items, self.bitmap, self.item_file, self.item_line, self.values)
        return sum(a.nbytes for a in arrays)

    @classmethod
    def build(cls, paths: Sequence[str | Path], n: int) -> NgramIndex:
        """The index of every item of the evaluation files at ``paths``.
        Worst case: O(W * n + H log H) for W words of the items and H n-grams (one sort)."""
        names = [Path(p).name for p in paths]
        dupes = sorted({x for x in names if names.count(x) > 1})
        if dupes:
            raise ConfigError(
                f"evaluation files must have distinct names; given twice: {', '.join(dupes)}"
            )
        vocab: dict[str, int] = {}
        mults = multipliers(n)
        item_file: list[int] = []
        item_line: list[int] = []
        hashes: list[np.ndarray] = []
        owners: list[np.ndarray] = []
        ids: list[int] = []  # word ids of a chunk of items, segments separated by UNKNOWN
        owner: list[int] = []  # the item of each of those words
        short = 0

        def flush() -> None:
            id_array = np.asarray(ids, np.int64)
            starts, found = window_hashes(id_array, splitmix64(id_array), mults)
            hashes.append(found)
            owners.append(np.asarray(owner, np.int32)[starts])
            ids.clear()
            owner.clear()

        for file_no, path in enumerate(paths):
            for item in iter_eval_file(path):
                item_no = len(item_line)
                item_file.append(file_no)
                item_line.append(item.line)
                context = words_of(item.context)
                # the passage, or the context followed by each choice
                segments = [context + words_of(choice) for choice in item.choices] or [context]
                short += max(map(len, segments)) < n
                for words in segments:
                    for word in dict.fromkeys(words):
                        if word not in vocab:
                            vocab[word] = len(vocab) + 1
                    ids.extend(map(vocab.__getitem__, words))
                    ids.append(UNKNOWN)
                    owner.extend(repeat(item_no, len(words) + 1))
                if len(ids) >= BUILD_CHUNK_WORDS:
                    flush()
        flush()
        all_hashes, all_owners = np.concatenate(hashes), np.concatenate(owners)
        del hashes[:], owners[:]
        order = np.argsort(
            all_hashes, kind="stable"
        )  # items ascend within a hash: the first one wins
        all_hashes = all_hashes[order]
        all_owners = all_owners[order]
        del order
        first = first_of_runs(all_hashes)
        return cls(
            n,
            vocab,
            all_hashes[first],
            all_owners[first],
            names,
            np.asarray(item_file, np.int32),
            np.asarray(item_line, np.int32),
            short,
        )

    def save(self, folder: Path) -> None:
        """Write the index into ``folder`` (arrays as .npy, the rest as JSON)."""
        folder.mkdir(parents=True, exist_ok=True)
        for name in ARRAYS:
            np.save(folder / f"{name}.npy", getattr(self, name))
        words = sorted(self.vocab, key=self.vocab.__getitem__)
        meta = {"n": self.n, "files": self.files, "short": self.short, "vocab": words}
        (folder / INDEX_FILE).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> NgramIndex:
        """An index written by ``save``; the arrays are memory-mapped, so processes share their
        pages."""
        meta = json.loads((folder / INDEX_FILE).read_text(encoding="utf-8"))
        arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in ARRAYS}
        vocab = {word: i for i, word in enumerate(meta["vocab"], start=1)}
        return cls(meta["n"], vocab, files=meta["files"], short=meta["short"], **arrays)
