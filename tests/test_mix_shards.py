"""Mixing token shard folders: shares to the document, epochs, determinism, refusals."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from scratchlm.tokenizer.mixing import MixError, mix_shards, open_source
from scratchlm.tokenizer.shard_format import load_manifest
from tests.mix_sources import source_folders


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return source_folders(tmp_path_factory.mktemp("sources"))


def documents(folder: Path, split: str, source: str | None = None) -> list[bytes]:
    """Every document of a split (of one source's entries, when given), as its tokens' bytes."""
    docs = []
    for entry in load_manifest(folder)["shards"]:
        if entry["split"] != split or entry.get("source") != source:
            continue
        tokens = np.load(folder / entry["file"])
        starts = np.load(folder / entry["docs_file"])
        for start, end in zip(starts, [*starts[1:], len(tokens)]):
            docs.append(tokens[start:end].tobytes())
    return docs


def mix(
    folders: dict[str, Path],
    out: Path,
    weights: dict[str, float],
    total: int | None,
    seed: int = 0,
    max_epochs: float = 4.0,
    shard_tokens: int = 5_000,
) -> dict:
    sources = [open_source(n, folders[n], w, max_epochs) for n, w in weights.items()]
    return mix_shards(
        sources,
        folders["brown"] / "tokenizer.json",
        out,
        total,
        seed,
        shard_tokens,
        log=lambda _: None,
    )


@pytest.mark.parametrize(
    "weights,total", [({"brown": 0.3, "kjv": 0.7}, 30_000), ({"brown": 0.8, "kjv": 0.2}, None)]
)
def test_shares_hold_to_one_document_and_epochs_repeat_whole(
    folders: dict[str, Path], tmp_path: Path, weights: dict[str, float], total: int | None
) -> None:
    manifest = mix(folders, tmp_path / "mix", weights, total, max_epochs=4.0 if total else 1.0)
    owner = {doc: name for name in weights for doc in documents(folders[name], "train")}
    written = Counter(documents(tmp_path / "mix", "train"))
    budget = manifest["mixture"]["budget_tokens"]
    listed = {s["name"]: s for s in manifest["mixture"]["sources"]}
    for name, weight in weights.items():
        source_docs = documents(folders[name], "train")
        tokens = sum(len(d) * written[d] for d in source_docs) // 2  # uint16 tokens
        longest = max(len(d) for d in source_docs) // 2
        assert abs(tokens - weight * budget) <= longest
        assert tokens == listed[name]["tokens"]
        epochs = listed[name]["epochs"]
        assert {written[d] for d in source_docs} <= {math.floor(epochs), math.floor(epochs) + 1}
        assert sum(written[d] for d in source_docs) == listed[name]["docs"]
    assert set(written) <= set(owner)  # nothing but the sources' documents
    for name in weights:  # each source keeps its own val split, as it was
        assert documents(tmp_path / "mix", "val", name) == documents(folders[name], "val")
    if total is None:  # everything once: the limiting source (brown) is used whole, once
        assert listed["brown"]["docs"] == listed["brown"]["epoch_docs"]


def test_same_seed_same_bytes_other_seed_other_order(
    folders: dict[str, Path], tmp_path: Path
) -> None:
    weights = {"brown": 0.5, "kjv": 0.5}
    first = mix(folders, tmp_path / "a", weights, 20_000, seed=7)
    again = mix(folders, tmp_path / "b", weights, 20_000, seed=7)
    other = mix(folders, tmp_path / "c", weights, 20_000, seed=8)
    for name in (e["file"] for e in first["shards"]):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert [e["sha256"] for e in first["shards"]] == [e["sha256"] for e in again["shards"]]
    assert [e["sha256"] for e in first["shards"] if e["split"] == "train"] != [
        e["sha256"] for e in other["shards"] if e["split"] == "train"
    ]


def test_interrupted_mix_resumes_to_the_same_bytes(
    folders: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights = {"brown": 0.5, "kjv": 0.5}
    whole = mix(folders, tmp_path / "whole", weights, 20_000)
    from scratchlm.tokenizer import mixing

    real, calls = mixing.write_npy, []

    def failing(*args, **kwargs):  # die while writing the third train shard
        calls.append(args[0])
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(mixing, "write_npy", failing)
    with pytest.raises(KeyboardInterrupt):
        mix(folders, tmp_path / "cut", weights, 20_000)
    monkeypatch.setattr(mixing, "write_npy", real)
    assert not (tmp_path / "cut" / "manifest.json").exists()
    resumed = mix(folders, tmp_path / "cut", weights, 20_000)
    assert resumed["shards"] == whole["shards"]
    for entry in whole["shards"]:
        assert (tmp_path / "cut" / entry["file"]).read_bytes() == (
            tmp_path / "whole" / entry["file"]
        ).read_bytes()


def test_too_many_epochs_refused_with_the_numbers(folders: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(MixError) as err:
        mix(folders, tmp_path / "mix", {"brown": 0.5, "kjv": 0.5}, 30_000, max_epochs=1.0)
    message = str(err.value)
    kjv = load_manifest(folders["kjv"])["splits"]["train"]["tokens"]
    assert f"source 'kjv' needs {15_000 / kjv:.2f} epochs" in message
    assert f"it holds {kjv:,} training tokens) but max_epochs is 1" in message
    assert "brown" not in message
    assert not (tmp_path / "mix").exists()


def test_other_tokenizer_refused_naming_the_source(
    folders: dict[str, Path], tmp_path: Path
) -> None:
    sources = [open_source(n, folders[n], 0.5, 4.0) for n in ("brown", "kjv")]
    other = tmp_path / "other.json"
    other.write_text("{}", encoding="utf-8")
    with pytest.raises(MixError, match="source 'brown': .* encoded with another tokenizer"):
        mix_shards(sources, other, tmp_path / "mix", 10_000, 0, 5_000)
    with pytest.raises(MixError, match="source 'web': .*no manifest"):
        open_source("web", tmp_path / "nowhere", 1.0, 1.0)
    assert not (tmp_path / "mix").exists()


def test_a_folder_of_another_mixture_is_refused_then_replaced(
    folders: dict[str, Path], tmp_path: Path
) -> None:
    first = mix(folders, tmp_path / "mix", {"brown": 0.5, "kjv": 0.5}, 20_000)
    assert mix(folders, tmp_path / "mix", {"brown": 0.5, "kjv": 0.5}, 20_000) == first
    with pytest.raises(MixError, match="holds shards of another mixture"):
        mix(folders, tmp_path / "mix", {"brown": 0.6, "kjv": 0.4}, 20_000)
    sources = [open_source(n, folders[n], w, 4.0) for n, w in (("brown", 0.6), ("kjv", 0.4))]
    other = mix_shards(
        sources,
        folders["brown"] / "tokenizer.json",
        tmp_path / "mix",
        20_000,
        0,
        5_000,
        log=lambda _: None,
        replace=True,
    )
    assert [s["weight"] for s in other["mixture"]["sources"]] == [0.6, 0.4]
