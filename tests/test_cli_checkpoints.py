"""Pointing commands at folders a newcomer has at hand: a run folder for its checkpoint, a tokenizer
folder for its tokenizer.json; eval's table, its JSON, and a split that does not exist."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from scratchlm.model.train import train
from scratchlm.pipelines.cli import main
from train_shards import brown_shards
from training_helpers import tiny_config

torch.set_num_threads(1)
PROSE = Path(__file__).parent / "data" / "prose" / "brown.jsonl.gz"


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, Path]:
    """A run folder as ``scratchlm run`` leaves it: ``RUN/train/step-*``; and its shards."""
    root = tmp_path_factory.mktemp("run")
    shards = brown_shards(root / "shards", chars=40_000)
    cfg = tiny_config(max_steps=2, micro_batch=2, log_every=1, eval_tokens=256, warmup_steps=1)
    train(cfg, shards, root / "train", device="cpu")
    return root, shards


def eval_args(checkpoint: Path, shards: Path) -> list[str]:
    """``eval`` of ``checkpoint`` on 256 tokens of ``shards`` on the CPU."""
    return [
        "eval",
        "--checkpoint",
        str(checkpoint),
        "--data",
        str(shards),
        "--max-tokens",
        "256",
        "--device",
        "cpu",
    ]


def test_sample_and_eval_find_a_run_folders_checkpoint(run, capsys) -> None:
    root, shards = run
    assert (
        main(
            [
                "sample",
                "--checkpoint",
                str(root),
                "--prompt",
                "The",
                "--max-new-tokens",
                "4",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.startswith("The")
    assert main(eval_args(root, shards)) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[:3] == [
        f"checkpoint  {root / 'train' / 'step-0000002'}",
        "split       val",
        "tokens      256",
    ]
    assert [line.split()[0] for line in table[3:]] == ["loss", "perplexity"]


def test_eval_json_and_a_missing_split(run, capsys) -> None:
    root, shards = run
    args = eval_args(root / "train", shards)
    assert main([*args, "--json", "-"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["tokens"] == 256 and figures["split"] == "val"
    assert figures["perplexity"] == pytest.approx(2.718281828 ** figures["loss"])
    assert main([*args, "--split", "test"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"scratchlm: error: {shards}: no split 'test' (its splits: train, val)"
    )


def test_tokenizer_eval_takes_the_tokenizer_folder(run, capsys) -> None:
    _, shards = run
    tables = []
    for tokenizer in (shards / "tokenizer.json", shards):
        assert (
            main(
                [
                    "tokenizer",
                    "eval",
                    "--tokenizer",
                    str(tokenizer),
                    "--input",
                    str(PROSE),
                    "--limit-docs",
                    "3",
                ]
            )
            == 0
        )
        tables.append(capsys.readouterr().out)
    assert tables[0] == tables[1]
    assert tables[0].splitlines()[1].split()[:2] == ["all", "3"]  # 3 documents, each round-tripped
    assert tables[0].splitlines()[1].endswith("3/3")
