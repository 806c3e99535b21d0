"""The recipe's ``mix`` section: weighted sources into one set of token shards in ``RUN/shards``.

Sources are curated run folders (their last step), curated step folders, token shard folders,
or raw inputs curated here by their own recipe's steps (into ``RUN/sources/NAME``). Everything
that can be checked without work is checked first (paths, recipes, the tokenizer, and with a
``total_tokens`` the epochs of shard-folder sources); curated sources are encoded with the
mixture's one tokenizer (``RUN/sources/NAME/shards``), after which the epochs of every source
are checked before any mixture shard is written (``tokenizer/mixing.py``).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from scratchlm.curate import layout
from scratchlm.curate.checksum import file_sha256
from scratchlm.curate.errors import ConfigError
from scratchlm.curate.stage import Executor
from scratchlm.pipelines.recipe import Recipe, load_recipe
from scratchlm.pipelines.runner import run_curation
from scratchlm.pipelines.sections.bpe import TOKENIZER_DIR
from scratchlm.pipelines.sections.shard import SHARDS_DIR, shard_summary
from scratchlm.tokenizer.config import TOKENIZER_FILE, BpeConfig, MixConfig, MixSource, ShardConfig
from scratchlm.tokenizer.corpus import corpus_files
from scratchlm.tokenizer.mix_sample import WeightedFiles, sample_inputs, weighted_sample
from scratchlm.tokenizer.mixing import (
    MixError,
    Source,
    check_sources,
    epoch_problems,
    mix_shards,
    open_source,
)
from scratchlm.tokenizer.sharding import shard_corpus
from scratchlm.tokenizer.train import train_texts_to_folder, trained_already

SOURCES_DIR = "sources"  # RUN/sources/NAME: a source curated here, and a curated source's shards


def curated_step(name: str, folder: Path) -> Path:
    """The curated documents of a run folder (its last step) or of a step folder."""
    stats = folder / layout.STATS
    if any(folder.glob(layout.SHARDS)):
        return folder
    if stats.exists():
        steps = list(json.loads(stats.read_text(encoding="utf-8")))
        if steps and (folder / steps[-1]).is_dir():
            return folder / steps[-1]
    raise MixError(
        f"mix: source {name!r}: {folder} is neither a curated run folder "
        f"(stats.json) nor a curated step folder (part-*.parquet; a step that ran fused "
        f"with the next ones keeps none: pass its run folder, or rerun with --keep-intermediate)"
    )


@dataclasses.dataclass
class Prepared:
    """A source as the mixture reads it: a shard folder, or curated documents still to encode."""

    name: str
    spec: MixSource
    shards: Path | None = None  # a given token shard folder
    curated: Path | None = None  # the curated step folder (set once curated)
    recipe: Recipe | None = None  # the curation of raw inputs


def prepare(config: MixConfig) -> list[Prepared]:
    """Check every source's location and recipe; nothing is written."""
    prepared, problems = [], []
    for name, spec in config.sources.items():
        item = Prepared(name, spec)
        try:
            if spec.shards is not None:
                item.shards = Path(spec.shards)
                open_source(name, item.shards, spec.weight, spec.max_epochs)
            elif spec.run is not None:
                item.curated = curated_step(name, Path(spec.run))
            else:
                missing = [p for p in spec.input or () if not Path(p).exists()]
                if missing:
                    raise MixError(f"mix: source {name!r}: input {missing[0]} does not exist")
                item.recipe = load_recipe(spec.recipe)
        except ConfigError as err:
            problems.append(str(err))
        prepared.append(item)
    if problems:
        raise MixError("\n".join(problems))
    return prepared


def shard_sources(prepared: list[Prepared]) -> list[Source]:
    return [
        open_source(p.name, p.shards, p.spec.weight, p.spec.max_epochs, p.spec.licence)
        for p in prepared
        if p.shards is not None
    ]


def check_known_epochs(config: MixConfig, prepared: list[Prepared]) -> None:
    """With a ``total_tokens``, the epochs of the shard-folder sources can be checked before any
    work (a curated source's token count is known only once encoded)."""
    if config.total_tokens is None:
        return
    problems = epoch_problems(shard_sources(prepared), config.total_tokens)
    if problems:
        raise MixError("\n".join(problems))


def curate_sources(prepared: list[Prepared], run_dir: Path, executor: Executor) -> None:
    """Curate the raw-input sources into ``RUN/sources/NAME`` (resumed like any run)."""
    for item in prepared:
        if item.recipe is not None:
            print(f"mix: curating source {item.name!r}")
            result = run_curation(
                item.recipe,
                list(item.spec.input or ()),
                run_dir / SOURCES_DIR / item.name,
                executor,
            )
            item.curated = result.final_dir


def check_tokenizer(config: MixConfig, bpe: BpeConfig | None, prepared: list[Prepared]) -> None:
    """Refuse, before any work, a mixture whose sources cannot share one tokenizer."""
    curated = [p.name for p in prepared if p.shards is None]
    given = [p for p in prepared if p.shards is not None]
    if curated and config.tokenizer is None and bpe is None:
        raise MixError(
            f"mix: the curated source(s) {', '.join(curated)} need a tokenizer: add a "
            f"bpe section (trained on a sample following the weights) or give "
            f"mix.tokenizer"
        )
    if curated and given and config.tokenizer is None:
        raise MixError(
            f"mix: source {given[0].name!r} is a shard folder with its own tokenizer; "
            f"the bpe section would train another: give mix.tokenizer: "
            f"{given[0].shards / TOKENIZER_FILE}"
        )
    if config.tokenizer is not None and not Path(config.tokenizer).is_file():
        raise MixError(f"mix.tokenizer: {config.tokenizer} does not exist")
    tokenizer = (
        Path(config.tokenizer)
        if config.tokenizer
        else (given[0].shards / TOKENIZER_FILE if given else None)
    )
    if given and tokenizer is not None:
        check_sources(shard_sources(prepared), file_sha256(tokenizer))


def mixture_tokenizer(
    config: MixConfig, bpe: BpeConfig | None, prepared: list[Prepared], run_dir: Path
) -> Path:
    """The tokenizer given in ``mix.tokenizer``; else trained by ``bpe`` on a sample following the
    weights; else the one the (all shard-folder) sources share."""
    curated = [p for p in prepared if p.shards is None]
    if config.tokenizer is not None:
        return Path(config.tokenizer)
    if curated:
        return train_mixture_tokenizer(bpe, config.seed, curated, run_dir / TOKENIZER_DIR)
    return prepared[0].shards / TOKENIZER_FILE


def train_mixture_tokenizer(
    bpe: BpeConfig, seed: int, curated: list[Prepared], output: Path
) -> Path:
    """Train the BPE on a sample whose bytes follow the curated sources' weights (relative to each
    other), or keep an identical earlier training."""
    groups = [WeightedFiles(p.name, corpus_files([str(p.curated)]), p.spec.weight) for p in curated]
    inputs = sample_inputs(groups, bpe.limit_bytes, seed)
    unlimited = dataclasses.replace(bpe, limit_bytes=None)  # the sample itself is limited
    stats = trained_already(inputs, unlimited, output)
    if stats is None:
        stats = train_texts_to_folder(
            weighted_sample(groups, bpe.limit_bytes, seed), unlimited, output, inputs
        )
        print(
            f"mix: tokenizer of {stats['vocab_size']:,} tokens trained on a weighted sample of "
            f"{stats['docs']:,} documents ({stats['bytes'] / 1e6:.1f} MB): "
            f"{output / TOKENIZER_FILE}"
        )
    return output / TOKENIZER_FILE


def encode_sources(
    prepared: list[Prepared], tokenizer: Path, shard: ShardConfig, run_dir: Path, executor: Executor
) -> list[Source]:
    """Every source as a shard folder: curated ones encoded with the mixture's tokenizer."""
    sources = []
    for p in prepared:
        folder = p.shards
        if folder is None:
            folder = run_dir / SOURCES_DIR / p.name / SHARDS_DIR
            manifest = shard_corpus(
                corpus_files([str(p.curated)]),
                tokenizer,
                folder,
                shard,
                executor,
                log=lambda _: None,
                replace=True,
            )
            print(f"mix: source {p.name!r}: {shard_summary(manifest)}")
        sources.append(
            open_source(p.name, folder, p.spec.weight, p.spec.max_epochs, p.spec.licence)
        )
    return sources


def check_mixture(recipe: Recipe) -> list[Prepared]:
    """Every check that needs no work: sources, recipes, tokenizer, known epochs."""
    config: MixConfig = recipe.sections["mix"]
    prepared = prepare(config)
    check_tokenizer(config, recipe.sections.get("bpe"), prepared)
    check_known_epochs(config, prepared)
    return prepared


def run_mixture(
    recipe: Recipe, prepared: list[Prepared], run_dir: Path, executor: Executor
) -> dict:
    """Curate, tokenize and encode the (checked) sources as needed, then write ``RUN/shards``;
    returns its manifest."""
    config: MixConfig = recipe.sections["mix"]
    shard: ShardConfig = recipe.sections.get("shard", ShardConfig())
    curate_sources(prepared, run_dir, executor)
    tokenizer = mixture_tokenizer(config, recipe.sections.get("bpe"), prepared, run_dir)
    sources = encode_sources(prepared, tokenizer, shard, run_dir, executor)
    output = run_dir / SHARDS_DIR
    manifest = mix_shards(
        sources,
        tokenizer,
        output,
        config.total_tokens,
        config.seed,
        shard.shard_tokens,
        replace=True,
    )
    for s in manifest["mixture"]["sources"]:
        print(
            f"mix: {s['name']}: weight {s['weight']:g}, {s['tokens']:,} tokens "
            f"({s['share']:.2%}), {s['docs']:,} documents, {s['epochs']:.2f} epochs"
        )
    print(f"mix: {shard_summary(manifest)}: {output}")
    return manifest
