"""``scratchlm export --checkpoint DIR --to hf --output DIR``: a checkpoint as a Hugging Face
GPT-2 folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from scratchlm.curate.errors import ConfigError
from scratchlm.pipelines.commands._options import add_path


def export(args: argparse.Namespace) -> int:
    from scratchlm.pipelines.hf_interop import (
        export_hf,  # imports torch: only when the command runs
    )

    output = args.output or args.output_folder
    if output is None:
        raise ConfigError("export: give --output DIR, the folder to write")
    out = export_hf(args.checkpoint, output)
    print(
        "Hugging Face GPT-2 folder written: "
        f"{out} (transformers.AutoModelForCausalLM.from_pretrained"
        f"('{out}') and AutoTokenizer.from_pretrained('{out}') load it)"
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("export", help="write a checkpoint in another ecosystem's format")
    add_path(
        p,
        "--checkpoint",
        "a step-* folder or a training output folder (its newest checkpoint)",
        metavar="DIR",
        required=True,
    )
    p.add_argument(
        "--to",
        choices=["hf"],
        default="hf",
        help="format: hf = GPT-2 folder with config.json, model.safetensors and tokenizer files",
    )
    add_path(p, "--output", "folder to write", metavar="DIR")
    p.add_argument(
        "output_folder",
        type=Path,
        nargs="?",
        metavar="OUTDIR",
        help="the same as --output (the older spelling)",
    )
    p.set_defaults(func=export)
