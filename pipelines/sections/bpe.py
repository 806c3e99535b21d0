"""The recipe's ``bpe`` section: train the byte-level BPE on the final curated step."""

from __future__ import annotations

from pathlib import Path

from scratchlm.curate.stage import Executor
from scratchlm.tokenizer.config import BpeConfig
from scratchlm.tokenizer.corpus import corpus_files
from scratchlm.tokenizer.train import TOKENIZER_FILE, train_to_folder, trained_already

TOKENIZER_DIR = "tokenizer"


def run_section(config: BpeConfig, run_dir: Path, curated_dir: Path, executor: Executor) -> dict:
    """Train into ``run_dir/tokenizer/tokenizer.json``, or keep an identical earlier training."""
    files = corpus_files([str(curated_dir)])
    output = Path(run_dir) / TOKENIZER_DIR
    stats = trained_already([f.source for f in files], config, output)
    if stats is None:
        stats = train_to_folder(files, config, output)
        print(
            f"bpe: trained {stats['vocab_size']:,} tokens on {stats['docs']:,} documents "
            f"({stats['bytes'] / 1e6:.1f} MB) "
            f"in {stats['seconds']:.1f} s: {output / TOKENIZER_FILE}"
        )
    else:
        print(f"bpe: already trained: {output / TOKENIZER_FILE}")
    return stats
