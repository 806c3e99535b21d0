"""Cross-entropy of the output projection without the whole logits tensor: ``chunk`` rows at a time.

For a vocabulary of 50,304 and 131,072 tokens a micro-batch, the logits alone take 13 GB in bf16,
and their gradient as much again. Here the forward pass takes the rows in chunks: the logits of
one chunk go into one reused buffer, ``softmax_xent_rows_`` (model/xent_rows.py) turns them in place
into their gradient (softmax minus the one-hot target) while it sums the loss, and two matrix
products turn that into the chunk's input gradient and its share of the weight gradient (formed
transposed, ``x.T @ grad``: 691 TFLOP/s against 649 for ``grad.T @ x`` on an H200 at 16,384 x
50,304 x 768). Only those two gradients are kept for the backward pass, which scales them. The math
is ``F.cross_entropy(x @ weight.T, targets)`` (mean over targets that are not ``ignore_index``);
under autocast the products run in its dtype and the reductions in float32, as autocast's
cross-entropy does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from scratchlm.model.xent_rows import IGNORE_INDEX, softmax_xent_rows_

__all__ = ["IGNORE_INDEX", "chunked_cross_entropy"]


def _compute_dtype(x: torch.Tensor) -> torch.dtype:
    """The products' dtype: autocast's where it is on, else the input's."""
    if torch.is_autocast_enabled(x.device.type):
        return torch.get_autocast_dtype(x.device.type)
    return x.dtype


class ChunkedLinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx, x: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor, chunk: int
    ) -> torch.Tensor:
        dtype = _compute_dtype(x)
        if (
            dtype == torch.float16
        ):  # softmax x 1/count falls below float16's range: gradients would vanish
            raise ValueError("the chunked loss takes bfloat16 or float32 products, not float16")
        acc = torch.promote_types(dtype, torch.float32)  # the reductions' dtype: float32 at least
        rows_in, w = x.to(dtype), weight.to(dtype)
        count = (targets != IGNORE_INDEX).sum().to(acc)
        scale = 1.0 / count.clamp(min=1)  # no target at all: zero gradients
        grad_x = torch.empty(x.shape, dtype=dtype, device=x.device)
        grad_w_t = torch.zeros(
            weight.shape[::-1], dtype=acc, device=weight.device
        )  # transposed: a faster product
        total = torch.zeros((), dtype=acc, device=x.device)
        buffer = torch.empty(
            (min(chunk, x.shape[0]), weight.shape[0]), dtype=dtype, device=x.device
        )
        with torch.autocast(
            x.device.type, enabled=False
        ):  # the casts are done: no per-chunk recasting
            for start in range(0, x.shape[0], chunk):
                rows = rows_in[start : start + chunk]
                logits = buffer[: rows.shape[0]]
                torch.mm(rows, w.t(), out=logits)
                total += softmax_xent_rows_(logits, targets[start : start + chunk], scale).sum()
                torch.mm(logits, w, out=grad_x[start : start + chunk])
                grad_w_t += torch.mm(rows.t(), logits)
        ctx.save_for_backward(grad_x.to(x.dtype), grad_w_t.t().to(weight.dtype))
        return total / count  # no target at all: NaN, as F.cross_entropy gives

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, None, None]:
        grad_x, grad_w = ctx.saved_tensors
        return grad_x * grad_out.to(grad_x.dtype), grad_w * grad_out.to(grad_w.dtype), None, None


def chunked_cross_entropy(
    x: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor, chunk: int
) -> torch.Tensor:
    """Mean cross-entropy of ``x @ weight.T`` (rows of ``x``: positions) against ``targets``;
    without gradients (evaluation) the chunks form only their losses."""
    if torch.is_grad_enabled():
        return ChunkedLinearCrossEntropy.apply(x, weight, targets, chunk)
    w = weight.to(x.dtype)
    total = torch.zeros((), dtype=torch.promote_types(x.dtype, torch.float32), device=x.device)
    for start in range(0, x.shape[0], chunk):
        logits = (x[start : start + chunk] @ w.t()).to(total.dtype)
        total += F.cross_entropy(logits, targets[start : start + chunk], reduction="sum")
    return total / (targets != IGNORE_INDEX).sum()
