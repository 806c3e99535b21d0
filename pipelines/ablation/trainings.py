"""An ablation's trainings: every variant × seed not finished yet, several at a time.

``scratchlm ablate`` calls this after encoding the variants; it also runs alone, on the folder that
``scratchlm ablate --prepare-only`` wrote (curated and encoded on a CPU machine, say, then copied to
a GPU machine), importing only what the trainer needs (torch, numpy, tqdm), not the curation stack:

    python -m pipelines.ablation.trainings DIR [--jobs N]

With ``--jobs N`` on a machine with GPUs, slot i trains on GPU i (``CUDA_VISIBLE_DEVICES``), each
slot taking the next unfinished training when its last one ends. Then ``scratchlm ablate`` with the
same arguments as before finds every training finished and writes the comparison.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from curate.errors import ConfigError

PLAN = "trainings.json"
Log = Callable[[str], None]


@dataclass(frozen=True)
class Training:
    variant: str
    seed: int
    data: Path  # the variant's shard folder
    out: Path   # its seed-S folder


def write_plan(output: Path, variants: list[str], seeds: list[int], train: dict[str, Any]) -> Path:
    """Record what is to be trained (the ablation's train settings as plain data) in ``DIR/trainings.json``."""
    from curate.writer import write_atomic

    path = output / PLAN
    write_atomic(path, json.dumps({"variants": variants, "seeds": seeds, "train": train}, indent=1))
    return path


def read_plan(output: Path) -> tuple[list[Training], dict[str, Any]]:
    """The trainings listed in ``DIR/trainings.json`` and the shared train settings; every variant's
    shard folder must exist."""
    path = output / PLAN
    try:
        plan = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no training plan (run scratchlm ablate ... --prepare-only first)") from None
    except ValueError as err:
        raise ConfigError(f"{path}: unreadable training plan: {err}") from None
    for variant in plan["variants"]:
        shards = output / "variants" / variant / "shards"
        if not (shards / "manifest.json").exists():
            raise ConfigError(f"{shards}: variant {variant} has no encoded shards; rerun scratchlm ablate")
    # seed by seed, so that an interrupted ablation has whole seeds of every variant
    trainings = [Training(variant, seed, output / "variants" / variant / "shards",
                          output / "variants" / variant / f"seed-{seed}")
                 for seed in plan["seeds"] for variant in plan["variants"]]
    return trainings, plan["train"]


def finished(training: Training, max_steps: int) -> bool:
    """True when the run's log ends with the validation of its last step."""
    path = training.out / "log.jsonl"
    if not path.exists():
        return False
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    evals = [r["step"] for r in records if "val_loss" in r]
    return bool(evals) and evals[-1] == max_steps - 1


def _train(training: Training, train: dict[str, Any], side_by_side: bool = False) -> tuple[bool, str]:
    """Train one variant × seed (resuming from its checkpoints): (succeeded, a line saying how it
    ended). A training that fails says why and leaves the others to go on.
    ``side_by_side``: other trainings print too, so no progress bar, and every line names the run."""
    from model.config import TrainConfig
    from model.errors import ModelError
    from pipelines.commands.train import Progress, run_training

    name = f"{training.variant} seed {training.seed}"
    where = os.environ.get("CUDA_VISIBLE_DEVICES")
    config = dataclasses.replace(TrainConfig(**train), seed=training.seed)
    try:
        result = run_training(config, training.data, training.out, resume=True,
                              progress=Progress(config.max_steps, name, bar=not side_by_side))
    except (ModelError, ConfigError) as err:
        return False, f"failed {name}: {err}"
    return True, (f"trained {name}{f' on GPU {where}' if where else ''}: {result['tokens']:,} tokens, "
                  f"validation loss {result.get('val_loss', float('nan')):.4f}")


def _take_slot(slots: Any, gpus: int) -> None:
    """Pool initializer: this worker's slot number picks its GPU (before torch is imported)."""
    slot = slots.get()
    if gpus:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(slot)


def _train_task(task: tuple[Training, dict[str, Any]]) -> tuple[bool, str]:
    return _train(*task, side_by_side=True)


def gpu_count() -> int:
    """GPUs on this machine (0 without CUDA)."""
    import torch
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def resolve_jobs(jobs: int | None) -> tuple[int, int]:
    """(trainings at a time, GPUs here): ``jobs`` checked, or one per GPU (one without GPUs)."""
    gpus = gpu_count()
    if jobs is None:
        return max(gpus, 1), gpus
    if jobs < 1:
        raise ConfigError(f"--jobs: expected at least 1, got {jobs}")
    if gpus and jobs > gpus:
        raise ConfigError(f"--jobs {jobs}: only {gpus} GPUs here (one training per GPU)")
    return jobs, gpus


def run_trainings(output: Path, jobs: int | None = None, log: Log = print) -> int:
    """Train every unfinished run of ``DIR/trainings.json``, ``jobs`` at a time (default: one per GPU,
    or one without GPUs); returns how many were trained."""
    jobs, gpus = resolve_jobs(jobs)
    trainings, train = read_plan(output)
    todo = [t for t in trainings if not finished(t, train["max_steps"])]
    log(f"{len(trainings) - len(todo)} of {len(trainings)} trainings already finished; {len(todo)} to train")
    if not todo:
        return 0
    failed = []
    for ok, line in _outcomes(todo, train, jobs, gpus):
        log(line)
        if not ok:
            failed.append(line)
    if failed:
        raise ConfigError(f"{len(failed)} of {len(todo)} trainings failed ({failed[0]}); the others are "
                          f"kept: run again to retry")
    return len(todo)


def _outcomes(todo: list[Training], train: dict[str, Any], jobs: int, gpus: int) -> Iterator[tuple[bool, str]]:
    """Each training's (succeeded, line), in this process or ``jobs`` processes (one per GPU)."""
    if jobs == 1:
        yield from (_train(training, train) for training in todo)
        return
    context = multiprocessing.get_context("spawn")  # fresh processes: CUDA_VISIBLE_DEVICES set before torch loads
    slots = context.Queue()
    for slot in range(jobs):
        slots.put(slot)
    with context.Pool(jobs, initializer=_take_slot, initargs=(slots, gpus)) as pool:
        yield from pool.imap_unordered(_train_task, [(t, train) for t in todo])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("output", type=Path, help="the ablation folder (holding trainings.json)")
    p.add_argument("--jobs", type=int, default=None, help="trainings at a time (default: one per GPU, else 1)")
    args = p.parse_args(argv)
    try:
        run_trainings(args.output, args.jobs, log=lambda line: print(line, flush=True))
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
