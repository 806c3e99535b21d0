"""The tanh-GELU backward and its bias gradient in one pass: ``dh = da * gelu'(h)``, ``db = dh.sum(0)``.

``gelu_grad_bias(da, h)`` takes the gradient ``da`` of a GELU's output and its input ``h``, both
(rows, features) and contiguous. On a CUDA device with Triton (or under Triton's interpreter) one
kernel reads ``da`` and ``h`` once, writes ``dh``, and sums each column over its block of rows in
float32 (a tile-shaped running sum, reduced across rows once at the end); the blocks' sums (a few
MB) are added afterwards. PyTorch's compiled backward instead runs
the element-wise pass and a second one over ``dh`` for the sum. Everywhere else the same math runs
as PyTorch operations. The fused MLP's backward pass (model/fused_mlp.py) uses it.
"""
from __future__ import annotations

import torch

from model.xent_rows import triton, uses_kernel

# rows per program, tile rows, tile columns, warps
CONFIG = (256, 32, 128, 4)


def gelu_grad_bias(da: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(dh, dh.sum(0)) for dh = da * gelu_tanh'(h); both in ``da``'s dtype."""
    if da.shape != h.shape or da.dim() != 2:
        raise ValueError("da and h must be (rows, features) of one shape, got "
                         f"{tuple(da.shape)}, {tuple(h.shape)}")
    if uses_kernel(da):
        return _kernel(da.contiguous(), h.contiguous())
    dh = torch.ops.aten.gelu_backward(da, h, approximate="tanh")
    return dh, dh.sum(0)


def _kernel(da: torch.Tensor, h: torch.Tensor,
            config: tuple[int, int, int, int] = CONFIG) -> tuple[torch.Tensor, torch.Tensor]:
    rows, cols = da.shape
    per_program, block_r, block_c, warps = config
    dh = torch.empty_like(da)
    chunks = triton.cdiv(rows, per_program)
    partial = torch.empty(chunks, cols, dtype=torch.float32, device=da.device)
    if rows and cols:
        _gelu_grad_bias_kernel[(chunks, triton.cdiv(cols, block_c))](
            da, h, dh, partial, rows, cols, ROWS=per_program, BLOCK_R=block_r, BLOCK_C=block_c,
            num_warps=warps)
    return dh, partial.sum(0).to(da.dtype)


if triton is not None:
    import triton.language as tl

    @triton.jit
    def _gelu_grad_bias_kernel(da_ptr, h_ptr, dh_ptr, partial_ptr, rows, cols, ROWS: tl.constexpr,
                               BLOCK_R: tl.constexpr, BLOCK_C: tl.constexpr):
        chunk = tl.program_id(0)
        c = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
        col_ok = c < cols
        total = tl.zeros((BLOCK_R, BLOCK_C), tl.float32)
        for start in range(0, ROWS, BLOCK_R):
            r = (chunk * ROWS + start + tl.arange(0, BLOCK_R)).to(tl.int64)
            mask = (r[:, None] < rows) & col_ok[None, :]
            offsets = r[:, None] * cols + c[None, :]
            da = tl.load(da_ptr + offsets, mask=mask, other=0.0).to(tl.float32)
            h = tl.load(h_ptr + offsets, mask=mask, other=0.0).to(tl.float32)
            k = 0.7978845608028654  # sqrt(2 / pi)
            inner = k * (h + 0.044715 * h * h * h)
            t = 1.0 - 2.0 / (tl.exp(2.0 * inner) + 1.0)  # tanh(inner), exact at both infinities
            slope = 0.5 * (1.0 + t) + 0.5 * h * (1.0 - t * t) * k * (1.0 + 3.0 * 0.044715 * h * h)
            dh = da * slope
            tl.store(dh_ptr + offsets, dh.to(dh_ptr.dtype.element_ty), mask=mask)
            total += dh
        tl.store(partial_ptr + chunk * cols + c, tl.sum(total, axis=0), mask=col_ok)
