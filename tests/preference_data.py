"""The shipped preference pairs of tests/data/finetune/preferences-{train,val}.jsonl.gz (run as a
script to rebuild them, byte for byte) from the shipped labelled passages.

Each 40-word passage of ``source-train`` (or ``source-val``) gives two pairs, both with the
passage's first ``PROMPT_WORDS`` words as the input of an Alpaca-style instruction:

* "Name the source of this passage.": chosen is the passage's source ("the Brown corpus", "the King
  James Bible" or "Shakespeare"), rejected one of the two other sources, drawn with a seeded
  generator.
* "Continue this passage.": chosen is the passage's remaining words, rejected the same words in an
  order drawn with the same generator (a shuffle).

The validation pairs come from ``source-val``, whose documents no training passage shares.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from finetune_data import FOLDER, read_split, write_jsonl_gz

SOURCE_NAMES = {
    "brown": "the Brown corpus",
    "kjv": "the King James Bible",
    "shakespeare": "Shakespeare",
}
PROMPT_WORDS = 20
SEED = 11


def preference_pairs(passages: list[dict], rng: np.random.Generator) -> list[dict]:
    """Two pairs per passage (source name, continuation), in passage order."""
    pairs = []
    for passage in passages:
        words = passage["text"].split()
        opening, rest = " ".join(words[:PROMPT_WORDS]), " ".join(words[PROMPT_WORDS:])
        wrong = sorted(set(SOURCE_NAMES) - {passage["label"]})[int(rng.integers(2))]
        pairs.append(
            {
                "instruction": "Name the source of this passage.",
                "input": opening,
                "chosen": SOURCE_NAMES[passage["label"]],
                "rejected": SOURCE_NAMES[wrong],
            }
        )
        shuffled = [words[PROMPT_WORDS + i] for i in rng.permutation(len(words) - PROMPT_WORDS)]
        pairs.append(
            {
                "instruction": "Continue this passage.",
                "input": opening,
                "chosen": rest,
                "rejected": " ".join(shuffled),
            }
        )
    return pairs


def build(folder: Path = FOLDER) -> None:
    rng = np.random.default_rng(SEED)
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("train", "val"):
        write_jsonl_gz(
            folder / f"preferences-{split}.jsonl.gz", preference_pairs(read_split(split), rng)
        )


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else FOLDER)
