"""A multiple-choice task from held-out prose: which of four sentences comes next?

Each item's context is a few consecutive sentences of a held-out document; the right choice is
the sentence that follows them there, the three others are sentences of other held-out
documents, of a similar length. Items are written in the plain layout that ``scratchlm eval
--task`` scores (``context``, ``choices``, ``answer``); items and distractors are chosen by
sha256 (a generator seeded with the item's), so the same texts give the same items.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Sequence
from typing import Any

SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z])")
MIN_WORDS, MAX_WORDS = 6, 30  # a candidate sentence's length
CONTEXT_SENTENCES, MAX_CONTEXT_WORDS = 3, 70


def sentences(text: str) -> list[str]:
    """A text's sentences: cut after ., ! or ? before a capital, whitespace collapsed."""
    return [" ".join(s.split()) for s in SENTENCE_END.split(text) if s.strip()]


def _rank(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8")).hexdigest()


def _fits(sentence: str) -> bool:
    return MIN_WORDS <= len(sentence.split()) <= MAX_WORDS and sentence[-1] in ".!?"


def next_sentence_items(
    texts: Sequence[str], max_items: int, choices: int = 4
) -> list[dict[str, Any]]:
    """Up to ``max_items`` items from ``texts`` (at most one per window of 4 sentences)."""
    docs = [sentences(t) for t in texts]
    by_length: dict[int, list[tuple[int, str]]] = {}
    for d, doc in enumerate(docs):
        for s in dict.fromkeys(doc):
            if _fits(s):
                by_length.setdefault(len(s.split()), []).append((d, s))
    candidates = []
    for d, doc in enumerate(docs):
        for i in range(CONTEXT_SENTENCES, len(doc), CONTEXT_SENTENCES + 1):
            context = " ".join(doc[i - CONTEXT_SENTENCES : i])
            if _fits(doc[i]) and len(context.split()) <= MAX_CONTEXT_WORDS:
                candidates.append((_rank("item", d, i), d, context, doc[i]))
    items = []
    for key, d, context, answer in sorted(candidates)[:max_items]:
        length, own = len(answer.split()), set(docs[d])
        near = [by_length.get(n, []) for n in range(length - 4, length + 5)]
        others = list(
            dict.fromkeys(s for group in near for doc, s in group if doc != d and s not in own)
        )
        if len(others) < choices - 1:
            continue
        wrong = random.Random(key).sample(others, choices - 1)
        position = int(key[:8], 16) % choices
        options = wrong[:position] + [answer] + wrong[position:]
        items.append({"context": context, "choices": options, "answer": position})
    return items
