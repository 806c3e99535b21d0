"""Zero-shot evaluation: log-likelihood scores, accuracies, Wilson intervals, ``eval --task``."""

from __future__ import annotations

import dataclasses
import gzip
import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from scratchlm.model import checkpoint
from scratchlm.model.config import GPTConfig, pad_vocab
from scratchlm.model.gpt import GPT
from scratchlm.model.tasks import (
    Accuracy,
    ChoiceItem,
    Request,
    Scoring,
    last_word,
    multiple_choice,
    score_requests,
    wilson_interval,
)
from scratchlm.pipelines.cli import main
from scratchlm.tokenizer.config import BpeConfig
from scratchlm.tokenizer.train import train_bpe
from tests.conftest import DATA

# A hand-built bigram model over 5 tokens: row a holds p(next = b | previous = a).
P = [
    [0.1, 0.4, 0.2, 0.2, 0.1],
    [0.3, 0.25, 0.2, 0.125, 0.125],
    [0.5, 0.1, 0.1, 0.1, 0.2],
    [0.2, 0.2, 0.2, 0.2, 0.2],
    [0.05, 0.05, 0.4, 0.25, 0.25],
]
LOG_P = torch.tensor(P, dtype=torch.float64).log()


def bigram(ids: torch.Tensor) -> torch.Tensor:
    """Logits (batch, tokens, 5): log-probabilities, so that log_softmax gives them back."""
    return LOG_P[ids].float()


def test_scores_are_summed_log_probabilities_of_the_continuation() -> None:
    requests = [Request([3], [4, 2, 0]), Request([0], [1]), Request([1, 1, 1, 1, 1, 1], [3])]
    for batch_size in (1, 2, 3):
        scores = score_requests(Scoring(bigram, max_tokens=4, batch_size=batch_size), requests)
        # 0.2 * 0.4 * 0.5; 0.4; 0.125 (the long context is cut to fit 4 tokens, the bigram does
        # not mind)
        assert [s.logprob for s in scores] == pytest.approx(
            [math.log(0.04), math.log(0.4), math.log(0.125)], abs=1e-6
        )
        assert [s.greedy for s in scores] == [False, True, False]
        assert [s.tokens for s in scores] == [3, 1, 1]


def test_accuracy_equals_a_hand_computed_value() -> None:
    items = [
        # log p: [1] 0.4 > [2,0] 0.2*0.5 = 0.1; per character 0.4/1 > log(0.1)/2;
        # answer 1: both wrong
        ChoiceItem([0], [[1], [2, 0]], answer=1, lengths=[1, 2]),
        # [4,2,0]: 0.2*0.4*0.5 = 0.04 < [1]: 0.2;
        # per character log(0.04)/6 = -0.536 > log(0.2) = -1.609
        ChoiceItem([3], [[4, 2, 0], [1]], answer=0, lengths=[6, 1]),
        # after 2: [0] 0.5 > [4] 0.2; right both ways
        ChoiceItem([2, 2], [[0], [4]], answer=0, lengths=[1, 1]),
    ]
    result = multiple_choice(Scoring(bigram, max_tokens=8, batch_size=2), items)
    assert result.predictions == [(0, 0), (1, 0), (0, 0)]
    assert (result.acc.correct, result.acc.total) == (1, 3)
    assert (result.acc_norm.correct, result.acc_norm.total) == (2, 3)


def test_last_word_accuracy_is_greedy_exact_match() -> None:
    requests = [
        Request([0], [1]),  # argmax after 0 is 1: right
        Request([2], [0, 1]),  # 2 -> 0 -> 1, both argmax: right
        Request([4], [2]),  # argmax after 4 is 2: right
        Request([1], [3]),  # argmax after 1 is 0, not 3: wrong
    ]
    result = last_word(Scoring(bigram, max_tokens=8), requests)
    assert (result.acc.correct, result.acc.total) == (3, 4)
    expected = (math.log(0.4) + math.log(0.5 * 0.4) + math.log(0.4) + math.log(0.125)) / 4
    assert result.mean_logprob == pytest.approx(expected, abs=1e-6)
    assert result.perplexity == pytest.approx(math.exp(-expected), rel=1e-6)


def test_wilson_interval_matches_a_hand_computation() -> None:
    # 7 of 10, z = 1.96: centre (0.7 + 3.8416/20) / (1 + 0.38416) = 0.89208 / 1.38416 = 0.644492,
    # half 1.96 / 1.38416 * sqrt(0.7*0.3/10 + 3.8416/400) = 1.416021 * 0.174940 = 0.247719
    low, high = wilson_interval(7, 10, z=1.96)
    assert (low, high) == pytest.approx((0.644492 - 0.247719, 0.644492 + 0.247719), abs=2e-6)
    # 0 of 10: the lower end is 0 and the upper end z^2 / (n + z^2) = 3.8416 / 13.8416
    assert wilson_interval(0, 10, z=1.96) == pytest.approx((0.0, 0.277540), abs=1e-6)
    assert Accuracy(7, 10).to_dict()["low"] == pytest.approx(wilson_interval(7, 10)[0])


# --- a tiny GPT that memorises real sentences, evaluated through the CLI -----------------------

with gzip.open(DATA / "prose" / "brown.jsonl.gz", "rt", encoding="utf-8") as lines:
    BROWN = [json.loads(line)["text"] for line in lines]


def passages() -> list[str]:
    """Eight 24-word passages of real prose, from different Brown texts."""
    return [" ".join(BROWN[i].split()[100:124]) for i in range(0, 80, 10)]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer GPT trained on the passages until it knows them by heart, saved as a checkpoint."""
    folder = tmp_path_factory.mktemp("tiny")
    tok = train_bpe([BROWN[:40]], BpeConfig(vocab_size=400))
    tok.save(str(folder / "tokenizer.json"))
    eos = tok.token_to_id("<|endoftext|>")
    rows = [e.ids for e in tok.encode_batch(passages())]
    width = max(map(len, rows))
    batch = torch.full((len(rows), width), eos)
    for r, ids in enumerate(rows):
        batch[r, : len(ids)] = torch.tensor(ids)
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the one_thread fixture (a module fixture cannot use it)
    config = GPTConfig(
        vocab_size=pad_vocab(tok.get_vocab_size()),
        block_size=128,
        n_layer=2,
        n_head=2,
        n_embd=64,
        dropout=0.0,
    )
    model = GPT(config)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(150):
        loss = model(batch[:, :-1], batch[:, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
    torch.set_num_threads(threads)
    assert loss.item() < 0.05, f"the passages were not memorised (loss {loss.item():.3f})"
    state = {"step": 150, "model_config": dataclasses.asdict(config)}
    weights = checkpoint.weights_for_saving(model.state_dict(), config.tie_weights)
    return checkpoint.save(
        folder / "out", 150, weights, state, extra_files=[folder / "tokenizer.json"]
    )


def write_tasks(folder: Path) -> tuple[Path, Path, Path]:
    texts = [p.split() for p in passages()]
    endings = [" ".join(t[12:]) for t in texts]
    hellaswag, plain = [], []
    for i, words in enumerate(texts):
        # the true ending, and the endings of three other memorised passages
        choices = [endings[(i + k) % len(texts)] for k in (0, 3, 5, 6)]
        answer = i % 4
        choices[0], choices[answer] = choices[answer], choices[0]
        record = {"ctx": " ".join(words[:12]), "endings": choices, "label": answer}
        (hellaswag if i % 2 else plain).append(record)
    (folder / "hs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in hellaswag))
    (folder / "mc.jsonl").write_text(
        "".join(
            json.dumps({"context": r["ctx"], "choices": r["endings"], "answer": r["label"]}) + "\n"
            for r in plain
        )
    )
    (folder / "lambada.jsonl").write_text(
        "".join(json.dumps({"text": p}) + "\n" for p in passages())
    )
    return folder / "hs.jsonl", folder / "mc.jsonl", folder / "lambada.jsonl"


@pytest.fixture
def one_thread() -> Iterator[None]:
    """A tiny model: more threads only wait on each other (pytest -n 2: two tests on two cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_eval_picks_the_memorised_ending_and_last_word(
    trained: Path, tmp_path: Path, one_thread: None, capsys: pytest.CaptureFixture[str]
) -> None:
    hs, mc, lambada = write_tasks(tmp_path)
    out = tmp_path / "eval.json"
    code = main(
        [
            "eval",
            "--checkpoint",
            str(trained.parent),
            "--task",
            str(hs),
            str(mc),
            str(lambada),
            "--json",
            str(out),
            "--batch-size",
            "5",
            "--device",
            "cpu",
        ]
    )
    assert code == 0
    report = json.loads(out.read_text())
    by_file = {Path(r["file"]).name: r for r in report["results"]}
    for name in ("hs.jsonl", "mc.jsonl"):
        assert by_file[name]["task"] == "multiple_choice" and by_file[name]["items"] == 4
        assert by_file[name]["acc"]["correct"] == by_file[name]["acc_norm"]["correct"] == 4
        assert by_file[name]["acc"]["low"] == pytest.approx(wilson_interval(4, 4)[0])
    assert by_file["lambada.jsonl"]["acc"]["correct"] == 8
    assert by_file["lambada.jsonl"]["perplexity"] < 1.5
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["file", "task", "items"]
    assert any(line.startswith("hs.jsonl") and "1.0000 [0.5101, 1.0000]" in line for line in table)


def test_eval_refuses_unlabelled_items_naming_the_line(
    trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    task = tmp_path / "test.jsonl"
    task.write_text(json.dumps({"ctx": "a b", "endings": ["c", "d"], "label": ""}) + "\n")
    assert main(["eval", "--checkpoint", str(trained), "--task", str(task), "--device", "cpu"]) == 2
    assert f"{task}:1: no label/answer" in capsys.readouterr().err
    assert main(["eval", "--checkpoint", str(trained)]) == 2
    assert "--data DIR (loss on a shard split) or --task FILE" in capsys.readouterr().err
