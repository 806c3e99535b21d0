"""Instruction fine-tuning: the book's prompt format, the loss on the response only, a CLI run."""

from __future__ import annotations

import json

import torch

from conftest import run_cli
from finetune_data import read_split, tiny_checkpoint
from scratchlm.model import checkpoint
from scratchlm.model import finetune as ft
from scratchlm.model.instruct import (
    IGNORE_INDEX,
    collate,
    extract_response,
    format_prompt,
    response_loss,
)
from scratchlm.pipelines.finetune_data import TextTokenizer, instruction_pairs

SOURCES = {"brown": "the Brown corpus", "kjv": "the King James Bible", "shakespeare": "Shakespeare"}


def test_prompt_is_the_books_alpaca_format():
    assert format_prompt("Name the capital.", "France") == (
        "Below is an instruction that describes a task. "
        "Write a response that appropriately completes the "
        "request.\n\n### Instruction:\nName the capital.\n\n### Input:\nFrance\n\n### Response:\n"
    )
    assert "### Input" not in format_prompt("Say hi.")
    assert extract_response(" Paris.\n\n### Instruction:\nmore") == "Paris."


def test_batch_masks_prompt_and_padding():
    pad = 0
    examples = [([11, 12, 13], [21, 22, 9]), ([31, 32], [41, 9])]
    inputs, targets = collate(examples, pad, max_length=16)
    assert inputs.tolist() == [[11, 12, 13, 21, 22], [31, 32, 41, pad, pad]]
    # the last prompt position predicts the first response token; EOS (9) is learned too
    assert targets.tolist() == [
        [IGNORE_INDEX, IGNORE_INDEX, 21, 22, 9],
        [IGNORE_INDEX, 41, 9, IGNORE_INDEX, IGNORE_INDEX],
    ]


def test_prompt_tokens_contribute_nothing_to_the_loss():
    inputs, targets = collate(
        [([5, 6, 7, 8], [1, 2, 3]), ([5, 6], [4, 3])], pad_id=3, max_length=16
    )
    logits = torch.randn(*inputs.shape, 10, requires_grad=True)
    loss = response_loss(logits, targets)
    loss.backward()
    masked = targets == IGNORE_INDEX
    assert masked.sum() > 0 and logits.grad[masked].abs().max() == 0
    assert logits.grad[~masked].abs().sum(dim=-1).min() > 0
    changed = logits.detach().clone()
    changed[masked] = torch.randn(int(masked.sum()), 10) * 100
    assert torch.equal(response_loss(changed, targets), loss.detach())
    # the loss is the mean over response positions alone
    kept = logits.detach()[~masked]
    expected = torch.nn.functional.cross_entropy(kept, targets[~masked])
    assert torch.allclose(loss, expected)


def test_response_loss_falls_and_answers_use_the_format(tmp_path, monkeypatch):
    records = [
        {
            "instruction": "Name the source of this passage.",
            "input": " ".join(r["text"].split()[:15]),
            "output": SOURCES[r["label"]],
        }
        for r in read_split("val")
    ]
    (tmp_path / "train.json").write_text(json.dumps(records[:120]), encoding="utf-8")
    (tmp_path / "val.json").write_text(json.dumps(records[120:150]), encoding="utf-8")
    texts = [format_prompt(r["instruction"], r["input"]) + r["output"] for r in records]
    base = tiny_checkpoint(tmp_path / "base", texts, vocab_size=512, block_size=128)
    model, _ = ft.load_base(base, torch.device("cpu"))
    tok = TextTokenizer.load(base / "tokenizer.json")
    val, dropped = instruction_pairs(tmp_path / "val.json", tok, model.config.block_size)
    assert dropped == 0
    before = ft.response_loss_of(model, val, tok.eos_id)

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    result = run_cli(
        "finetune",
        "instruct",
        "--checkpoint",
        str(base),
        "--out",
        str(tmp_path / "ft"),
        "--data",
        str(tmp_path / "train.json"),
        "--val",
        str(tmp_path / "val.json"),
        "--epochs",
        "3",
        "--lr",
        "3e-3",
        "--batch-size",
        "8",
        "--show",
        "1",
        "--max-new-tokens",
        "8",
    )
    assert result.returncode == 0, result.stderr
    history = checkpoint.load(tmp_path / "ft").state["finetune"]["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert history[-1]["val_loss"] < history[0]["val_loss"] < before
    assert history[-1]["val_loss"] < before / 3
    assert "### Instruction:\nName the source of this passage.\n\n### Input:\n" in result.stdout
    assert "### Response:\n" in result.stdout and "[expected: " in result.stdout

    # sample answers in the format (here through the int8 model): the response alone, stopped at EOS
    record = records[130]
    result = run_cli(
        "sample",
        "--checkpoint",
        str(tmp_path / "ft"),
        "--prompt",
        record["instruction"],
        "--input",
        record["input"],
        "--temperature",
        "0",
        "--max-new-tokens",
        "12",
        "--int8",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() in SOURCES.values()
