"""The ``scratchlm`` command: one entry point, a subcommand per stage."""
from __future__ import annotations

import argparse
import signal
import sys
from importlib.metadata import PackageNotFoundError, version

from curate.errors import ConfigError
from pipelines.commands import command_modules


def package_version() -> str:
    try:
        return version("scratchlm")
    except PackageNotFoundError:
        return "0+unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scratchlm", description="Raw web text in, a trained GPT out.")
    parser.add_argument("--version", action="version", version=f"scratchlm {package_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in command_modules():
        module.register(subparsers)
    return parser


def user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean bad input or configuration: one line, exit code 2."""
    errors: list[type[BaseException]] = [ConfigError, FileNotFoundError]
    try:
        from model.errors import ModelError
        errors.append(ModelError)
    except ImportError:
        pass
    return tuple(errors)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except user_errors() as err:
        print(f"scratchlm: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:  # TrainingInterrupted says where training stopped
        detail = f": {err}" if str(err) else ""
        print(f"scratchlm: interrupted{detail}; run the same command again to resume",
              file=sys.stderr)
        return 128 + getattr(err, "signum", signal.SIGINT)


if __name__ == "__main__":
    sys.exit(main())
