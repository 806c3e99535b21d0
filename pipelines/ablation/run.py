"""``scratchlm ablate``: curate each variant, encode all with one tokenizer, train each K times,
compare.

```
DIR/quality_model/model.bin          # when the ablation trains a quality classifier
DIR/variants/NAME/curated/           # the variant's curation run (NN_stage folders, stats.json)
DIR/tokenizer/tokenizer.json         # one BPE, trained on the union of the variants' documents
DIR/eval/                            # the --eval text, encoded once
DIR/variants/NAME/tokens/            # the variant's documents, all in train
DIR/variants/NAME/shards/            # what training reads: train from tokens/, val = eval shards
DIR/variants/NAME/seed-S/            # one training: log.jsonl, checkpoints, loss.png
DIR/ablation.html, ablation.png, ablation.json
DIR/plan.json                        # inputs, eval text, bpe, shard and train: a rerun must match
```
Every phase resumes: finished curation shards, tokenizer, shards and trainings are kept.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from scratchlm.curate import layout
from scratchlm.curate.atomic import AtomicPath
from scratchlm.curate.checksum import file_sha256
from scratchlm.curate.errors import ConfigError
from scratchlm.curate.inputs import expand_inputs
from scratchlm.curate.stage import Executor
from scratchlm.curate.writer import claim_folder, write_atomic
from scratchlm.pipelines.ablation.budget import fit_budget
from scratchlm.pipelines.ablation.compare import VariantResult, check_fair, read_variant
from scratchlm.pipelines.ablation.composition import kept_by_input
from scratchlm.pipelines.ablation.layout import CURATED, SHARDS, TOKENIZER, TOKENS, variant_dir
from scratchlm.pipelines.ablation.mixture import check_mixtures, mixture_variants
from scratchlm.pipelines.ablation.page import write_page
from scratchlm.pipelines.ablation.quality_model import train_quality_model
from scratchlm.pipelines.ablation.scores import eval_file_names, score_training
from scratchlm.pipelines.ablation.spec import Ablation
from scratchlm.pipelines.ablation.tokens import (
    compose_shards,
    shard_all_train,
    train_union_tokenizer,
)
from scratchlm.pipelines.ablation.trainings import resolve_jobs, run_trainings, write_plan
from scratchlm.pipelines.config import to_plain
from scratchlm.pipelines.recipe import Recipe
from scratchlm.pipelines.runner import run_curation

Log = Callable[[str], None]
PLAN = "plan.json"


def seeds_of(ablation: Ablation, count: int) -> list[int]:
    """``count`` consecutive seeds from the ablation's ``train.seed``."""
    if count < 1:
        raise ConfigError(f"--seeds: expected at least 1, got {count}")
    return [ablation.train.seed + i for i in range(count)]


def _seed_steps(recipe: Recipe, earlier: list[tuple[Recipe, Path]], target: Path) -> None:
    """Link the finished step folders that ``recipe`` shares (same steps from the start) with an
    earlier variant into ``target``, up to the last shared one that kept its full output, so the
    runner starts from there instead of running them again."""
    plain = recipe.to_plain()["steps"]
    best, source = 0, None
    for other, folder in earlier:
        theirs = other.to_plain()["steps"]
        same = 0
        while same < min(len(plain), len(theirs)) and plain[same] == theirs[same]:
            same += 1
        if same > best:
            best, source = same, folder
    if source is not None:
        best = max(
            (i + 1 for i in range(best) if _kept_output(source / recipe.step_folder(i))), default=0
        )
    for index in range(best):
        name = recipe.step_folder(index)
        if (
            source is None
            or (target / name).exists()
            or not (source / name / layout.STATS).exists()
        ):
            continue
        with AtomicPath(target / name) as tmp:
            shutil.copytree(source / name, tmp, copy_function=_hardlink)


def _kept_output(step_dir: Path) -> bool:
    """Whether a finished step folder holds its full output: a Parquet shard beside every
    ``.done``."""
    done = list(step_dir.glob(layout.DONE_MARKERS))
    return (
        bool(done)
        and (step_dir / layout.STATS).exists()
        and all(p.with_suffix(layout.SHARD).exists() for p in done)
    )


def _hardlink(source: str, target: str) -> None:
    try:
        Path(target).hardlink_to(source)
    except OSError:
        shutil.copy2(source, target)


def curate_variants(
    ablation: Ablation, inputs: list[str], output: Path, executor: Executor, log: Log
) -> list[Path]:
    """Each variant's curation run; returns their final step folders."""
    quality = None
    if ablation.quality_model is not None:
        quality = train_quality_model(
            ablation.quality_model, ablation.read_stage(), output / "quality_model"
        )
        log(f"quality model: {quality}")
    recipes = [
        ablation.recipe(v, quality) for v in ablation.variants
    ]  # all checked before any curation
    done: list[tuple[Recipe, Path]] = []
    finals = []
    for variant, recipe in zip(ablation.variants, recipes):
        folder = variant_dir(output, variant.name) / CURATED
        folder.mkdir(parents=True, exist_ok=True)
        _seed_steps(recipe, done, folder)
        log(f"== curate {variant.name}: {'; '.join(variant.changes)}")
        result = run_curation(recipe, inputs, folder, executor, log)
        done.append((recipe, folder))
        finals.append(result.final_dir)
    return finals


def filter_variants(
    ablation: Ablation,
    inputs: list[str],
    evaluation: Path,
    output: Path,
    executor: Executor,
    log: Log,
    encode_eval: Callable[[Path], None],
) -> tuple[Path, dict[str, int]]:
    """Curate each variant, train the union tokenizer, encode; returns the tokenizer and each
    variant's training tokens."""
    finals = curate_variants(ablation, inputs, output, executor, log)
    tokenizer = train_union_tokenizer(finals, ablation.bpe, output / TOKENIZER)
    log(f"tokenizer (union of {len(finals)} variants): {tokenizer}")
    encode_eval(tokenizer)
    kept: dict[str, int] = {}
    for variant, final in zip(ablation.variants, finals):
        folder = variant_dir(output, variant.name)
        tokens = shard_all_train([str(final)], tokenizer, folder / TOKENS, ablation.shard, executor)
        compose_shards(folder / TOKENS, evaluation, folder / SHARDS)
        kept[variant.name] = tokens["splits"]["train"]["tokens"]
        log(f"== {variant.name}: {kept[variant.name]:,} tokens of documents")
    return tokenizer, kept


def check_inputs(
    ablation: Ablation, inputs: list[str], eval_inputs: list[str], tasks: Sequence[str] = ()
) -> None:
    """Every input, evaluation, task and quality-model path exists (InputError otherwise), and a
    mixture's sources and epochs are possible, before anything is written."""
    if ablation.mix is not None:
        if inputs:
            raise ConfigError(
                "--input: a mixture ablation's sources name their own inputs; leave --input out"
            )
        check_mixtures(ablation)
    elif not inputs:
        raise ConfigError("--input: give the raw inputs every variant curates")
    else:
        expand_inputs(inputs)
    expand_inputs(eval_inputs)
    for task in tasks:
        if not Path(task).is_file():
            raise ConfigError(f"--task {task}: no such file")
    if ablation.quality_model is not None:
        expand_inputs(ablation.quality_model.positive + ablation.quality_model.negative)


def check_plan(ablation: Ablation, inputs: list[str], eval_inputs: list[str], output: Path) -> None:
    """Refuse to resume into a folder holding an ablation of other settings or data (seeds may
    grow)."""
    settings = {
        "inputs": inputs,
        "eval": eval_inputs,
        "budget": ablation.budget,
        "bpe": to_plain(ablation.bpe),
        "shard": to_plain(ablation.shard),
        "train": to_plain(ablation.train),
    }
    if ablation.mix is not None:  # a variant's mixture is rewritten only with the same weights
        settings["mix"] = {v.name: to_plain(v.mix) for v in ablation.variants}
    what = "budget, bpe, shard or train settings" + (" or weights" if ablation.mix else "")
    claim_folder(
        output / PLAN,
        json.dumps(settings, indent=1),
        f"an ablation with other inputs, evaluation text, {what}",
    )


def run_ablation(
    ablation: Ablation,
    inputs: list[str],
    eval_inputs: list[str],
    output: Path,
    seeds: int,
    executor: Executor,
    log: Log = print,
    jobs: int | None = None,
    prepare_only: bool = False,
    tasks: Sequence[str] = (),
) -> list[VariantResult]:
    """The whole ablation into ``output``; returns the compared variants (after the fairness
    checks).

    Every run is also scored on each ``eval_inputs`` file alone and on each ``tasks`` file
    (``scratchlm eval --task`` layouts), see pipelines/ablation/scores.py.

    ``jobs`` trainings run at a time (default: one per GPU); ``prepare_only`` stops after encoding,
    leaving ``DIR/trainings.json`` for ``python -m scratchlm.pipelines.ablation.trainings DIR`` (and
    returns [])."""
    seed_list = seeds_of(ablation, seeds)
    if not prepare_only:
        resolve_jobs(jobs)  # a bad --jobs stops before any work
    check_inputs(ablation, inputs, eval_inputs, tasks)
    check_plan(ablation, inputs, eval_inputs, output)
    evaluation = output / "eval"
    heldout = {name: evaluation / "files" / name for name in eval_file_names(eval_inputs)}

    def encode_eval(tokenizer: Path) -> None:
        manifest = shard_all_train(eval_inputs, tokenizer, evaluation, ablation.shard, executor)
        log(
            f"evaluation text: {manifest['splits']['train']['tokens']:,} tokens, "
            f"{manifest['splits']['train']['docs']:,} docs"
        )
        for path, folder in zip(eval_inputs, heldout.values()):
            shard_all_train([path], tokenizer, folder, ablation.shard, executor)

    if ablation.mix is not None:
        tokenizer, kept = mixture_variants(ablation, evaluation, output, executor, log, encode_eval)
    else:
        tokenizer, kept = filter_variants(
            ablation, inputs, evaluation, output, executor, log, encode_eval
        )
    train = fit_budget(ablation.train, ablation.budget, kept, log)
    plan = write_plan(output, [v.name for v in ablation.variants], seed_list, to_plain(train))
    if prepare_only:
        log(
            f"prepared; train with: python -m scratchlm.pipelines.ablation.trainings {output}, "
            "then rerun this command"
        )
        return []
    log(f"== train: {len(ablation.variants)} variants × seeds {seed_list} ({plan})")
    run_trainings(output, jobs, log)
    results = [
        read_variant(
            variant_dir(output, v.name),
            v.name,
            v.changes,
            seed_list,
            None if ablation.mix else kept_by_input(variant_dir(output, v.name) / CURATED),
        )
        for v in ablation.variants
    ]
    check_fair(results, file_sha256(tokenizer))
    for result in results:
        result.scores = [
            score_training(training.folder, heldout, [Path(t) for t in tasks], train.eval_tokens)
            for training in result.trainings
        ]
        log(
            f"scored {result.name}: losses per evaluation file, {len(tasks)} task(s), "
            f"{len(result.trainings)} seeds"
        )
    page = write_page(ablation.name, results, output, eval_inputs)
    write_atomic(output / "ablation.json", json.dumps(summary(results), indent=1))
    log(f"page: {page}")
    return results


def _by_seed(result: VariantResult, part: str, value: Callable[[Any], Any]) -> dict[str, Any]:
    """{file: {seed: value}} of one part of the runs' scores (``heldout`` or ``tasks``)."""
    names = result.scores[0][part] if result.scores else {}
    return {
        name: {
            str(training.seed): value(score[part][name])
            for training, score in zip(result.trainings, result.scores)
        }
        for name in names
    }


def summary(results: list[VariantResult]) -> dict[str, Any]:
    """The compared figures as JSON data."""
    return {
        r.name: {
            "changes": r.changes,
            "docs_kept": r.docs_kept,
            "kept_by_input": r.kept_by_input,
            "train_tokens": r.train_tokens,
            "final_loss_mean": r.mean,
            "final_loss_std": r.std,
            "final_loss_by_seed": {str(t.seed): t.final_loss for t in r.trainings},
            "lowest_loss_by_seed": {
                str(t.seed): {"step": t.lowest[0], "loss": t.lowest[1]} for t in r.trainings
            },
            "tokens_per_s_by_seed": {str(t.seed): t.tokens_per_s for t in r.trainings},
            "heldout_loss_by_seed": _by_seed(r, "heldout", lambda s: s["loss"]),
            "tasks_by_seed": _by_seed(r, "tasks", lambda s: s["acc"]),
            "decontaminated": r.decontaminated,
        }
        for r in results
    }
