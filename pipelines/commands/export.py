"""``scratchlm export --checkpoint DIR --to hf OUTDIR``: a checkpoint as a Hugging Face GPT-2 folder."""
from __future__ import annotations

import argparse
from pathlib import Path


def export(args: argparse.Namespace) -> int:
    from pipelines.hf_interop import export_hf  # imports torch: only when the command runs

    out = export_hf(args.checkpoint, args.output)
    print(f"Hugging Face GPT-2 folder written: {out} (transformers.AutoModelForCausalLM.from_pretrained"
          f"('{out}') and AutoTokenizer.from_pretrained('{out}') load it)")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("export", help="write a checkpoint in another ecosystem's format",
                              formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--checkpoint", type=Path, required=True, metavar="DIR",
                   help="a step-* folder or a training output folder (its newest checkpoint)")
    p.add_argument("--to", choices=["hf"], default="hf",
                   help="format: hf = GPT-2 folder with config.json, model.safetensors and tokenizer files")
    p.add_argument("output", type=Path, metavar="OUTDIR", help="folder to write")
    p.set_defaults(func=export)
