"""Cross-entropy of the output projection without the whole logits tensor: ``chunk`` rows at a time.

For a vocabulary of 50,304 and 131,072 tokens a micro-batch, the logits alone take 13 GB in bf16,
and their gradient as much again. Here the forward pass takes the rows in chunks: logits of one
chunk, their log-sum-exp and loss, then at once their gradient (softmax minus the one-hot target),
which two matrix products turn into the chunk's input gradient and its share of the weight
gradient. Only those two gradients are kept for the backward pass, which scales them. The math is
``F.cross_entropy(x @ weight.T, targets)`` (mean over targets that are not ``ignore_index``);
the logits are formed in the input's dtype and reduced in float32, as autocast's cross-entropy does.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100  # F.cross_entropy's default


class ChunkedLinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor, chunk: int) -> torch.Tensor:
        w = weight.to(x.dtype)
        acc = torch.promote_types(x.dtype, torch.float32)  # the reductions' dtype: float32 at least
        valid = targets != IGNORE_INDEX
        count = valid.sum().clamp(min=1).to(acc)
        grad_x = torch.empty_like(x)
        grad_w = torch.zeros(weight.shape, dtype=acc, device=weight.device)
        total = torch.zeros((), dtype=acc, device=x.device)
        for start in range(0, x.shape[0], chunk):
            rows = x[start:start + chunk]
            target, keep = targets[start:start + chunk], valid[start:start + chunk]
            logits = (rows @ w.t()).to(acc)
            safe = torch.where(keep, target, torch.zeros_like(target)).long()
            log_norm = torch.logsumexp(logits, dim=1)
            picked = logits.gather(1, safe[:, None]).squeeze(1)
            total = total + ((log_norm - picked) * keep).sum()
            grad = torch.exp(logits - log_norm[:, None])  # softmax
            grad.scatter_add_(1, safe[:, None], -torch.ones_like(picked)[:, None])
            grad = (grad * (keep[:, None] / count)).to(x.dtype)
            grad_x[start:start + chunk] = grad @ w
            grad_w += (grad.t() @ rows).to(acc)
        ctx.save_for_backward(grad_x, grad_w.to(weight.dtype))
        return total / count

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, None, None]:
        grad_x, grad_w = ctx.saved_tensors
        return grad_x * grad_out.to(grad_x.dtype), grad_w * grad_out.to(grad_w.dtype), None, None


def chunked_cross_entropy(x: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor, chunk: int) -> torch.Tensor:
    """Mean cross-entropy of ``x @ weight.T`` (rows of ``x``: positions) against ``targets``; without
    gradients (evaluation) the chunks form only their losses."""
    if torch.is_grad_enabled():
        return ChunkedLinearCrossEntropy.apply(x, weight, targets, chunk)
    w = weight.to(x.dtype)
    total = torch.zeros((), dtype=torch.promote_types(x.dtype, torch.float32), device=x.device)
    for start in range(0, x.shape[0], chunk):
        logits = (x[start:start + chunk] @ w.t()).to(total.dtype)
        total += F.cross_entropy(logits, targets[start:start + chunk], reduction="sum")
    return total / (targets != IGNORE_INDEX).sum().clamp(min=1)
