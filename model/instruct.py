"""Instruction fine-tuning (the book's chapter 7): Alpaca-style prompts, loss on response tokens
only.

A record is ``{"instruction", "input", "output"}``. The prompt is the book's Alpaca format, ending
in ``### Response:`` and a newline; the model learns the response and the end-of-text token after
it. Prompt and padding positions get the target ``IGNORE_INDEX``, which the loss skips.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from scratchlm.model.chunked_loss import IGNORE_INDEX
from scratchlm.model.errors import ModelError

PREAMBLE = (
    "Below is an instruction that describes a task. "
    "Write a response that appropriately completes the request."
)
RESPONSE_HEADER = "\n\n### Response:\n"


def format_prompt(instruction: str, input: str = "") -> str:
    """The text before the response: preamble, instruction, the input when there is one, the
    header."""
    text = f"{PREAMBLE}\n\n### Instruction:\n{instruction}"
    if input:
        text += f"\n\n### Input:\n{input}"
    return text + RESPONSE_HEADER


def instruction_prompt(record: dict) -> str:
    """The prompt of an ``{instruction[, input]}`` record; a bad field is a ModelError."""
    if not isinstance(record.get("instruction"), str):
        raise ModelError("field 'instruction' missing or not text")
    extra = record.get("input") or ""
    if not isinstance(extra, str):
        raise ModelError("field 'input' is not text")
    return format_prompt(record["instruction"], extra)


def record_prompt(record: dict, where: str) -> tuple[str, str]:
    """(prompt, response) of one record; a bad field is a ModelError naming ``where``."""
    try:
        prompt = instruction_prompt(record)
        if not isinstance(record.get("output"), str):
            raise ModelError("field 'output' missing or not text")
    except ModelError as err:
        raise ModelError(f"{where}: {err}") from None
    return prompt, record["output"]


def uses_prompt_format(finetune: dict) -> bool:
    """Whether a checkpoint's ``finetune`` record is of a task trained on formatted prompts."""
    return finetune.get("task") in ("instruct", "dpo")


def extract_response(continuation: str) -> str:
    """The answer in generated text after a prompt: up to a new ``###`` section, stripped."""
    return continuation.split("\n\n###", 1)[0].strip()


def collate(
    examples: list[tuple[list[int], list[int]]], pad_id: int, max_length: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, targets) for (prompt ids, response ids + EOS) pairs, padded to the longest row.

    Sequences longer than ``max_length + 1`` tokens are cut at the end; targets are the inputs
    shifted by one, with prompt and padding positions set to ``IGNORE_INDEX``.
    """
    rows = []
    for prompt, response in examples:
        if not prompt or not response:
            raise ModelError("an instruction example needs prompt and response tokens")
        seq = (prompt + response)[: max_length + 1]
        targets = seq[1:]
        prompt_targets = min(len(prompt) - 1, len(targets))
        targets = [IGNORE_INDEX] * prompt_targets + targets[prompt_targets:]
        rows.append((seq[:-1], targets))
    width = max(len(x) for x, _ in rows)
    inputs = torch.tensor([x + [pad_id] * (width - len(x)) for x, _ in rows])
    targets = torch.tensor([y + [IGNORE_INDEX] * (width - len(y)) for _, y in rows])
    return inputs, targets


def response_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the positions whose target is not ``IGNORE_INDEX``."""
    return F.cross_entropy(
        logits.flatten(0, 1).float(), targets.flatten(), ignore_index=IGNORE_INDEX
    )
