"""The command line the benchmark scripts share: their docstring as help, integer options."""

from __future__ import annotations

import argparse


def int_parser(doc: str, **defaults: int) -> argparse.ArgumentParser:
    """A parser whose ``--help`` prints ``doc`` as written, with an option ``--NAME`` taking an
    integer for each keyword, the keyword's value its default."""
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    for name, default in defaults.items():
        parser.add_argument(f"--{name}", type=int, default=default)
    return parser
