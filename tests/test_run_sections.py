"""Changing a recipe's later sections (bpe, shard, train) keeps the run folder's curation and
redoes the changed section and those after it; a changed curation is still refused. The report of
a run covers its tokenizer and training."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from pathlib import Path

import torch
import yaml

from scratchlm.pipelines.cli import main

torch.set_num_threads(1)
DATA = Path(__file__).parent / "data"
TRAIN = {
    "max_steps": 2,
    "micro_batch": 2,
    "log_every": 1,
    "eval_every": 0,
    "eval_tokens": 256,
    "samples": 0,
    "warmup_steps": 1,
    "model": {"n_layer": 1, "n_head": 2, "n_embd": 32, "block_size": 32},
}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(
    tmp_path: Path, bpe: int, max_steps: int, capsys, steps: list | None = None
) -> tuple[int, str]:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        yaml.safe_dump(
            {
                "name": "sections",
                "steps": steps or [{"read": {}}],
                "bpe": {"vocab_size": bpe},
                "shard": {"val_fraction": 0.1},
                "train": {**TRAIN, "max_steps": max_steps},
            }
        ),
        encoding="utf-8",
    )
    code = main(
        [
            "run",
            str(recipe),
            "--input",
            str(tmp_path / "docs.jsonl"),
            "--output",
            str(tmp_path / "run"),
        ]
    )
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def trained_steps(out: Path) -> list[int]:
    lines = [json.loads(line) for line in (out / "train" / "log.jsonl").read_text().splitlines()]
    return [r["step"] for r in lines if "loss" in r]


def test_a_changed_section_and_those_after_it_are_redone(tmp_path, capsys) -> None:
    brown = gzip.decompress((DATA / "prose" / "brown.jsonl.gz").read_bytes())
    texts = brown.decode().splitlines()
    (tmp_path / "docs.jsonl").write_text("\n".join(texts[:20]) + "\n", encoding="utf-8")
    out = tmp_path / "run"
    assert run(tmp_path, 300, 2, capsys)[0] == 0
    page = (out / "report" / "index.html").read_text(encoding="utf-8")  # it covers BPE and training
    assert '<tr><td>vocabulary</td><td class="n">300</td></tr>' in page
    assert '<tr><td>steps done</td><td class="n">2</td></tr>' in page
    assert "validation loss" in page and (out / "report" / "loss.png").exists()
    toc = re.search(r'<nav class="toc">(.*?)</nav>', page).group(1)  # a link to every section
    assert re.findall(r'href="#(s\d+)"', toc) == re.findall(r'<h2 id="(s\d+)"', page)
    assert ">Tokenizer</a>" in toc and ">Training</a>" in toc
    curated = out / "01_read" / "part-00000.parquet"
    kept = (
        curated.stat().st_mtime_ns,
        digest(out / "tokenizer" / "tokenizer.json"),
        digest(out / "shards" / "manifest.json"),
    )

    code, printed = run(tmp_path, 300, 3, capsys)  # train changed: curation, BPE and shards kept
    assert code == 0, printed
    assert "the recipe's train changed: the curation in" in printed
    assert (
        "held a run of another configuration (max_steps: 2 -> 3): training again from step 0"
        in printed
    )
    assert (
        curated.stat().st_mtime_ns,
        digest(out / "tokenizer" / "tokenizer.json"),
        digest(out / "shards" / "manifest.json"),
    ) == kept
    assert trained_steps(out) == [1, 2, 3]

    code, printed = run(tmp_path, 320, 3, capsys)  # bpe changed: BPE, shards and training redone
    assert code == 0, printed
    assert "the recipe's bpe changed" in printed and "encoding again" in printed
    assert "(data: other shards): training again from step 0" in printed
    assert curated.stat().st_mtime_ns == kept[0]
    assert digest(out / "tokenizer" / "tokenizer.json") != kept[1]
    manifest = json.loads((out / "shards" / "manifest.json").read_text())
    assert manifest["tokenizer_sha256"] == digest(out / "tokenizer" / "tokenizer.json")
    assert trained_steps(out) == [1, 2, 3]

    code, printed = run(tmp_path, 320, 3, capsys, steps=[{"read": {}}, {"sample": {"rate": 0.5}}])
    assert code == 2 and f"{out} holds a run of a different recipe" in printed  # curation changed
