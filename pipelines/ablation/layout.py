"""The names in an ablation folder (``scratchlm ablate --output DIR``; drawn in ``run.py``)."""

from __future__ import annotations

from pathlib import Path

TOKENIZER = "tokenizer"  # one BPE, trained on the union of the variants' documents
VARIANTS = "variants"  # one folder per variant: DIR/variants/NAME/
CURATED = "curated"  # a variant's curation run folder
TOKENS = "tokens"  # a variant's documents, encoded, all in train
SHARDS = "shards"  # what a variant's trainings read: train from tokens/, val the eval shards


def variant_dir(output: Path, name: str) -> Path:
    return output / VARIANTS / name


def seed_dir(variant: Path, seed: int) -> Path:
    """The training of one seed in a variant's folder."""
    return variant / f"seed-{seed}"
