"""A didactic byte-level BPE in pure Python: the algorithm the fast path runs, written to be read.

Byte-pair encoding (Sennrich et al. 2016, as GPT-2 applies it to bytes, Radford et al. 2019):

1. **Pre-tokenise**: GPT-2's regex cuts text into words (a leading space stays with its word),
   numbers, punctuation runs and whitespace; merges never cross these pieces.
2. **Start from bytes**: every word is its UTF-8 bytes, so the 256 byte tokens cover any text
   and nothing is ever unknown.
3. **Merge loop**: count every adjacent pair of tokens over all words (weighted by how often the
   word occurs), merge the most frequent pair into a new token, update the counts, repeat until
   the vocabulary is full or no pair occurs ``min_frequency`` times.
4. **Encode** a word by applying the learnt merges in the order they were learnt (lowest rank
   first) until none applies; **decode** by joining the tokens' bytes.

The tokenizer saves to and loads from the HF ``tokenizer.json`` layout (byte-level pre-tokeniser
and decoder, BPE model), so the fast tokenizer can load what this one trains and vice versa;
the tests hold the two against each other.
"""

from __future__ import annotations

import heapq
import json
from collections import Counter, defaultdict
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import regex

from scratchlm.tokenizer.config import EOS_TOKEN

# GPT-2's pre-tokenisation pattern (openai/gpt-2 src/encoder.py), also HF's ByteLevel default.
GPT2_PATTERN = regex.compile(
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
)


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's map from each byte to a printable character, so tokens read as strings in JSON.

    Printable Latin-1 bytes stand for themselves; the other 68 (controls, space, ...) are moved
    to code points 256, 257, ... in byte order, so a space becomes 'Ġ' and a newline 'Ċ'.
    """
    printable = {
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    }
    mapping: dict[int, str] = {}
    shifted = 0
    for byte in range(256):
        if byte in printable:
            mapping[byte] = chr(byte)
        else:
            mapping[byte] = chr(256 + shifted)
            shifted += 1
    return mapping


BYTE_TO_CHAR = bytes_to_unicode()
CHAR_TO_BYTE = {char: byte for byte, char in BYTE_TO_CHAR.items()}

Pair = tuple[int, int]


def pretokenize(text: str) -> list[str]:
    return GPT2_PATTERN.findall(text)


def merge_pair(tokens: list[int], pair: Pair, new_id: int) -> list[int]:
    """Replace every occurrence of ``pair`` in ``tokens``, left to right, by ``new_id``."""
    merged: list[int] = []
    i = 0
    while i < len(tokens):
        if i + 1 < len(tokens) and (tokens[i], tokens[i + 1]) == pair:
            merged.append(new_id)
            i += 2
        else:
            merged.append(tokens[i])
            i += 1
    return merged


class DidacticBPE:
    """Vocabulary (id -> bytes), merges in rank order, and special tokens (matched before BPE)."""

    def __init__(
        self, vocab: dict[int, bytes], merges: list[Pair], special_tokens: dict[str, int]
    ) -> None:
        self.vocab = vocab
        self.merges = merges
        self.special_tokens = special_tokens
        self.ranks = {pair: rank for rank, pair in enumerate(merges)}
        ids = {token: i for i, token in vocab.items()}
        self.merged_id = {pair: ids[vocab[pair[0]] + vocab[pair[1]]] for pair in merges}
        self.byte_ids = [ids[bytes([b])] for b in range(256)]
        alternatives = "|".join(
            regex.escape(t) for t in sorted(special_tokens, key=len, reverse=True)
        )
        self.special_pattern = regex.compile(f"({alternatives})") if special_tokens else None
        self._encode_word = lru_cache(maxsize=1 << 16)(self._encode_word_uncached)

    # ---- training -------------------------------------------------------------------------

    @classmethod
    def train(
        cls,
        texts: Iterable[str],
        vocab_size: int,
        min_frequency: int = 2,
        special_tokens: Iterable[str] = (EOS_TOKEN,),
    ) -> "DidacticBPE":
        """Learn merges until the vocabulary holds ``vocab_size`` tokens (specials + 256 bytes +
        merges)."""
        specials = {token: i for i, token in enumerate(special_tokens)}
        base = len(specials)
        vocab = {base + b: bytes([b]) for b in range(256)}
        vocab.update({i: token.encode("utf-8") for token, i in specials.items()})

        # each distinct pre-token once, as a list of byte token ids, with how often it occurs
        word_counts = Counter(word for text in texts for word in pretokenize(text))
        words = [[base + b for b in word.encode("utf-8")] for word in word_counts]
        freqs = list(word_counts.values())

        # pair -> weighted count, and pair -> the words it occurs in
        pair_counts: Counter[Pair] = Counter()
        where: dict[Pair, set[int]] = defaultdict(set)
        for index, (word, freq) in enumerate(zip(words, freqs)):
            for pair in zip(word, word[1:]):
                pair_counts[pair] += freq
                where[pair].add(index)

        # a max-heap of (count, pair) with stale entries skipped when popped; ties: smallest pair
        heap = [(-count, pair) for pair, count in pair_counts.items()]
        heapq.heapify(heap)
        merges: list[Pair] = []
        while len(vocab) < vocab_size and heap:
            negative, pair = heapq.heappop(heap)
            if pair_counts.get(pair, 0) != -negative:
                continue  # stale: the count changed after this entry was pushed
            if -negative < min_frequency:
                break
            new_id = len(vocab)
            vocab[new_id] = vocab[pair[0]] + vocab[pair[1]]
            merges.append(pair)
            changed: set[Pair] = set()
            for index in where.pop(pair):
                word, freq = words[index], freqs[index]
                merged = merge_pair(word, pair, new_id)
                if merged == word:
                    continue
                for old in zip(word, word[1:]):
                    pair_counts[old] -= freq
                    changed.add(old)
                for new in zip(merged, merged[1:]):
                    pair_counts[new] += freq
                    where[new].add(index)
                    changed.add(new)
                words[index] = merged
            for other in changed:
                count = pair_counts[other]
                if count > 0:
                    heapq.heappush(heap, (-count, other))
                else:
                    del pair_counts[other]
        return cls(vocab, merges, specials)

    # ---- encoding and decoding ------------------------------------------------------------

    def _encode_word_uncached(self, word: str) -> tuple[int, ...]:
        """One pre-token: its bytes, then the lowest-ranked applicable merge, again and again."""
        tokens = [self.byte_ids[b] for b in word.encode("utf-8")]
        while len(tokens) > 1:
            pairs = list(zip(tokens, tokens[1:]))
            best = min(pairs, key=lambda pair: self.ranks.get(pair, len(self.ranks)))
            if best not in self.ranks:
                break
            tokens = merge_pair(tokens, best, self.merged_id[best])
        return tuple(tokens)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``; special tokens in the text become their single id."""
        pieces = self.special_pattern.split(text) if self.special_pattern else [text]
        ids: list[int] = []
        for position, piece in enumerate(pieces):
            if position % 2:  # split() puts the matched special tokens at odd positions
                ids.append(self.special_tokens[piece])
                continue
            for word in pretokenize(piece):
                ids.extend(self._encode_word(word))
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        """The text of ``ids``; bytes that are not valid UTF-8 on their own become U+FFFD."""
        return b"".join(self.vocab[i] for i in ids).decode("utf-8", errors="replace")

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    # ---- tokenizer.json -------------------------------------------------------------------

    def _token_string(self, i: int) -> str:
        if i in self.special_tokens.values():
            return self.vocab[i].decode("utf-8")
        return "".join(BYTE_TO_CHAR[b] for b in self.vocab[i])

    def to_json(self) -> dict:
        """The HF ``tokenizer.json`` layout of a GPT-2 style byte-level BPE."""
        byte_level = {
            "type": "ByteLevel",
            "add_prefix_space": False,
            "trim_offsets": True,
            "use_regex": True,
        }
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [
                {
                    "id": i,
                    "content": token,
                    "single_word": False,
                    "lstrip": False,
                    "rstrip": False,
                    "normalized": False,
                    "special": True,
                }
                for token, i in self.special_tokens.items()
            ],
            "normalizer": None,
            "pre_tokenizer": byte_level,
            "post_processor": None,
            "decoder": {**byte_level, "add_prefix_space": True},
            "model": {
                "type": "BPE",
                "dropout": None,
                "unk_token": None,
                "continuing_subword_prefix": None,
                "end_of_word_suffix": None,
                "fuse_unk": False,
                "byte_fallback": False,
                "ignore_merges": False,
                "vocab": {self._token_string(i): i for i in sorted(self.vocab)},
                "merges": [[self._token_string(a), self._token_string(b)] for a, b in self.merges],
            },
        }

    def save(self, path: Path | str) -> None:
        Path(path).write_text(json.dumps(self.to_json(), ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: Path | str) -> "DidacticBPE":
        """Read a byte-level BPE ``tokenizer.json``, whether this class or HF ``tokenizers`` wrote
        it."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        model, pre = data.get("model", {}), data.get("pre_tokenizer") or {}
        if model.get("type") != "BPE" or pre.get("type") != "ByteLevel":
            raise ValueError(
                f"{path}: not a byte-level BPE tokenizer (model {model.get('type')}, "
                f"pre-tokenizer {pre.get('type')})"
            )
        specials = {t["content"]: t["id"] for t in data.get("added_tokens", [])}
        vocab = {
            i: token.encode("utf-8") if token in specials else bytes(CHAR_TO_BYTE[c] for c in token)
            for token, i in model["vocab"].items()
        }
        vocab.update({i: token.encode("utf-8") for token, i in specials.items()})
        ids = model["vocab"]
        merges = []
        for merge in model["merges"]:
            left, right = merge.split(" ", 1) if isinstance(merge, str) else merge
            merges.append((ids[left], ids[right]))
        return cls(vocab, merges, specials)
