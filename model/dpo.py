"""Direct Preference Optimization (DPO, Rafailov et al. 2023): tuning on (prompt, chosen, rejected).

A pair's implicit reward of an answer is ``beta * (log pi(answer | prompt) - log ref(answer |
prompt))``: how much more likely the tuned model ``pi`` makes the answer than the frozen reference
``ref`` (the starting checkpoint). The loss is ``-log sigmoid(reward(chosen) - reward(rejected))``,
so training raises the chosen answer's likelihood relative to the rejected one's without a reward
model or sampling; ``beta`` sets how far from the reference that is worth going.

An answer's log-probability is the sum over its tokens (and the end-of-text token after it) of
``log p(token | prompt, earlier answer tokens)``: prompts use the ``finetune instruct`` format and
their tokens are masked exactly as there (``model.instruct.collate``). A batch holds the chosen
rows of its pairs, then their rejected rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from scratchlm.model.errors import ModelError
from scratchlm.model.evaluate import autocast, autocast_dtype
from scratchlm.model.gpt import GPT
from scratchlm.model.instruct import IGNORE_INDEX, collate, format_prompt, instruction_prompt

# (prompt ids, chosen ids + EOS, rejected ids + EOS)
Preference = tuple[list[int], list[int], list[int]]


def preference_texts(record: dict) -> tuple[str, str, str]:
    """(formatted prompt, chosen, rejected) of a ``{prompt | instruction[, input], chosen,
    rejected}``
    record; a bad record is a ModelError giving the reason."""
    if isinstance(record.get("prompt"), str) and record["prompt"]:
        prompt = format_prompt(record["prompt"])
    elif "instruction" in record:
        prompt = instruction_prompt(record)
    else:
        raise ModelError("no text field 'prompt' or 'instruction'")
    for key in ("chosen", "rejected"):
        if not isinstance(record.get(key), str) or not record[key].strip():
            raise ModelError(f"field {key!r} missing, empty or not text")
    if record["chosen"] == record["rejected"]:
        raise ModelError("chosen and rejected are the same text")
    return prompt, record["chosen"], record["rejected"]


def preference_batch(
    pairs: Sequence[Preference], pad_id: int, block_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, targets) of the chosen rows then the rejected rows, cut to the context as
    ``collate`` cuts instruction examples."""
    rows = [(p, c) for p, c, _ in pairs] + [(p, r) for p, _, r in pairs]
    return collate(rows, pad_id, block_size)


def sequence_logprobs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per row, the summed log-probability of the targets other than ``IGNORE_INDEX`` (float32)."""
    per_token = F.cross_entropy(
        logits.flatten(0, 1).float(), targets.flatten(), ignore_index=IGNORE_INDEX, reduction="none"
    )  # 0 at ignored positions
    return -per_token.view(targets.shape).sum(dim=1)


def dpo_terms(
    policy: torch.Tensor, reference: torch.Tensor, beta: float
) -> dict[str, torch.Tensor]:
    """Mean DPO loss, reward accuracy (ties count one half) and reward margin of a batch.

    ``policy`` and ``reference``: log-probabilities of the chosen rows, then the rejected rows.
    """
    if beta <= 0:
        raise ModelError(f"beta must be positive, got {beta}")
    chosen, rejected = (policy.float() - reference.float()).chunk(2)
    margin = beta * (chosen - rejected)
    return {
        "loss": -F.logsigmoid(margin).mean(),
        "reward_accuracy": ((margin > 0).float() + 0.5 * (margin == 0).float()).mean(),
        "reward_margin": margin.mean(),
    }


@torch.no_grad()
def answer_logprobs(
    model: GPT, pairs: Sequence[Preference], pad_id: int, batch_size: int = 16
) -> torch.Tensor:
    """(pairs, 2) log-probabilities of each pair's chosen and rejected answer (eval mode; CPU)."""
    was_training = model.training
    model.eval()
    device, out = model.tok_emb.weight.device, []
    for start in range(0, len(pairs), batch_size):
        x, y = preference_batch(pairs[start : start + batch_size], pad_id, model.config.block_size)
        with autocast(device, autocast_dtype("auto", device)):
            logprobs = sequence_logprobs(model(x.to(device)), y.to(device))
        out.append(torch.stack(logprobs.float().cpu().chunk(2), dim=1))
    model.train(was_training)
    return torch.cat(out) if out else torch.zeros(0, 2)


def preference_metrics(
    policy: torch.Tensor, reference: torch.Tensor, beta: float
) -> dict[str, float]:
    """DPO loss, reward accuracy and reward margin over (pairs, 2) log-probabilities."""
    terms = dpo_terms(policy.T.flatten(), reference.T.flatten(), beta)
    return {name: value.item() for name, value in terms.items()}
