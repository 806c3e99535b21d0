"""``scratchlm stages [NAME]``: the recipe's curation stages, and one stage's options with
defaults."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import sys
import textwrap
import typing

from scratchlm.curate.stage import BatchStage, GlobalStage, MapStage, Source
from scratchlm.curate.stages import stage_class, stage_names, stage_signals
from scratchlm.pipelines.config import known_names, to_plain, type_name
from scratchlm.pipelines.field_docs import option_notes, plain


def summary(cls: type) -> str:
    """The first sentence-line of a stage's module docstring (what the step does)."""
    module = sys.modules[cls.__module__]
    lines = (inspect.getdoc(module) or inspect.getdoc(cls) or "").splitlines()
    return plain(re.sub(r"^The ``\w+`` step: ", "", lines[0])) if lines else ""


# each kind of stage (curate.stage), most specific first, and what the runner does with it
KINDS: tuple[tuple[type, str], ...] = (
    (Source, "source: reads the input files, always the first step"),
    (GlobalStage, "global stage: reads all of its input before answering for a document"),
    (BatchStage, "map stage: answers for each document, a batch of documents per call"),
    (MapStage, "map stage: answers for each document"),
)


def kind(cls: type) -> str:
    return next(what for base, what in KINDS if issubclass(cls, base))


def describe(name: str) -> str:
    """A stage's docstrings and kind, then each option: name, type, default, and what it does;
    then the meta fields it declares it writes, with the options that bound them."""
    cls = stage_class(name)
    hints = typing.get_type_hints(cls)
    lines = [f"{name}: {summary(cls)}", f"kind: {kind(cls)}", ""]
    doc = inspect.getdoc(cls)
    if doc and not doc.startswith(f"{cls.__name__}("):  # not the dataclass's generated signature
        lines += [plain(doc), ""]
    notes = option_notes(cls)
    lines.append("options (name: type = default):")
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        if f.default is not dataclasses.MISSING:
            tail = f" = {to_plain(f.default)!r}"
        elif f.default_factory is not dataclasses.MISSING:
            tail = f" = {to_plain(f.default_factory())!r}"
        else:
            tail = " (required)"
        lines.append(f"  {f.name}: {type_name(hints[f.name])}{tail}")
        if f.name in notes:
            lines += textwrap.wrap(
                notes[f.name], 96, initial_indent=" " * 6, subsequent_indent=" " * 6
            )
    signals = stage_signals(name)
    if signals:
        lines += ["", "meta fields written (field: what it measures; bounding options):"]
        lines += [
            f"  {s.field}: {s.meaning}" + (f"; {', '.join(s.bounds)}" if s.bounds else "")
            for s in signals
        ]
    return "\n".join(lines)


def stages(args: argparse.Namespace) -> int:
    if args.name is None:
        names = stage_names()
        width = max(len(n) for n in names)
        for name in names:
            print(f"{name:<{width}}  {summary(stage_class(name))}")
        return 0
    if args.name not in stage_names():
        known = known_names(args.name, stage_names())
        print(f"scratchlm: error: unknown stage {args.name!r} {known}", file=sys.stderr)
        return 2
    print(describe(args.name))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "stages", help="list the curation stages a recipe step can name, or one stage's options"
    )
    p.add_argument("name", nargs="?", default=None, help="a stage: print its options and defaults")
    p.set_defaults(func=stages)
