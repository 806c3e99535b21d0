"""Training on a mixture: each source's validation loss in log.jsonl and loss.png, as eval gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scratchlm.model.train_log import read_records
from scratchlm.pipelines.cli import main
from scratchlm.tokenizer.mixing import mix_shards, open_source
from tests.mix_sources import source_folders

EVAL_TOKENS = 2_048


@pytest.fixture(scope="module")
def mixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mixture")
    folders = source_folders(root / "sources")
    sources = [
        open_source("brown", folders["brown"], 0.6, 1.0),
        open_source("kjv", folders["kjv"], 0.4, 3.0),
    ]
    mix_shards(
        sources,
        folders["brown"] / "tokenizer.json",
        root / "shards",
        None,
        0,
        5_000,
        log=lambda _: None,
    )
    return root / "shards"


def test_per_source_validation_losses_in_the_log_match_eval(
    mixture: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "train"
    assert (
        main(
            [
                "train",
                "--data",
                str(mixture),
                "--out",
                str(out),
                "--max-steps",
                "6",
                "--warmup-steps",
                "2",
                "--micro-batch",
                "4",
                "--eval-every",
                "3",
                "--eval-tokens",
                str(EVAL_TOKENS),
                "--samples",
                "0",
                "--log-every",
                "3",
                "--set",
                "n_layer=1",
                "--set",
                "block_size=64",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    evals = [r for r in read_records(out / "log.jsonl") if "val_loss" in r]
    assert [r["step"] for r in evals] == [3, 6]
    assert all(list(r["val_loss_by_source"]) == ["brown", "kjv"] for r in evals)
    assert "brown" in capsys.readouterr().out  # the progress line names each source's loss
    report = tmp_path / "eval.json"
    assert (
        main(
            [
                "eval",
                "--checkpoint",
                str(out),
                "--data",
                str(mixture),
                "--max-tokens",
                str(EVAL_TOKENS),
                "--batch-size",
                "3",
                "--json",
                str(report),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    result = json.loads(report.read_text(encoding="utf-8"))
    logged = evals[-1]
    assert result["loss_by_source"].keys() == logged["val_loss_by_source"].keys()
    for name, loss in logged["val_loss_by_source"].items():
        assert result["loss_by_source"][name] == pytest.approx(loss, rel=1e-5)
        assert f"loss {name:<5}  {loss:.4f}" in printed
    assert result["loss"] == pytest.approx(logged["val_loss"], rel=1e-5)
    by_source = [result["loss_by_source"][n] for n in ("brown", "kjv")]
    assert min(by_source) < result["loss"] < max(by_source)  # the pooled loss lies between
    assert (out / "loss.png").stat().st_size > 0
