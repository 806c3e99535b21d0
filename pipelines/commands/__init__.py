"""One module per CLI subcommand; each defines ``register(subparsers)`` and is found automatically.

``register`` adds its parser(s) and sets ``func``: a callable taking the parsed arguments and
returning the exit code.
"""

from __future__ import annotations

import importlib
import pkgutil


def command_modules() -> list:
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
    return [importlib.import_module(f"{__name__}.{name}") for name in names]
