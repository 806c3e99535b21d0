"""Fine-tuning data: labelled texts and Alpaca-style records read from files and encoded to token ids.

Files are a JSON list of objects or JSON Lines, optionally gzip/zstd compressed. A bad record
stops the run with one line naming the file, the record and the cause.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer

from curate.errors import ConfigError
from curate.readers.compression import open_binary
from model.instruct import record_prompt
from tokenizer.files import load_tokenizer, token_id



def read_records(path: Path) -> list[tuple[str, dict]]:
    """(where, record) for each object of a JSON array file or a JSON Lines file."""
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
                    raise ConfigError(f"{path}:{number}: not valid JSON ({err.msg})") from None
    for where, record in pairs:
        if not isinstance(record, dict):
            raise ConfigError(f"{where}: expected a JSON object, got {type(record).__name__}")
    if not pairs:
        raise ConfigError(f"{path}: no records")
    return pairs


@dataclass(frozen=True)
class TextTokenizer:
    """A ``tokenizer.json`` and its end-of-text id (also the padding id)."""
    tokenizer: Tokenizer
    eos_id: int

    @classmethod
    def load(cls, path: Path) -> "TextTokenizer":
        tokenizer = load_tokenizer(path)  # a literal "<|endoftext|>" in data is text, as in the shards
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


def encode_labelled(rows: list[tuple[str, str]], labels: list[str], tok: TextTokenizer,
                    path: Path) -> list[tuple[list[int], int]]:
    """(token ids, label index) pairs; a label unseen in training data is refused."""
    index = {label: i for i, label in enumerate(labels)}
    unknown = sorted({label for _, label in rows} - set(index))
    if unknown:
        raise ConfigError(f"{path}: label(s) {', '.join(unknown)} not in the training file "
                          f"(known: {', '.join(labels)})")
    ids = tok.encode([text for text, _ in rows])
    return [(i, index[label]) for i, (_, label) in zip(ids, rows) if i]


def instruction_pairs(path: Path, tok: TextTokenizer, block_size: int) -> tuple[list[tuple[list[int], list[int]]], int]:
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
