"""On the real web sample, through the demo's curation steps, every document ends in one place."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

from scratchlm.pipelines.executors import make_executor
from scratchlm.pipelines.recipe import load_recipe, parse_recipe
from scratchlm.pipelines.runner import run_curation
from tests.conftest import DATA, REPO


def _ids(paths: list[Path]) -> list[str]:
    return [i for p in paths for i in pq.read_table(p, columns=["id"]).column(0).to_pylist()]


def test_demo_steps_account_for_every_web_document(tmp_path: Path) -> None:
    demo = load_recipe(REPO / "pipelines" / "recipes" / "demo.yaml").to_plain()
    recipe = parse_recipe({"name": "accounting", "steps": demo["steps"]})
    out = tmp_path / "run"
    result = run_curation(
        recipe, [str(DATA / "web-sample.warc.gz")], out, make_executor("local", 2)
    )

    records = sum(1 for line in (DATA / "web-sample.manifest.jsonl").open())
    assert result.steps[0][1].docs_in == records == 579
    final = _ids(sorted((out / result.steps[-1][0]).glob("part-*.parquet")))
    rejected = _ids(sorted(out.glob("*/rejects/part-*.parquet")))
    assert len(final) == len(set(final)) and len(rejected) == len(set(rejected))
    assert not set(final) & set(rejected)
    assert len(final) + len(rejected) == records
    for (_, before), (_, after) in zip(result.steps, result.steps[1:]):
        assert after.docs_in == before.docs_out
    assert sum(s.docs_dropped for _, s in result.steps) == len(rejected)
    reasons = Counter(
        r
        for p in out.glob("*/rejects/part-*.parquet")
        for r in pq.read_table(p, columns=["reason"]).column(0).to_pylist()
    )
    # the sample's known noise: 2 not-found pages, 3 redirects, 1 PDF
    assert (reasons["read:http_404"], reasons["read:redirect"], reasons["read:not_html"]) == (
        2,
        3,
        1,
    )
    assert sum(n for r, n in reasons.items() if r.startswith("language:")) > 0
