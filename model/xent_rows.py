"""Cross-entropy of logit rows and its gradient, written over the logits.

``softmax_xent_rows_(logits, targets, scale)`` returns each row's loss ``logsumexp(row) -
row[target]`` (0 where the target is ``ignore_index``) and replaces the row by its gradient
``(softmax(row) - onehot(target)) * scale`` in the logits' dtype (0 where ignored; ``scale`` is a
one-element tensor, so no value needs to come back to the host). The reductions run in float32.
On a CUDA device with Triton, one kernel does it: a program per row reads the row once for the
log-sum-exp (an online maximum and sum) and once more, partly from the L2 cache, to write the
gradient. Measured on an H100 its time lies between two and three passes over the logits at the
copy rate, against three passes in two kernels for compiled ``F.cross_entropy``
(benchmarks/xent_kernel.py). A target outside the vocabulary gives that row a NaN loss there (the
PyTorch path raises). Everywhere else the same math runs as PyTorch operations. The head's
chunked loss (model/chunked_loss.py) uses it on each chunk.
"""

from __future__ import annotations

import os

import torch

IGNORE_INDEX = -100  # F.cross_entropy's default

try:  # Triton comes with PyTorch's CUDA builds; without it, the PyTorch path runs
    import triton
    import triton.language as tl
except ImportError:
    triton = None


def _interpreted() -> bool:
    """Triton's interpreter runs kernels on the CPU (tests use it to check the kernel)."""
    return os.environ.get("TRITON_INTERPRET") == "1"


def uses_kernel(logits: torch.Tensor) -> bool:
    return triton is not None and (logits.is_cuda or _interpreted())


def kernel_available(device: torch.device) -> bool:
    """Whether the kernel runs on ``device``: Triton is installed and the GPU has bf16 (compute
    capability 8+)."""
    return (
        triton is not None
        and device.type == "cuda"
        and torch.cuda.get_device_capability(device)[0] >= 8
    )


def softmax_xent_rows_(
    logits: torch.Tensor, targets: torch.Tensor, scale: torch.Tensor
) -> torch.Tensor:
    """Per-row losses (float32); ``logits`` (rows, vocab), contiguous, is overwritten by the
    gradient."""
    if logits.dim() != 2 or not logits.is_contiguous():
        raise ValueError(
            f"logits must be a contiguous (rows, vocab) tensor, got shape {tuple(logits.shape)}"
        )
    if uses_kernel(logits):
        return _kernel_rows(logits, targets, scale)
    return _torch_rows(logits, targets, scale)


def _torch_rows(logits: torch.Tensor, targets: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    acc = torch.promote_types(logits.dtype, torch.float32)
    values = logits.to(acc)
    keep = targets != IGNORE_INDEX
    safe = torch.where(keep, targets, torch.zeros_like(targets)).long()
    log_norm = torch.logsumexp(values, dim=1)
    losses = (log_norm - values.gather(1, safe[:, None]).squeeze(1)) * keep
    grad = torch.exp(values - log_norm[:, None])
    grad.scatter_add_(1, safe[:, None], -torch.ones_like(log_norm)[:, None])
    logits.copy_(grad * keep[:, None].to(acc) * scale.to(acc))
    return losses


def _kernel_rows(logits: torch.Tensor, targets: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    rows, vocab = logits.shape
    losses = torch.empty(rows, dtype=torch.float32, device=logits.device)
    if rows:
        block = min(
            triton.next_power_of_2(vocab), 16384
        )  # 16384 and 8 warps: fastest on an H100 at 50,304
        _xent_rows_kernel[(rows,)](
            logits,
            targets.contiguous(),
            losses,
            scale.float().reshape(1),
            IGNORE_INDEX,
            vocab=vocab,
            BLOCK=block,
            num_warps=8 if block >= 2048 else 4,
        )
    return losses


if triton is not None:

    @triton.jit
    def _xent_rows_kernel(
        logits_ptr,
        targets_ptr,
        losses_ptr,
        scale_ptr,
        ignore_index,
        vocab: tl.constexpr,
        BLOCK: tl.constexpr,
    ):
        row = tl.program_id(0).to(tl.int64)
        base = logits_ptr + row * vocab
        target = tl.load(targets_ptr + row).to(tl.int64)
        keep = target != ignore_index
        lanes = tl.arange(0, BLOCK)
        top = tl.full((), float("-inf"), tl.float32)  # running maximum
        total = tl.zeros((), tl.float32)  # running sum of exp(logit - top)
        for start in range(0, vocab, BLOCK):
            cols = start + lanes
            x = tl.load(base + cols, mask=cols < vocab, other=float("-inf")).to(tl.float32)
            new_top = tl.maximum(top, tl.max(x, axis=0))
            total = total * tl.exp(top - new_top) + tl.sum(tl.exp(x - new_top), axis=0)
            top = new_top
        log_norm = top + tl.log(total)
        inside = keep & (target >= 0) & (target < vocab)
        picked = tl.load(base + target, mask=inside, other=0.0).to(tl.float32)
        # a target outside the vocabulary makes the loss NaN, which stops the trainer naming the
        # step
        loss = tl.where(inside, log_norm - picked, tl.where(keep, float("nan"), 0.0))
        tl.store(losses_ptr + row, loss)
        row_scale = tl.where(keep, tl.load(scale_ptr), 0.0)
        for start in range(0, vocab, BLOCK):
            cols = start + lanes
            inbounds = cols < vocab
            x = tl.load(base + cols, mask=inbounds, other=0.0).to(tl.float32)
            grad = tl.exp(x - log_norm) - tl.where(cols == target, 1.0, 0.0)
            tl.store(base + cols, (grad * row_scale).to(logits_ptr.dtype.element_ty), mask=inbounds)
