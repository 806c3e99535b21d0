"""The ``custom`` step: a function of your own as a recipe step.

```yaml
- custom: {function: my_filters.py:drop_short, options: {min_chars: 200}}
- custom: {function: mypackage.filters:tag_tables, name: tables, action: annotate}
```

``function`` is ``FILE.py:NAME`` (a path, relative to the working directory) or ``MODULE:NAME`` (an
importable module). Every worker imports it: on a Ray cluster the file must be at the same path on
every node, or the module installed there. It is called as ``function(doc, **options)`` and answers as every stage does:
``None`` keeps the document (it may write into ``doc.meta``), a string drops it with that reason, a
``Document`` replaces it. Reasons are counted as ``NAME:reason`` (``name`` defaults to the
function's name). A function that raises on a document sends that document to the rejects as
``NAME:error`` with the exception in ``meta.error``, and the run goes on; so does a document for
which it returns anything else (an empty string, a number), with what it returned in
``meta.error``. The function is imported, and its options checked against its signature, when the
recipe is loaded: before any work. The run records the source file's sha256, so resuming a run
after the function's file changed is refused, like resuming with another recipe.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from scratchlm.curate.checksum import file_sha256
from scratchlm.curate.document import Document
from scratchlm.curate.stage import FilterStage, StageResult


def load_function(spec: str) -> Callable[..., Any]:
    """The callable that ``FILE.py:NAME`` or ``MODULE:NAME`` names (imported once per process and
    file: a relative FILE.py is the working directory's)."""
    where, sep, name = spec.rpartition(":")
    if not sep or not where or not name:
        raise ValueError(f"function must be FILE.py:NAME or MODULE:NAME, got {spec!r}")
    path = str(Path(where).resolve()) if where.endswith(".py") else ""
    return _load_function(where, path, name)


@cache
def _load_function(where: str, path_name: str, name: str) -> Callable[..., Any]:
    """``where`` as the user wrote it (for messages), ``path_name`` its resolved file ("" for a module)."""
    if path_name:
        path = Path(path_name)
        if not path.is_file():
            raise ValueError(f"function file {where} not found")
        module_name = f"scratchlm_custom_{hashlib.sha256(str(path).encode()).hexdigest()[:12]}"
        module_spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_name] = module  # pickling and dataclasses look modules up by name
        try:
            module_spec.loader.exec_module(module)
        except Exception as err:
            del sys.modules[module_name]
            raise ValueError(f"cannot load {where}: {type(err).__name__}: {err}") from None
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as err:
            raise ValueError(f"cannot import module {where}: {err}") from None
    function = getattr(module, name, None)
    if not callable(function):
        raise ValueError(f"{where} has no function {name}")
    return function


def source_sha256(function: Callable[..., Any]) -> str:
    """The sha256 of the file that defines ``function`` ("" when it has no source file)."""
    try:
        path = inspect.getsourcefile(function)
    except TypeError:  # a builtin
        return ""
    return file_sha256(path) if path else ""


@dataclass(frozen=True)
class Custom(FilterStage):
    """``function(doc, **options)`` on every document; see the module's docstring."""

    function: str = ""  # FILE.py:NAME or MODULE:NAME, the function to call
    # keyword arguments passed to the function
    options: dict[str, Any] = field(default_factory=dict)
    name: str = ""  # the reasons' prefix; default: the function's name
    # the sha256 of the function's source file, filled in at loading and recorded in the run's
    # recipe.yaml: resuming a run after the file changed is refused like any other recipe change
    # the function file's sha256, recorded so that a changed function is a changed recipe
    code_sha256: str = ""

    def __post_init__(self) -> None:
        function = load_function(self.function)
        digest = source_sha256(function)
        if self.code_sha256 and digest and self.code_sha256 != digest:
            raise ValueError(f"the source of {self.function} changed since code_sha256 {self.code_sha256[:12]}... "
                             f"was recorded (now {digest[:12]}...)")
        object.__setattr__(self, "code_sha256", digest)
        try:
            inspect.signature(function).bind(None, **self.options)
        except TypeError as err:
            raise ValueError(f"options {sorted(self.options)} do not fit {self.function}: {err}") from None
        except ValueError:  # a builtin without a signature: checked at the first call
            pass
        if not self.name:
            object.__setattr__(self, "name", self.function.rpartition(":")[2])

    def __call__(self, doc: Document) -> StageResult:
        try:
            result = load_function(self.function)(doc, **self.options)
        except Exception as err:
            doc.meta["error"] = f"{type(err).__name__}: {err}"
            return f"{self.name}:error"
        if result is None or isinstance(result, Document):
            return result
        if isinstance(result, str) and result:
            return f"{self.name}:{result}"
        doc.meta["error"] = f"returned {result!r}; expected None, a reason string or a Document"
        return f"{self.name}:error"


STAGE = Custom
