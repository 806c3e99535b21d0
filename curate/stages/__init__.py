"""One module per recipe stage, named after it; each module exposes its dataclass as ``STAGE``."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from scratchlm.curate.signals import Signal
from scratchlm.curate.stage import Stage


def stage_names() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def stage_class(name: str) -> type[Stage]:
    """The dataclass of the stage called ``name`` in recipes; KeyError when there is none."""
    if name not in stage_names():
        raise KeyError(name)
    module: ModuleType = importlib.import_module(f"{__name__}.{name}")
    return module.STAGE


def stage_signals(name: str) -> tuple[Signal, ...]:
    """The signals (numeric meta fields) the stage called ``name`` declares it writes, as its
    ``SIGNALS``; none for a stage that declares none. KeyError when there is no such stage."""
    return stage_class(name).SIGNALS
