"""Exact and MinHash dedup steps run by the real runner over real prose split across files."""

from __future__ import annotations

import gzip
import json
import random
import signal
import subprocess
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from scratchlm.curate.errors import ConfigError
from scratchlm.pipelines.executors.local import LocalExecutor
from scratchlm.pipelines.recipe import parse_recipe
from scratchlm.pipelines.runner import run_curation
from tests.conftest import run_cli, run_curate, start_curate


def brown(data_dir: Path, n: int) -> list[dict]:
    with gzip.open(data_dir / "prose" / "brown.jsonl.gz", "rt", encoding="utf-8") as f:
        return [json.loads(line) for _, line in zip(range(n), f)]


def edit(text: str, rate: float, seed: int) -> str:
    """Replace a share ``rate`` of the words with others: a realistic near-duplicate."""
    rng = random.Random(seed)
    words = text.split()
    for i in range(len(words)):
        if rng.random() < rate:
            words[i] = rng.choice(["however", "indeed", "city", "report", "the"])
    return " ".join(words)


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


@pytest.fixture
def corpus(tmp_path, data_dir) -> Path:
    """Three files: originals, then near and exact copies of some of them in later files."""
    docs = brown(data_dir, 60)
    inputs = tmp_path / "in"
    write_jsonl(
        inputs / "a.jsonl", [{"id": d["id"], "text": d["text"], "score": 1} for d in docs[:30]]
    )
    write_jsonl(
        inputs / "b.jsonl",
        [
            {"id": f"near/{d['id']}", "text": edit(d["text"], 0.01, i), "score": 5}
            for i, d in enumerate(docs[:8])
        ]
        + [{"id": d["id"], "text": d["text"]} for d in docs[30:45]],
    )
    write_jsonl(
        inputs / "c.jsonl",
        [{"id": f"exact/{d['id']}", "text": "  " + d["text"].upper()} for d in docs[8:12]]
        + [{"id": d["id"], "text": d["text"]} for d in docs[45:60]],
    )
    return inputs


def curate(inputs: Path, out: Path, steps: list, workers: int = 1):
    recipe = parse_recipe({"name": "dedup-test", "steps": [{"read": {}}] + steps})
    return run_curation(recipe, [str(inputs)], out, LocalExecutor(workers))


def rows(folder: Path, pattern: str = "part-*.parquet") -> list[dict]:
    return [r for p in sorted(folder.glob(pattern)) for r in pq.read_table(p).to_pylist()]


def test_exact_duplicates_across_files(corpus, tmp_path):
    result = curate(corpus, tmp_path / "run", [{"exact_dedup": {}}])
    rejects = rows(result.final_dir / "rejects")
    assert sorted(r["id"] for r in rejects) == [f"exact/brown/ca{i:02d}" for i in range(9, 13)]
    for r in rejects:
        meta = json.loads(r["meta"])
        assert r["reason"] == "exact_dedup:duplicate"
        assert meta["duplicate_of"] == r["id"].removeprefix("exact/") and meta["cluster_size"] == 2
    kept = {r["id"] for r in rows(result.final_dir)}
    assert len(kept) == 30 + 23 + 15 and "brown/ca09" in kept


def test_exact_dedup_respects_normalisation(corpus, tmp_path):
    result = curate(
        corpus, tmp_path / "run", [{"exact_dedup": {"normalize": {"lowercase": False}}}]
    )
    assert rows(result.final_dir / "rejects") == []


def test_minhash_finds_near_duplicates_across_files(corpus, tmp_path):
    result = curate(corpus, tmp_path / "run", [{"minhash": {}}], workers=2)
    rejects = {r["id"]: json.loads(r["meta"]) for r in rows(result.final_dir / "rejects")}
    expected = {f"near/brown/ca{i:02d}": f"brown/ca{i:02d}" for i in range(1, 9)}
    expected.update({f"exact/brown/ca{i:02d}": f"brown/ca{i:02d}" for i in range(9, 13)})
    assert {k: m["duplicate_of"] for k, m in rejects.items()} == expected
    assert all(m["cluster_size"] == 2 for m in rejects.values())
    # the originals are a.jsonl's: the first output shard holds every kept one
    assert {m["duplicate_part"] for m in rejects.values()} == {"part-00000"}
    kept = {r["id"] for r in rows(result.final_dir, "part-00000.parquet")}
    assert set(expected.values()) <= kept


def test_keep_highest_score(corpus, tmp_path):
    result = curate(corpus, tmp_path / "run", [{"minhash": {"keep": "highest:score"}}])
    dropped = {r["id"] for r in rows(result.final_dir / "rejects")}
    # the near copies score 5 against the originals' 1: the originals go; the unscored exact copies
    # go
    assert dropped == {f"brown/ca{i:02d}" for i in range(1, 9)} | {
        f"exact/brown/ca{i:02d}" for i in range(9, 13)
    }


def test_spilled_run_equals_in_memory(corpus, tmp_path):
    normal = curate(corpus, tmp_path / "mem", [{"minhash": {}}])
    spilled = curate(corpus, tmp_path / "spill", [{"minhash": {"memory_mb": 0.0005}}])
    assert (tmp_path / "spill" / "02_minhash" / "_work" / "summary.json").exists()
    for part in ("part-00000", "part-00001", "part-00002"):
        for sub in ("", "rejects/"):
            a = (normal.final_dir / f"{sub}{part}.parquet").read_bytes()
            assert a == (spilled.final_dir / f"{sub}{part}.parquet").read_bytes()


def test_dedup_against_an_index(corpus, tmp_path, data_dir):
    first = curate(corpus, tmp_path / "first", [{"minhash": {}}])
    index = tmp_path / "index"
    built = run_cli("dedup", "index", "--input", str(first.final_dir), "--output", str(index))
    assert built.returncode == 0, built.stderr
    # a "new crawl": fresh documents, plus near copies of documents the first run kept
    docs = brown(data_dir, 70)
    write_jsonl(
        tmp_path / "new" / "new.jsonl",
        [{"id": f"new/{d['id']}", "text": edit(d["text"], 0.01, 99)} for d in docs[20:25]]
        + [{"id": d["id"], "text": d["text"]} for d in docs[60:70]],
    )
    second = curate(tmp_path / "new", tmp_path / "second", [{"minhash": {"index": str(index)}}])
    metas = {r["id"]: json.loads(r["meta"]) for r in rows(second.final_dir / "rejects")}
    rejects = {doc_id: meta["duplicate_of"] for doc_id, meta in metas.items()}
    assert rejects == {f"new/brown/ca{i:02d}": f"brown/ca{i:02d}" for i in range(21, 26)}
    # the kept documents are the index's, not in this run
    assert not any("duplicate_part" in meta for meta in metas.values())
    with pytest.raises(ConfigError, match="built with ngram=5"):
        curate(
            tmp_path / "new", tmp_path / "third", [{"minhash": {"index": str(index), "ngram": 4}}]
        )


def test_an_index_built_from_a_recipe_takes_its_normalisation(corpus, tmp_path):
    first = curate(corpus, tmp_path / "first", [{"minhash": {}}])
    options = {"ngram": 4, "normalize": {"punctuation": False, "digits": False}}
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        json.dumps({"name": "r", "steps": [{"read": {}}, {"minhash": options}]}), encoding="utf-8"
    )
    built = run_cli(
        "dedup",
        "index",
        "--input",
        str(first.final_dir),
        "--output",
        str(tmp_path / "index"),
        "--recipe",
        str(recipe),
    )
    assert built.returncode == 0, built.stderr
    settings = json.loads((tmp_path / "index" / "index.json").read_text(encoding="utf-8"))[
        "settings"
    ]
    assert settings["ngram"] == 4 and settings["norm"]["punctuation"] is False
    # the same recipe's step opens it; the default normalisation is refused
    curate(corpus, tmp_path / "again", [{"minhash": {**options, "index": str(tmp_path / "index")}}])
    with pytest.raises(ConfigError, match="built with"):
        curate(
            corpus,
            tmp_path / "other",
            [{"minhash": {"ngram": 4, "index": str(tmp_path / "index")}}],
        )
    both = run_cli(
        "dedup",
        "index",
        "--input",
        str(first.final_dir),
        "--output",
        str(tmp_path / "x"),
        "--recipe",
        str(recipe),
        "--bands",
        "10",
    )
    assert (
        both.returncode == 2
        and both.stderr.count("\n") == 1
        and "give --recipe or --bands, not both" in both.stderr
    )


def test_bad_options_are_refused():
    with pytest.raises(ConfigError, match="keep must be"):
        parse_recipe({"name": "x", "steps": [{"read": {}}, {"minhash": {"keep": "best"}}]})
    with pytest.raises(ConfigError, match="normalize.digits"):
        parse_recipe(
            {
                "name": "x",
                "steps": [{"read": {}}, {"exact_dedup": {"normalize": {"digits": "yes"}}}],
            }
        )


def test_resume_after_kill_gives_the_same_output(corpus, tmp_path):
    curate(corpus, tmp_path / "clean", [{"minhash": {"memory_mb": 0.0005}}])
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "name: dedup-test\nsteps:\n  - read: {}\n  - minhash: {memory_mb: 0.0005}\n",
        encoding="utf-8",
    )
    killed = tmp_path / "killed"
    proc = start_curate(recipe, corpus, killed, stderr=subprocess.DEVNULL)
    first_shard = killed / "02_minhash" / "_work" / "shards" / "part-00000" / "done.json"
    while proc.poll() is None and not first_shard.exists():
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (
        killed / "02_minhash" / "_work" / "summary.json"
    ).exists()  # killed inside the global passes
    resumed = run_curate(recipe, corpus, killed)
    assert resumed.returncode == 0, resumed.stderr
    for path in sorted((tmp_path / "clean" / "02_minhash").rglob("*.parquet")):
        relative = path.relative_to(tmp_path / "clean")
        assert path.read_bytes() == (killed / relative).read_bytes(), relative
