"""Trainer speed on the CPU with the whole-logits loss and with the chunked loss (why the CPU
default is 0).

Times ``Trainer.train_step`` of the ``tiny`` preset on a shard folder (the demo's, by default),
``--steps`` steps after 3 untimed ones, alternating the two loss paths ``--rounds`` times. On the
CPU the chunked path runs the row function as PyTorch operations (model/xent_rows.py), several
passes where ``F.cross_entropy`` makes one fused one.

    .venv/bin/python -m benchmarks.loss_path_cpu [--data runs/demo/shards] [--steps 20] [--rounds 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

from scratchlm.model.config import GPU_LOSS_CHUNK, TrainConfig
from scratchlm.model.train import Trainer


def tokens_per_s(cfg: TrainConfig, data: Path, steps: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(cfg, data, Path(out), device="cpu")
        for step in range(3):
            trainer.train_step(step)
        start = time.perf_counter()
        for step in range(3, 3 + steps):
            loss, _ = trainer.train_step(step)
        return steps * trainer.step_tokens / (time.perf_counter() - start), float(loss)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--data", type=Path, default=Path("runs/demo/shards"))
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()
    base = TrainConfig(
        preset="tiny", max_steps=3 + args.steps, eval_every=0, samples=0, checkpoint_every=0
    )
    print(f"{'loss path':<28} {'tokens/s':>10} {'loss after':>11}")
    for _ in range(args.rounds):
        for name, chunk in (
            ("whole logits (0)", 0),
            (f"chunked ({GPU_LOSS_CHUNK})", GPU_LOSS_CHUNK),
        ):
            rate, loss = tokens_per_s(
                dataclasses.replace(base, loss_chunk=chunk), args.data, args.steps
            )
            print(f"{name:<28} {rate:>10,.0f} {loss:>11.6f}")


if __name__ == "__main__":
    main()
