"""Preference tuning (DPO): the loss against a direct computation, a real run through the CLI on
the shipped pairs (held-out margin rises, reference frozen, eval/sample/export), LoRA, rejects,
resume after a kill."""

from __future__ import annotations

import gzip
import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest import REPO, run_cli
from finetune_data import FOLDER, tiny_checkpoint
from preference_data import build
from scratchlm.model import checkpoint
from scratchlm.model import finetune as ft
from scratchlm.model.config import GPTConfig
from scratchlm.model.dpo import answer_logprobs, dpo_terms, preference_batch, sequence_logprobs
from scratchlm.model.gpt import GPT
from scratchlm.model.instruct import format_prompt, uses_prompt_format
from scratchlm.model.safetensors_io import load_file
from scratchlm.model.train_log import read_records
from scratchlm.pipelines.cli import main
from scratchlm.pipelines.finetune_data import Rejects, TextTokenizer, preference_pairs
from scratchlm.pipelines.hf_interop import import_hf

TRAIN, VAL = FOLDER / "preferences-train.jsonl.gz", FOLDER / "preferences-val.jsonl.gz"
TERMS = ("loss", "reward_accuracy", "reward_margin")


def shipped(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A random tiny GPT with a BPE trained on the prompts and chosen answers of the shipped set."""
    texts = [format_prompt(r["instruction"], r["input"]) + r["chosen"] for r in shipped(TRAIN)]
    return tiny_checkpoint(
        tmp_path_factory.mktemp("dpo") / "base", texts, vocab_size=512, block_size=128
    )


@pytest.fixture(scope="module")
def pairs(tmp_path_factory) -> tuple[Path, Path]:
    """480 training and 100 held-out continuation pairs of the shipped set (which a random model
    learns from within a few steps, unlike naming a source), as JSON Lines files."""
    folder = tmp_path_factory.mktemp("pairs")
    for name, path, count in (("train", TRAIN, 480), ("val", VAL, 100)):
        records = [r for r in shipped(path) if r["instruction"] == "Continue this passage."]
        lines = "".join(json.dumps(r) + "\n" for r in records[:count])
        (folder / f"{name}.jsonl").write_text(lines, encoding="utf-8")
    return folder / "train.jsonl", folder / "val.jsonl"


def dpo_cli(base: Path, out: Path, train: Path, val: Path, *options: str) -> list[str]:
    """``finetune dpo`` arguments: one epoch over ``train``, ``val`` held out, batches of 8."""
    return [
        "finetune",
        "dpo",
        "--checkpoint",
        str(base),
        "--out",
        str(out),
        "--data",
        str(train),
        "--val",
        str(val),
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--lr",
        "2e-3",
        *options,
    ]


def answer_logprob(model: GPT, prompt: list[int], answer: list[int]) -> float:
    """log p(answer | prompt) one token at a time, from one unpadded row's logits (float64)."""
    seq = (prompt + answer)[: model.config.block_size + 1]
    with torch.no_grad():
        logits = model(torch.tensor([seq[:-1]]))[0].double()
    return sum(
        torch.log_softmax(logits[t], dim=-1)[seq[t + 1]].item()
        for t in range(len(prompt) - 1, len(seq) - 1)
    )


def test_loss_equals_a_direct_computation():
    config = GPTConfig(vocab_size=64, block_size=24, n_layer=2, n_head=2, n_embd=32, dropout=0.0)
    torch.manual_seed(0)
    reference = GPT(config).eval()
    policy = GPT(config).eval()
    policy.load_state_dict(reference.state_dict())
    with torch.no_grad():
        for param in policy.parameters():
            param.add_(torch.randn_like(param) * 0.05)
    g = torch.Generator().manual_seed(1)

    def ids(n: int) -> list[int]:
        return torch.randint(1, 64, (n,), generator=g).tolist()

    # answers of several lengths (padding), one pair cut by the 24-token context
    pairs = [
        (ids(5), ids(3), ids(7)),
        (ids(9), ids(12), ids(2)),
        (ids(4), ids(1), ids(6)),
        (ids(15), ids(20), ids(14)),
    ]
    beta = 0.3
    x, y = preference_batch(pairs, pad_id=0, block_size=config.block_size)
    with torch.no_grad():
        terms = dpo_terms(
            sequence_logprobs(policy(x), y), answer_logprobs(reference, pairs, 0).T.flatten(), beta
        )
    margins = [
        beta
        * (
            (answer_logprob(policy, p, c) - answer_logprob(reference, p, c))
            - (answer_logprob(policy, p, r) - answer_logprob(reference, p, r))
        )
        for p, c, r in pairs
    ]
    assert terms["loss"].item() == pytest.approx(
        sum(math.log1p(math.exp(-m)) for m in margins) / 4, abs=1e-5
    )
    assert terms["reward_margin"].item() == pytest.approx(sum(margins) / 4, abs=1e-5)
    assert terms["reward_accuracy"].item() == sum(m > 0 for m in margins) / 4
    # the policy starting as the reference: every margin 0, loss log 2, ties count one half
    same = dpo_terms(
        answer_logprobs(reference, pairs, 0).T.flatten(),
        answer_logprobs(reference, pairs, 0).T.flatten(),
        beta,
    )
    assert (
        same["loss"].item() == pytest.approx(math.log(2)) and same["reward_accuracy"].item() == 0.5
    )


def test_held_out_margin_rises_reference_frozen_and_result_usable(
    base, pairs, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    before = {k: v.clone() for k, v in checkpoint.load(base).weights.items()}
    out = tmp_path / "dpo"
    result = run_cli(*dpo_cli(base, out, *pairs, "--eval-every", "20", "--beta", "0.1"))
    assert result.returncode == 0, result.stderr
    assert (
        "477 training and 100 held-out pairs; 3 rejected: 2 prompt fills the 128-token context"
        in result.stdout
    )
    log = read_records(out / "log.jsonl")
    held = [r for r in log if "val_reward_margin" in r]
    assert [r["step"] for r in held] == [0, 20, 40, 60]
    assert held[0]["val_reward_margin"] == 0 and held[0]["val_loss"] == pytest.approx(math.log(2))
    margins = [r["val_reward_margin"] for r in held]
    assert margins == sorted(margins) and margins[-1] > 0.03  # 0, 0.013, 0.039, 0.056 when written
    assert held[-1]["val_reward_accuracy"] > 0.53 and held[-1]["val_loss"] < math.log(2) - 0.01
    assert (out / "dpo.png").stat().st_size > 10_000 and not (out / ft.RESUME).exists()
    saved = checkpoint.load(out)
    assert saved.state["finetune"]["task"] == "dpo" and saved.state["finetune"]["history"] == [
        held[-1]
    ]

    # the reference stayed the starting checkpoint: its weights are unchanged, and eval, which
    # computes the reference afresh from it, gives the held-out figures logged in training
    assert all(torch.equal(checkpoint.load(base).weights[k], v) for k, v in before.items())
    capsys.readouterr()
    assert main(["eval", "--checkpoint", str(out), "--preferences", str(pairs[1])]) == 0
    table = {line[:16].strip(): line[16:] for line in capsys.readouterr().out.splitlines()}
    assert (table["pairs"], table["beta"], table["rejected"]) == ("100", "0.1", "none rejected")
    as_json = ["eval", "--checkpoint", str(out), "--preferences", str(pairs[1]), "--json", "-"]
    assert main(as_json) == 0
    report = json.loads(capsys.readouterr().out)
    assert table["reward accuracy"] == f"{report['reward_accuracy']:.4f}"
    assert report["pairs"] == 100 and report["beta"] == 0.1
    for term in TERMS:
        assert report[term] == pytest.approx(held[-1][f"val_{term}"], abs=1e-5)

    # sample answers in the prompt format; export to Hugging Face and back gives the same weights
    assert uses_prompt_format(saved.state["finetune"])
    sample = [
        "sample",
        "--checkpoint",
        str(out),
        "--prompt",
        "Continue this passage.",
        "--input",
        "In the beginning God created",
        "--temperature",
        "0",
        "--max-new-tokens",
        "8",
    ]
    assert main(sample) == 0
    assert capsys.readouterr().out.strip()
    assert main(["export", "--checkpoint", str(out), "--to", "hf", str(tmp_path / "hf")]) == 0
    back = checkpoint.load(import_hf(tmp_path / "hf", tmp_path / "back")).weights
    assert all(torch.equal(back[k], v) for k, v in saved.weights.items())


def test_lora_adapters_save_and_merge(base, pairs, tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    out = tmp_path / "lora"
    result = run_cli(
        *dpo_cli(base, out, *pairs, "--lora-rank", "4", "--lora-alpha", "8", "--eval-every", "0")
    )
    assert result.returncode == 0, result.stderr
    adapters = load_file(out / ft.ADAPTERS)
    assert adapters and all(".lora_A" in name or ".lora_B" in name for name in adapters)
    assert any(t.abs().sum() > 0 for name, t in adapters.items() if ".lora_B" in name)
    merge = ["finetune", "merge", "--adapters", str(out), "--out", str(tmp_path / "merged")]
    assert main(merge) == 0
    merged, direct, start = (checkpoint.load(p).weights for p in (tmp_path / "merged", out, base))
    assert set(merged) == set(direct) == set(start)
    assert all(torch.allclose(merged[k], direct[k], atol=1e-6) for k in direct)
    assert not torch.equal(direct["blocks.1.ff.up.weight"], start["blocks.1.ff.up.weight"])
    assert torch.equal(direct["tok_emb.weight"], start["tok_emb.weight"])  # not adapted: unchanged
    assert checkpoint.load(tmp_path / "merged").state["finetune"]["task"] == "dpo"


def test_bad_records_are_counted_with_their_reason(base, tmp_path, capsys):
    tok = TextTokenizer.load(base / "tokenizer.json")
    good = [
        {"prompt": "Say yes.", "chosen": "yes", "rejected": "no"},
        {
            "instruction": "Name it.",
            "input": "a rose",
            "chosen": "Shakespeare",
            "rejected": "the Brown corpus",
        },
    ]
    long = " ".join(["word"] * 200)
    bad = [
        '{"prompt": "cut',
        json.dumps([1, 2]),
        json.dumps({"prompt": "Hi.", "rejected": "no"}),
        json.dumps(
            {"prompt": "Hi.", "chosen": [{"role": "assistant", "content": "yes"}], "rejected": "no"}
        ),
        json.dumps({"prompt": "Hi.", "chosen": "same", "rejected": "same"}),
        json.dumps({"question": "Hi.", "chosen": "yes", "rejected": "no"}),
        json.dumps({"prompt": long, "chosen": "yes", "rejected": "no"}),
        json.dumps({"prompt": "Hi.", "chosen": long + " yes", "rejected": long + " no"}),
    ]
    path = tmp_path / "prefs.jsonl"
    path.write_text(
        "\n".join([json.dumps(good[0]), *bad, json.dumps(good[1])]) + "\n", encoding="utf-8"
    )
    rejects = Rejects()
    kept = preference_pairs(path, tok, 128, rejects)
    assert rejects.counts == {
        "not valid JSON (Unterminated string starting at)": 1,
        "expected a JSON object, got list": 1,
        "field 'chosen' missing, empty or not text": 2,
        "chosen and rejected are the same text": 1,
        "no text field 'prompt' or 'instruction'": 1,
        "prompt fills the 128-token context": 1,
        "chosen and rejected differ only past the 128-token context": 1,
    }
    assert rejects.first["field 'chosen' missing, empty or not text"] == f"{path}:4"
    eos = tok.eos_id
    assert kept == [
        (
            tok.encode([format_prompt("Say yes.")])[0],
            tok.encode(["yes"])[0] + [eos],
            tok.encode(["no"])[0] + [eos],
        ),
        (
            tok.encode([format_prompt("Name it.", "a rose")])[0],
            tok.encode(["Shakespeare"])[0] + [eos],
            tok.encode(["the Brown corpus"])[0] + [eos],
        ),
    ]

    only_bad = tmp_path / "bad.json"
    only_bad.write_text(json.dumps([{"prompt": "Hi."}]), encoding="utf-8")
    args = [
        "finetune",
        "dpo",
        "--checkpoint",
        str(base),
        "--out",
        str(tmp_path / "out"),
        "--data",
        str(only_bad),
    ]
    assert main(args) == 2
    output = capsys.readouterr()
    assert "no usable preference pair" in output.err and "1 field 'chosen' missing" in output.out


def test_resume_after_a_kill_gives_the_same_loss_sequence(
    base, pairs, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    options = ["--log-every", "1", "--eval-every", "10", "--checkpoint-every", "8"]
    unbroken = run_cli(*dpo_cli(base, tmp_path / "a", *pairs, *options))
    assert unbroken.returncode == 0, unbroken.stderr

    out = tmp_path / "b"
    command = [sys.executable, "-m", "scratchlm.pipelines", *dpo_cli(base, out, *pairs, *options)]
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        if any(r.get("step", 0) >= 21 for r in read_records(out / "log.jsonl")):
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    assert process.wait() == -signal.SIGKILL
    assert not checkpoint.list_checkpoints(out) and checkpoint.list_checkpoints(out / ft.RESUME)
    assert main(dpo_cli(base, out, *pairs, *options)) == 2
    assert "pass --resume" in capsys.readouterr().err
    resumed = run_cli(*dpo_cli(base, out, *pairs, *options), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    resumed_after = int(resumed.stdout.split("resuming after step ")[1].split()[0])
    assert resumed_after % 8 == 0 and 16 <= resumed_after < 60

    first, second = (read_records(folder / "log.jsonl") for folder in (tmp_path / "a", out))
    assert len(first) == 60 + 7  # a record per step, evaluations at steps 0, 10, ..., 60
    assert first == second
    a, b = checkpoint.load(tmp_path / "a").weights, checkpoint.load(out).weights
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_shipped_preference_set_rebuilds_byte_for_byte(tmp_path):
    build(tmp_path)
    for path in (TRAIN, VAL):
        assert (tmp_path / path.name).read_bytes() == path.read_bytes()
    pairs = shipped(TRAIN)
    assert len(pairs) == 1440 and len(shipped(VAL)) == 300
    assert {r["instruction"] for r in pairs} == {
        "Name the source of this passage.",
        "Continue this passage.",
    }
    assert all(sorted(r["chosen"].split()) == sorted(r["rejected"].split()) for r in pairs[1::2])
