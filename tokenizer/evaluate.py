"""``scratchlm tokenizer eval``: bytes per token overall and per language, byte-fallback and
unknown-token shares, and round-trip exactness, over documents read from curated or raw files."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Iterable

from tokenizers import Tokenizer

from scratchlm.curate.document import Document
from scratchlm.curate.stage import iter_batches
from scratchlm.tokenizer.didactic import CHAR_TO_BYTE

HEX_BYTE_TOKEN = re.compile(
    r"<0x[0-9A-Fa-f]{2}>"
)  # byte fallback tokens of sentencepiece-style BPE
ALL = "all"


@dataclass
class EvalStats:
    docs: int = 0
    bytes: int = 0
    tokens: int = 0
    byte_fallback: int = 0
    unknown: int = 0
    exact: int = 0

    def add(self, other: "EvalStats") -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def bytes_per_token(self) -> float:
        return self.bytes / self.tokens if self.tokens else 0.0

    def row(self, lang: str) -> dict:
        tokens = max(self.tokens, 1)
        return {
            "lang": lang,
            "docs": self.docs,
            "bytes": self.bytes,
            "tokens": self.tokens,
            "bytes_per_token": round(self.bytes_per_token, 4),
            "byte_fallback_share": round(self.byte_fallback / tokens, 6),
            "unknown_share": round(self.unknown / tokens, 6),
            "round_trip_exact": f"{self.exact}/{self.docs}",
        }


def byte_fallback_ids(tokenizer: Tokenizer) -> set[int]:
    """Ids of tokens that stand for one byte of a multi-byte character (the vocabulary lacked it
    whole)."""
    config = json.loads(tokenizer.to_str())
    byte_level = (config.get("pre_tokenizer") or {}).get("type") == "ByteLevel"
    ids = set()
    for token, i in tokenizer.get_vocab(with_added_tokens=False).items():
        if byte_level and len(token) == 1 and CHAR_TO_BYTE.get(token, 0) >= 0x80:
            ids.add(i)
        elif HEX_BYTE_TOKEN.fullmatch(token):
            ids.add(i)
    return ids


def unknown_id(tokenizer: Tokenizer) -> int | None:
    unk = json.loads(tokenizer.to_str())["model"].get("unk_token")
    return tokenizer.token_to_id(unk) if unk else None


def evaluate(
    tokenizer: Tokenizer, docs: Iterable[Document], batch_docs: int = 256
) -> dict[str, EvalStats]:
    """Per-language (``meta.lang``, else ``unknown``) and overall statistics, streaming over
    ``docs``."""
    tokenizer.encode_special_tokens = (
        True  # score texts as text: a literal special token is not one
    )
    fallback, unk = byte_fallback_ids(tokenizer), unknown_id(tokenizer)
    stats: dict[str, EvalStats] = {ALL: EvalStats()}
    for batch in iter_batches(docs, batch_docs):
        # Encoding.ids builds a new list on every access: take each once
        all_ids = [
            e.ids
            for e in tokenizer.encode_batch_fast(
                [doc.text for doc in batch], add_special_tokens=False
            )
        ]
        decoded = tokenizer.decode_batch(all_ids, skip_special_tokens=False)
        for doc, ids, text in zip(batch, all_ids, decoded):
            one = EvalStats(
                docs=1,
                bytes=len(doc.text.encode("utf-8")),
                tokens=len(ids),
                byte_fallback=sum(i in fallback for i in ids),
                unknown=ids.count(unk) if unk is not None else 0,
                exact=int(text == doc.text),
            )
            stats[ALL].add(one)
            stats.setdefault(str(doc.meta.get("lang", "unknown")), EvalStats()).add(one)
    return stats


def eval_table(stats: dict[str, EvalStats]) -> str:
    header = (
        "lang",
        "docs",
        "MB",
        "tokens",
        "bytes/token",
        "byte-fallback",
        "unknown",
        "round-trip",
    )
    rows = [header]
    for lang in [ALL, *sorted(k for k in stats if k != ALL)]:
        s = stats[lang]
        tokens = max(s.tokens, 1)
        rows.append(
            (
                lang,
                f"{s.docs:,}",
                f"{s.bytes / 1e6:.2f}",
                f"{s.tokens:,}",
                f"{s.bytes_per_token:.3f}",
                f"{100 * s.byte_fallback / tokens:.2f}%",
                f"{100 * s.unknown / tokens:.2f}%",
                f"{s.exact}/{s.docs}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
        for r in rows
    )
