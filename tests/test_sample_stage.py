"""The ``sample`` step keeps a share of the documents chosen by id: the same in every run and
sharding."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from scratchlm.curate.errors import ConfigError
from scratchlm.curate.stages.sample import sample_point
from scratchlm.pipelines.executors.local import LocalExecutor
from scratchlm.pipelines.recipe import parse_recipe
from scratchlm.pipelines.runner import run_curation


def _kept(inputs: list[Path], out: Path, workers: int = 1, **options) -> set[str]:
    recipe = parse_recipe({"name": "s", "steps": [{"read": {}}, {"sample": options}]})
    result = run_curation(
        recipe, [str(p) for p in inputs], out, LocalExecutor(workers), log=lambda *_: None
    )
    return {
        r["id"]
        for p in sorted(result.final_dir.glob("part-*.parquet"))
        for r in pq.read_table(p).to_pylist()
    }


def test_the_same_documents_whatever_the_files_and_workers(tmp_path: Path, data_dir: Path) -> None:
    with gzip.open(data_dir / "prose" / "brown.jsonl.gz", "rt", encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    ids = [r["id"] for r in records]
    one = tmp_path / "one.jsonl"
    one.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    split = [tmp_path / f"part{i}.jsonl" for i in range(3)]
    for i, path in enumerate(split):  # other files, other order
        path.write_text(
            "".join(json.dumps(r) + "\n" for r in reversed(records[i::3])), encoding="utf-8"
        )
    kept = _kept([one], tmp_path / "a", rate=0.2, seed=7)
    assert kept == {i for i in ids if sample_point(7, i) < 0.2}
    assert 80 <= len(kept) <= 120  # 500 documents at 20%
    assert _kept(split, tmp_path / "b", workers=2, rate=0.2, seed=7) == kept
    assert _kept([one], tmp_path / "c", rate=0.2, seed=8) != kept
    assert kept < _kept([one], tmp_path / "d", rate=0.5, seed=7)  # a larger rate: a superset
    assert _kept([one], tmp_path / "e", rate=1.0) == set(ids)
    stats = json.loads((tmp_path / "a" / "stats.json").read_text())["02_sample"]
    assert stats["dropped"] == {"sample:not_sampled": 500 - len(kept)}


@pytest.mark.parametrize("rate", [0, -0.1, 1.5])
def test_rate_outside_zero_to_one_is_refused(rate: float) -> None:
    with pytest.raises(ConfigError, match=r"steps\[1\].sample: rate must be in \(0, 1\]"):
        parse_recipe({"name": "s", "steps": [{"read": {}}, {"sample": {"rate": rate}}]})
