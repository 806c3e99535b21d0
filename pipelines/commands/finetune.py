"""``scratchlm finetune classify|instruct|merge``: adapt a pretrained checkpoint to a task."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from curate.errors import ConfigError
from model import finetune as ft
from model.generate import generate
from model.instruct import extract_response, record_prompt
from pipelines.finetune_data import (TextTokenizer, encode_labelled, instruction_pairs, labelled_texts,
                                     read_records)

LOG = "log.jsonl"


def config_of(args: argparse.Namespace) -> ft.FinetuneConfig:
    return ft.FinetuneConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                             weight_decay=args.weight_decay, seed=args.seed,
                             lora_rank=args.lora_rank, lora_alpha=args.lora_alpha)


def logger(out: Path):
    """Print each epoch's record and append it to ``OUT/log.jsonl``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / LOG).write_text("", encoding="utf-8")

    def log(record: dict[str, Any]) -> None:
        print("  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in record.items()), flush=True)
        with open(out / LOG, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
    return log


def load(args: argparse.Namespace):
    """(model, base checkpoint, tokenizer) for the command's ``--checkpoint`` and ``--tokenizer``."""
    model, base = ft.load_base(args.checkpoint, ft.pick_device(args.device))
    tok = TextTokenizer.load(args.tokenizer or base.folder / ft.TOKENIZER)
    if tok.tokenizer.get_vocab_size() > model.config.vocab_size:
        raise ConfigError(f"{args.tokenizer or base.folder / ft.TOKENIZER}: vocabulary larger than the model's")
    return model, base, tok


def describe(model: torch.nn.Module) -> str:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return f"training {trainable:,} of {total:,} parameters ({trainable / total:.2%})"


def classify(args: argparse.Namespace) -> int:
    cfg = config_of(args)
    model, base, tok = load(args)
    train_rows = labelled_texts(args.train, args.text_field, args.label_field)
    labels = sorted({label for _, label in train_rows})
    train = encode_labelled(train_rows, labels, tok, args.train)
    val = encode_labelled(labelled_texts(args.val, args.text_field, args.label_field), labels, tok, args.val)
    ft.setup(model, cfg, args.train_layers, classes=len(labels))
    majority = max(np.bincount([label for _, label in val], minlength=len(labels))) / len(val)
    print(f"{len(train)} training and {len(val)} validation texts, {len(labels)} labels ({', '.join(labels)}); "
          f"majority-class validation accuracy {majority:.4f}; {describe(model)}", flush=True)
    history = ft.finetune_classifier(model, train, val, tok.eos_id, cfg, logger(args.out))
    info: dict[str, Any] = {"task": "classify", "labels": labels, "train_layers": args.train_layers,
                            "text_field": args.text_field, "label_field": args.label_field, "history": history}
    if args.test:
        test = encode_labelled(labelled_texts(args.test, args.text_field, args.label_field), labels, tok, args.test)
        info["test_accuracy"] = ft.accuracy(model, test, tok.eos_id)
        print(f"test accuracy {info['test_accuracy']:.4f} on {len(test)} texts ({args.test})")
    folder = ft.save(args.out, model, base, info, cfg, history[-1]["step"])
    print(f"classifier saved: {folder}")
    return 0


def instruct(args: argparse.Namespace) -> int:
    cfg = config_of(args)
    model, base, tok = load(args)
    block = model.config.block_size
    pairs, dropped = instruction_pairs(args.data, tok, block)
    if args.val:
        train, (val, dropped_val) = pairs, instruction_pairs(args.val, tok, block)
        dropped += dropped_val
    else:
        order = np.random.default_rng(cfg.seed).permutation(len(pairs))
        held = int(len(pairs) * args.val_fraction)
        train, val = [pairs[i] for i in order[held:]], [pairs[i] for i in order[:held]]
    if not train:
        raise ConfigError(f"{args.data}: no record whose prompt fits the {block}-token context")
    ft.setup(model, cfg, args.train_layers)
    print(f"{len(train)} training and {len(val)} validation records ({dropped} dropped: prompt fills the "
          f"{block}-token context); {describe(model)}", flush=True)
    history = ft.finetune_instruct(model, train, val, tok.eos_id, cfg, logger(args.out))
    folder = ft.save(args.out, model, base, {"task": "instruct", "train_layers": args.train_layers,
                                             "history": history}, cfg, history[-1]["step"])
    print(f"instruction-tuned model saved: {folder}")
    for where, record in read_records(args.val or args.data)[:args.show]:
        prompt, expected = record_prompt(record, where)
        print(f"\n{prompt}{answer(model, tok, prompt, args.max_new_tokens)}\n[expected: {expected}]")
    return 0


def answer(model: torch.nn.Module, tok: TextTokenizer, prompt: str, max_new_tokens: int) -> str:
    """The model's greedy response to a formatted prompt."""
    ids = tok.encode([prompt])[0][-(model.config.block_size - 1):]
    device = model.tok_emb.weight.device
    out = generate(model, torch.tensor([ids], device=device), max_new_tokens, temperature=0.0, eos_id=tok.eos_id)
    return extract_response(tok.decode([t for t in out[0, len(ids):].tolist() if t != tok.eos_id]))


def merge(args: argparse.Namespace) -> int:
    folder = ft.merge_adapters(args.adapters, args.out, args.checkpoint)
    print(f"adapters merged: {folder}")
    return 0


def add_common(p: argparse.ArgumentParser, train_layers: str) -> None:
    d = ft.FinetuneConfig()
    p.add_argument("--checkpoint", type=Path, required=True, metavar="DIR",
                   help="pretrained checkpoint (a step-* folder or a training output folder)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder for the fine-tuned model")
    p.add_argument("--tokenizer", type=Path, metavar="FILE", help="tokenizer.json (default: the checkpoint's)")
    p.add_argument("--train-layers", default=train_layers,
                   help="what trains besides the head: all, last-block+norm, or N last blocks (+ final norm)")
    p.add_argument("--epochs", type=int, default=d.epochs, help="passes over the training data")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="examples per optimizer step")
    p.add_argument("--lr", type=float, default=d.lr, help="AdamW learning rate")
    p.add_argument("--weight-decay", type=float, default=d.weight_decay, help="AdamW weight decay")
    p.add_argument("--seed", type=int, default=d.seed, help="seed of batch order, dropout and held-out split")
    p.add_argument("--lora-rank", type=int, default=d.lora_rank,
                   help="LoRA rank on attention and MLP projections (0: off); base weights stay frozen")
    p.add_argument("--lora-alpha", type=float, default=d.lora_alpha, help="LoRA scale numerator (scale = alpha / rank)")
    p.add_argument("--device", help="cpu, cuda, cuda:1 (default: cuda when available)")


def register(subparsers: argparse._SubParsersAction) -> None:
    fmt = argparse.ArgumentDefaultsHelpFormatter
    p = subparsers.add_parser("finetune", help="fine-tune a checkpoint: classify, instruct; merge LoRA adapters",
                              formatter_class=fmt)
    tasks = p.add_subparsers(dest="task", metavar="TASK", required=True)

    c = tasks.add_parser("classify", help="text classifier over the last token (book ch. 6)", formatter_class=fmt)
    add_common(c, "last-block+norm")
    c.add_argument("--train", type=Path, required=True, metavar="FILE", help="labelled texts (JSON/JSONL)")
    c.add_argument("--val", type=Path, required=True, metavar="FILE", help="validation texts, accuracy each epoch")
    c.add_argument("--test", type=Path, metavar="FILE", help="test texts, accuracy at the end")
    c.add_argument("--text-field", default="text", help="record field holding the text")
    c.add_argument("--label-field", default="label", help="record field holding the label")
    c.set_defaults(func=classify)

    i = tasks.add_parser("instruct", help="instruction tuning on Alpaca-style records (book ch. 7)",
                         formatter_class=fmt)
    add_common(i, "all")
    i.add_argument("--data", type=Path, required=True, metavar="FILE",
                   help="records with instruction, input, output (JSON list or JSONL)")
    i.add_argument("--val", type=Path, metavar="FILE", help="validation records (default: hold out --val-fraction)")
    i.add_argument("--val-fraction", type=float, default=0.1, help="share of --data held out without --val")
    i.add_argument("--show", type=int, default=2, help="validation records answered at the end")
    i.add_argument("--max-new-tokens", type=int, default=64, help="longest answer shown")
    i.set_defaults(func=instruct)

    m = tasks.add_parser("merge", help="merge saved LoRA adapters into their base checkpoint", formatter_class=fmt)
    m.add_argument("--adapters", type=Path, required=True, metavar="DIR", help="a fine-tuning output with adapters")
    m.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder for the merged checkpoint")
    m.add_argument("--checkpoint", type=Path, metavar="DIR", help="base checkpoint (default: the recorded one)")
    m.set_defaults(func=merge)
