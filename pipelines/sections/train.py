"""The recipe's ``train`` section: pretrain on ``run_dir/shards`` into ``run_dir/train``, then print
a sample."""

from __future__ import annotations

from pathlib import Path

import torch

from scratchlm.curate.stage import Executor
from scratchlm.model.config import TrainConfig
from scratchlm.model.errors import OtherTraining
from scratchlm.model.evaluate import load_model
from scratchlm.model.generate import generate
from scratchlm.pipelines.sections.shard import SHARDS_DIR
from scratchlm.pipelines.training import TRAIN_DIR, clear_run, run_training
from scratchlm.tokenizer.files import load_tokenizer


def run_section(config: TrainConfig, run_dir: Path, curated_dir: Path, executor: Executor) -> dict:
    """Train, continuing the run in ``run_dir/train`` (one of another configuration or on other
    shards, as after a change of the recipe, is removed and trained again); returns the final
    figures."""
    data, out = Path(run_dir) / SHARDS_DIR, Path(run_dir) / TRAIN_DIR
    try:
        result = run_training(config, data, out)
    except OtherTraining as err:
        clear_run(out)
        print(
            f"train: {out} held a run of another configuration ({'; '.join(err.changes)}): "
            f"training again from step 0"
        )
        result = run_training(config, data, out)
    model, saved = load_model(out, torch.device("cpu"))
    tok = load_tokenizer(saved.tokenizer_path)
    prompt = torch.tensor([tok.encode("The").ids])
    text = tok.decode(
        generate(
            model,
            prompt,
            60,
            temperature=0.8,
            top_k=50,
            generator=torch.Generator().manual_seed(config.seed),
        )[0].tolist()
    )
    print(
        f"train: {result['steps']} steps, {result['tokens']:,} tokens, validation loss "
        f"{result.get('val_loss', float('nan')):.3f}; checkpoints and loss.png in {out}"
    )
    print(f"train: sample: {text!r}")
    return result
