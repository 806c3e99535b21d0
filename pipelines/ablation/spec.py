"""The ablation file: a base recipe, variants of its steps, and one way to train and evaluate
them all.

```yaml
name: quality
base: ../recipes/demo.yaml  # a recipe file (relative to this file) or an inline recipe mapping
# extends: quality.yaml     # or: another ablation file, with the keys given here replacing its own
quality_model:              # optional: a fastText classifier trained in the run; a step option
  positive: [tests/data/prose/brown.jsonl.gz]   # written "{quality_model}" is replaced by its path
  negative: [tests/data/web-sample.warc.gz]     # (relative to the working directory, like --input)
bpe: {vocab_size: 4096}     # one tokenizer, trained on the union of every variant's documents
shard: {shard_tokens: 1000000}
train: {preset: tiny, max_steps: 300, eval_every: 50}
budget: single_epoch        # default: at most the smallest variant's tokens (max_steps: as given)
variants:
  - name: no_filter
    remove: [language, gopher_quality]          # every step of these stages
  - name: stricter
    set: {gopher_quality: {min_words: 100}}     # options merged into the named step
  - name: classifier
    add: [{quality_classifier: {model: "{quality_model}"}, after: minhash}]  # default: at the end
```

Fairness is part of the format: a variant can change curation steps only; the tokenizer, model
preset, seeds, token budget and evaluation text are the ablation's, one for all variants.

A mixture recipe as ``base`` (one with a ``mix`` section, and a ``total_tokens`` so that every
variant's mixture is as large) gives variants that differ only in the weights of its sources:

```yaml
variants:
  - {name: web_light, weights: {web: 0.2, prose: 0.8}}
  - {name: web_heavy, weights: {web: 0.6, prose: 0.4}}
```
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from scratchlm.curate.errors import ConfigError
from scratchlm.curate.stage import Source
from scratchlm.curate.stages import stage_class
from scratchlm.pipelines.ablation.budget import BUDGETS
from scratchlm.pipelines.config import build, to_plain
from scratchlm.pipelines.recipe import (
    DOC_TIMEOUT_S,
    Recipe,
    doc_timeout,
    parse_recipe,
    read_yaml,
    step_items,
)
from scratchlm.tokenizer.config import BpeConfig, MixConfig, ShardConfig

TOP_KEYS = (
    "name",
    "base",
    "doc_timeout_s",
    "keep_intermediate",
    "quality_model",
    "bpe",
    "shard",
    "train",
    "budget",
    "variants",
)
VARIANT_KEYS = ("name", "remove", "set", "add")
MIX_VARIANT_KEYS = ("name", "weights")
QUALITY_KEYS = ("positive", "negative", "max_docs", "options")
QUALITY_PLACEHOLDER = "{quality_model}"


@dataclass
class Variant:
    """One variant: a name and the base recipe's steps with its changes applied (plain data)."""

    name: str
    steps: list[dict[str, Any]]
    changes: list[str]
    mix: MixConfig | None = None  # a mixture ablation's variant: the base mixture, its weights


@dataclass
class QualityModelSpec:
    positive: list[str]
    negative: list[str]
    max_docs: int | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Ablation:
    name: str
    variants: list[Variant]
    bpe: BpeConfig
    shard: ShardConfig
    train: Any  # model.config.TrainConfig (imported lazily: torch is not needed to read the file)
    quality_model: QualityModelSpec | None = None
    doc_timeout_s: float = DOC_TIMEOUT_S  # every variant's per-document deadline
    mix: MixConfig | None = None  # the base mixture of a mixture ablation
    budget: str = "single_epoch"  # pipelines/ablation/budget.py: BUDGETS
    keep_intermediate: bool = False  # every variant's steps all write their full output

    def read_stage(self) -> Source:
        """The first variant's ``read`` step (every variant starts with one)."""
        return build(stage_class("read"), self.variants[0].steps[0]["read"], "read")

    def recipe(self, variant: Variant, quality_model: Path | None = None) -> Recipe:
        """The variant's curation recipe, ``{quality_model}`` replaced by the trained model's
        path."""
        steps = _substitute(
            variant.steps, str(quality_model) if quality_model else None, variant.name
        )
        try:
            plain = {
                "name": f"{self.name}-{variant.name}",
                "doc_timeout_s": self.doc_timeout_s,
                "keep_intermediate": self.keep_intermediate,
                "steps": steps,
            }
            return parse_recipe(plain, variant.name)
        except ConfigError as err:
            raise ConfigError(f"variant {variant.name}: {err}") from None


def _substitute(value: Any, model: str | None, variant: str) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, model, variant) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, model, variant) for v in value]
    if value == QUALITY_PLACEHOLDER:
        if model is None:
            raise ConfigError(
                f"variant {variant}: {QUALITY_PLACEHOLDER} is "
                "used but the ablation has no quality_model"
            )
        return model
    return value


def _mapping(value: Any, path: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: expected a mapping, got {value!r}")
    return value


def _step_items(steps: Any, path: str) -> list[dict[str, Any]]:
    """Recipe steps as a list of one-key mappings ``{stage: {options}}`` (options copied, to be
    edited)."""
    return [
        {name: copy.deepcopy(_mapping(options, f"{path}[{i}].{name}"))}
        for i, (name, options) in enumerate(step_items(steps, path))
    ]


def _index_of(steps: list[dict[str, Any]], stage: str, path: str) -> int:
    found = [i for i, s in enumerate(steps) if next(iter(s)) == stage]
    if not found:
        raise ConfigError(f"{path}: the recipe has no {stage} step")
    if len(found) > 1:
        raise ConfigError(
            f"{path}: the recipe has {len(found)} {stage} steps; the change is ambiguous"
        )
    return found[0]


def apply_changes(base: list[dict[str, Any]], raw: dict[str, Any], path: str) -> Variant:
    """The base steps with the variant's ``remove``, then ``set``, then ``add`` applied."""
    unknown = [k for k in raw if k not in VARIANT_KEYS]
    if unknown:
        hint = (
            " (every variant shares the ablation's bpe, shard and train)"
            if set(unknown) & {"bpe", "shard", "train", "seed"}
            else ""
        )
        raise ConfigError(
            f"{path}.{unknown[0]}: unknown variant key (known: {', '.join(VARIANT_KEYS)}){hint}"
        )
    name = _variant_name(raw, path)
    steps = copy.deepcopy(base)
    changes: list[str] = []
    removes = raw.get("remove") or []
    if not isinstance(removes, list) or not all(isinstance(s, str) for s in removes):
        raise ConfigError(f"{path}.remove: expected a list of stage names, got {removes!r}")
    for stage in removes:
        if stage == "read":
            raise ConfigError(f"{path}.remove: the read step cannot be removed")
        if not any(next(iter(s)) == stage for s in steps):
            raise ConfigError(f"{path}.remove: the recipe has no {stage} step")
        steps = [s for s in steps if next(iter(s)) != stage]
        changes.append(f"-{stage}")
    for stage, options in _mapping(raw.get("set"), f"{path}.set").items():
        index = _index_of(steps, stage, f"{path}.set.{stage}")
        steps[index][stage].update(_mapping(options, f"{path}.set.{stage}"))
        changes.append(f"{stage}: " + ", ".join(f"{k}={v}" for k, v in options.items()))
    adds = raw.get("add") or []
    if not isinstance(adds, list):
        raise ConfigError(
            f"{path}.add: expected a list of {{stage: {{options}}, after: stage}}, got {adds!r}"
        )
    for i, item in enumerate(adds):
        where = f"{path}.add[{i}]"
        item = dict(_mapping(item, where))
        after = item.pop("after", None)
        stage_item = _step_items([item], where)[0]
        index = len(steps) if after is None else _index_of(steps, after, f"{where}.after") + 1
        steps.insert(index, stage_item)
        changes.append(f"+{next(iter(stage_item))}" + (f" after {after}" if after else ""))
    return Variant(name, steps, changes or ["base recipe"])


def _base_recipe(base: Any, folder: Path) -> dict[str, Any]:
    if isinstance(base, str):
        try:
            base = read_yaml(folder / base, "recipe")
        except ConfigError as err:
            raise ConfigError(f"base: {err}") from None
    if not isinstance(base, dict):
        raise ConfigError("base: expected a recipe file name or a recipe mapping")
    return base


def _base_mix(base: dict[str, Any]) -> MixConfig:
    """A mixture base's ``mix`` section; it must fix ``total_tokens``."""
    mix = build(MixConfig, base["mix"], "base.mix")
    if mix.total_tokens is None:
        raise ConfigError(
            "base.mix.total_tokens: a mixture ablation gives every variant a "
            "mixture of one size; set it"
        )
    return mix


def mix_variant(base: MixConfig, raw: dict[str, Any], path: str) -> Variant:
    """A variant of a mixture: the base mixture with other weights, nothing else."""
    unknown = [k for k in raw if k not in MIX_VARIANT_KEYS]
    if unknown:
        raise ConfigError(
            f"{path}.{unknown[0]}: unknown variant key (known: "
            f"{', '.join(MIX_VARIANT_KEYS)}): a mixture's variants differ only in "
            f"their weights"
        )
    name = _variant_name(raw, path)
    weights = _mapping(raw.get("weights"), f"{path}.weights")
    listed = set(weights) ^ set(base.sources)
    if listed:
        which = min(listed)
        known = "unknown source" if which in weights else "no weight for source"
        raise ConfigError(
            f"{path}.weights.{which}: {known} (the base's sources: {', '.join(base.sources)})"
        )
    sources = {n: {**to_plain(s), "weight": weights[n]} for n, s in base.sources.items()}
    mix = build(MixConfig, {**to_plain(base), "sources": sources}, path)
    return Variant(name, [], [", ".join(f"{n} {w:g}" for n, w in weights.items())], mix)


def _variant_name(raw: dict[str, Any], path: str) -> str:
    name = raw.get("name")
    if (
        not isinstance(name, str)
        or not name
        or not name.replace("_", "").replace("-", "").isalnum()
    ):
        raise ConfigError(f"{path}.name: expected a name of letters, digits, - and _, got {name!r}")
    return name


def _quality_spec(raw: Any) -> QualityModelSpec | None:
    if raw is None:
        return None
    raw = _mapping(raw, "quality_model")
    unknown = [k for k in raw if k not in QUALITY_KEYS]
    if unknown:
        raise ConfigError(
            f"quality_model.{unknown[0]}: unknown key (known: {', '.join(QUALITY_KEYS)})"
        )
    lists = {}
    for key in ("positive", "negative"):
        value = raw.get(key)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise ConfigError(
                f"quality_model.{key}: expected a non-empty list of paths, got {value!r}"
            )
        lists[key] = value
    max_docs = raw.get("max_docs")
    if max_docs is not None and (not isinstance(max_docs, int) or max_docs < 1):
        raise ConfigError(f"quality_model.max_docs: expected a positive int, got {max_docs!r}")
    from scratchlm.curate.text.classifier import TrainOptions

    options = _mapping(raw.get("options"), "quality_model.options")
    build(TrainOptions, options, "quality_model.options")  # refuse bad options before any work
    return QualityModelSpec(lists["positive"], lists["negative"], max_docs, options)


def parse_ablation(data: Any, folder: Path) -> Ablation:
    """Check an ablation mapping; ``folder`` resolves a ``base`` file name."""
    from scratchlm.model.config import TrainConfig
    from scratchlm.model.errors import ModelError

    data = _mapping(data, "ablation")
    unknown = [k for k in data if k not in TOP_KEYS]
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown ablation key (known: {', '.join(TOP_KEYS)})")
    name = data.get("name", "ablation")
    if not isinstance(name, str):
        raise ConfigError(f"name: expected str, got {name!r}")
    if "base" not in data:
        raise ConfigError("base: name the base recipe (a file or an inline recipe)")
    base = _base_recipe(data["base"], folder)
    mix = _base_mix(base) if "mix" in base else None
    steps = [] if mix else _step_items(base.get("steps"), "base.steps")
    if mix and "quality_model" in data:
        raise ConfigError("quality_model: a mixture ablation's variants differ only in weights")
    raw_variants = data.get("variants")
    if not isinstance(raw_variants, list) or len(raw_variants) < 2:
        raise ConfigError("variants: expected a list of at least two variants to compare")
    variants = [
        mix_variant(mix, _mapping(v, f"variants[{i}]"), f"variants[{i}]")
        if mix
        else apply_changes(steps, _mapping(v, f"variants[{i}]"), f"variants[{i}]")
        for i, v in enumerate(raw_variants)
    ]
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise ConfigError(f"variants: names must be unique, got {names}")
    shard_options = _mapping(data.get("shard"), "shard")
    if "val_fraction" in shard_options:
        raise ConfigError(
            "shard.val_fraction: an ablation validates "
            "every variant on the --eval text; leave it out"
        )
    shard = replace(build(ShardConfig, shard_options, "shard"), val_fraction=0.0)
    try:
        train = build(TrainConfig, data.get("train"), "train")
    except ModelError as err:
        raise ConfigError(f"train: {err}") from None
    budget = data.get("budget", "single_epoch")
    if budget not in BUDGETS:
        raise ConfigError(f"budget: expected one of {', '.join(BUDGETS)}, got {budget!r}")
    return Ablation(
        name,
        variants,
        build(BpeConfig, data.get("bpe"), "bpe"),
        shard,
        train,
        _quality_spec(data.get("quality_model")),
        doc_timeout(data.get("doc_timeout_s", DOC_TIMEOUT_S), "doc_timeout_s"),
        mix,
        budget,
        data.get("keep_intermediate", False),
    )


def _extended(data: Any, path: Path) -> Any:
    """An ablation file with ``extends: OTHER.yaml`` is the other file with this file's top-level
    keys replacing its own (the same variants at another scale, say); the other file may not extend
    again."""
    if not isinstance(data, dict) or "extends" not in data:
        return data
    parent_path = path.parent / str(data["extends"])
    try:
        parent = read_yaml(parent_path, "ablation file")
    except ConfigError as err:
        raise ConfigError(f"extends: {err}") from None
    if not isinstance(parent, dict):
        raise ConfigError(f"extends: {parent_path} holds no ablation mapping")
    if "extends" in parent:
        raise ConfigError(
            f"extends: {parent_path} extends another file itself; extend that one directly"
        )
    if isinstance(
        parent.get("base"), str
    ):  # a base file name is relative to the file that names it
        parent["base"] = str((parent_path.parent / parent["base"]).resolve())
    return {**parent, **{k: v for k, v in data.items() if k != "extends"}}


def load_ablation(path: str | Path) -> Ablation:
    """Read and check an ablation file; every problem is one ConfigError naming the file and key."""
    path = Path(path)
    data = read_yaml(path, "ablation file")
    try:
        return parse_ablation(_extended(data, path), path.parent)
    except ConfigError as err:
        raise ConfigError(f"ablation file {path}: {err}") from None
