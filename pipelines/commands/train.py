"""``scratchlm train``, ``sample`` and ``eval``: their options (training: ``pipelines.training``).

Text is encoded and decoded here with the run's ``tokenizer.json`` (the ``tokenizers`` library);
``model/`` itself only sees token ids.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import typing
from pathlib import Path
from typing import Any

from scratchlm.curate.errors import ConfigError
from scratchlm.model.config import TrainConfig
from scratchlm.model.errors import ModelError, TrainingInterrupted
from scratchlm.pipelines.commands._options import add_output_folder, add_path
from scratchlm.pipelines.config import build, field_values
from scratchlm.pipelines.training import checkpoint_folder, clear_run, run_training
from scratchlm.tokenizer.config import EOS_TOKEN
from scratchlm.tokenizer.files import load_tokenizer


def parse_value(text: str) -> Any:
    """A command-line value as JSON where it parses (numbers, true/false, null), else the string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """One option per TrainConfig field (``--max-steps`` for ``max_steps``), help from the field."""
    hints = typing.get_type_hints(TrainConfig)
    for f in dataclasses.fields(TrainConfig):
        flag, help_text = "--" + f.name.replace("_", "-"), f.metadata.get("help", "")
        if f.name == "model":
            parser.add_argument(
                "--set",
                dest="model",
                action="append",
                default=[],
                metavar="FIELD=VALUE",
                help="a GPTConfig field to override (repeatable), "
                "e.g. --set n_layer=6 --set dropout=0.0",
            )
        elif hints[f.name] is bool:
            parser.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=f.default, help=help_text
            )
        else:
            parser.add_argument(flag, type=parse_value, default=f.default, help=help_text)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    options = field_values(TrainConfig, args)
    pairs = [item.split("=", 1) for item in options["model"]]
    if any(len(p) != 2 for p in pairs):
        raise ConfigError(f"--set expects FIELD=VALUE, got {options['model']}")
    options["model"] = {k: parse_value(v) for k, v in pairs}
    return build(TrainConfig, options, "train")


def train_command(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    if args.restart:
        removed = clear_run(args.out)
        print(
            f"restart: removed {', '.join(removed)} from {args.out}"
            if removed
            else f"restart: nothing to remove in {args.out}"
        )
    try:
        result = run_training(cfg, args.data, args.out, args.device)
    except TrainingInterrupted as err:
        if not args.restart:
            raise
        raise TrainingInterrupted(
            f"{err} (leave out --restart to continue it)", err.signum
        ) from None
    if "val_loss" in result:
        print(
            f"done: {result['steps']} steps, {result['tokens']:,} tokens, "
            f"val loss {result['val_loss']:.4f}, "
            f"val ppl {result['val_ppl']:.1f}; checkpoints and loss.png in {args.out}"
        )
    return 0


def sample_command(args: argparse.Namespace) -> int:
    import torch

    from scratchlm.model.evaluate import load_model
    from scratchlm.model.generate import generate
    from scratchlm.model.instruct import extract_response, format_prompt, uses_prompt_format
    from scratchlm.model.quantize import quantize_int8

    device = torch.device(
        args.device or ("cuda" if torch.cuda.is_available() and not args.int8 else "cpu")
    )
    model, saved = load_model(checkpoint_folder(args.checkpoint), device)
    if args.int8:
        model = quantize_int8(model)
    tok = load_tokenizer(saved.tokenizer_path, special_tokens_as_text=False)  # a typed prompt
    # an instruction- or preference-tuned model gets its prompt format, answers with the response
    instruct = uses_prompt_format(saved.state.get("finetune", {}))
    text = format_prompt(args.prompt, args.input) if instruct else args.prompt
    ids = tok.encode(text).ids if text else []
    ids = ids or [saved.state.get("eos_id", 0)]
    prompt = torch.tensor([ids], device=device)
    gen = torch.Generator(device=device).manual_seed(args.seed)
    out = generate(
        model,
        prompt,
        args.max_new_tokens,
        args.temperature,
        args.top_k,
        args.top_p,
        eos_id=tok.token_to_id(EOS_TOKEN) if instruct else None,
        generator=gen,
    )
    print(
        extract_response(tok.decode(out[0, len(ids) :].tolist()))
        if instruct
        else tok.decode(out[0].tolist())
    )
    return 0


def eval_command(args: argparse.Namespace) -> int:
    args.checkpoint = checkpoint_folder(args.checkpoint)
    if args.task:
        from scratchlm.pipelines.task_eval import run_tasks

        return run_tasks(
            args.checkpoint, args.task, args.batch_size, args.device, args.precision, args.json
        )
    if args.preferences:
        from scratchlm.pipelines.finetune_tasks import evaluate_preferences

        return evaluate_preferences(args)
    if args.data is None:
        raise ConfigError(
            "eval: give --data DIR (loss on a shard split) or --task FILE... "
            "(accuracy), or --preferences FILE (DPO terms)"
        )
    from scratchlm.model.data import BatchLoader, open_shards
    from scratchlm.model.evaluate import (
        autocast_dtype,
        load_model,
        pick_device,
        validation_loss,
        validation_sets,
    )
    from scratchlm.pipelines.task_eval import show_results

    device = pick_device(args.device)
    model, saved = load_model(args.checkpoint, device)
    shards = open_shards(args.data)
    if shards.vocab_size > model.config.vocab_size:
        raise ModelError(
            f"{args.data}: vocabulary of {shards.vocab_size} "
            f"exceeds the model's {model.config.vocab_size}"
        )
    block = model.config.block_size
    if args.split == "val":  # a mixture's: each source's, as training logs them
        sets = validation_sets(shards, block, args.batch_size, device, args.max_tokens)
    else:
        loader = BatchLoader(shards, args.split, block, args.batch_size, device, seed=0)
        sets = {None: loader.eval_batches(args.max_tokens)}
    result = validation_loss(model, sets, device, autocast_dtype(args.precision, device))
    loss, tokens = result.loss, result.tokens
    report = {
        "checkpoint": str(saved.folder),
        "split": args.split,
        "loss": loss,
        "perplexity": math.exp(min(loss, 50.0)),
        "tokens": tokens,
    }
    rows = [
        f"checkpoint  {saved.folder}",
        f"split       {args.split}",
        f"tokens      {tokens:,}",
        f"loss        {loss:.4f}",
        f"perplexity  {report['perplexity']:.2f}",
    ]
    if result.by_source:
        report["loss_by_source"] = result.by_source
        width = max(map(len, result.by_source))
        rows += [f"loss {name:<{width}}  {value:.4f}" for name, value in result.by_source.items()]
    table = "\n".join(rows)
    show_results(report, table, args.json)
    return 0


def add_checkpoint(parser: argparse.ArgumentParser) -> None:
    """``--checkpoint``, the model ``sample`` and ``eval`` load."""
    add_path(
        parser,
        "--checkpoint",
        "checkpoint folder, a training --output folder (its newest checkpoint) "
        "or a scratchlm run folder",
        metavar=None,
        required=True,
    )


def add_device(parser: argparse.ArgumentParser) -> None:
    """``--device``, where ``train``, ``sample`` and ``eval`` run."""
    parser.add_argument("--device", default=None, help="cpu or cuda; None: cuda when available")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("train", help="pretrain a GPT on a token shard folder")
    add_path(p, "--data", "shard folder (manifest.json)", metavar=None, required=True)
    add_output_folder(p, "output folder: log.jsonl, loss.png, step-* checkpoints")
    start = p.add_mutually_exclusive_group()
    start.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --output from its newest checkpoint (the default; "
        "a run of another configuration is refused)",
    )
    start.add_argument(
        "--restart",
        action="store_true",
        help="start over: first remove the step-* checkpoints, log.jsonl and "
        "loss.png that --output holds",
    )
    add_device(p)
    add_config_options(p)
    p.set_defaults(func=train_command)

    p = subparsers.add_parser("sample", help="continue a prompt with a trained model")
    add_checkpoint(p)
    p.add_argument("--prompt", default="", help="text to continue (empty: start from end-of-text)")
    p.add_argument("--max-new-tokens", type=int, default=100, help="tokens to generate")
    p.add_argument("--temperature", type=float, default=0.8, help="0 for greedy decoding")
    p.add_argument(
        "--top-k", type=int, default=50, help="sample among the k likeliest tokens (0: all)"
    )
    p.add_argument(
        "--top-p", type=float, default=None, help="sample within the nucleus of this probability"
    )
    p.add_argument("--seed", type=int, default=0, help="sampling seed (same seed, same text)")
    add_device(p)
    p.add_argument(
        "--int8", action="store_true", help="int8 dynamic quantization of the Linear layers (CPU)"
    )
    p.add_argument(
        "--input",
        default="",
        help="an instruction-tuned model's optional input for the --prompt instruction",
    )
    p.set_defaults(func=sample_command)

    p = subparsers.add_parser("eval", help="loss and perplexity of a checkpoint on a shard split")
    add_checkpoint(p)
    add_path(
        p, "--data", "shard folder (manifest.json): loss and perplexity on --split", metavar=None
    )
    p.add_argument(
        "--task",
        type=Path,
        nargs="+",
        metavar="FILE",
        help="instead of --data: accuracy on evaluation JSONL files (HellaSwag ctx/endings/label, "
        "context/choices/answer, or text passages for "
        "last-word accuracy); see pipelines/task_eval.py",
    )
    add_path(p, "--json", "also write the results as JSON (-: print only the JSON)")
    add_path(
        p,
        "--preferences",
        "instead of --data: DPO loss, reward accuracy and margin on preference records",
    )
    add_path(
        p,
        "--reference",
        "with --preferences: the reference model (default: a DPO checkpoint's starting one)",
        metavar="DIR",
    )
    p.add_argument(
        "--beta",
        type=float,
        help="with --preferences: DPO beta (default: the checkpoint's, else 0.1)",
    )
    p.add_argument("--split", default="val", help="the shard split to score (train or val)")
    p.add_argument(
        "--max-tokens", type=int, default=1 << 20, help="evaluate at most this many tokens"
    )
    p.add_argument("--batch-size", type=int, default=8, help="sequences per forward pass")
    p.add_argument(
        "--precision",
        default="auto",
        choices=["auto", "bf16", "fp32"],
        help="auto: bf16 autocast on CUDA, fp32 on CPU",
    )
    add_device(p)
    p.set_defaults(func=eval_command)
