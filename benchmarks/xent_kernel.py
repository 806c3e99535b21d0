"""The head loss's row kernel on a GPU: time and bandwidth against compiled F.cross_entropy.

For one chunk of bf16 logits (``--rows`` x ``--vocab``, 16,384 x 50,304 by default: the chunk of
``--loss-chunk 16384`` for GPT-2's vocabulary) it times, median of CUDA-event timings
(``triton.testing.do_bench``):
- the row kernel of model/xent_rows.py (loss of each row, gradient written over the logits);
- ``torch.compile`` of ``F.cross_entropy(logits.float(), targets)`` forward and backward, the
  work the kernel replaces in the whole-logits head;
- a plain copy of the logits (one read, one write: the memory system's rate).
It checks first that the kernel's loss and gradient match the compiled reference.

    python3 benchmarks/xent_kernel.py [--rows 16384] [--vocab 50304]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[0] = str(
    Path(__file__).resolve().parents[1]
)  # the repository, not benchmarks/ (tokenize.py)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import triton  # noqa: E402

from benchmarks._cli import int_parser  # noqa: E402
from scratchlm.model.xent_rows import _kernel_rows  # noqa: E402


def main() -> None:
    args = int_parser(__doc__, rows=16_384, vocab=50_304).parse_args()
    torch.manual_seed(0)
    logits = (torch.randn(args.rows, args.vocab, device="cuda") * 3).to(torch.bfloat16)
    targets = torch.randint(0, args.vocab, (args.rows,), device="cuda")
    scale = torch.tensor(1.0 / args.rows, device="cuda")

    @torch.compile
    def reference(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = x.detach().requires_grad_()
        loss = F.cross_entropy(x.float(), targets)
        loss.backward()
        return loss.detach(), x.grad

    loss, grad = reference(logits)
    work = logits.clone()
    kernel_loss = _kernel_rows(work, targets, scale).sum() * scale
    if not (
        torch.allclose(kernel_loss, loss, rtol=1e-5)
        and torch.allclose(work.float(), grad.float(), atol=1e-6)
    ):
        raise SystemExit(
            "the kernel disagrees with F.cross_entropy: "
            f"loss {float(kernel_loss)} against {float(loss)}"
        )
    gigabytes = logits.numel() * logits.element_size() / 1e9
    copy = torch.empty_like(logits)
    rows = [
        ("row kernel (model/xent_rows.py)", lambda: _kernel_rows(work, targets, scale), 3),
        ("compiled F.cross_entropy, forward + backward", lambda: reference(logits), 3),
        ("copy of the logits", lambda: copy.copy_(logits), 2),
    ]
    print(
        f"{torch.cuda.get_device_name()}, "
        f"{args.rows} x {args.vocab} bf16 logits ({gigabytes:.2f} GB)"
    )
    print(f"{'what':<46} {'ms':>7} {'passes':>6} {'TB/s':>6}")
    for name, fn, passes in rows:
        ms = triton.testing.do_bench(fn, warmup=50, rep=300, return_mode="median")
        print(f"{name:<46} {ms:>7.3f} {passes:>6} {passes * gigabytes / ms:>6.2f}")
    print(
        "passes: reads + writes of the logits; "
        "TB/s as if all reached device memory (above a copy's rate: "
        "some came from L2)"
    )


if __name__ == "__main__":
    main()
