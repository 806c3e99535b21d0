"""Checkpoints: ``step-NNNNNNN/`` folders holding the weights as safetensors, the rest as a torch
file.

``state.pt`` (optimizer, schedule position, step, tokens seen, RNG states, config) holds tensors and
plain data only and is read with ``torch.load(weights_only=True)``. ``checkpoint.json``, written
last, lists each file's sha256. A folder is written under a temporary name and renamed into place,
so any ``step-*`` folder is complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from scratchlm.model.data import TOKENIZER_FILE, sha256_file
from scratchlm.model.errors import ModelError
from scratchlm.model.safetensors_io import save_file, tensors_from_bytes

PREFIX = "step-"
WEIGHTS, STATE, INDEX = "model.safetensors", "state.pt", "checkpoint.json"
TIED = "head.out_head.weight"


@dataclass
class Checkpoint:
    folder: Path
    weights: dict[str, torch.Tensor]
    state: dict[str, Any]
    digests: dict[str, str]  # sha256 of each file, checked against checkpoint.json when loaded

    @property
    def model_config(self) -> dict[str, Any]:
        return self.state["model_config"]

    @property
    def tokenizer_path(self) -> Path:
        """The tokenizer copied beside the weights (absent when the training data had none)."""
        return self.folder / TOKENIZER_FILE


def weights_for_saving(state_dict: dict[str, torch.Tensor], tied: bool) -> dict[str, torch.Tensor]:
    """A model's state dict without the head when it shares the embedding's tensor."""
    return {k: v for k, v in state_dict.items() if not (tied and k == TIED)}


def load_weights(model: torch.nn.Module, weights: dict[str, torch.Tensor]) -> None:
    missing, unexpected = model.load_state_dict(weights, strict=False)
    if [m for m in missing if m != TIED] or unexpected:
        raise ModelError(
            f"checkpoint weights do not fit the model: missing {missing}, unexpected {unexpected}"
        )


def save(
    out_dir: Path,
    step: int,
    weights: dict[str, torch.Tensor],
    state: dict[str, Any],
    extra_files: list[Path] = (),
    keep: int = 2,
) -> Path:
    """Write ``out_dir/step-NNNNNNN`` atomically, then delete all but the newest ``keep``."""
    final = out_dir / f"{PREFIX}{step:07d}"
    tmp = out_dir / f".{final.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file(weights, tmp / WEIGHTS)
    torch.save(state, tmp / STATE)
    for path in extra_files:
        shutil.copyfile(path, tmp / path.name)
    files = sorted(p.name for p in tmp.iterdir())
    index = {"step": step, "sha256": {name: sha256_file(tmp / name) for name in files}}
    (tmp / INDEX).write_text(json.dumps(index, indent=1), encoding="utf-8")
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    for old in list_checkpoints(out_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def list_checkpoints(out_dir: Path) -> list[Path]:
    """Complete checkpoint folders, oldest first."""
    if not out_dir.is_dir():
        return []
    found = [
        p
        for p in out_dir.iterdir()
        if p.is_dir() and p.name.startswith(PREFIX) and (p / INDEX).exists()
    ]
    return sorted(found, key=lambda p: p.name)


def resolve(path: Path) -> Path:
    """A checkpoint folder, or a training output folder standing for its newest checkpoint."""
    path = Path(path)
    if (path / INDEX).exists():
        return path
    found = list_checkpoints(path)
    if not found:
        raise ModelError(f"{path}: no checkpoint here (expected {INDEX} or {PREFIX}* folders)")
    return found[-1]


def load(path: Path) -> Checkpoint:
    """Read and verify a checkpoint; a changed file or a pickled object is refused with a
    ModelError."""
    folder = resolve(path)
    try:
        index = json.loads((folder / INDEX).read_text(encoding="utf-8"))
        digests = index["sha256"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ModelError(f"{folder / INDEX}: unreadable checkpoint index ({err})") from None
    for name in (WEIGHTS, STATE):
        if name not in digests or not (folder / name).exists():
            raise ModelError(f"{folder}: checkpoint incomplete, {name} missing")
    weights_bytes = (folder / WEIGHTS).read_bytes()  # read once: hashed, then parsed
    for name, digest in digests.items():
        actual = (
            hashlib.sha256(weights_bytes).hexdigest()
            if name == WEIGHTS
            else sha256_file(folder / name)
        )
        if actual != digest:
            raise ModelError(
                f"{folder / name}: sha256 does not match {INDEX} (corrupted or modified)"
            )
    try:
        state = torch.load(folder / STATE, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ModelError(
            f"{folder / STATE}: refused, not plain tensors and data ({first})"
        ) from None
    return Checkpoint(
        folder, tensors_from_bytes(weights_bytes, folder / WEIGHTS), state, dict(digests)
    )
