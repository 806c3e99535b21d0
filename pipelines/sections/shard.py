"""The recipe's ``shard`` section: encode the final curated step with the run's tokenizer."""

from __future__ import annotations

from pathlib import Path

from scratchlm.curate.errors import ConfigError
from scratchlm.curate.stage import Executor
from scratchlm.pipelines.sections.bpe import TOKENIZER_DIR
from scratchlm.tokenizer.config import ShardConfig
from scratchlm.tokenizer.corpus import corpus_files
from scratchlm.tokenizer.sharding import shard_corpus
from scratchlm.tokenizer.train import TOKENIZER_FILE

SHARDS_DIR = "shards"


def shard_summary(manifest: dict) -> str:
    splits = manifest["splits"]
    counts = ", ".join(
        f"{s}: {v['tokens']:,} tokens, {v['docs']:,} docs in {v['shards']} shards"
        for s, v in splits.items()
    )
    encoders = manifest.get("encoders")  # absent in manifests written before it was recorded
    return f"{counts} (encoded with {', '.join(encoders)})" if encoders else counts


def run_section(config: ShardConfig, run_dir: Path, curated_dir: Path, executor: Executor) -> dict:
    """Write ``run_dir/shards`` from the curated documents and ``run_dir/tokenizer/tokenizer.json``;
    shards of another plan there (the recipe or the tokenizer changed) are encoded again."""
    tokenizer = Path(run_dir) / TOKENIZER_DIR / TOKENIZER_FILE
    if not tokenizer.exists():
        raise ConfigError(f"shard: {tokenizer} does not exist; add a bpe section to the recipe")
    output = Path(run_dir) / SHARDS_DIR
    manifest = shard_corpus(
        corpus_files([str(curated_dir)]), tokenizer, output, config, executor, replace=True
    )
    print(f"shard: {shard_summary(manifest)}: {output}")
    return manifest
