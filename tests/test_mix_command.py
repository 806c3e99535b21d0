"""``scratchlm mix``: recipes with curated and shard-folder sources, refusals, kill and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from scratchlm.pipelines.cli import main
from tests.mix_sources import PROSE, pieces, source_folders
from tests.train_shards import read_texts

REPO = Path(__file__).resolve().parents[1]


def write_recipe(path: Path, mix: dict, **sections: dict) -> Path:
    path.write_text(yaml.safe_dump({"name": "mixture", "mix": mix, **sections}), encoding="utf-8")
    return path


def write_jsonl(path: Path, name: str, chars: int) -> Path:
    texts = pieces(read_texts(PROSE / f"{name}.jsonl.gz", chars))
    path.write_text(
        "".join(json.dumps({"id": f"{name}-{i}", "text": t}) + "\n" for i, t in enumerate(texts)),
        encoding="utf-8",
    )
    return path


def test_curated_sources_one_tokenizer_and_the_weights(tmp_path: Path) -> None:
    read = tmp_path / "read.yaml"
    read.write_text("name: read\nsteps:\n  - read: {}\n", encoding="utf-8")
    licensed = tmp_path / "licensed.yaml"
    licensed.write_text(
        "name: kjv\nlicences: [public domain]\nsteps:\n  - read: {}\n", encoding="utf-8"
    )
    brown = write_jsonl(tmp_path / "brown.jsonl", "brown", 50_000)
    kjv = write_jsonl(tmp_path / "kjv.jsonl", "kjv", 20_000)
    assert (
        main(["curate", str(licensed), "--input", str(kjv), "--output", str(tmp_path / "kjvrun")])
        == 0
    )
    recipe = write_recipe(
        tmp_path / "mix.yaml",
        {
            "total_tokens": 20_000,
            "seed": 3,
            "sources": {
                "brown": {
                    "input": [str(brown)],
                    "recipe": str(read),
                    "weight": 0.6,
                    "licence": "permitted by the holder",
                },
                "kjv": {"run": str(tmp_path / "kjvrun"), "weight": 0.4, "max_epochs": 3},
            },
        },
        bpe={"vocab_size": 400},
        shard={"shard_tokens": 5_000, "val_fraction": 0.1},
        train={
            "max_steps": 2,
            "warmup_steps": 1,
            "micro_batch": 2,
            "eval_tokens": 512,
            "samples": 0,
            "model": {"n_layer": 1, "block_size": 64},
        },
    )
    assert main(["mix", str(recipe), "--output", str(tmp_path / "out")]) == 0
    shards = tmp_path / "out" / "shards"
    manifest = json.loads((shards / "manifest.json").read_text(encoding="utf-8"))
    tokenizer = tmp_path / "out" / "tokenizer" / "tokenizer.json"
    assert (shards / "tokenizer.json").read_bytes() == tokenizer.read_bytes()
    for name in ("brown", "kjv"):  # every source encoded with the mixture's one tokenizer
        source = json.loads(
            (tmp_path / "out" / "sources" / name / "shards" / "manifest.json").read_text(
                encoding="utf-8"
            )
        )
        assert source["tokenizer_sha256"] == manifest["tokenizer_sha256"]
    listed = {s["name"]: s for s in manifest["mixture"]["sources"]}
    assert sum(s["tokens"] for s in listed.values()) == manifest["splits"]["train"]["tokens"]
    assert (
        abs(listed["brown"]["tokens"] - 12_000) < 300 and abs(listed["kjv"]["tokens"] - 8_000) < 300
    )
    stats = json.loads((tokenizer.parent / "tokenizer.stats.json").read_text(encoding="utf-8"))
    assert stats["inputs"][0] == "mix seed 3 limit None"  # trained on the weighted sample
    assert {e.get("source") for e in manifest["shards"] if e["split"] == "val"} == {"brown", "kjv"}
    card = (tmp_path / "out" / "report" / "datacard.md").read_text(encoding="utf-8")
    log = [json.loads(line) for line in (tmp_path / "out" / "train" / "log.jsonl").open()]
    losses = [r for r in log if "val_loss_by_source" in r][-1]["val_loss_by_source"]
    for name, licence in (("brown", "permitted by the holder"), ("kjv", "public domain")):
        s = listed[name]
        row = (
            f"| {name} | "
            + (
                f"{brown} curated by {read}"
                if name == "brown"
                else f"curated {tmp_path / 'kjvrun'}"
            )
            + f" | {s['weight']} | {s['tokens']:,} | {s['share']:.2%} | {s['docs']:,} | "
            f"{round(s['epochs'], 2)} | {s['max_epochs']} | {s['val_tokens']:,} | "
            f"{round(losses[name], 4)} | {licence} |"
        )
        assert row in card
    page = (tmp_path / "out" / "report" / "index.html").read_text(encoding="utf-8")
    assert (
        "Validation loss per source" in page and (tmp_path / "out" / "report" / "loss.png").exists()
    )
    assert (tmp_path / "out" / "sources" / "brown" / "report" / "index.html").exists()


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return source_folders(tmp_path_factory.mktemp("sources"), shard_tokens=3_000, scale=4)


def shard_mix(folders: dict[str, Path], **options: object) -> dict:
    sources = {
        "brown": {"shards": str(folders["brown"]), "weight": 0.5},
        "kjv": {"shards": str(folders["kjv"]), "weight": 0.5, "max_epochs": 4},
    }
    return {"total_tokens": 100_000, "seed": 1, "sources": sources, **options}


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "scratchlm.pipelines", *args],
        cwd=REPO,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_kill_9_mid_mix_then_rerun_gives_the_same_bytes(
    folders: dict[str, Path], tmp_path: Path
) -> None:
    recipe = write_recipe(tmp_path / "mix.yaml", shard_mix(folders), shard={"shard_tokens": 200})
    assert run_cli("mix", str(recipe), "--output", str(tmp_path / "clean")).returncode == 0
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    broken = tmp_path / "broken"
    process = subprocess.Popen(
        [sys.executable, "-m", "scratchlm.pipelines", "mix", str(recipe), "--output", str(broken)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    work = broken / "shards" / "_work"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(work.glob("train-*.json"))) < 3:
        time.sleep(0.002)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not (broken / "shards" / "manifest.json").exists(), "the mix finished before the kill"
    assert run_cli("mix", str(recipe), "--output", str(broken)).returncode == 0
    clean = sorted(p.name for p in (tmp_path / "clean" / "shards").iterdir())
    assert clean == sorted(p.name for p in (broken / "shards").iterdir())
    for name in clean:
        assert (broken / "shards" / name).read_bytes() == (
            tmp_path / "clean" / "shards" / name
        ).read_bytes(), name


def test_refusals_name_the_source_and_the_numbers(
    folders: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    def refusal(mix: dict) -> str:
        recipe = write_recipe(tmp_path / "mix.yaml", mix)
        assert main(["mix", str(recipe), "--output", str(tmp_path / "out")]) == 2
        assert not (tmp_path / "out").exists()
        return capsys.readouterr().err

    kjv = json.loads((folders["kjv"] / "manifest.json").read_text())["splits"]["train"]["tokens"]
    err = refusal(shard_mix(folders, total_tokens=10 * kjv))
    assert f"source 'kjv' needs 5.00 epochs (weight 0.5 of {10 * kjv:,} tokens" in err
    assert "max_epochs is 4" in err
    bad = shard_mix(folders)
    bad["sources"]["kjv"]["weight"] = 0.7
    assert "mix: the weights sum to 1.2 (brown 0.5, kjv 0.7)" in refusal(bad)
    bad["sources"]["kjv"] = {"shards": str(tmp_path / "nowhere"), "weight": 0.5}
    assert "source 'kjv': " in refusal(bad) and "no manifest" in refusal(bad)
    bad["sources"]["kjv"] = {"run": str(tmp_path), "weight": 0.5}
    assert "source 'kjv': " in refusal(bad)
    bad["sources"]["kjv"] = {
        "run": str(folders["kjv"]),
        "shards": str(folders["kjv"]),
        "weight": 0.5,
    }
    assert "sources.kjv: give exactly one of run, shards, input" in refusal(bad)
    read = tmp_path / "read.yaml"
    read.write_text("name: read\nsteps:\n  - read: {}\n", encoding="utf-8")
    jsonl = write_jsonl(tmp_path / "kjv.jsonl", "kjv", 5_000)
    bad["sources"] = {"kjv": {"input": [str(jsonl)], "recipe": str(read), "weight": 1.0}}
    assert "need a tokenizer: add a bpe section" in refusal(bad)


def test_the_demo_mixture_loads_and_run_names_mix(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from scratchlm.pipelines.recipe import load_recipe

    demo = REPO / "pipelines" / "recipes" / "mixture.yaml"
    recipe = load_recipe(demo)
    assert {n: s.weight for n, s in recipe.sections["mix"].sources.items()} == {
        "web": 0.3,
        "prose": 0.7,
    }
    assert main(["run", str(demo), "--input", str(demo), "--output", str(tmp_path / "r")]) == 2
    assert "is a mixture (a mix section): run it with scratchlm mix" in capsys.readouterr().err
    both = write_recipe(
        tmp_path / "both.yaml",
        {"sources": {"a": {"run": "x", "weight": 1.0}}},
        steps=[{"read": {}}],
    )
    assert main(["mix", str(both), "--output", str(tmp_path / "m")]) == 2
    assert "steps: a mixture recipe (mix) curates each source" in capsys.readouterr().err


def test_curated_source_epochs_refused_once_encoded_before_mixing(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    read = tmp_path / "read.yaml"
    read.write_text("name: read\nsteps:\n  - read: {}\n", encoding="utf-8")
    sources = {
        name: {
            "input": [str(write_jsonl(tmp_path / f"{name}.jsonl", name, 8_000))],
            "recipe": str(read),
            "weight": 0.5,
        }
        for name in ("brown", "kjv")
    }
    recipe = write_recipe(
        tmp_path / "mix.yaml",
        {"total_tokens": 10_000_000, "sources": sources},
        bpe={"vocab_size": 300},
    )
    assert main(["mix", str(recipe), "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    for name in ("brown", "kjv"):
        tokens = json.loads(
            (tmp_path / "out" / "sources" / name / "shards" / "manifest.json").read_text(
                encoding="utf-8"
            )
        )["splits"]["train"]["tokens"]
        assert (
            f"source {name!r} needs {5_000_000 / tokens:.2f} epochs (weight 0.5 of "
            f"10,000,000 tokens = 5,000,000 tokens; it holds {tokens:,} training tokens) "
            f"but max_epochs is 1"
        ) in err
    assert not (tmp_path / "out" / "shards").exists()
