"""Each finished training scored on what the question needs beyond the validation curve.

* **Loss per held-out source**: every ``--eval`` file is also encoded alone
  (``DIR/eval/files/N-NAME/``), and each training's final checkpoint is evaluated on the first
  ``eval_tokens`` tokens of each, in the trainer's own consecutive windows: the loss on speeches,
  on handbook pages, ... separately.
* **Tasks**: each ``--task`` file (the layouts ``scratchlm eval --task`` reads) is scored with the
  same code as that command, accuracy with its 95% Wilson interval.

Scores are kept in ``seed-S/scores.json`` with what they were computed from (the checkpoint's
index of weight digests, shard and task file digests), so a rerun computes only what is new, and
runs trained and scored on another machine need only their logs, scores and checkpoint indexes
copied back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scratchlm.curate.checksum import file_sha256
from scratchlm.curate.writer import write_atomic
from scratchlm.tokenizer.shard_format import MANIFEST

SCORES = "scores.json"
BATCH = 16


def eval_file_names(eval_inputs: Sequence[str]) -> list[str]:
    """A short unique name per evaluation file: its position and its stem (``0-speeches``)."""
    names = []
    for index, path in enumerate(eval_inputs):
        stem = re.sub(r"(\.jsonl|\.json|\.txt|\.parquet)?(\.gz|\.zst)?$", "", Path(path).name)
        names.append(f"{index}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', stem) or 'eval'}")
    return names


def _shard_digests(folder: Path) -> list[str]:
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    return [entry["sha256"] for entry in manifest["shards"]]


def _heldout_loss(model: Any, folder: Path, eval_tokens: int, device: Any) -> dict[str, Any]:
    from scratchlm.model.data import BatchLoader, open_shards
    from scratchlm.model.evaluate import loss_sum

    shards = open_shards(folder)
    loader = BatchLoader(shards, "train", model.config.block_size, BATCH, device, seed=0)
    total = loss_sum(model, loader.eval_batches(eval_tokens), device, None)
    return {"loss": (total[0] / total[1]).item(), "tokens": int(total[1].item())}


def score_training(
    training: Path,
    heldout: dict[str, Path],
    tasks: Sequence[Path],
    eval_tokens: int,
    device: str | None = None,
) -> dict[str, Any]:
    """Held-out losses and task accuracies of the newest checkpoint in the folder ``training``
    (cached)."""
    from scratchlm.model import checkpoint

    index = checkpoint.resolve(training) / checkpoint.INDEX  # the newest one's weight digests
    key = {
        "checkpoint": json.loads(index.read_text(encoding="utf-8")),
        "eval_tokens": eval_tokens,
        "heldout": {name: _shard_digests(folder) for name, folder in heldout.items()},
        "tasks": {str(task): file_sha256(task) for task in tasks},
    }
    cache = training / SCORES
    if cache.exists():
        cached = json.loads(cache.read_text(encoding="utf-8"))
        if cached.get("key") == key:
            return cached
    from scratchlm.model.evaluate import load_model, pick_device
    from scratchlm.model.tasks import Scoring
    from scratchlm.pipelines.finetune_data import TextTokenizer
    from scratchlm.pipelines.task_eval import evaluate_file

    dev = pick_device(device)
    model, saved = load_model(training, dev)
    tok = TextTokenizer.load(saved.tokenizer_path)
    scoring = Scoring(model, model.config.block_size, BATCH, dev)
    scores = {
        "key": key,
        "heldout": {
            name: _heldout_loss(model, folder, eval_tokens, dev) for name, folder in heldout.items()
        },
        "tasks": {Path(task).name: evaluate_file(scoring, tok, Path(task)) for task in tasks},
    }
    write_atomic(cache, json.dumps(scores, indent=1))
    return scores
