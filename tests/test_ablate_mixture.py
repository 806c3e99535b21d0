"""``scratchlm ablate`` over a mixture: variants that differ only in weights, the same checks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from scratchlm.curate.errors import ConfigError
from scratchlm.pipelines.ablation.run import run_ablation
from scratchlm.pipelines.ablation.spec import load_ablation
from scratchlm.pipelines.executors.local import LocalExecutor
from tests.mix_sources import PROSE, pieces, source_folders
from tests.train_shards import read_texts
from tests.training_helpers import ablation_train

TRAIN = ablation_train(
    micro_batch=4, max_steps=4, warmup_steps=1, eval_every=2, log_every=2, eval_tokens=1024
)
WEIGHTS = {"light": {"brown": 0.8, "kjv": 0.2}, "heavy": {"brown": 0.4, "kjv": 0.6}}


def ablation_file(
    tmp_path: Path, folders: dict[str, Path], variants: list[dict], total: int | None = 12_000
) -> Path:
    base = {
        "name": "m",
        "mix": {
            "total_tokens": total,
            "sources": {
                n: {"shards": str(f), "weight": 0.5, "max_epochs": 2} for n, f in folders.items()
            },
        },
    }
    path = tmp_path / "ablation.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "weights",
                "base": base,
                "train": TRAIN,
                "shard": {"shard_tokens": 3_000},
                "variants": variants,
            }
        ),
        encoding="utf-8",
    )
    return path


def test_variants_differing_in_weights_are_mixed_trained_and_compared(tmp_path: Path) -> None:
    folders = source_folders(tmp_path / "sources")
    evaluation = tmp_path / "eval.jsonl"
    texts = pieces(read_texts(PROSE / "kjv.jsonl.gz", 300_000))[-20:]
    evaluation.write_text(
        "".join(json.dumps({"id": f"e{i}", "text": t}) + "\n" for i, t in enumerate(texts)),
        encoding="utf-8",
    )
    variants = [{"name": n, "weights": w} for n, w in WEIGHTS.items()]
    ablation = load_ablation(ablation_file(tmp_path, folders, variants))
    results = run_ablation(
        ablation, [], [str(evaluation)], tmp_path / "out", 1, LocalExecutor(1), log=lambda _: None
    )
    assert [r.name for r in results] == ["light", "heavy"]
    summary = json.loads((tmp_path / "out" / "ablation.json").read_text(encoding="utf-8"))
    assert summary["light"]["changes"] == ["brown 0.8, kjv 0.2"]
    for name, weights in WEIGHTS.items():
        mixed = json.loads(
            (tmp_path / "out" / "variants" / name / "tokens" / "manifest.json").read_text(
                encoding="utf-8"
            )
        )["mixture"]["sources"]
        for source in mixed:
            assert abs(source["tokens"] - weights[source["name"]] * 12_000) < 400
    vals = [
        sorted(e["sha256"] for e in r.manifest["shards"] if e["split"] == "val") for r in results
    ]
    assert vals[0] == vals[1]  # one evaluation text for both


def test_mixture_variants_may_change_weights_only(tmp_path: Path) -> None:
    folders = {n: tmp_path / n for n in ("brown", "kjv")}
    good = {"name": "a", "weights": {"brown": 0.5, "kjv": 0.5}}
    cases = [
        ({"name": "b", "remove": ["read"]}, "variants[1].remove: unknown variant key"),
        (
            {"name": "b", "weights": {"brown": 0.5, "web": 0.5}},
            "variants[1].weights.kjv: no weight",
        ),
        (
            {"name": "b", "weights": {"brown": 0.5, "kjv": 0.2}},
            "variants[1]: the weights sum to 0.7",
        ),
    ]
    for variant, message in cases:
        with pytest.raises(ConfigError, match=re.escape(message)):
            load_ablation(ablation_file(tmp_path, folders, [good, variant]))
    with pytest.raises(ConfigError, match=r"base\.mix\.total_tokens: .* set it"):
        load_ablation(ablation_file(tmp_path, folders, [good, good], total=None))


def test_the_shipped_mixture_ablation_loads() -> None:
    ablation = load_ablation(Path(__file__).parents[1] / "pipelines/ablations/mixture-weights.yaml")
    assert [v.mix.sources["web"].weight for v in ablation.variants] == [0.1, 0.3, 0.5]
    assert {v.mix.total_tokens for v in ablation.variants} == {600_000}
