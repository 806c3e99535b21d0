"""Sharding curated documents into token arrays: completeness, split stability, resume, verify."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer

from conftest import run_cli
from scratchlm.curate.errors import ConfigError
from scratchlm.pipelines.executors.local import LocalExecutor
from scratchlm.pipelines.recipe import parse_recipe
from scratchlm.pipelines.runner import run_curation
from scratchlm.tokenizer.config import BpeConfig, ShardConfig
from scratchlm.tokenizer.corpus import corpus_files, iter_documents
from scratchlm.tokenizer.shard_format import (
    load_manifest,
    open_offsets,
    open_tokens,
    shard_entries,
    split_of,
    token_dtype,
)
from scratchlm.tokenizer.sharding import shard_corpus
from scratchlm.tokenizer.train import train_to_folder
from tokenizer_samples import HARD_STRINGS, prose

CONFIG = ShardConfig(shard_tokens=6_000, val_fraction=0.3)
IN_PROCESSES = ShardConfig(shard_tokens=6_000, val_fraction=0.3, parallel="processes")


def write_jsonl(path: Path, texts: list[str], prefix: str) -> Path:
    path.write_text(
        "".join(json.dumps({"id": f"{prefix}-{i}", "text": t}) + "\n" for i, t in enumerate(texts))
    )
    return path


def curate(inputs: list[Path], output: Path) -> Path:
    recipe = parse_recipe({"name": "t", "steps": [{"read": {}}]})
    return run_curation(
        recipe, [str(p) for p in inputs], output, LocalExecutor(1), log=lambda *_: None
    ).final_dir


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> list[Path]:
    """Three input files: prose cut into paragraphs, and hard Unicode with a literal EOS and an
    empty text."""
    folder = tmp_path_factory.mktemp("raw")
    paragraphs = [p for text in prose(120_000, stride=11) for p in text.split("\n\n") if p.strip()]
    odd = HARD_STRINGS + ["a literal <|endoftext|> inside a document", "<|endoftext|>"]
    return [
        write_jsonl(folder / "a.jsonl", paragraphs[:200], "a"),
        write_jsonl(folder / "b.jsonl", paragraphs[200:400], "b"),
        write_jsonl(folder / "c.jsonl", odd, "c"),
    ]


@pytest.fixture(scope="module")
def curated(raw, tmp_path_factory) -> Path:
    return curate(raw, tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="module")
def tokenizer_path(curated, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tok")
    train_to_folder(corpus_files([str(curated)]), BpeConfig(vocab_size=600), folder)
    return folder / "tokenizer.json"


def shard_documents(folder: Path) -> dict[str, list[str]]:
    """Every document of every shard, decoded, by split, in shard order."""
    manifest = load_manifest(folder)
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    docs: dict[str, list[str]] = {"train": [], "val": []}
    for entry in shard_entries(manifest):
        tokens, offsets = open_tokens(folder, entry), open_offsets(folder, entry)
        ends = list(offsets[1:]) + [len(tokens)]
        for start, end in zip(offsets, ends):
            assert tokens[end - 1] == manifest["eos_id"]
            docs[entry.split].append(
                tokenizer.decode(tokens[start : end - 1].tolist(), skip_special_tokens=False)
            )
    return docs


def shard(
    files: list, tokenizer_path: Path, folder: Path, config: ShardConfig = CONFIG, workers: int = 1
) -> dict:
    """``shard_corpus`` of ``files`` into ``folder`` on ``workers`` local workers, quietly; the
    manifest."""
    return shard_corpus(
        files, tokenizer_path, folder, config, LocalExecutor(workers), log=lambda *_: None
    )


def source_documents(curated: Path) -> list:
    return [doc for f in corpus_files([str(curated)]) for doc in iter_documents(f)]


def test_every_document_appears_exactly_once(curated, tokenizer_path, tmp_path) -> None:
    files = corpus_files([str(curated)])
    manifest = shard(files, tokenizer_path, tmp_path / "shards", IN_PROCESSES, workers=2)
    sources = source_documents(curated)
    decoded = shard_documents(tmp_path / "shards")
    for split in ("train", "val"):
        expected = [d.text for d in sources if split_of(d.id, CONFIG.val_fraction) == split]
        assert decoded[split] == expected  # same documents, same order, exact text
        assert manifest["splits"][split]["docs"] == len(expected)
        assert manifest["splits"][split]["shards"] >= 2
    assert sum(manifest["splits"][s]["docs"] for s in ("train", "val")) == len(sources)
    for entry in shard_entries(manifest):
        tokens = open_tokens(tmp_path / "shards", entry)
        assert tokens.dtype == np.uint16 and len(tokens) == entry.tokens
        assert entry.tokens <= CONFIG.shard_tokens or entry.docs == 1
    assert not (tmp_path / "shards" / "_work").exists()


def test_split_is_stable_when_documents_are_added(raw, tokenizer_path, tmp_path) -> None:
    more = write_jsonl(tmp_path / "d.jsonl", prose(40_000, stride=13), "d")
    small = curate(raw, tmp_path / "small")
    large = curate(raw + [more], tmp_path / "large")
    config = ShardConfig(shard_tokens=50_000, val_fraction=0.3)
    for name, curated in (("s1", small), ("s2", large)):
        shard(corpus_files([str(curated)]), tokenizer_path, tmp_path / name, config)
    before, after = shard_documents(tmp_path / "s1"), shard_documents(tmp_path / "s2")
    for split in ("train", "val"):
        assert not Counter(before[split]) - Counter(after[split])  # no document left its split
    assert len(after["val"]) > len(before["val"]) and len(after["train"]) > len(before["train"])


class InterruptedExecutor(LocalExecutor):
    """Runs the first task, then stops as a killed run would."""

    def map(self, fn, items, desc=""):
        fn(items[0])
        raise KeyboardInterrupt


def test_resumed_run_writes_the_same_bytes(curated, tokenizer_path, tmp_path) -> None:
    files = corpus_files([str(curated)])
    shard(files, tokenizer_path, tmp_path / "whole")
    with pytest.raises(KeyboardInterrupt):
        shard_corpus(
            files,
            tokenizer_path,
            tmp_path / "resumed",
            IN_PROCESSES,
            InterruptedExecutor(2),
            log=lambda *_: None,
        )
    assert len(list((tmp_path / "resumed" / "_work").glob("part-*.done"))) == 1
    shard(files, tokenizer_path, tmp_path / "resumed", IN_PROCESSES, workers=2)
    whole = sorted(p.name for p in (tmp_path / "whole").iterdir())
    assert whole == sorted(p.name for p in (tmp_path / "resumed").iterdir())
    for name in whole:
        assert (tmp_path / "whole" / name).read_bytes() == (
            tmp_path / "resumed" / name
        ).read_bytes(), name
    with pytest.raises(ConfigError, match="other inputs"):
        shard(files[:1], tokenizer_path, tmp_path / "whole")


def test_verify_passes_then_names_the_altered_shard(curated, tokenizer_path, tmp_path) -> None:
    folder = tmp_path / "shards"
    shard(corpus_files([str(curated)]), tokenizer_path, folder)
    result = run_cli("shard", "verify", str(folder), "--samples", "4")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "8 sampled documents decode" in result.stdout
    victim = folder / "train-00001.npy"
    data = bytearray(victim.read_bytes())
    data[-3] ^= 0x01
    victim.write_bytes(bytes(data))
    result = run_cli("shard", "verify", str(folder))
    assert result.returncode == 1
    assert "train-00001.npy: sha256" in result.stdout
    assert "train-00000.npy" not in result.stdout


def test_verify_checks_offsets_and_decoding_beyond_checksums(
    curated, tokenizer_path, tmp_path
) -> None:
    folder = tmp_path / "shards"
    shard(corpus_files([str(curated)]), tokenizer_path, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    entry = manifest["shards"][0]
    offsets = np.load(folder / entry["docs_file"])
    offsets[1] += 1  # a document boundary moved by one token: checksums re-made to match
    np.save(folder / entry["docs_file"], offsets)
    entry["docs_sha256"] = hashlib.sha256((folder / entry["docs_file"]).read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))
    result = run_cli("shard", "verify", str(folder))
    assert result.returncode == 1
    assert f"{entry['file']}: a document does not end with the EOS token" in result.stdout


def test_verify_compares_sampled_documents_with_their_source(raw, tokenizer_path, tmp_path) -> None:
    inputs = [tmp_path / p.name for p in raw]
    for source, copy in zip(raw, inputs):
        copy.write_bytes(source.read_bytes())
    folder = tmp_path / "shards"
    shard(corpus_files([str(p) for p in inputs]), tokenizer_path, folder)
    result = run_cli("shard", "verify", str(folder), "--samples", "10000")  # every document
    assert result.returncode == 0, result.stdout + result.stderr
    lines = inputs[1].read_text().splitlines()
    record = json.loads(lines[3])
    record["text"] += " (edited after sharding)"
    lines[3] = json.dumps(record)
    inputs[1].write_text("\n".join(lines) + "\n")
    result = run_cli("shard", "verify", str(folder), "--samples", "10000")
    assert result.returncode == 1
    failures = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert (
        len(failures) == 1 and "b.jsonl" in failures[0] and "decoded tokens differ" in failures[0]
    )
    inputs[0].unlink()
    result = run_cli("shard", "verify", str(folder), "--samples", "10000")
    assert "a.jsonl: source not found, decode check skipped" in result.stdout


def test_recipe_sections_train_and_shard_then_resume(raw, tmp_path) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "name: t\nsteps:\n  - read: {}\nbpe: {vocab_size: 400}\n"
        "shard: {shard_tokens: 20000, val_fraction: 0.2}\n"
    )
    args = (
        "run",
        str(recipe),
        "--input",
        *map(str, raw),
        "--output",
        str(tmp_path / "run"),
        "--workers",
        "2",
    )
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    shards = tmp_path / "run" / "shards"
    manifest = load_manifest(shards)
    assert manifest["vocab_size"] == 400 and manifest["eos_id"] == 0
    assert f"(encoded with {', '.join(manifest['encoders'])})" in first.stdout
    assert manifest["tokenizer_sha256"] == load_manifest(shards)["plan"]["tokenizer_sha256"]
    assert run_cli("shard", "verify", str(shards)).returncode == 0
    before = {p.name: p.read_bytes() for p in shards.iterdir()}
    second = run_cli(*args)
    assert second.returncode == 0, second.stderr
    assert "bpe: already trained" in second.stdout and "shards already complete" in second.stdout
    assert before == {p.name: p.read_bytes() for p in shards.iterdir()}


def test_token_dtype_follows_the_vocabulary_size() -> None:
    assert token_dtype(65_535) == np.uint16 and token_dtype(65_536) == np.uint32
