"""The documented DPO run on the CPU: a tiny GPT instruction-tuned on the chosen answers of the
shipped preference pairs, then preference-tuned (DPO) on the pairs; prints the held-out figures of
each evaluation as a table and leaves ``OUT/dpo/dpo.png``.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/dpo_cpu.py --out .bench/dpo [--lora-rank 8]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT / "tests")  # not benchmarks/: its tokenize.py shadows the standard one
sys.path.insert(1, str(ROOT))
from finetune_data import FOLDER, tiny_checkpoint
from scratchlm.model.instruct import format_prompt
from scratchlm.model.train_log import read_records
from scratchlm.pipelines.cli import main as scratchlm

TRAIN, VAL = FOLDER / "preferences-train.jsonl.gz", FOLDER / "preferences-val.jsonl.gz"


def run(*args: str) -> float:
    """``scratchlm ARGS`` in this process; its seconds."""
    start = time.perf_counter()
    if scratchlm(list(args)) != 0:
        raise SystemExit(f"scratchlm {' '.join(args)} failed")
    return time.perf_counter() - start


def held_out_by_instruction(sft: Path, tuned: Path, beta: float) -> str:
    """A table per instruction of the held-out pairs: how often the instruction-tuned and the DPO
    model give the chosen answer the higher log-probability; DPO's reward accuracy and margin."""
    import torch

    from scratchlm.model.dpo import answer_logprobs, preference_metrics
    from scratchlm.model.evaluate import load_model
    from scratchlm.pipelines.finetune_data import Rejects, TextTokenizer, preference_pairs

    with gzip.open(VAL, "rt", encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    header = (
        "| held-out pairs | count | instruction-tuned prefers chosen | DPO prefers chosen "
        "| reward accuracy | reward margin |"
    )
    lines = [header, "|---|---:|---:|---:|---:|---:|"]
    models = [load_model(path, torch.device("cpu")) for path in (sft, tuned)]
    tok = TextTokenizer.load(models[1][1].tokenizer_path)
    for instruction in sorted({r["instruction"] for r in records}):
        path = tuned / f"val-{instruction.split()[0].lower()}.jsonl"
        path.write_text(
            "".join(json.dumps(r) + "\n" for r in records if r["instruction"] == instruction),
            encoding="utf-8",
        )
        pairs = preference_pairs(path, tok, models[1][0].config.block_size, Rejects())
        before, after = (answer_logprobs(model, pairs, tok.eos_id) for model, _ in models)
        terms = preference_metrics(after, before, beta)
        prefers = [(lp[:, 0] > lp[:, 1]).float().mean().item() for lp in (before, after)]
        lines.append(
            f"| {instruction} | {len(pairs)} | {prefers[0]:.3f} | {prefers[1]:.3f} | "
            f"{terms['reward_accuracy']:.3f} | {terms['reward_margin']:.3f} |"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--sft-epochs", type=int, default=2)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--beta", type=float, default=0.1)
    p.add_argument("--lora-rank", type=int, default=0)
    p.add_argument(
        "--figure", type=Path, help="also write dpo.png here with a 64-colour palette (smaller)"
    )
    args = p.parse_args()
    with gzip.open(TRAIN, "rt", encoding="utf-8") as f:
        pairs = [json.loads(line) for line in f]
    args.out.mkdir(parents=True, exist_ok=True)
    base = tiny_checkpoint(
        args.out / "base",
        [format_prompt(r["instruction"], r["input"]) + r["chosen"] for r in pairs],
        vocab_size=512,
        block_size=128,
    )
    sft_data = args.out / "sft.jsonl"
    sft_data.write_text(
        "".join(
            json.dumps(
                {"instruction": r["instruction"], "input": r["input"], "output": r["chosen"]}
            )
            + "\n"
            for r in pairs
        ),
        encoding="utf-8",
    )
    sft_seconds = run(
        "finetune",
        "instruct",
        "--checkpoint",
        str(base),
        "--out",
        str(args.out / "sft"),
        "--data",
        str(sft_data),
        "--epochs",
        str(args.sft_epochs),
        "--lr",
        "2e-3",
        "--show",
        "0",
        "--device",
        "cpu",
    )
    dpo_seconds = run(
        "finetune",
        "dpo",
        "--checkpoint",
        str(args.out / "sft"),
        "--out",
        str(args.out / "dpo"),
        "--data",
        str(TRAIN),
        "--val",
        str(VAL),
        "--epochs",
        str(args.epochs),
        "--lr",
        str(args.lr),
        "--beta",
        str(args.beta),
        "--lora-rank",
        str(args.lora_rank),
        "--eval-every",
        "30",
        "--device",
        "cpu",
    )
    if args.figure:
        from PIL import Image

        Image.open(args.out / "dpo" / "dpo.png").convert("RGB").quantize(64).save(
            args.figure, optimize=True
        )
    print(f"\ninstruction tuning {sft_seconds:.0f} s, DPO {dpo_seconds:.0f} s\n")
    print(held_out_by_instruction(args.out / "sft", args.out / "dpo", args.beta), "\n")
    print("| step | held-out DPO loss | held-out reward accuracy | held-out reward margin |")
    print("|---:|---:|---:|---:|")
    for r in read_records(args.out / "dpo" / "log.jsonl"):
        if "val_loss" in r:
            print(
                f"| {r['step']} | {r['val_loss']:.4f} | {r['val_reward_accuracy']:.3f} | "
                f"{r['val_reward_margin']:.3f} |"
            )


if __name__ == "__main__":
    main()
