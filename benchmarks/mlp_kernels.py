"""The feed-forward block alone on a GPU: plain path against fused path (model/fused_mlp.py).

    python3 benchmarks/mlp_kernels.py                 # gpt2-124m's MLP, 16,384 and 131,072 rows

For each row count, times forward and forward + backward under bf16 autocast, eager and compiled
(median of CUDA-event timings over repeated calls), and prints each output's and gradient's error
against a float64 reference: ||out - ref|| / ||ref||.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

# the repository on the path instead of benchmarks/, whose tokenize.py would shadow the stdlib's
sys.path[0] = str(Path(__file__).resolve().parents[1])

import torch

from scratchlm.model.config import GPTConfig
from scratchlm.model.gpt import FeedForward


def timed(fn, reps: int) -> float:
    """Median milliseconds of ``fn()`` over ``reps`` calls after three warm-up calls."""
    for _ in range(3):
        fn()
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def forward(fn, x: torch.Tensor) -> None:
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
        fn(x)


def forward_backward(fn, x: torch.Tensor, dy: torch.Tensor) -> None:
    x = x.detach().requires_grad_()
    with torch.autocast("cuda", dtype=torch.bfloat16):
        y = fn(x)
    y.backward(dy)


def errors(
    module: FeedForward, reference: FeedForward, x: torch.Tensor, dy: torch.Tensor
) -> list[float]:
    """Relative errors of the output and of the input, weight and bias gradients against float64."""
    results = []
    for m, dtype in ((module, torch.bfloat16), (reference, torch.float64)):
        xi = x.to(dtype if dtype == torch.float64 else x.dtype).detach().requires_grad_()
        m.zero_grad()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=dtype != torch.float64):
            y = m(xi)
        y.backward(dy.to(y.dtype))
        results.append([y.detach(), xi.grad, *(p.grad for p in m.parameters())])
    return [((a.double() - b).norm() / b.norm()).item() for a, b in zip(*results)]


def kernel_table(rows: int, width: int, reps: int) -> None:
    """The MLP's backward and residual pieces one at a time (bf16, gpt2-124m's shapes): median ms
    and relative error against float32 math, each variant against the products it replaces."""
    from scratchlm.model import fused_mlp

    gen = torch.Generator(device="cuda").manual_seed(1)

    def rand(*shape: int, scale: float = 1.0) -> torch.Tensor:
        t = torch.randn(*shape, generator=gen, device="cuda") * scale
        return t.to(torch.bfloat16)

    dy, r = rand(rows, width), rand(rows, width)
    w_down, b = rand(width, 4 * width, scale=0.02), rand(width)
    h, da = rand(rows, 4 * width), rand(rows, 4 * width, scale=0.02)
    want_dh = torch.ops.aten.gelu_backward(
        dy.float() @ w_down.float(), h.float(), approximate="tanh"
    )

    def err(got: torch.Tensor, want: torch.Tensor) -> float:
        return ((got.float() - want).norm() / want.norm()).item()

    def gelu_sum(da: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        dh = torch.ops.aten.gelu_backward(da, h, approximate="tanh")
        return dh, dh.sum(0)

    compiled_gelu_sum = torch.compile(gelu_sum)
    compiled_sum = torch.compile(lambda dh: (dh, dh.sum(0)))
    compiled_add = torch.compile(lambda a, w, b, r: torch.addmm(b, a, w.t()) + r)

    def dgrad_then_gelu() -> tuple[torch.Tensor, torch.Tensor]:
        return compiled_gelu_sum(dy @ w_down, h)

    def dgelu_then_sum() -> tuple[torch.Tensor, torch.Tensor]:
        return compiled_sum(fused_mlp.dgelu_linear(dy, w_down, h))

    table = [
        ("dgrad product dy @ w_down", lambda: dy @ w_down, None),
        ("GELU backward + bias sum, compiled", lambda: compiled_gelu_sum(da, h), None),
        (
            "dgrad product, then GELU backward + bias sum, compiled",
            dgrad_then_gelu,
            lambda: err(dgrad_then_gelu()[0], want_dh),
        ),
        (
            "cuBLASLt DGELU epilogue",
            lambda: fused_mlp.dgelu_linear(dy, w_down, h),
            lambda: err(fused_mlp.dgelu_linear(dy, w_down, h), want_dh),
        ),
        (
            "cuBLASLt DGELU epilogue, then bias sum, compiled",
            dgelu_then_sum,
            lambda: err(dgelu_then_sum()[1], want_dh.sum(0)),
        ),
        (
            "down product + bias, then + residual, compiled",
            lambda: compiled_add(da, w_down, b, r),
            None,
        ),
        (
            "cuBLASLt bias epilogue + residual as C",
            lambda: fused_mlp.linear_add(da, w_down, b, r),
            lambda: err(
                fused_mlp.linear_add(da, w_down, b, r),
                da.float() @ w_down.float().t() + b.float() + r.float(),
            ),
        ),
    ]
    print(f"\n{'piece at ' + str(rows) + ' rows':<58} {'ms':>7} {'rel. error':>10}")
    for name, fn, check in table:
        print(
            f"{name:<58} {timed(fn, reps):>7.3f} {check() if check else float('nan'):>10.2e}",
            flush=True,
        )


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--width", type=int, default=768)
    p.add_argument("--rows", type=int, nargs="+", default=[16_384, 131_072])
    p.add_argument("--reps", type=int, default=20)
    p.add_argument(
        "--kernels",
        action="store_true",
        help="also time the backward and residual pieces one at a time",
    )
    args = p.parse_args()
    if args.kernels:
        kernel_table(args.rows[-1], args.width, args.reps)
    torch.manual_seed(0)
    cfg = GPTConfig(n_embd=args.width, n_head=1)
    plain = FeedForward(cfg).cuda()
    for bias in (plain.up.bias, plain.down.bias):
        torch.nn.init.normal_(bias, std=0.02)
    fused = FeedForward(cfg).cuda()
    fused.load_state_dict(plain.state_dict())
    fused.fused = True
    reference = FeedForward(cfg).cuda().double()
    reference.load_state_dict(plain.state_dict())
    table = []
    for rows in args.rows:
        x = torch.randn(rows // 1024, 1024, args.width, device="cuda")
        dy = torch.randn_like(x, dtype=torch.bfloat16)
        for name, module in (("plain", plain), ("fused", fused)):
            for mode, fn in (("eager", module), ("compiled", torch.compile(module))):
                table.append(
                    (
                        rows,
                        name,
                        mode,
                        timed(lambda fn=fn, x=x: forward(fn, x), args.reps),
                        timed(lambda fn=fn, x=x, dy=dy: forward_backward(fn, x, dy), args.reps),
                    )
                )
        errs = {
            name: errors(m, reference, x[:8], dy[:8])
            for name, m in (("plain", plain), ("fused", fused))
        }
        for name, e in errs.items():
            print(
                f"{rows} rows, {name}: relative error vs float64 "
                "(output, dx, dW_up, db_up, dW_down, db_down): " + ", ".join(f"{v:.2e}" for v in e),
                flush=True,
            )
    print(
        f"\n{'rows':>8} {'path':>6} {'mode':>9} {'forward ms':>11} {'fwd+bwd ms':>11}  "
        f"{torch.cuda.get_device_name()}"
    )
    for rows, name, mode, fwd, both in table:
        print(f"{rows:>8} {name:>6} {mode:>9} {fwd:>11.3f} {both:>11.3f}")


if __name__ == "__main__":
    main()
