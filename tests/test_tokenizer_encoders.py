"""The shards' fast encoder against HF tokenizers: identical ids on every shipped document, the
fallback for tokenizers it cannot represent, and what the manifest records."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest
from resiliparse.extract.html2text import extract_plain_text
from tokenizers import normalizers
from warcio.archiveiterator import ArchiveIterator

from conftest import DATA, run_cli
from scratchlm.pipelines.executors.local import LocalExecutor
from scratchlm.tokenizer.config import BpeConfig, ShardConfig
from scratchlm.tokenizer.corpus import corpus_files
from scratchlm.tokenizer.encoders import (
    FastokensEncoder,
    TokenizersEncoder,
    fast_refusal,
    load_encoder,
)
from scratchlm.tokenizer.files import load_tokenizer
from scratchlm.tokenizer.sharding import shard_corpus
from scratchlm.tokenizer.train import train_bpe
from tokenizer_samples import HARD_STRINGS, code_point_texts, page_texts

pytest.importorskip("fastokens")
FAST_NAME = f"fastokens {version('fastokens')}"
EOS_TEXTS = [
    "a literal <|endoftext|> inside a document",
    "<|endoftext|>",
    "x<|endoftext|><|endoftext|>y",
]


def jsonl_texts(path: Path) -> list[str]:
    """Each record's ``text``; every string field of a record without one (preference pairs)."""
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        records = [json.loads(line) for line in stream]
    return [
        text
        for record in records
        for text in (
            [record["text"]]
            if "text" in record
            else [v for v in record.values() if isinstance(v, str)]
        )
    ]


@lru_cache(maxsize=1)
def warc_texts() -> list[str]:
    """The visible text of every response page of the sample WARC, as the read step extracts it."""
    texts = []
    with open(DATA / "web-sample.warc.gz", "rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type == "response":
                html = record.content_stream().read().decode("utf-8", errors="replace")
                texts.append(extract_plain_text(html))
    return texts


def shipped_corpora() -> Iterator[tuple[str, list[str]]]:
    """(name, documents) of every corpus shipped in tests/data."""
    files = sorted(DATA.rglob("*.jsonl.gz"))
    for path in files:
        yield str(path), jsonl_texts(path)
    yield "web-sample.warc.gz (extracted text)", warc_texts()
    yield "hard strings and raw Unicode pages", HARD_STRINGS + EOS_TEXTS + page_texts()


@pytest.fixture(scope="module")
def tokenizer_path(tmp_path_factory) -> Path:
    """An 8k byte-level BPE trained on the shipped prose, fortunes and pages."""
    texts = jsonl_texts(DATA / "prose" / "brown.jsonl.gz")[::4]
    texts += jsonl_texts(DATA / "langid-dev.jsonl.gz")
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    train_bpe(texts + warc_texts()[::4], BpeConfig(vocab_size=8192)).save(str(path))
    return path


def assert_same_ids(
    fast: FastokensEncoder, slow: TokenizersEncoder, name: str, texts: list[str]
) -> None:
    for start in range(0, len(texts), 512):
        batch = texts[start : start + 512]
        for i, (got, want) in enumerate(zip(fast.encode_batch(batch), slow.encode_batch(batch))):
            assert list(got) == want, f"{name}: document {start + i} encodes differently"


@pytest.mark.slow
def test_fast_ids_equal_tokenizers_ids_on_every_shipped_document(tokenizer_path) -> None:
    fast, slow = load_encoder(tokenizer_path), load_encoder(tokenizer_path, fast=False)
    assert isinstance(fast, FastokensEncoder) and fast.name == FAST_NAME
    documents = 0
    for name, texts in shipped_corpora():
        assert_same_ids(fast, slow, name, texts)
        documents += len(texts)
    assert documents >= 3_181  # at least tests/data's 3,165 texts, the hard strings and pages


@pytest.mark.slow
def test_fast_ids_equal_tokenizers_ids_around_every_code_point(tokenizer_path) -> None:
    fast, slow = load_encoder(tokenizer_path, threads=2), load_encoder(tokenizer_path, fast=False)
    assert_same_ids(fast, slow, "code points", code_point_texts())  # fast on two threads here


def test_a_literal_end_of_text_is_text_for_both(tokenizer_path) -> None:
    eos = load_tokenizer(tokenizer_path).token_to_id("<|endoftext|>")
    for encoder in (load_encoder(tokenizer_path), load_encoder(tokenizer_path, fast=False)):
        ids = [list(i) for i in encoder.encode_batch(EOS_TEXTS)]
        assert all(eos not in i for i in ids) and len(ids[2]) > 6, encoder.name


def edited(path: Path, folder: Path, change) -> Path:
    """A copy of a tokenizer.json with ``change`` applied to its JSON data."""
    spec = json.loads(path.read_text(encoding="utf-8"))
    change(spec)
    copy = folder / "tokenizer.json"
    folder.mkdir()
    copy.write_text(json.dumps(spec), encoding="utf-8")
    return copy


REFUSED = [
    ("normalizer NFC", lambda s: s.update(normalizer=json.loads(normalizers.NFC().__getstate__()))),
    ("pre-tokenizer", lambda s: s["pre_tokenizer"].update(add_prefix_space=True)),
    ("BPE options dropout", lambda s: s["model"].update(dropout=0.1)),
    ("BPE options ignore_merges", lambda s: s["model"].update(ignore_merges=True)),
    (
        "non-special added tokens ['<|pad|>']",
        lambda s: s["added_tokens"].append(
            {**s["added_tokens"][0], "id": 8192, "content": "<|pad|>", "special": False}
        ),
    ),
]


@pytest.mark.parametrize("reason, change", REFUSED, ids=[r for r, _ in REFUSED])
def test_what_the_fast_encoder_cannot_represent_goes_to_tokenizers(
    tokenizer_path, tmp_path, reason, change
) -> None:
    path = edited(tokenizer_path, tmp_path / "edited", change)
    assert fast_refusal(json.loads(path.read_text(encoding="utf-8"))).startswith(reason)
    encoder = load_encoder(path)
    assert isinstance(encoder, TokenizersEncoder)
    assert f"(fastokens does not take {reason}" in encoder.name


def write_jsonl(path: Path, texts: list[str]) -> Path:
    lines = (json.dumps({"id": f"d{i}", "text": t}) + "\n" for i, t in enumerate(texts))
    path.write_text("".join(lines))
    return path


def test_shards_are_byte_identical_and_the_manifest_names_the_encoder(
    tokenizer_path, tmp_path
) -> None:
    texts = jsonl_texts(DATA / "prose" / "kjv.jsonl.gz") + HARD_STRINGS + EOS_TEXTS
    files = corpus_files(
        [
            str(write_jsonl(tmp_path / "a.jsonl", texts[::2])),
            str(write_jsonl(tmp_path / "b.jsonl", texts[1::2])),
        ]
    )
    manifests = {}
    configs = {
        "auto": {},
        "tokenizers": {"encoder": "tokenizers"},
        "procs": {"parallel": "processes"},
    }
    for name, options in configs.items():
        config = ShardConfig(shard_tokens=200_000, val_fraction=0.2, **options)
        manifests[name] = shard_corpus(
            files, tokenizer_path, tmp_path / name, config, LocalExecutor(2), log=lambda *_: None
        )
    assert manifests["auto"]["encoders"] == manifests["procs"]["encoders"] == [FAST_NAME]
    tokenizers = f"tokenizers {version('tokenizers')}"
    assert manifests["tokenizers"]["encoders"] == [f"{tokenizers} (encoder: tokenizers)"]
    hashes = {name: [e["sha256"] for e in m["shards"]] for name, m in manifests.items()}
    assert hashes["auto"] == hashes["tokenizers"] == hashes["procs"] and len(hashes["auto"]) >= 4
    result = run_cli("shard", "verify", str(tmp_path / "auto"), "--samples", "10000")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_tokenizer_with_a_normalizer_shards_through_tokenizers(tokenizer_path, tmp_path) -> None:
    path = edited(
        tokenizer_path,
        tmp_path / "nfc",
        lambda s: s.update(normalizer=json.loads(normalizers.NFC().__getstate__())),
    )
    texts = ["combining e\u0301 and \u00e9", "plain text"]
    files = corpus_files([str(write_jsonl(tmp_path / "a.jsonl", texts))])
    manifest = shard_corpus(
        files,
        path,
        tmp_path / "shards",
        ShardConfig(val_fraction=0.0),
        LocalExecutor(1),
        log=lambda *_: None,
    )
    tokenizers = f"tokenizers {version('tokenizers')}"
    assert manifest["encoders"] == [f"{tokenizers} (fastokens does not take normalizer NFC)"]
    tokens = np.load(tmp_path / "shards" / manifest["shards"][0]["file"])
    encodings = load_tokenizer(path).encode_batch(texts, add_special_tokens=False)
    assert tokens.tolist() == [i for e in encodings for i in e.ids + [0]]
