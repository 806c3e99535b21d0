"""The ablation file: variants change curation steps only; what makes runs comparable is shared."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from scratchlm.curate.errors import ConfigError
from scratchlm.pipelines.ablation.spec import load_ablation, parse_ablation

ROOT = Path(__file__).parent.parent
BASE = {
    "steps": [{"read": {}}, {"language": {"keep": ["en"]}}, {"gopher_quality": {}}, {"minhash": {}}]
}


def _spec(*variants: dict, **extra) -> dict:
    return {"name": "t", "base": BASE, "variants": list(variants), **extra}


def _stages(recipe) -> list[str]:
    return [s.name for s in recipe.steps]


def test_remove_set_add_build_each_variant_from_the_base():
    ablation = parse_ablation(
        _spec(
            {"name": "base"},
            {"name": "no_lang", "remove": ["language"]},
            {"name": "strict", "set": {"gopher_quality": {"min_words": 120}}},
            {
                "name": "pii_after_lang",
                "add": [{"pii": {}, "after": "language"}, {"exact_dedup": {}}],
            },
        ),
        ROOT,
    )
    recipes = {v.name: ablation.recipe(v) for v in ablation.variants}
    assert _stages(recipes["base"]) == ["read", "language", "gopher_quality", "minhash"]
    assert _stages(recipes["no_lang"]) == ["read", "gopher_quality", "minhash"]
    assert recipes["strict"].steps[2].stage.min_words == 120
    assert recipes["base"].steps[2].stage.min_words != 120  # the base is not changed by a variant
    assert _stages(recipes["pii_after_lang"]) == [
        "read",
        "language",
        "pii",
        "gopher_quality",
        "minhash",
        "exact_dedup",
    ]
    assert ablation.shard.val_fraction == 0.0


@pytest.mark.parametrize(
    "variant, message",
    [
        (
            {"name": "x", "train": {"max_steps": 10}},
            "every variant shares the ablation's bpe, shard and train",
        ),
        ({"name": "x", "seed": 3}, "every variant shares"),
        ({"name": "x", "bpe": {"vocab_size": 300}}, "every variant shares"),
        ({"name": "x", "remove": ["pii"]}, "has no pii step"),
        ({"name": "x", "remove": ["read"]}, "read step cannot be removed"),
        ({"name": "x", "set": {"gopher_quality": {"min_wordz": 1}}}, "min_wordz: unknown option"),
        ({"name": "x", "add": [{"no_such_stage": {}}]}, "unknown stage"),
        ({"name": "x", "add": [{"pii": {}, "after": "c4_quality"}]}, "has no c4_quality step"),
    ],
)
def test_a_variant_may_change_curation_only(variant, message):
    with pytest.raises(ConfigError, match=message):
        ablation = parse_ablation(_spec({"name": "ok"}, variant), ROOT)
        for v in ablation.variants:
            ablation.recipe(v)


@pytest.mark.parametrize(
    "spec, message",
    [
        (_spec({"name": "a"}), "at least two variants"),
        (_spec({"name": "a"}, {"name": "a"}), "names must be unique"),
        (
            _spec({"name": "a"}, {"name": "b"}, shard={"val_fraction": 0.1}),
            "validates every variant on the --eval text",
        ),
        (_spec({"name": "a"}, {"name": "b"}, train={"preset": "huge"}), "unknown preset"),
        (
            _spec(
                {"name": "a"},
                {"name": "b", "add": [{"quality_classifier": {"model": "{quality_model}"}}]},
            ),
            "has no quality_model",
        ),
    ],
)
def test_ablation_level_errors(spec, message):
    with pytest.raises(ConfigError, match=message):
        ablation = parse_ablation(spec, ROOT)
        for v in ablation.variants:
            ablation.recipe(v)


def test_the_example_file_loads_and_names_four_variants():
    ablation = load_ablation(ROOT / "pipelines" / "ablations" / "quality.yaml")
    assert [v.name for v in ablation.variants] == [
        "no_filter",
        "heuristics",
        "heuristics_dedup",
        "heuristics_dedup_classifier",
    ]
    assert ablation.quality_model is not None
    recipes = [ablation.recipe(v, ROOT / "any.bin") for v in ablation.variants[:3]]
    assert _stages(recipes[0]) == ["read"]
    assert "minhash" not in _stages(recipes[1]) and "minhash" in _stages(recipes[2])


def test_cli_refuses_an_unfair_variant_in_one_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        yaml.safe_dump(_spec({"name": "a"}, {"name": "b", "train": {"max_steps": 5}})),
        encoding="utf-8",
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "scratchlm.pipelines",
            "ablate",
            str(path),
            "--input",
            "x",
            "--eval",
            "y",
            "--output",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "variants[1].train: unknown variant key" in done.stderr
    assert not (tmp_path / "out").exists()


def test_quality_model_is_trained_once_and_named_in_the_variant(tmp_path):
    from scratchlm.curate.text.classifier import positive_scores
    from scratchlm.curate.text.langid import load_fasttext
    from scratchlm.pipelines.ablation.quality_model import train_quality_model

    data = ROOT / "tests" / "data"
    spec = _spec(
        {"name": "plain"},
        {
            "name": "classified",
            "add": [{"quality_classifier": {"model": "{quality_model}", "threshold": 0.5}}],
        },
        quality_model={
            "positive": [str(data / "prose" / "brown.jsonl.gz")],
            "negative": [str(data / "web-sample.warc.gz")],
            "max_docs": 60,
            "options": {"epoch": 5, "bucket": 20000},
        },
    )
    spec["base"] = {"steps": [{"read": {"min_text_chars": 200}}, {"language": {}}]}
    ablation = parse_ablation(spec, ROOT)
    model = train_quality_model(ablation.quality_model, ablation.read_stage(), tmp_path / "q")
    written = model.stat().st_mtime_ns
    assert (
        train_quality_model(ablation.quality_model, ablation.read_stage(), tmp_path / "q") == model
    )
    assert model.stat().st_mtime_ns == written  # kept, not trained again
    recipe = ablation.recipe(ablation.variants[1], model)
    assert recipe.steps[-1].stage.model == str(model)
    prose, web = positive_scores(
        load_fasttext(str(model)),
        [
            "The jury further said in term-end presentments "
            "that the City Executive Committee deserves praise.",
            "Navigation index modules next previous Python 3.11 documentation Library Reference",
        ],
    )
    assert prose > 0.5 > web


def test_extends_takes_the_other_file_and_replaces_its_keys(tmp_path):
    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "base.yaml").write_text(yaml.safe_dump(BASE), encoding="utf-8")
    (tmp_path / "small.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "t",
                "base": "recipes/base.yaml",
                "train": {"max_steps": 5},
                "variants": [{"name": "a"}, {"name": "b", "remove": ["minhash"]}],
            }
        ),
        encoding="utf-8",
    )
    (tmp_path / "gpu").mkdir()
    (tmp_path / "gpu" / "large.yaml").write_text(
        yaml.safe_dump({"extends": "../small.yaml", "train": {"max_steps": 50, "micro_batch": 4}}),
        encoding="utf-8",
    )
    small, large = (
        load_ablation(tmp_path / "small.yaml"),
        load_ablation(tmp_path / "gpu" / "large.yaml"),
    )
    assert (large.train.max_steps, large.train.micro_batch, small.train.max_steps) == (50, 4, 5)
    assert [(v.name, v.steps) for v in large.variants] == [
        (v.name, v.steps) for v in small.variants
    ]
    (tmp_path / "twice.yaml").write_text(
        yaml.safe_dump({"extends": "gpu/large.yaml"}), encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="extends another file itself"):
        load_ablation(tmp_path / "twice.yaml")
    (tmp_path / "missing.yaml").write_text(
        yaml.safe_dump({"extends": "nope.yaml"}), encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"missing.yaml: extends: cannot read"):
        load_ablation(tmp_path / "missing.yaml")


def test_the_gpu_example_trains_the_same_variants_on_200m_tokens():
    small = load_ablation(ROOT / "pipelines" / "ablations" / "quality.yaml")
    gpu = load_ablation(ROOT / "pipelines" / "ablations" / "quality-gpu.yaml")
    assert [(v.name, v.steps) for v in gpu.variants] == [(v.name, v.steps) for v in small.variants]
    assert gpu.train.max_steps * gpu.train.batch_tokens >= 200_000_000
