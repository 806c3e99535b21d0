"""What ``scratchlm finetune classify|instruct|merge`` do: read data, fine-tune, save, report."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import torch

from curate.errors import ConfigError
from model import finetune as ft
from model.evaluate import pick_device
from model.finetune_config import FinetuneConfig
from model.generate import generate
from model.instruct import extract_response, record_prompt
from model.train_log import LOG_NAME, append_record
from pipelines.finetune_data import TextTokenizer, encode_labelled, instruction_pairs, labelled_texts, read_records


def config_of(args: argparse.Namespace) -> FinetuneConfig:
    return FinetuneConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                             weight_decay=args.weight_decay, seed=args.seed,
                             lora_rank=args.lora_rank, lora_alpha=args.lora_alpha)


def logger(out: Path):
    """Print each epoch's record and append it to ``OUT/log.jsonl``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / LOG_NAME).write_text("", encoding="utf-8")

    def log(record: dict[str, Any]) -> None:
        print("  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in record.items()), flush=True)
        append_record(out / LOG_NAME, record)
    return log


def load(args: argparse.Namespace):
    """(model, base checkpoint, tokenizer) for the command's ``--checkpoint`` and ``--tokenizer``."""
    model, base = ft.load_base(args.checkpoint, pick_device(args.device))
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
