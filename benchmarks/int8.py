"""int8 dynamic quantization (``sample --int8``) against float32 on CPU: size, speed, validation
loss.

For a trained checkpoint and its shard folder, and for a GPT-2 124M-shaped model with random
weights (speed and size only: its loss means nothing), it measures, float32 and int8 back to back
in the same process on the same inputs:
- size: the serialized state dict;
- prefill: one forward pass over a full context (batch 1), median of ``--repeat``;
- decode: greedy generation with the KV cache, new tokens per second;
- scoring: forward passes over batches of 8 full contexts, tokens per second;
- val loss: mean cross-entropy over ``--eval-tokens`` validation tokens (trained model only).

    .venv/bin/python -m benchmarks.int8 --checkpoint RUN_DIR --data SHARD_DIR --threads 1

(as a module: run as a script, benchmarks/tokenize.py would shadow the standard library's tokenize)
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scratchlm.model.checkpoint import load  # noqa: E402
from scratchlm.model.config import model_config  # noqa: E402
from scratchlm.model.data import BatchLoader, open_shards  # noqa: E402
from scratchlm.model.evaluate import build_model  # noqa: E402
from scratchlm.model.generate import generate  # noqa: E402
from scratchlm.model.gpt import GPT  # noqa: E402
from scratchlm.model.quantize import quantize_int8  # noqa: E402


def size_mb(model: torch.nn.Module) -> float:
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.tell() / 1e6


def timed(fn, repeat: int) -> float:
    """Median seconds of ``repeat`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@torch.no_grad()
def measure(
    model: torch.nn.Module, block: int, vocab: int, args: argparse.Namespace, batches: list | None
) -> dict[str, float]:
    gen = torch.Generator().manual_seed(0)
    context = torch.randint(0, vocab, (1, block), generator=gen)
    scoring = torch.randint(0, vocab, (8, block), generator=gen)
    prompt = context[:, :16]
    row = {
        "size MB": size_mb(model),
        "prefill ms": 1000 * timed(lambda: model(context), args.repeat),
        "decode tok/s": args.new_tokens
        / timed(lambda: generate(model, prompt, args.new_tokens, temperature=0.0), args.repeat),
        "scoring tok/s": scoring.numel() / timed(lambda: model(scoring), args.repeat),
    }
    if batches:
        losses = [model(x, y).item() * len(x) for x, y in batches]
        row["val loss"] = sum(losses) / sum(len(x) for x, _ in batches)
    return row


def compare(
    name: str, model: GPT, args: argparse.Namespace, batches: list | None
) -> list[tuple[str, dict]]:
    model.eval()
    int8 = quantize_int8(model)
    block, vocab = model.config.block_size, model.config.vocab_size
    return [
        (f"{name} float32", measure(model, block, vocab, args, batches)),
        (f"{name} int8", measure(int8, block, vocab, args, batches)),
    ]


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--checkpoint", type=Path, required=True, help="trained checkpoint (or training folder)"
    )
    p.add_argument(
        "--data", type=Path, required=True, help="its shard folder, for the validation loss"
    )
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    p.add_argument("--eval-tokens", type=int, default=32_768)
    p.add_argument("--new-tokens", type=int, default=64)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument(
        "--speed-preset", default="gpt2-124m", help="random-weight model for speed ('' to skip)"
    )
    p.add_argument(
        "--speed-context", type=int, default=256, help="its context length (prefill and scoring)"
    )
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    saved = load(args.checkpoint)
    model = build_model(saved, torch.device("cpu"))
    loader = BatchLoader(
        open_shards(args.data), "val", model.config.block_size, 8, torch.device("cpu"), seed=0
    )
    rows = compare(
        f"{saved.folder.parent.name} ({sum(p.numel() for p in model.parameters()) / 1e6:.1f}M)",
        model,
        args,
        loader.eval_batches(args.eval_tokens),
    )
    if args.speed_preset:
        random_model = GPT(
            model_config(args.speed_preset, {"dropout": 0.0, "block_size": args.speed_context})
        )
        rows += compare(
            f"{args.speed_preset} random, context {args.speed_context}", random_model, args, None
        )

    columns = ["size MB", "prefill ms", "decode tok/s", "scoring tok/s", "val loss"]
    print(
        f"torch {torch.__version__}, {args.threads} thread(s), "
        f"engine {torch.backends.quantized.engine}"
    )
    print("| model | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for name, row in rows:
        cells = [
            "–" if c not in row else f"{row[c]:,.4f}" if c == "val loss" else f"{row[c]:,.1f}"
            for c in columns
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
