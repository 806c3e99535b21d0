"""``scratchlm quality train`` in a subprocess, then the ``quality_classifier`` stage with it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import DATA, run_cli
from quality_corpus import prose, web
from scratchlm.curate.errors import ConfigError
from scratchlm.curate.stages.quality_classifier import QualityClassifier
from scratchlm.pipelines.config import build

TRAIN = (
    "--positive",
    str(DATA / "prose" / "brown.jsonl.gz"),
    "--negative",
    str(DATA / "web-sample.warc.gz"),
    "--max-docs",
    "80",
    "--dim",
    "32",
    "--bucket",
    "20000",
    "--epoch",
    "40",
    "--lr",
    "0.5",
    "--seed",
    "3",
)


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("quality") / "model.bin"
    done = run_cli("quality", "train", *TRAIN, "--output", str(path))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout[: done.stdout.rindex("}") + 1])
    assert report["positive"] == 80 and report["negative"] == 80
    assert report["valid_accuracy"] >= 0.8  # 16 held-out documents
    return path


def test_classifier_scores_unseen_prose_above_web_boilerplate(model):
    stage = build(
        QualityClassifier, {"model": str(model), "threshold": 0.5}, "steps[3].quality_classifier"
    )
    bible = [prose(f"kjv/{book}") for book in ("08-Ruth", "31-Obadiah", "57-Philemon")]
    assert stage.map_batch(bible) == [None, None, None]
    assert all(d.meta["quality_score"] > 0.5 for d in bible)
    scam = web("http://scamlist.onion/index.html")
    assert stage(scam) == "quality_classifier:low_score"
    # the threshold sits on the score: equal keeps, above drops
    score = bible[0].meta["quality_score"]
    assert QualityClassifier(model=str(model), threshold=score)(prose("kjv/08-Ruth")) is None
    assert (
        QualityClassifier(model=str(model), threshold=score + 1e-6)(prose("kjv/08-Ruth"))
        == "quality_classifier:low_score"
    )


def test_training_is_deterministic_for_a_seed(model, tmp_path):
    again = tmp_path / "again.bin"
    assert run_cli("quality", "train", *TRAIN, "--output", str(again)).returncode == 0
    docs = [prose("brown/ca01"), web("https://docs.python.org/3.11/library/json.html")]
    first = QualityClassifier(model=str(model)).map_batch([prose("brown/ca01"), docs[1]])
    QualityClassifier(model=str(model)).map_batch(docs)
    other = [prose("brown/ca01"), web("https://docs.python.org/3.11/library/json.html")]
    QualityClassifier(model=str(again)).map_batch(other)
    assert [d.meta["quality_score"] for d in docs] == [d.meta["quality_score"] for d in other]
    assert first == QualityClassifier(model=str(again)).map_batch([prose("brown/ca01"), docs[1]])


def test_missing_model_and_bad_inputs_are_one_line_errors(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        build(
            QualityClassifier, {"model": str(tmp_path / "none.bin")}, "steps[3].quality_classifier"
        )
    with pytest.raises(ConfigError, match="needs model"):
        build(QualityClassifier, {}, "steps[3].quality_classifier")
    done = run_cli(
        "quality",
        "train",
        "--positive",
        str(tmp_path / "nope.jsonl"),
        "--negative",
        str(DATA / "web-sample.warc.gz"),
        "--output",
        str(tmp_path / "m.bin"),
    )
    assert (
        done.returncode == 2
        and "nope.jsonl" in done.stderr
        and len(done.stderr.strip().splitlines()) == 1
    )
