"""The feed-forward block ``r + down(gelu_tanh(up(x)))`` with its element-wise work inside the
matrix products' cuBLASLt epilogues (model/cublaslt.py).

Forward: one product writes both the pre-activation ``h`` and ``a = gelu(h)`` (the GELU-aux-bias
epilogue); the down projection adds its bias in the epilogue and the residual stream ``r`` as the
product's C operand, so no element-wise kernel runs. Backward: the down projection's input
gradient comes out of its product already multiplied by ``gelu'(h)`` (the DGELU epilogue reads the
kept ``h``), so no GELU kernel runs either; the up projection's bias gradient is a column sum of
that result, and plain products form the other gradients. Measured alternatives (docs/
benchmarks.md): PyTorch's element-wise GELU backward (``BACKWARD = "pytorch"``), a Triton kernel
fusing it with the bias sum, and the BGRADB epilogue for the bias sum, all slower.

The epilogue products are PyTorch custom operators (``scratchlm::gelu_linear``,
``scratchlm::dgelu_linear``, ``scratchlm::linear_add``), so ``torch.compile`` keeps them whole;
their reference implementations, used off CUDA, are the same math in PyTorch operations.
``GPT.use_fused_mlp`` switches a model's blocks to this path after ``check`` passes on the device;
the plain path (``FeedForward`` with ``nn.Linear`` and ``F.gelu``) stays the reference.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from scratchlm.model import cublaslt

BACKWARD = "dgelu"  # or "pytorch": the element-wise GELU backward, for measuring the difference
RESIDUAL = True  # False: the residual is added by a separate kernel, for measuring the difference


def kernels() -> str:
    """The fused path's kernels, for the log."""
    backward = "PyTorch GELU backward" if BACKWARD == "pytorch" else "DGELU (its input gradient)"
    residual = "bias + residual as C" if RESIDUAL else "bias"
    return (
        f"cuBLASLt epilogues: GELU-aux-bias (up projection), {backward}, {residual} "
        "(down projection)"
    )


PLAIN = "PyTorch (linear, GELU, linear)"


def _gelu_linear(
    x: torch.Tensor, w: torch.Tensor, b: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(gelu_tanh(h), h) for h = x @ w.T + b."""
    h = torch.addmm(b, x, w.t())
    return F.gelu(h, approximate="tanh"), h


gelu_linear = torch.library.custom_op("scratchlm::gelu_linear", _gelu_linear, mutates_args=())


@gelu_linear.register_kernel("cuda")
def _gelu_linear_cuda(
    x: torch.Tensor, w: torch.Tensor, b: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    return cublaslt.gelu_aux_bias(x.contiguous(), w.contiguous(), b.contiguous())


@gelu_linear.register_fake
def _(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    shape = (x.shape[0], w.shape[0])
    return x.new_empty(shape), x.new_empty(shape)


def _dgelu_linear(dy: torch.Tensor, w: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """(dy @ w) * gelu_tanh'(h)."""
    return torch.ops.aten.gelu_backward(dy @ w, h, approximate="tanh")


dgelu_linear = torch.library.custom_op("scratchlm::dgelu_linear", _dgelu_linear, mutates_args=())


@dgelu_linear.register_kernel("cuda")
def _(dy: torch.Tensor, w: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    return cublaslt.matmul(dy.contiguous(), w.contiguous(), epilogue="dgelu", aux=h.contiguous())


@dgelu_linear.register_fake
def _(dy: torch.Tensor, w: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    return dy.new_empty(dy.shape[0], w.shape[1])


def _linear_add(a: torch.Tensor, w: torch.Tensor, b: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """r + a @ w.T + b."""
    return torch.addmm(b, a, w.t()) + r


linear_add = torch.library.custom_op("scratchlm::linear_add", _linear_add, mutates_args=())


@linear_add.register_kernel("cuda")
def _(a: torch.Tensor, w: torch.Tensor, b: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    return cublaslt.matmul(
        a.contiguous(),
        w.contiguous(),
        q_t=True,
        epilogue="bias",
        bias=b.contiguous(),
        add=r.contiguous(),
    )


@linear_add.register_fake
def _(a: torch.Tensor, w: torch.Tensor, b: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    return a.new_empty(a.shape[0], w.shape[0])


class GeluMLP(torch.autograd.Function):
    """``r + linear(gelu_tanh(linear(x, w_up, b_up)), w_down, b_down)``; 2-D ``x``, one dtype;
    ``r`` (the residual stream) may be None."""

    @staticmethod
    def forward(
        ctx,
        x: torch.Tensor,
        w_up: torch.Tensor,
        b_up: torch.Tensor,
        w_down: torch.Tensor,
        b_down: torch.Tensor,
        r: torch.Tensor | None,
    ) -> torch.Tensor:
        a, h = gelu_linear(x, w_up, b_up)
        ctx.save_for_backward(x, w_up, w_down, h, a)
        ctx.residual = r is not None
        if r is None:
            return torch.addmm(b_down, a, w_down.t())
        return linear_add(a, w_down, b_down, r)

    @staticmethod
    def backward(ctx, dy: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, w_up, w_down, h, a = ctx.saved_tensors
        if BACKWARD == "pytorch":
            dh = torch.ops.aten.gelu_backward(dy @ w_down, h, approximate="tanh")
        else:
            dh = dgelu_linear(dy, w_down, h)
        return (
            dh @ w_up,
            dh.t() @ x,
            dh.sum(0),
            dy.t() @ a,
            dy.sum(0),
            dy if ctx.residual else None,
        )


def _compute_dtype(x: torch.Tensor) -> torch.dtype:
    """The products' dtype: autocast's where it is on, else the input's."""
    if torch.is_autocast_enabled(x.device.type):
        return torch.get_autocast_dtype(x.device.type)
    return x.dtype


def runs(x: torch.Tensor) -> bool:
    """Whether ``gelu_mlp`` takes ``x`` to cuBLASLt: a CUDA tensor computed in bf16 or fp16."""
    return x.is_cuda and _compute_dtype(x) in cublaslt.DATA_TYPES


def gelu_mlp(
    x: torch.Tensor,
    up: torch.nn.Linear,
    down: torch.nn.Linear,
    residual: torch.Tensor | None = None,
) -> torch.Tensor:
    """The feed-forward block through ``GeluMLP``, in autocast's dtype where autocast is on, plus
    ``residual`` where given (inside the down projection where it has that dtype)."""
    dtype = _compute_dtype(x)
    args = [t.to(dtype) for t in (x.flatten(0, -2), up.weight, up.bias, down.weight, down.bias)]
    inside = residual is not None and residual.dtype == dtype and RESIDUAL
    out = GeluMLP.apply(*args, residual.flatten(0, -2) if inside else None)
    out = out.view(*x.shape[:-1], down.out_features)
    return out if inside or residual is None else residual + out


def check(device: torch.device, width: int, dtype: torch.dtype = torch.bfloat16) -> str | None:
    """None if the epilogue products run on ``device`` for a model ``width`` wide and match their
    PyTorch references; else why not."""
    if device.type != "cuda":
        return f"no CUDA device ({device})"
    if width % 8:
        return f"the width {width} is not a multiple of 8 (cuBLASLt's GELU input needs it)"
    gen = torch.Generator(device=device).manual_seed(0)

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(shape, generator=gen, device=device, dtype=dtype)

    x, w_up, b_up, w_down, b_down, dy = (
        rand(64, 128),
        rand(256, 128),
        rand(256),
        rand(128, 256),
        rand(128),
        rand(64, 128),
    )
    try:
        a, h = gelu_linear(x, w_up, b_up)
        pairs = [
            ("GELU", a, _gelu_linear(x, w_up, b_up)[0]),
            ("pre-activation", h, _gelu_linear(x, w_up, b_up)[1]),
            ("DGELU", dgelu_linear(dy, w_down, h), _dgelu_linear(dy, w_down, h)),
            (
                "bias + residual",
                linear_add(a, w_down, b_down, dy),
                _linear_add(a, w_down, b_down, dy),
            ),
        ]
        torch.cuda.synchronize(device)
    except (cublaslt.CublasLtError, RuntimeError) as err:
        return str(err).splitlines()[0]
    for name, got, want in pairs:
        error = ((got.float() - want.float()).norm() / want.float().norm()).item()
        if not error < 2e-2:
            return f"cuBLASLt's {name} differs from PyTorch's (relative error {error:.3g})"
    return None
