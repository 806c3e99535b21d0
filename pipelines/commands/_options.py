"""Options that several subcommands share."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

from scratchlm.pipelines.recipe import DOC_TIMEOUT_S, TASK_BYTES


def add_doc_timeout(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--doc-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="per-document deadline of every curation step; a document on which a step runs "
        f"longer is that step's reject, '<step>:timeout' (default: the recipe's "
        f"doc_timeout_s, else {DOC_TIMEOUT_S:g}; 0: none)",
    )


def add_task_bytes(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--task-bytes",
        default=None,
        metavar="SIZE",
        help="an input file larger than this is read as several tasks, cut at line "
        "starts (JSONL), row groups (Parquet), gzip members or zstd frames, "
        "or WARC records, with the same documents and ids; bytes or a size as "
        "64MiB or 1GB (default: the recipe's task_bytes, else "
        f"{TASK_BYTES >> 20}MiB; 0: never split)",
    )


def add_keep_intermediate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--keep-intermediate",
        action="store_true",
        help="write every curation step's full output into its folder, not only the output of "
        "the steps that end a fused segment (for debugging; default: the recipe's "
        "keep_intermediate, else off)",
    )


def add_output_folder(parser: argparse.ArgumentParser, help: str) -> None:
    """``--output DIR`` (or ``--out``), required, as ``args.out``."""
    parser.add_argument(
        "--output", "--out", dest="out", type=Path, required=True, metavar="DIR", help=help
    )


def add_path(
    parser: argparse.ArgumentParser,
    flag: str,
    help: str,
    *,
    metavar: str | None = "FILE",
    required: bool = False,
) -> None:
    """An option whose value is a file or folder, as a ``Path``; ``metavar=None`` shows
    argparse's own placeholder, the option's name in capitals (``--data DATA``)."""
    parser.add_argument(flag, type=Path, required=required, metavar=metavar, help=help)


def value_kind(hint: Any) -> dict[str, Any]:
    """How an option reads a value of the type hint ``hint``: a Literal's values as ``choices``,
    text as it is, a number or path through its type. Any other hint (a flag, an optional value)
    needs an option of its own: ``bool("False")`` is true."""
    if get_origin(hint) is Literal:
        return {"choices": get_args(hint)}
    if hint is str:
        return {}
    if hint in (int, float, Path):
        return {"type": hint}
    raise TypeError(f"no field option reads a value of type {hint!r}; declare that option by hand")


def add_field_options(
    parser: argparse.ArgumentParser,
    defaults: Any,
    helps: dict[str, str],
    flags: dict[str, str] | None = None,
) -> None:
    """An option per field of the dataclass instance ``defaults`` that ``helps`` names, in its
    order: ``--field-name`` (or ``flags[field]``, its value still stored under the field's name
    for ``pipelines.config.field_values``), of the field's type, defaulting to its value."""
    hints = get_type_hints(type(defaults))
    for name, text in helps.items():
        kind = value_kind(hints[name])
        flag = "--" + name.replace("_", "-")
        if flags and name in flags:
            flag = flags[name]
            kind |= {"dest": name, "metavar": flag.lstrip("-").replace("-", "_").upper()}
        parser.add_argument(flag, default=getattr(defaults, name), help=text, **kind)
