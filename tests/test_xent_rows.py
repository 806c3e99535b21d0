"""The row kernel of the chunked loss: Triton's kernel (run by Triton's CPU interpreter) equals the
PyTorch path and F.cross_entropy, losses and gradients, ignored targets and partial blocks
included."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from conftest import run_interpreted
from scratchlm.model.xent_rows import IGNORE_INDEX, softmax_xent_rows_, uses_kernel

REPO = Path(__file__).resolve().parents[1]


def _case(
    rows: int, vocab: int, dtype: torch.dtype, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    logits = (torch.randn(rows, vocab, generator=gen) * 4).to(dtype)
    targets = torch.randint(0, vocab, (rows,), generator=gen)
    targets[[1, rows - 1]] = IGNORE_INDEX
    return logits, targets


def test_torch_path_matches_cross_entropy_and_its_gradient() -> None:
    logits, targets = _case(12, 301, torch.float64, seed=0)
    reference = logits.clone().requires_grad_()
    loss = F.cross_entropy(reference, targets, reduction="sum")
    loss.backward()
    grad = logits.clone()
    losses = softmax_xent_rows_(grad, targets, torch.tensor(1.0, dtype=torch.float64))
    assert torch.allclose(losses.sum(), loss.detach(), rtol=1e-12)
    assert losses[1] == 0 and losses[-1] == 0
    assert torch.allclose(grad, reference.grad, rtol=1e-12, atol=1e-15)
    assert grad[1].abs().max() == 0


def test_the_kernel_runs_only_on_cuda_or_under_the_interpreter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    assert not uses_kernel(torch.zeros(1, 1))  # a CPU tensor takes the PyTorch path


def test_rows_must_be_contiguous() -> None:
    with pytest.raises(ValueError, match="contiguous"):
        softmax_xent_rows_(
            torch.zeros(4, 6).t(), torch.zeros(6, dtype=torch.long), torch.tensor(1.0)
        )


KERNEL_CHECK = """
import sys, torch, torch.nn.functional as F
sys.path.insert(0, sys.argv[1])
from scratchlm.model import xent_rows
from scratchlm.model.chunked_loss import chunked_cross_entropy
sys.path.insert(0, sys.argv[1] + "/tests")
from test_xent_rows import _case
logits = torch.zeros(2, 3)
assert xent_rows.uses_kernel(logits), "the interpreter should run the kernel"
for rows, vocab, dtype, tol in [(9, 97, torch.float32, 1e-6), (5, 40000, torch.float32, 1e-6),
                                (6, 5000, torch.bfloat16, 8e-3)]:
    logits, targets = _case(rows, vocab, dtype, seed=vocab)
    kernel_grad, torch_grad = logits.clone(), logits.clone()
    kernel_losses = xent_rows._kernel_rows(kernel_grad, targets, torch.tensor(0.25))
    torch_losses = xent_rows._torch_rows(torch_grad, targets, torch.tensor(0.25))
    assert torch.allclose(kernel_losses, torch_losses, rtol=1e-5, atol=1e-5), \
        (vocab, kernel_losses, torch_losses)
    assert kernel_losses[1] == 0 and kernel_losses[-1] == 0
    assert torch.allclose(kernel_grad.float(), torch_grad.float(), rtol=tol,
                          atol=tol * 0.25 / vocab), vocab
    assert kernel_grad[1].abs().max() == 0
logits, targets = _case(4, 50, torch.float32, seed=1)
targets[2] = 77  # outside the vocabulary: a NaN loss on that row, which stops a trainer
losses = xent_rows._kernel_rows(logits, targets, torch.tensor(1.0))
assert torch.isnan(losses[2]) and not torch.isnan(losses[[0, 3]]).any() and losses[1] == 0, losses
gen = torch.Generator().manual_seed(5)
x = torch.randn(40, 16, generator=gen, requires_grad=True)
w = torch.randn(300, 16, generator=gen, requires_grad=True)
targets = torch.randint(0, 300, (40,), generator=gen)
targets[[0, 17]] = -100
plain = F.cross_entropy(x @ w.t(), targets)
gx, gw = torch.autograd.grad(plain, (x, w))
chunked = chunked_cross_entropy(x, w, targets, 16)
cx, cw = torch.autograd.grad(chunked, (x, w))
assert torch.allclose(chunked, plain, rtol=1e-6), (chunked, plain)
assert torch.allclose(cx, gx, atol=1e-6) and torch.allclose(cw, gw, atol=1e-6)
print("kernel ok")
"""


def test_triton_kernel_equals_the_torch_path() -> None:
    assert run_interpreted(KERNEL_CHECK) == "kernel ok"
