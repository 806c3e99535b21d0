"""Peak memory of the head's loss, forward and backward, with the whole logits tensor or in chunks.

    .venv/bin/python -m benchmarks.loss_memory [--tokens 8192] [--vocab 50304] [--width 768]

Each variant runs in its own process on the CPU (float32) and reports its peak RSS
(``getrusage``) above the RSS after its inputs were made, and the time of one forward and backward
pass. On a GPU under bf16 the logits take half the bytes; the ratio between the rows is what carries
over.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks._cli import int_parser

REPO = Path(__file__).resolve().parents[1]
CHILD = """
import json, resource, sys, time
import torch, torch.nn.functional as F
sys.path.insert(0, sys.argv[1])
from scratchlm.model.chunked_loss import chunked_cross_entropy
tokens, vocab, width, chunk = map(int, sys.argv[2:6])
torch.manual_seed(0)
x = torch.randn(tokens, width, requires_grad=True)
w = (torch.randn(vocab, width) * 0.02).requires_grad_()
t = torch.randint(0, vocab, (tokens,))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
loss = chunked_cross_entropy(x, w, t, chunk) if chunk else F.cross_entropy(x @ w.t(), t)
loss.backward()
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"chunk": chunk, "loss": loss.item(), "extra_mb": (peak - base) / 1024,
                  "seconds": seconds}))
"""


def main() -> None:
    p = int_parser(__doc__, tokens=8192, vocab=50_304, width=768)
    p.add_argument(
        "--chunks", type=int, nargs="+", default=[0, 4096, 1024, 256], help="0: the whole logits"
    )
    args = p.parse_args()
    logits_mb = args.tokens * args.vocab * 4 / 2**20
    print(
        f"{args.tokens} positions x {args.vocab} vocabulary x {args.width} wide, float32: "
        f"the logits alone are {logits_mb:,.0f} MB"
    )
    print(f"{'chunk':>6} {'loss':>10} {'peak extra MB':>14} {'seconds':>8}")
    for chunk in args.chunks:
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                CHILD,
                str(REPO),
                str(args.tokens),
                str(args.vocab),
                str(args.width),
                str(chunk),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        row = json.loads(out.stdout)
        print(
            f"{'whole' if not chunk else chunk:>6} {row['loss']:>10.6f} "
            f"{row['extra_mb']:>14,.0f} {row['seconds']:>8.2f}"
        )


if __name__ == "__main__":
    main()
