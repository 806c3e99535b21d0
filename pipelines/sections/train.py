"""The recipe's ``train`` section: pretrain on ``run_dir/shards`` into ``run_dir/train``, then print a sample."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from model.config import TrainConfig
from model.evaluate import load_model
from model.generate import generate
from pipelines.commands.train import TRAIN_DIR, run_training
from tokenizer.files import load_tokenizer

SHARDS_DIR = "shards"


def run_section(config: TrainConfig, run_dir: Path, curated_dir: Path, executor: Any) -> dict:
    """Train (resuming from ``run_dir/train`` when it holds a checkpoint); returns the final figures."""
    data, out = Path(run_dir) / SHARDS_DIR, Path(run_dir) / TRAIN_DIR
    result = run_training(config, data, out)
    model, saved = load_model(out, torch.device("cpu"))
    tok = load_tokenizer(saved.folder / "tokenizer.json")
    prompt = torch.tensor([tok.encode("The").ids])
    text = tok.decode(generate(model, prompt, 60, temperature=0.8, top_k=50,
                               generator=torch.Generator().manual_seed(config.seed))[0].tolist())
    print(f"train: {result['steps']} steps, {result['tokens']:,} tokens, validation loss "
          f"{result.get('val_loss', float('nan')):.3f}; checkpoints and loss.png in {out}")
    print(f"train: sample: {text!r}")
    return result
