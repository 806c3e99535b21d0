"""An ablation's trainings: every variant × seed not finished yet, several at a time.

``scratchlm ablate`` calls this after encoding the variants; it also runs alone, on the folder that
``scratchlm ablate --prepare-only`` wrote (curated and encoded on a CPU machine, say, then copied to
a GPU machine), importing only what the trainer needs (torch, numpy, tqdm, tokenizers), not the
curation stack:

    python -m scratchlm.pipelines.ablation.trainings DIR [--jobs N]

With ``--jobs N``, N child processes train at a time (on a machine with GPUs, slot i on GPU i,
through ``CUDA_VISIBLE_DEVICES``), each slot taking the next unfinished training when its last one
ends; a child that fails or crashes is reported and the others go on. Then ``scratchlm ablate`` with
the same arguments as before finds every training finished and writes the comparison.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scratchlm.curate.errors import ConfigError
from scratchlm.model.data import MANIFEST
from scratchlm.pipelines.ablation.compare import read_log
from scratchlm.pipelines.ablation.layout import SHARDS, seed_dir, variant_dir

PLAN = "trainings.json"
Log = Callable[[str], None]


@dataclass(frozen=True)
class Training:
    variant: str
    seed: int
    data: Path  # the variant's shard folder
    out: Path  # its seed-S folder


def write_plan(output: Path, variants: list[str], seeds: list[int], train: dict[str, Any]) -> Path:
    """Record what is to be trained (the ablation's train settings as plain data) in
    ``DIR/trainings.json``."""
    from scratchlm.curate.writer import write_atomic

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
        raise ConfigError(
            f"{path}: no training plan (run scratchlm ablate ... --prepare-only first)"
        ) from None
    except ValueError as err:
        raise ConfigError(f"{path}: unreadable training plan: {err}") from None
    for variant in plan["variants"]:
        shards = variant_dir(output, variant) / SHARDS
        if not (shards / MANIFEST).exists():
            raise ConfigError(
                f"{shards}: variant {variant} has no encoded shards; rerun scratchlm ablate"
            )
    # seed by seed, so that an interrupted ablation has whole seeds of every variant
    trainings = [
        Training(
            variant,
            seed,
            variant_dir(output, variant) / SHARDS,
            seed_dir(variant_dir(output, variant), seed),
        )
        for seed in plan["seeds"]
        for variant in plan["variants"]
    ]
    return trainings, plan["train"]


def finished(training: Training, max_steps: int) -> bool:
    """True when the run's log ends with the validation of its last step."""
    try:
        run = read_log(training.out, training.seed)
    except ConfigError:  # no log yet, or one without a validation
        return False
    return run.curve[-1][0] == max_steps


def _train(
    training: Training, train: dict[str, Any], side_by_side: bool = False
) -> tuple[bool, str]:
    """Train one variant × seed (resuming from its checkpoints): (succeeded, a line saying how it
    ended). A training that fails says why and leaves the others to go on.
    ``side_by_side``: other trainings print too, so no progress bar, and every line names the
    run."""
    from scratchlm.model.config import TrainConfig
    from scratchlm.model.errors import ModelError
    from scratchlm.pipelines.training import Progress, run_training

    name = f"{training.variant} seed {training.seed}"
    where = os.environ.get("CUDA_VISIBLE_DEVICES")
    config = dataclasses.replace(TrainConfig(**train), seed=training.seed)
    try:
        result = run_training(
            config,
            training.data,
            training.out,
            progress=Progress(config.max_steps, name, bar=not side_by_side),
        )
    except (ModelError, ConfigError) as err:
        return False, f"failed {name}: {err}"
    return True, (
        f"trained {name}{f' on GPU {where}' if where else ''}: {result['tokens']:,} tokens, "
        f"validation loss {result.get('val_loss', float('nan')):.4f}"
    )


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
    """Train every unfinished run of ``DIR/trainings.json``, ``jobs`` at a time (default: one per
    GPU, or one without GPUs); returns how many were trained."""
    jobs, gpus = resolve_jobs(jobs)
    trainings, train = read_plan(output)
    todo = [t for t in trainings if not finished(t, train["max_steps"])]
    log(
        f"{len(trainings) - len(todo)} of {len(trainings)} "
        f"trainings already finished; {len(todo)} to train"
    )
    if jobs == 1:
        failed = []
        for training in todo:
            ok, line = _train(training, train)
            log(line)
            if not ok:
                failed.append(training)
    else:
        failed = _side_by_side(output, todo, jobs, gpus)
    if failed:
        names = ", ".join(f"{t.variant} seed {t.seed}" for t in failed)
        raise ConfigError(
            f"{len(failed)} of {len(todo)} trainings failed ({names}; the lines above say why); "
            f"the others are kept: run again to retry"
        )
    return len(todo)


def _side_by_side(output: Path, todo: list[Training], jobs: int, gpus: int) -> list[Training]:
    """Train ``todo`` in ``jobs`` child processes at a time, slot i on GPU i; each child prints its
    own lines. Returns the trainings whose process failed (a crash too: the others go on)."""
    visible = os.environ.get(
        "CUDA_VISIBLE_DEVICES"
    )  # slot i takes the i-th GPU this process may use
    devices = visible.split(",") if visible else [str(i) for i in range(gpus)]
    pending, running, failed = list(todo), {}, []
    while pending or running:
        for slot in [s for s in range(jobs) if s not in running][: len(pending)]:
            training = pending.pop(0)
            env = {**os.environ, **({"CUDA_VISIBLE_DEVICES": devices[slot]} if gpus else {})}
            if not gpus:  # CPU trainings side by side share the cores instead of each taking all
                env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // jobs)))
            command = [
                sys.executable,
                "-m",
                "scratchlm.pipelines.ablation.trainings",
                str(output),
                "--only",
                f"{training.variant}:{training.seed}",
            ]
            running[slot] = (training, subprocess.Popen(command, env=env))
        time.sleep(0.2)
        for slot, (training, process) in list(running.items()):
            if process.poll() is not None:
                del running[slot]
                if process.returncode:
                    failed.append(training)
    return sorted(failed, key=todo.index)


def train_one(output: Path, only: str) -> int:
    """Train the one run ``VARIANT:SEED`` of the plan, side by side with others: 0, or 3 when it
    failed."""
    from scratchlm.pipelines.training import write_line

    trainings, train = read_plan(output)
    chosen = [t for t in trainings if f"{t.variant}:{t.seed}" == only]
    if not chosen:
        raise ConfigError(f"--only {only}: no such training in {output / PLAN}")
    ok, line = _train(chosen[0], train, side_by_side=True)
    write_line(line)
    return 0 if ok else 3


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("output", type=Path, help="the ablation folder (holding trainings.json)")
    p.add_argument(
        "--jobs", type=int, default=None, help="trainings at a time (default: one per GPU, else 1)"
    )
    p.add_argument(
        "--only", metavar="VARIANT:SEED", help=argparse.SUPPRESS
    )  # one child of --jobs N
    args = p.parse_args(argv)
    try:
        if args.only:
            return train_one(args.output, args.only)
        run_trainings(args.output, args.jobs, log=lambda line: print(line, flush=True))
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
