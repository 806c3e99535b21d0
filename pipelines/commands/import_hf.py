"""``scratchlm import --from-hf DIR --output DIR``: a local GPT-2 folder as a scratchlm
checkpoint."""

from __future__ import annotations

import argparse

from scratchlm.pipelines.commands._options import add_output_folder, add_path


def run_import(args: argparse.Namespace) -> int:
    from scratchlm.pipelines.hf_interop import (
        import_hf,  # imports torch: only when the command runs
    )

    folder = import_hf(args.from_hf, args.out)
    print(
        f"checkpoint written: {folder} (use it with sample, finetune, export or train --init-from)"
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "import", help="read a local Hugging Face GPT-2 folder into a checkpoint"
    )
    add_path(
        p,
        "--from-hf",
        "GPT-2 folder: config.json, model.safetensors (or pytorch_model.bin), tokenizer files",
        metavar="DIR",
        required=True,
    )
    add_output_folder(p, "output folder (gets step-0000000/)")
    p.set_defaults(func=run_import)
