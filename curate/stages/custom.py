"""The ``custom`` step: a function of your own as a recipe step.

```yaml
- custom: {function: my_filters.py:drop_short, options: {min_chars: 200}}
- custom: {function: mypackage.filters:tag_tables, name: tables, action: annotate}
```

``function`` is ``FILE.py:NAME`` (a path, relative to the working directory) or ``MODULE:NAME`` (an
importable module). Every worker imports it: on a Ray cluster the file must be at the same path on
every node, or the module installed there. It is called as ``function(doc, **options)`` and answers
as every stage does: ``None`` keeps the document (it may write into ``doc.meta``), a string drops it
with that reason, a ``Document`` replaces it. Reasons are counted as ``NAME:reason`` (``name``
defaults to the function's name). A function that raises on a document sends that document to the
rejects as ``NAME:error`` with the exception in ``meta.error``, and the run goes on; so does a
document for which it returns anything else (an empty string, a number), with what it returned in
``meta.error``. The function is imported, and its options checked against its signature, when the
recipe is loaded: before any work. The run records the source file's sha256, so resuming a run
after the function's file changed is refused, like resuming with another recipe.

A custom step is a map stage (``curate.stage``). ``NAME`` may also name a class of your own that
declares itself one, made once per process as ``NAME(**options)`` (and once when the recipe is
loaded, which checks the options):

```python
from scratchlm.curate.stage import BatchStage

class TagTables(BatchStage):           # or MapStage, defining __call__(self, doc)
    def __init__(self, min_cells: int = 4) -> None:
        self.min_cells = min_cells

    def map_batch(self, docs):           # one call per batch of documents, one answer each
        return [None if d.text.count("|") < self.min_cells else "table" for d in docs]
```

A ``BatchStage`` answers a whole batch in one call (a model faster on batches); when that call
raises, each document of the batch is answered alone, so only those it fails on are rejected. A
pass that needs every document before it answers (``curate.stage.GlobalStage``) is no custom
step: it is a stage module of its own in ``curate/stages/``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import inspect
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from scratchlm.curate.checksum import file_sha256
from scratchlm.curate.document import Document
from scratchlm.curate.stage import BatchStage, FilterStage, MapStage, StageResult


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
    """``where`` as the user wrote it (for messages), ``path_name`` its resolved file ("" for a
    module)."""
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


_user_stages: dict[tuple[str, str], MapStage] = {}


def user_stage(spec: str, cls: type[MapStage], options: dict[str, Any]) -> MapStage:
    """The process's one instance of a user's stage class ``spec`` with these options."""
    key = (spec, json.dumps(options, sort_keys=True, default=repr))
    if key not in _user_stages:
        _user_stages[key] = cls(**options)
    return _user_stages[key]


@dataclass(frozen=True)
class Custom(FilterStage):
    """``function(doc, **options)`` on every document, or a user's map stage; see the module's
    docstring."""

    function: str = ""  # FILE.py:NAME or MODULE:NAME, the function (or MapStage class) to call
    # keyword arguments passed to the function (or the class)
    options: dict[str, Any] = field(default_factory=dict)
    name: str = ""  # the reasons' prefix; default: the function's name
    # the sha256 of the function's source file, filled in at loading and recorded in the run's
    # recipe.yaml: resuming a run after the file changed is refused like any other recipe change
    code_sha256: str = ""

    def __post_init__(self) -> None:
        function = load_function(self.function)
        digest = source_sha256(function)
        if self.code_sha256 and digest and self.code_sha256 != digest:
            raise ValueError(
                f"the source of {self.function} changed since "
                f"code_sha256 {self.code_sha256[:12]}... "
                f"was recorded (now {digest[:12]}...)"
            )
        object.__setattr__(self, "code_sha256", digest)
        if isinstance(function, type) and not issubclass(function, MapStage):
            raise ValueError(
                f"{self.function} is a class but not a MapStage or BatchStage "
                "(scratchlm.curate.stage): a custom step answers per document"
            )
        try:
            if isinstance(function, type):
                inspect.signature(function).bind(**self.options)
            else:
                inspect.signature(function).bind(None, **self.options)
        except TypeError as err:
            raise ValueError(
                f"options {sorted(self.options)} do not fit {self.function}: {err}"
            ) from None
        except ValueError:  # a builtin without a signature: checked at the first call
            pass
        if isinstance(function, type):
            try:
                user_stage(self.function, function, self.options)
            except Exception as err:
                raise ValueError(
                    f"cannot make {self.function}: {type(err).__name__}: {err}"
                ) from None
        if not self.name:
            object.__setattr__(self, "name", self.function.rpartition(":")[2])

    def _target(self) -> Callable[[Document], Any]:
        """What answers for a document: the function with its options, or the user's stage."""
        function = load_function(self.function)
        if isinstance(function, type):
            return user_stage(self.function, function, self.options)
        return functools.partial(function, **self.options)

    def __call__(self, doc: Document) -> StageResult:
        return self._one(doc, None)

    def _one(self, doc: Document, target: Callable[[Document], Any] | None) -> StageResult:
        """``doc``'s answer from ``target`` (looked up here when None)."""
        try:
            result = (target or self._target())(doc)
        except Exception as err:
            return self._error(doc, f"{type(err).__name__}: {err}")
        return self._answer(doc, result)

    def map_batch(self, docs: list[Document]) -> list[StageResult]:
        """A user's ``BatchStage`` answers the batch in one call; when that call raises, each
        document is answered alone, so that only the ones it fails on are rejected. The target is
        looked up once a batch."""
        target, results = None, None
        try:
            target = self._target()
            if isinstance(target, BatchStage):
                results = list(target.map_batch(docs))
        except Exception:
            results = None
        if results is None:
            return [self._one(doc, target) for doc in docs]
        if len(results) != len(docs):
            error = f"map_batch returned {len(results)} answers for {len(docs)} documents"
            return [self._error(doc, error) for doc in docs]
        return [self._answer(doc, result) for doc, result in zip(docs, results)]

    def _answer(self, doc: Document, result: object) -> StageResult:
        if result is None or isinstance(result, Document):
            return result
        if isinstance(result, str) and result:
            return f"{self.name}:{result}"
        return self._error(
            doc, f"returned {result!r}; expected None, a reason string or a Document"
        )

    def _error(self, doc: Document, error: str) -> str:
        doc.meta["error"] = error
        return f"{self.name}:error"


STAGE = Custom
