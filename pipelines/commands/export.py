"""``scratchlm export --checkpoint DIR --to hf --output DIR``: a checkpoint as a Hugging Face
GPT-2 folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from scratchlm.curate.errors import ConfigError


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
    p.add_argument(
        "--checkpoint",
        type=Path,
        required=True,
        metavar="DIR",
        help="a step-* folder or a training output folder (its newest checkpoint)",
    )
    p.add_argument(
        "--to",
        choices=["hf"],
        default="hf",
        help="format: hf = GPT-2 folder with config.json, model.safetensors and tokenizer files",
    )
    p.add_argument("--output", type=Path, metavar="DIR", help="folder to write")
    p.add_argument(
        "output_folder",
        type=Path,
        nargs="?",
        metavar="OUTDIR",
        help="the same as --output (the older spelling)",
    )
    p.set_defaults(func=export)
