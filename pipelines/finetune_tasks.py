"""What ``scratchlm finetune classify|instruct|dpo|merge`` do: read data, tune, save, report."""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch

from scratchlm.curate.errors import ConfigError
from scratchlm.model import checkpoint, train_log
from scratchlm.model import finetune as ft
from scratchlm.model.data import sha256_file
from scratchlm.model.dpo import answer_logprobs, preference_metrics
from scratchlm.model.evaluate import load_model, pick_device
from scratchlm.model.finetune_config import DPO_BETA, FinetuneConfig
from scratchlm.model.generate import generate
from scratchlm.model.instruct import extract_response, record_prompt
from scratchlm.model.train_log import LOG_NAME, append_record
from scratchlm.pipelines.config import field_values
from scratchlm.pipelines.finetune_data import (
    Rejects,
    TextTokenizer,
    encode_labelled,
    instruction_pairs,
    labelled_texts,
    preference_pairs,
    read_records,
)
from scratchlm.pipelines.loss_plot import DPO_PANELS, DPO_PLOT, plot_terms
from scratchlm.pipelines.task_eval import show_results

Item = TypeVar("Item")


def config_of(args: argparse.Namespace) -> FinetuneConfig:
    """The command's FinetuneConfig: the fields it has options for, the others' defaults."""
    return FinetuneConfig(**field_values(FinetuneConfig, args))


def logger(out: Path, after_step: int = 0):
    """Print each record and append it to ``OUT/log.jsonl``, which keeps the records of the first
    ``after_step`` steps (those of a run continued from there) and loses the rest."""
    out.mkdir(parents=True, exist_ok=True)
    kept = (
        [r for r in train_log.read_records(out / LOG_NAME) if r["step"] <= after_step]
        if after_step
        else []
    )
    (out / LOG_NAME).write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")

    def log(record: dict[str, Any]) -> None:
        print(
            "  ".join(
                f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in record.items()
            ),
            flush=True,
        )
        append_record(out / LOG_NAME, record)

    return log


def load(args: argparse.Namespace):
    """(model, base checkpoint, tokenizer) for the command's ``--checkpoint`` and
    ``--tokenizer``."""
    model, base = ft.load_base(args.checkpoint, pick_device(args.device))
    tok = TextTokenizer.load(args.tokenizer or base.tokenizer_path)
    if tok.tokenizer.get_vocab_size() > model.config.vocab_size:
        raise ConfigError(
            f"{args.tokenizer or base.tokenizer_path}: vocabulary larger than the model's"
        )
    return model, base, tok


def describe(model: torch.nn.Module) -> str:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return f"training {trainable:,} of {total:,} parameters ({trainable / total:.2%})"


def announce(train: Sequence[Any], val: Sequence[Any], what: str, model: torch.nn.Module) -> None:
    """Print how many training and validation ``what`` (with details) there are and what trains."""
    print(f"{len(train)} training and {len(val)} validation {what}; {describe(model)}", flush=True)


def classify(args: argparse.Namespace) -> int:
    cfg = config_of(args)
    model, base, tok = load(args)
    train_rows = labelled_texts(args.train, args.text_field, args.label_field)
    labels = sorted({label for _, label in train_rows})
    train = encode_labelled(train_rows, labels, tok, args.train)
    val = encode_labelled(
        labelled_texts(args.val, args.text_field, args.label_field), labels, tok, args.val
    )
    ft.setup(model, cfg, args.train_layers, classes=len(labels))
    majority = max(np.bincount([label for _, label in val], minlength=len(labels))) / len(val)
    labelled = f"texts, {len(labels)} labels ({', '.join(labels)})"
    announce(train, val, f"{labelled}; majority-class validation accuracy {majority:.4f}", model)
    history = ft.finetune_classifier(model, train, val, tok.eos_id, cfg, logger(args.out))
    info: dict[str, Any] = {
        "task": "classify",
        "labels": labels,
        "train_layers": args.train_layers,
        "text_field": args.text_field,
        "label_field": args.label_field,
        "history": history,
    }
    if args.test:
        test = encode_labelled(
            labelled_texts(args.test, args.text_field, args.label_field), labels, tok, args.test
        )
        info["test_accuracy"] = ft.accuracy(model, test, tok.eos_id)
        print(f"test accuracy {info['test_accuracy']:.4f} on {len(test)} texts ({args.test})")
    folder = ft.save(args.out, model, base, info, cfg, history[-1]["step"])
    print(f"classifier saved: {folder}")
    return 0


def held_out(items: list[Item], fraction: float, seed: int) -> tuple[list[Item], list[Item]]:
    """(kept for training, held out): a seeded ``fraction`` of the items held out."""
    order = np.random.default_rng(seed).permutation(len(items))
    held = int(len(items) * fraction)
    return [items[i] for i in order[held:]], [items[i] for i in order[:held]]


def instruct(args: argparse.Namespace) -> int:
    cfg = config_of(args)
    model, base, tok = load(args)
    block = model.config.block_size
    pairs, dropped = instruction_pairs(args.data, tok, block)
    if args.val:
        train, (val, dropped_val) = pairs, instruction_pairs(args.val, tok, block)
        dropped += dropped_val
    else:
        train, val = held_out(pairs, args.val_fraction, cfg.seed)
    if not train:
        raise ConfigError(f"{args.data}: no record whose prompt fits the {block}-token context")
    ft.setup(model, cfg, args.train_layers)
    announce(
        train, val, f"records ({dropped} dropped: prompt fills the {block}-token context)", model
    )
    history = ft.finetune_instruct(model, train, val, tok.eos_id, cfg, logger(args.out))
    folder = ft.save(
        args.out,
        model,
        base,
        {"task": "instruct", "train_layers": args.train_layers, "history": history},
        cfg,
        history[-1]["step"],
    )
    print(f"instruction-tuned model saved: {folder}")
    for where, record in read_records(args.val or args.data)[: args.show]:
        prompt, expected = record_prompt(record, where)
        print(
            f"\n{prompt}{answer(model, tok, prompt, args.max_new_tokens)}\n[expected: {expected}]"
        )
    return 0


def answer(model: torch.nn.Module, tok: TextTokenizer, prompt: str, max_new_tokens: int) -> str:
    """The model's greedy response to a formatted prompt."""
    ids = tok.encode([prompt])[0][-(model.config.block_size - 1) :]
    device = model.tok_emb.weight.device
    out = generate(
        model,
        torch.tensor([ids], device=device),
        max_new_tokens,
        temperature=0.0,
        eos_id=tok.eos_id,
    )
    return extract_response(tok.decode([t for t in out[0, len(ids) :].tolist() if t != tok.eos_id]))


def merge(args: argparse.Namespace) -> int:
    folder = ft.merge_adapters(args.adapters, args.out, args.checkpoint)
    print(f"adapters merged: {folder}")
    return 0


def dpo(args: argparse.Namespace) -> int:
    cfg = config_of(args)
    if args.beta <= 0:
        raise ConfigError(f"--beta must be positive, got {args.beta}")
    state_dir = args.out / ft.RESUME
    finished = bool(checkpoint.list_checkpoints(args.out))
    if not args.resume and (finished or (args.out / LOG_NAME).exists()):
        raise ConfigError(
            f"{args.out}: holds a run already; pass --resume to continue it, "
            "or choose another --out"
        )
    if args.resume and finished and not state_dir.exists():
        raise ConfigError(f"{args.out}: the run is finished; nothing to resume")
    model, base, tok = load(args)
    block, rejects = model.config.block_size, Rejects()
    pairs = preference_pairs(args.data, tok, block, rejects)
    if args.val:
        train, val = pairs, preference_pairs(args.val, tok, block, rejects)
    else:
        train, val = held_out(pairs, args.val_fraction, cfg.seed)
    print(f"{len(train)} training and {len(val)} held-out pairs; {rejects.summary()}", flush=True)
    if not train:
        raise ConfigError(f"{args.data}: no usable preference pair")
    settings = {
        "config": dataclasses.asdict(cfg),
        "beta": args.beta,
        "train_layers": args.train_layers,
        "base_sha256": base.digests[checkpoint.WEIGHTS],
        "val_fraction": args.val_fraction,
        "data_sha256": [sha256_file(path) for path in (args.data, args.val) if path],
    }
    resumable = ft.Resumable.open(state_dir, settings)
    # the reference: the starting model's log-probabilities, once for the whole run
    reference = [answer_logprobs(model, split, tok.eos_id) for split in (train, val)]
    ft.setup(model, cfg, args.train_layers)
    resuming = f"; resuming after step {resumable.step}" if resumable.step else ""
    print(f"beta {args.beta}; {describe(model)}{resuming}", flush=True)
    history = ft.finetune_dpo(
        model,
        train,
        reference[0],
        val,
        reference[1],
        tok.eos_id,
        args.beta,
        cfg,
        logger(args.out, resumable.step),
        resumable,
    )
    info = {
        "task": "dpo",
        "beta": args.beta,
        "train_layers": args.train_layers,
        "history": history,
        "rejected": dict(rejects.counts),
    }
    folder = ft.save(args.out, model, base, info, cfg, history[-1]["step"])
    plot_terms(
        args.out / LOG_NAME,
        args.out / DPO_PLOT,
        DPO_PANELS,
        f"DPO (beta {args.beta}) on {args.data.name}",
    )
    shutil.rmtree(state_dir, ignore_errors=True)
    print(f"preference-tuned model saved: {folder}; plot: {args.out / DPO_PLOT}")
    return 0


def evaluate_preferences(args: argparse.Namespace) -> int:
    """``eval --preferences``: DPO loss, reward accuracy and margin against the reference model."""
    device = pick_device(args.device)
    model, saved = load_model(args.checkpoint, device)
    finetune = saved.state.get("finetune", {})
    reference_path = args.reference or finetune.get("base")
    if reference_path is None:
        raise ConfigError(
            f"{saved.folder}: not a DPO checkpoint; name the reference model with --reference"
        )
    beta = args.beta or finetune.get("beta") or DPO_BETA
    tok = TextTokenizer.load(saved.tokenizer_path)
    rejects = Rejects()
    pairs = preference_pairs(args.preferences, tok, model.config.block_size, rejects)
    if not pairs:
        raise ConfigError(f"{args.preferences}: no usable preference pair ({rejects.summary()})")
    policy = answer_logprobs(model, pairs, tok.eos_id, args.batch_size)
    reference_model, reference = load_model(Path(reference_path), device)
    if reference.model_config["block_size"] != model.config.block_size:
        raise ConfigError(
            f"{reference.folder}: context differs from {saved.folder}'s; not its reference"
        )
    reference_logprobs = answer_logprobs(reference_model, pairs, tok.eos_id, args.batch_size)
    metrics = preference_metrics(policy, reference_logprobs, beta)
    report = {
        "checkpoint": str(saved.folder),
        "reference": str(reference.folder),
        "beta": beta,
        "pairs": len(pairs),
        "rejected": dict(rejects.counts),
        **metrics,
    }
    rows = [
        ("checkpoint", str(saved.folder)),
        ("reference", str(reference.folder)),
        ("beta", f"{beta:g}"),
        ("pairs", f"{len(pairs):,}"),
        ("rejected", rejects.summary()),
        ("loss", f"{metrics['loss']:.4f}"),
        ("reward accuracy", f"{metrics['reward_accuracy']:.4f}"),
        ("reward margin", f"{metrics['reward_margin']:.4f}"),
    ]
    show_results(report, "\n".join(f"{name:<16}{value}" for name, value in rows), args.json)
    return 0
