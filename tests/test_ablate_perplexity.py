"""The perplexity stage with a real scratchlm checkpoint trained here on Brown prose."""

from __future__ import annotations

import gzip
import json
import math
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from scratchlm.curate.shards import iter_documents
from scratchlm.model.evaluate import load_model
from scratchlm.model.train import train
from scratchlm.pipelines.executors.local import LocalExecutor
from scratchlm.pipelines.recipe import parse_recipe
from scratchlm.pipelines.runner import run_curation
from tests.train_shards import brown_shards
from tests.training_helpers import tiny_config

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ppl")
    shards = brown_shards(root / "shards", chars=120_000, vocab_size=512)
    config = tiny_config(
        {"block_size": 64},
        preset="tiny",
        micro_batch=8,
        max_steps=60,
        warmup_steps=5,
        eval_tokens=2048,
        checkpoint_every=0,
        keep_checkpoints=1,
    )
    train(config, shards, root / "train", device="cpu")
    return root / "train"


def _held_out_prose(count: int) -> list[str]:
    """Brown documents after the ones the checkpoint was trained on, cut to 1,500 characters."""
    with gzip.open(
        ROOT / "tests" / "data" / "prose" / "brown.jsonl.gz", "rt", encoding="utf-8"
    ) as f:
        texts = [json.loads(line)["text"] for line in f][-count:]
    return [t[:1500] for t in texts]


def _gibberish(count: int) -> list[str]:
    rng = random.Random(7)
    letters = "bcdfghjklmnpqrstvwxzq"
    return [
        " ".join("".join(rng.choice(letters) for _ in range(rng.randint(2, 9))) for _ in range(200))
        for _ in range(count)
    ]


def _write(path: Path, texts: list[str], prefix: str) -> str:
    path.write_text(
        "".join(json.dumps({"id": f"{prefix}{i}", "text": t}) + "\n" for i, t in enumerate(texts)),
        encoding="utf-8",
    )
    return str(path)


def _curate(tmp_path: Path, inputs: list[str], options: dict) -> Path:
    recipe = parse_recipe({"name": "ppl", "steps": [{"read": {}}, {"perplexity": options}]})
    return run_curation(
        recipe, inputs, tmp_path / "run", LocalExecutor(1), log=lambda _: None
    ).final_dir


def _docs(folder: Path, pattern: str = "part-*.parquet") -> list:
    return [d for p in sorted(folder.glob(pattern)) for d in iter_documents(p)]


def test_score_is_the_models_perplexity_of_the_text(checkpoint, tmp_path):
    text = "The jury said it did find that the city was well run."
    out = _curate(
        tmp_path,
        [_write(tmp_path / "a.jsonl", [text], "a")],
        {"model": str(checkpoint), "max_perplexity": 1e9},
    )
    (doc,) = _docs(out)
    model, saved = load_model(checkpoint, torch.device("cpu"))
    from tokenizers import Tokenizer

    ids = Tokenizer.from_file(str(saved.folder / "tokenizer.json")).encode(text).ids
    tokens = torch.tensor([[saved.state["eos_id"], *ids]])
    with torch.no_grad():
        nll = torch.nn.functional.cross_entropy(model(tokens[:, :-1])[0], tokens[0, 1:])
    assert math.isclose(doc.meta["perplexity"], math.exp(nll.item()), rel_tol=1e-4)


def test_threshold_keeps_prose_and_drops_gibberish(checkpoint, tmp_path):
    prose, junk = _held_out_prose(6), _gibberish(6)
    inputs = [
        _write(tmp_path / "prose.jsonl", prose, "p"),
        _write(tmp_path / "junk.jsonl", junk, "j"),
    ]
    annotated = _docs(
        _curate(tmp_path / "a", inputs, {"model": str(checkpoint), "max_perplexity": 1e9})
    )
    scores = {d.id: d.meta["perplexity"] for d in annotated}
    worst_prose = max(v for k, v in scores.items() if k.startswith("p"))
    best_junk = min(v for k, v in scores.items() if k.startswith("j"))
    assert worst_prose < best_junk  # the model trained on prose prefers prose
    threshold = math.sqrt(worst_prose * best_junk)
    out = _curate(tmp_path / "b", inputs, {"model": str(checkpoint), "max_perplexity": threshold})
    assert sorted(d.id for d in _docs(out)) == sorted(k for k in scores if k.startswith("p"))
    rejects = json.loads((out / "stats.json").read_text(encoding="utf-8"))["dropped"]
    assert rejects == {"perplexity:too_high": len(junk)}


def test_percentile_band_is_taken_over_every_input_shard(checkpoint, tmp_path):
    prose, junk = _held_out_prose(5), _gibberish(4)
    inputs = [
        _write(tmp_path / "one.jsonl", prose[:3] + junk[:2], "x"),
        _write(tmp_path / "two.jsonl", prose[3:] + junk[2:], "y"),
    ]
    options = {"model": str(checkpoint), "percentile": [10, 60], "action": "annotate"}
    annotated = _docs(_curate(tmp_path / "a", inputs, options))
    scores = np.array([d.meta["perplexity"] for d in annotated])
    low, high = np.percentile(scores, [10, 60])
    expected = sorted(d.id for d in annotated if low <= d.meta["perplexity"] <= high)
    out = _curate(tmp_path / "b", inputs, {**options, "action": "drop"})
    assert sorted(d.id for d in _docs(out)) == expected
    assert 0 < len(expected) < len(annotated)
    dropped = json.loads((out / "stats.json").read_text(encoding="utf-8"))["dropped"]
    assert dropped == {
        "perplexity:below_band": int((scores < low).sum()),
        "perplexity:above_band": int((scores > high).sum()),
    }


def test_a_band_scores_each_document_once(checkpoint, tmp_path, monkeypatch):
    """prepare scores every document and keeps the scores; the per-document pass looks them up (here
    in this process: one worker), and finds each document's own score where the two files reuse ids
    for other texts."""
    from scratchlm.curate.stages import perplexity

    calls = []
    original = perplexity.Scorer.perplexity
    monkeypatch.setattr(
        perplexity.Scorer,
        "perplexity",
        lambda self, text, n: calls.append(text) or original(self, text, n),
    )
    prose, junk = _held_out_prose(4), _gibberish(3)
    inputs = [
        _write(tmp_path / "one.jsonl", prose[:2] + junk[:2] + [""], "x"),
        _write(tmp_path / "two.jsonl", prose[2:] + junk[2:] + [prose[0]], "x"),
    ]
    out = _curate(tmp_path, inputs, {"model": str(checkpoint), "percentile": [0, 50]})
    assert len(calls) == 9  # every document of both files once, the empty one too
    stats = json.loads((out / "stats.json").read_text(encoding="utf-8"))
    assert stats["docs_in"] == 9 and stats["dropped"]["perplexity:empty"] == 1
    kept = _docs(out)
    fresh = {
        text: original(perplexity._scorer(str(checkpoint)), text, 1024) for text in prose + junk
    }
    assert all(d.meta["perplexity"] == fresh[d.text] for d in kept)


@pytest.mark.parametrize(
    "options, message",
    [
        ({}, "needs model"),
        ({"model": "no/such/folder", "max_perplexity": 100}, "not found"),
        ({"model": ".", "percentile": [60, 10]}, "0 <= low < high <= 100"),
        ({"model": "."}, "max_perplexity, percentile"),
    ],
)
def test_bad_options_are_refused_when_the_recipe_loads(options, message):
    from scratchlm.curate.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        parse_recipe({"steps": [{"read": {}}, {"perplexity": options}]})


def test_curate_loads_the_stage_without_torch(checkpoint):
    code = (
        "import sys; from scratchlm.pipelines.recipe import parse_recipe; "
        f"parse_recipe({{'steps': [{{'read': {{}}}}, "
        f"{{'perplexity': {{'model': {str(checkpoint)!r}, "
        "'max_perplexity': 50}}]}); assert 'torch' not in sys.modules, 'torch imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
