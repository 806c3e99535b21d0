"""Zero-shot evaluation by log-likelihood: multiple choice and last-word prediction.

The model is any callable from token ids ``(batch, tokens)`` to logits ``(batch, tokens, vocab)``
(a ``GPT``, or a hand-built function in tests). A request is a context and a continuation (token
ids); its score is the summed log-probability of the continuation's tokens, each given all the
tokens before it, and whether each of them is also the model's top (greedy) choice.

* Multiple choice (HellaSwag, Zellers et al. 2019; as lm-evaluation-harness scores it): the
  prediction is the choice of highest log-likelihood (``acc``), and of highest log-likelihood per
  character of the choice (``acc_norm``, the length normalisation that HellaSwag is reported with).
* Last word (LAMBADA, Paperno et al. 2016; as GPT-2 scores it): a passage is right when greedy
  decoding reproduces its last word, i.e. every token of the word is the top choice.

Accuracies come with a 95% Wilson score interval (Wilson 1927; Newcombe 1998, method 3), which
unlike the normal approximation stays inside [0, 1] and keeps its coverage near 0 and 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from scratchlm.model.errors import ModelError

LogitsFn = Callable[[torch.Tensor], torch.Tensor]
Z95 = 1.959963984540054  # the standard normal's 97.5% quantile


@dataclass(frozen=True)
class Request:
    context: Sequence[int]  # at least one token
    continuation: Sequence[int]  # at least one token


@dataclass(frozen=True)
class Score:
    logprob: float  # sum over the continuation's tokens of log p(token | everything before it)
    greedy: bool  # every continuation token is the model's most likely next token
    tokens: int


@dataclass(frozen=True)
class Accuracy:
    correct: int
    total: int

    @property
    def value(self) -> float:
        return self.correct / self.total if self.total else float("nan")

    def interval(self, z: float = Z95) -> tuple[float, float]:
        return wilson_interval(self.correct, self.total, z)

    def to_dict(self) -> dict[str, float | int]:
        low, high = self.interval()
        return {
            "value": self.value,
            "low": low,
            "high": high,
            "correct": self.correct,
            "total": self.total,
        }


def wilson_interval(correct: int, total: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion ``correct / total``."""
    if total <= 0:
        return float("nan"), float("nan")
    p, n = correct / total, total
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Scoring:
    """How requests are scored: by ``model``, in batches of ``batch_size`` on ``device``, each
    request cut to the model's context of ``max_tokens``."""

    model: LogitsFn
    max_tokens: int
    batch_size: int = 32
    device: torch.device | str = "cpu"


@torch.no_grad()
def score_requests(scoring: Scoring, requests: Sequence[Request]) -> list[Score]:
    """Scores of the requests, batched by length; contexts are cut from the left to fit
    ``scoring.max_tokens``."""
    max_tokens, batch_size, device = scoring.max_tokens, scoring.batch_size, scoring.device
    rows: list[list[int]] = []
    for number, request in enumerate(requests):
        if not request.context or not request.continuation:
            raise ModelError(
                f"request {number}: context and continuation need at least one token each"
            )
        if len(request.continuation) > max_tokens:
            raise ModelError(
                f"request {number}: continuation of {len(request.continuation)} tokens "
                f"exceeds the model's {max_tokens}-token context"
            )
        # the model reads every token but the last; the last max_tokens + 1 tokens are kept
        rows.append([*request.context, *request.continuation][-(max_tokens + 1) :])
    order = sorted(range(len(rows)), key=lambda i: -len(rows[i]))
    scores: list[Score | None] = [None] * len(rows)
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        width = len(rows[batch[0]]) - 1
        inputs = torch.zeros(len(batch), width, dtype=torch.long)
        targets = torch.zeros(len(batch), width, dtype=torch.long)
        wanted = torch.zeros(len(batch), width, dtype=torch.bool)
        for r, i in enumerate(batch):
            row, cont = rows[i], len(requests[i].continuation)
            inputs[r, : len(row) - 1] = torch.tensor(row[:-1])
            targets[r, : len(row) - 1] = torch.tensor(row[1:])
            wanted[r, len(row) - 1 - cont : len(row) - 1] = True
        # (continuation tokens, vocab)
        logits = scoring.model(inputs.to(device))[wanted.to(device)].float()
        chosen = targets[wanted].to(device)
        logprobs = torch.log_softmax(logits, dim=-1).gather(1, chosen[:, None])[:, 0]
        greedy = logits.argmax(dim=-1) == chosen
        counts = wanted.sum(dim=1).tolist()
        for i, lp, gr, count in zip(
            batch, logprobs.cpu().split(counts), greedy.cpu().split(counts), counts
        ):
            scores[i] = Score(float(lp.double().sum()), bool(gr.all()), count)
    return scores  # type: ignore[return-value]


@dataclass(frozen=True)
class ChoiceItem:
    context: Sequence[int]
    choices: Sequence[Sequence[int]]
    answer: int
    lengths: Sequence[int]  # the normaliser of each choice: its length in characters


@dataclass(frozen=True)
class ChoiceResult:
    acc: Accuracy
    acc_norm: Accuracy
    predictions: list[
        tuple[int, int]
    ]  # (by log-likelihood, by log-likelihood per character) per item


def multiple_choice(scoring: Scoring, items: Sequence[ChoiceItem]) -> ChoiceResult:
    """Accuracy of picking the most likely choice, raw and normalised by each choice's length."""
    requests = [Request(item.context, choice) for item in items for choice in item.choices]
    scores = iter(score_requests(scoring, requests))
    predictions, right, right_norm = [], 0, 0
    for item in items:
        lps = [next(scores).logprob for _ in item.choices]
        best = max(range(len(lps)), key=lambda k: lps[k])
        best_norm = max(range(len(lps)), key=lambda k: lps[k] / max(item.lengths[k], 1))
        predictions.append((best, best_norm))
        right += best == item.answer
        right_norm += best_norm == item.answer
    return ChoiceResult(Accuracy(right, len(items)), Accuracy(right_norm, len(items)), predictions)


@dataclass(frozen=True)
class LastWordResult:
    acc: Accuracy
    mean_logprob: float  # of the last word, per passage

    @property
    def perplexity(self) -> float:
        """exp of the negative mean log-likelihood of the last word (lm-evaluation-harness's LAMBADA
        ppl)."""
        return math.exp(-self.mean_logprob)


def last_word(scoring: Scoring, requests: Sequence[Request]) -> LastWordResult:
    """How often greedy decoding reproduces each continuation (a passage's last word) exactly."""
    scores = score_requests(scoring, requests)
    mean = sum(s.logprob for s in scores) / len(scores) if scores else float("nan")
    return LastWordResult(Accuracy(sum(s.greedy for s in scores), len(scores)), mean)
