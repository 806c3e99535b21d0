"""A short pretraining run on a GPU, logged as JSON lines (for docs/train_gpu_loss.png).

    python3 benchmarks/train_gpu_run.py --data .bench/prose-shards --out /tmp/run --steps 250

With ``--plain-mlp`` the MLP runs its plain path (the reference for the fused one). Plot the log
afterwards with ``pipelines.loss_plot`` (matplotlib is not needed on the GPU).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# the repository on the path instead of benchmarks/, whose tokenize.py would shadow the standard
# library's
sys.path[0] = str(Path(__file__).resolve().parents[1])

from scratchlm.model.config import TrainConfig  # noqa: E402
from scratchlm.model.train import train  # noqa: E402
from scratchlm.model.train_log import to_json  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--preset", default="gpt2-124m")
    p.add_argument("--steps", type=int, default=250)
    p.add_argument("--micro-batch", type=int, default=32)
    p.add_argument(
        "--plain-mlp", action="store_true", help="the MLP's plain path instead of the fused one"
    )
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--bf16-residual", action="store_true", help="keep the residual stream in bf16")
    args = p.parse_args()
    cfg = TrainConfig(
        preset=args.preset,
        model={"vocab_size": None, "dropout": args.dropout},
        max_steps=args.steps,
        micro_batch=args.micro_batch,
        warmup_steps=25,
        log_every=10,
        eval_every=20,
        eval_tokens=1 << 20,
        checkpoint_every=0,
        keep_checkpoints=1,
        compile=True,
        fused_mlp=not args.plain_mlp,
        bf16_residual=args.bf16_residual,
    )
    result = train(
        cfg, args.data, args.out, log_hook=lambda r: print(json.dumps(to_json(r))[:300], flush=True)
    )
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}))


if __name__ == "__main__":
    main()
