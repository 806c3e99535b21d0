"""The ``scratchlm`` command: one entry point, a subcommand per stage."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from importlib.metadata import PackageNotFoundError, version

from scratchlm.curate.errors import ConfigError
from scratchlm.pipelines.commands import command_modules


def package_version() -> str:
    try:
        return version("scratchlm")
    except PackageNotFoundError:
        return "0+unknown"


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends ``(default: X)`` to an option's help unless the help already names its default or
    there is nothing to say (no default, a flag that is off)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        nothing = action.default in (None, False, argparse.SUPPRESS) or action.required
        if "default" in text or nothing:
            return text
        return super()._get_help_string(action)


def subparsers_of(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every parser below ``parser`` (subcommands and theirs), each once."""
    found: list[argparse.ArgumentParser] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):  # aliases map to the same parser
                found += [sub, *subparsers_of(sub)]
    return found


def build_parser() -> argparse.ArgumentParser:
    """The ``scratchlm`` parser; every subcommand's help is formatted by HelpFormatter."""
    parser = argparse.ArgumentParser(
        prog="scratchlm", description="Raw web text in, a trained GPT out."
    )
    parser.add_argument("--version", action="version", version=f"scratchlm {package_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in command_modules():
        module.register(subparsers)
    for sub in subparsers_of(parser):
        sub.formatter_class = HelpFormatter
    return parser


def user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean bad input or configuration: one line, exit code 2."""
    errors: list[type[BaseException]] = [ConfigError, FileNotFoundError]
    try:
        from scratchlm.model.errors import ModelError

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
        print(
            f"scratchlm: interrupted{detail}; run the same command again to resume", file=sys.stderr
        )
        return 128 + getattr(err, "signum", signal.SIGINT)
    except BrokenPipeError:  # the reader of the output went away (`| head`): no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nor at exit's flush
        return 1


if __name__ == "__main__":
    sys.exit(main())
