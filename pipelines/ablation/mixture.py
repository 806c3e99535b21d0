"""The data side of a mixture ablation: the sources once, then one mixture per variant's weights.

```
DIR/sources/NAME/                    # a raw-input source's curation, and a source's tokens
DIR/tokenizer/tokenizer.json         # one BPE on the union of the curated sources (no variant's
                                     # weights), or the mixture's given or shared tokenizer
DIR/variants/NAME/tokens/            # the variant's mixture (mix_shards, the base's total_tokens)
DIR/variants/NAME/shards/            # its train, val = the --eval text (what training reads)
```
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from scratchlm.curate.stage import Executor
from scratchlm.pipelines.ablation.layout import SHARDS, TOKENIZER, TOKENS, variant_dir
from scratchlm.pipelines.ablation.spec import Ablation
from scratchlm.pipelines.ablation.tokens import compose_shards, train_union_tokenizer
from scratchlm.pipelines.sections.mix import (
    check_known_epochs,
    check_tokenizer,
    curate_sources,
    encode_sources,
    prepare,
)
from scratchlm.tokenizer.config import TOKENIZER_FILE
from scratchlm.tokenizer.mixing import mix_shards, open_source


def check_mixtures(ablation: Ablation) -> None:
    """Every variant's sources, tokenizer and known epochs, before any work."""
    for variant in ablation.variants:
        prepared = prepare(variant.mix)
        check_tokenizer(variant.mix, ablation.bpe, prepared)
        check_known_epochs(variant.mix, prepared)


def mixture_variants(
    ablation: Ablation,
    evaluation: Path,
    output: Path,
    executor: Executor,
    log: Callable[[str], None],
    encode_eval: Callable[[Path], Any],
) -> tuple[Path, dict[str, int]]:
    """Curate and encode the sources once, mix each variant's weights; returns the tokenizer and
    each variant's training tokens."""
    base = ablation.variants[0].mix
    prepared = prepare(base)
    curate_sources(prepared, output, executor)
    curated = [p.curated for p in prepared if p.shards is None]
    if base.tokenizer is not None:
        tokenizer = Path(base.tokenizer)
    elif curated:
        tokenizer = train_union_tokenizer(curated, ablation.bpe, output / TOKENIZER)
    else:
        tokenizer = prepared[0].shards / TOKENIZER_FILE
    log(f"tokenizer (one for all variants): {tokenizer}")
    encode_eval(tokenizer)
    sources = encode_sources(prepared, tokenizer, ablation.shard, output, executor)
    kept: dict[str, int] = {}
    for variant in ablation.variants:
        folder = variant_dir(output, variant.name)
        weighted = [
            open_source(
                s.name, s.folder, variant.mix.sources[s.name].weight, s.max_epochs, s.licence
            )
            for s in sources
        ]
        manifest = mix_shards(
            weighted,
            tokenizer,
            folder / TOKENS,
            base.total_tokens,
            base.seed,
            ablation.shard.shard_tokens,
            log=log,
            replace=True,
        )
        compose_shards(folder / TOKENS, evaluation, folder / SHARDS)
        shares = ", ".join(
            f"{s['name']} {s['tokens']:,} tokens ({s['epochs']:.2f} epochs)"
            for s in manifest["mixture"]["sources"]
        )
        kept[variant.name] = manifest["splits"]["train"]["tokens"]
        log(f"== {variant.name}: {shares}")
    return tokenizer, kept
