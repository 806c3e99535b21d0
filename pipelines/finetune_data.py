"""Fine-tuning data: labelled texts, Alpaca-style records and preference pairs read from files and
encoded to token ids.

Files are a JSON list of objects or JSON Lines, optionally gzip/zstd compressed. A bad labelled text
or instruction record stops the run with one line naming the file, the record and the cause; a bad
preference record is counted with its reason and left out.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tokenizers import Tokenizer

from scratchlm.curate.errors import ConfigError
from scratchlm.curate.readers.compression import open_binary
from scratchlm.model.dpo import Preference, preference_texts
from scratchlm.model.errors import ModelError
from scratchlm.model.instruct import record_prompt
from scratchlm.tokenizer.files import load_tokenizer, token_id


@dataclass
class Rejects:
    """Records left out of a run, counted by reason, with the first record of each reason."""

    counts: Counter = field(default_factory=Counter)
    first: dict[str, str] = field(default_factory=dict)

    def add(self, reason: str, where: str) -> None:
        self.counts[reason] += 1
        self.first.setdefault(reason, where)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        """``N rejected: K reason (first: where); ...`` or ``none rejected``."""
        if not self.counts:
            return "none rejected"
        parts = [
            f"{count} {reason} (first: {self.first[reason]})"
            for reason, count in self.counts.most_common()
        ]
        return f"{self.total} rejected: " + "; ".join(parts)


def read_records(path: Path, rejects: Rejects | None = None) -> list[tuple[str, dict]]:
    """(where, record) for each object of a JSON array file or a JSON Lines file.

    A line that is not JSON or a record that is not an object stops the run, or with ``rejects``
    is counted there and left out.
    """

    def bad(where: str, reason: str) -> None:
        if rejects is None:
            raise ConfigError(f"{where}: {reason}")
        rejects.add(reason, where)

    try:
        with open_binary(str(path)) as stream:
            text = stream.read().decode("utf-8")
    except (OSError, UnicodeDecodeError, EOFError) as err:
        raise ConfigError(f"{path}: unreadable ({err})") from None
    if text.lstrip().startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(f"{path}: not valid JSON ({err})") from None
        pairs = [(f"{path}: record {i + 1}", r) for i, r in enumerate(records)]
    else:
        pairs = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    pairs.append((f"{path}:{number}", json.loads(line)))
                except json.JSONDecodeError as err:
                    bad(f"{path}:{number}", f"not valid JSON ({err.msg})")
    if not pairs and (rejects is None or not rejects.total):
        raise ConfigError(f"{path}: no records")
    kept = []
    for where, record in pairs:
        if isinstance(record, dict):
            kept.append((where, record))
        else:
            bad(where, f"expected a JSON object, got {type(record).__name__}")
    return kept


@dataclass(frozen=True)
class TextTokenizer:
    """A ``tokenizer.json`` and its end-of-text id (also the padding id)."""

    tokenizer: Tokenizer
    eos_id: int

    @classmethod
    def load(cls, path: Path) -> TextTokenizer:
        tokenizer = load_tokenizer(
            path
        )  # a literal "<|endoftext|>" in data is text, as in the shards
        return cls(tokenizer, token_id(tokenizer, path))

    def encode(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=False)


def labelled_texts(path: Path, text_field: str, label_field: str) -> list[tuple[str, str]]:
    """(text, label as text) of each record; a missing field names the record."""
    out = []
    for where, record in read_records(path):
        text, label = record.get(text_field), record.get(label_field)
        if not isinstance(text, str) or not text:
            raise ConfigError(f"{where}: field {text_field!r} missing, empty or not text")
        if label is None or isinstance(label, (dict, list)):
            raise ConfigError(f"{where}: field {label_field!r} missing or not a single value")
        out.append((text, str(label)))
    return out


def encode_labelled(
    rows: list[tuple[str, str]], labels: list[str], tok: TextTokenizer, path: Path
) -> list[tuple[list[int], int]]:
    """(token ids, label index) pairs; a label unseen in training data is refused."""
    index = {label: i for i, label in enumerate(labels)}
    unknown = sorted({label for _, label in rows} - set(index))
    if unknown:
        raise ConfigError(
            f"{path}: label(s) {', '.join(unknown)} not in the training file "
            f"(known: {', '.join(labels)})"
        )
    ids = tok.encode([text for text, _ in rows])
    return [(i, index[label]) for i, (_, label) in zip(ids, rows) if i]


def instruction_pairs(
    path: Path, tok: TextTokenizer, block_size: int
) -> tuple[list[tuple[list[int], list[int]]], int]:
    """(prompt ids, response ids + EOS) of each record, and the count dropped because the prompt
    alone fills the context (no response token would be learned)."""
    prompts, responses = [], []
    for where, record in read_records(path):
        prompt, response = record_prompt(record, where)
        prompts.append(prompt)
        responses.append(response)
    pairs = [(p, r + [tok.eos_id]) for p, r in zip(tok.encode(prompts), tok.encode(responses))]
    kept = [pair for pair in pairs if len(pair[0]) < block_size]
    return kept, len(pairs) - len(kept)


def preference_pairs(
    path: Path, tok: TextTokenizer, block_size: int, rejects: Rejects
) -> list[Preference]:
    """(prompt ids, chosen ids + EOS, rejected ids + EOS) of each good record; the others counted in
    ``rejects``: malformed, a prompt that fills the context, or answers that differ only past it."""
    wheres, texts = [], []
    for where, record in read_records(path, rejects):
        try:
            texts.append(preference_texts(record))
            wheres.append(where)
        except ModelError as err:
            rejects.add(str(err), where)
    if not texts:
        return []
    prompts, chosen, rejected = (tok.encode(list(column)) for column in zip(*texts))
    pairs = []
    for where, p, c, r in zip(wheres, prompts, chosen, rejected):
        c, r = c + [tok.eos_id], r + [tok.eos_id]
        if len(p) >= block_size:
            rejects.add(f"prompt fills the {block_size}-token context", where)
        elif (p + c)[: block_size + 1] == (p + r)[: block_size + 1]:
            reason = f"chosen and rejected differ only past the {block_size}-token context"
            rejects.add(reason, where)
        else:
            pairs.append((p, c, r))
    return pairs
