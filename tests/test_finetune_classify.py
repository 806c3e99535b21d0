"""Classification fine-tuning via the CLI on the shipped passages (Brown / KJV / Shakespeare)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import torch

from conftest import run_cli
from finetune_data import FOLDER, read_split, tiny_checkpoint
from scratchlm.curate.errors import ConfigError
from scratchlm.model import checkpoint
from scratchlm.pipelines.finetune_data import TextTokenizer, encode_labelled
from scratchlm.pipelines.hf_interop import export_hf

# stated in docs: a 2-block, 64-wide GPT, fine-tuning only its last block, final norm and head
MIN_TEST_ACCURACY = 0.55


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    texts = [r["text"] for r in read_split("train")]
    return tiny_checkpoint(tmp_path_factory.mktemp("classify"), texts, vocab_size=1024)


def test_classifier_learns_source_with_frozen_layers(base, tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    out = tmp_path / "ft"
    result = run_cli(
        "finetune",
        "classify",
        "--checkpoint",
        str(base),
        "--out",
        str(out),
        "--train",
        str(FOLDER / "source-train.jsonl.gz"),
        "--val",
        str(FOLDER / "source-val.jsonl.gz"),
        "--test",
        str(FOLDER / "source-test.jsonl.gz"),
        "--train-layers",
        "1",
        "--epochs",
        "4",
        "--lr",
        "2e-3",
        "--batch-size",
        "8",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("val_accuracy") == 5  # before training, then one line per epoch
    tuned = checkpoint.load(out)
    info = tuned.state["finetune"]
    assert info["labels"] == ["brown", "kjv", "shakespeare"]
    majority = max(Counter(r["label"] for r in read_split("test")).values()) / len(
        read_split("test")
    )
    assert info["test_accuracy"] >= MIN_TEST_ACCURACY > majority + 0.2
    assert f"test accuracy {info['test_accuracy']:.4f}" in result.stdout

    before = checkpoint.load(base).weights
    frozen = [k for k in before if not k.startswith(("blocks.1.", "head."))]
    assert frozen and all(torch.equal(before[k], tuned.weights[k]) for k in frozen)
    trained = [k for k in before if k.startswith(("blocks.1.", "head.final_norm."))]
    assert all(not torch.equal(before[k], tuned.weights[k]) for k in trained)
    assert tuned.weights["head.out_head.weight"].shape == (3, 64)
    with pytest.raises(ConfigError, match="a classifier checkpoint has no language-model head"):
        export_hf(out, tmp_path / "hf")


def test_unknown_label_names_the_file(base, tmp_path):
    tok = TextTokenizer.load(base / "tokenizer.json")
    with pytest.raises(ConfigError, match="val.jsonl: label.*poetry not in the training file"):
        encode_labelled([("a line", "poetry")], ["brown", "kjv"], tok, Path("val.jsonl"))
