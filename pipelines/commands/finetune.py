"""``scratchlm finetune classify|instruct|dpo|merge``: adapt a pretrained checkpoint to a task.

The work lives in ``pipelines.finetune_tasks``, imported when a task runs, so that building the
CLI parser does not import torch.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from scratchlm.model.finetune_config import DPO_BETA, FinetuneConfig
from scratchlm.pipelines.commands._options import add_field_options, add_output_folder, add_path


def task(name: str) -> Callable[[argparse.Namespace], int]:
    """The handler ``pipelines.finetune_tasks.<name>``, imported on first use."""

    def handler(args: argparse.Namespace) -> int:
        from scratchlm.pipelines import finetune_tasks

        return getattr(finetune_tasks, name)(args)

    return handler


def add_common(p: argparse.ArgumentParser, train_layers: str) -> None:
    add_path(
        p,
        "--checkpoint",
        "pretrained checkpoint (a step-* folder or a training output folder)",
        metavar="DIR",
        required=True,
    )
    add_output_folder(p, "output folder for the fine-tuned model")
    add_path(p, "--tokenizer", "tokenizer.json (default: the checkpoint's)")
    p.add_argument(
        "--train-layers",
        default=train_layers,
        help="what trains besides the head: all, last-block+norm, or N last blocks (+ final norm); "
        "ignored with LoRA, where only adapters (and a classifier head) train",
    )
    helps = {
        "epochs": "passes over the training data",
        "batch_size": "examples per optimizer step",
        "lr": "AdamW learning rate",
        "weight_decay": "AdamW weight decay",
        "seed": "seed of batch order, dropout and held-out split",
        "lora_rank": "LoRA rank on attention and MLP projections (0: off); "
        "base weights stay frozen",
        "lora_alpha": "LoRA scale numerator (scale = alpha / rank)",
    }
    add_field_options(p, FinetuneConfig(), helps)
    p.add_argument("--device", help="cpu, cuda, cuda:1 (default: cuda when available)")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "finetune", help="fine-tune a checkpoint (classify, instruct, dpo); merge LoRA"
    )
    tasks = p.add_subparsers(dest="task", metavar="TASK", required=True)

    c = tasks.add_parser("classify", help="text classifier over the last token (book ch. 6)")
    add_common(c, "last-block+norm")
    add_path(c, "--train", "labelled texts (JSON/JSONL)", required=True)
    add_path(c, "--val", "validation texts, accuracy each epoch", required=True)
    add_path(c, "--test", "test texts, accuracy at the end")
    c.add_argument("--text-field", default="text", help="record field holding the text")
    c.add_argument("--label-field", default="label", help="record field holding the label")
    c.set_defaults(func=task("classify"))

    i = tasks.add_parser("instruct", help="instruction tuning on Alpaca-style records (book ch. 7)")
    add_common(i, "all")
    add_path(
        i, "--data", "records with instruction, input, output (JSON list or JSONL)", required=True
    )
    add_path(i, "--val", "validation records (default: hold out --val-fraction)")
    i.add_argument(
        "--val-fraction", type=float, default=0.1, help="share of --data held out without --val"
    )
    i.add_argument("--show", type=int, default=2, help="validation records answered at the end")
    i.add_argument("--max-new-tokens", type=int, default=64, help="longest answer shown")
    i.set_defaults(func=task("instruct"))

    o = tasks.add_parser("dpo", help="preference tuning (DPO) on prompt, chosen, rejected records")
    add_common(o, "all")
    add_path(
        o,
        "--data",
        "preference records: prompt (or instruction, input), chosen, rejected (JSON list or JSONL)",
        required=True,
    )
    add_path(o, "--val", "held-out pairs (default: hold out --val-fraction)")
    o.add_argument(
        "--val-fraction", type=float, default=0.1, help="share of --data held out without --val"
    )
    o.add_argument(
        "--beta",
        type=float,
        default=DPO_BETA,
        help="how strongly the model is held to the reference, the --checkpoint model "
        "(larger: closer)",
    )
    schedule = {
        "log_every": "steps per logged training record",
        "eval_every": "steps between held-out evaluations (and after each epoch)",
        "checkpoint_every": "steps between saved states to --resume from",
    }
    # DPO evaluates and saves on a schedule by default; the other tasks do neither
    add_field_options(o, FinetuneConfig(eval_every=50, checkpoint_every=100), schedule)
    o.add_argument("--resume", action="store_true", help="continue the killed run in --output")
    o.set_defaults(func=task("dpo"))

    m = tasks.add_parser("merge", help="merge saved LoRA adapters into their base checkpoint")
    add_path(m, "--adapters", "a fine-tuning output with adapters", metavar="DIR", required=True)
    add_output_folder(m, "output folder for the merged checkpoint")
    add_path(m, "--checkpoint", "base checkpoint (default: the recorded one)", metavar="DIR")
    m.set_defaults(func=task("merge"))
