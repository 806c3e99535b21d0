"""The one write protocol: write under a hidden temporary name beside the target, then rename.

A crash, an error or a kill never leaves a half-written file or folder under its real name; what a
reader finds there is complete. ``model/`` keeps its own copy of the rename (it imports nothing of
``curate/``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import TracebackType


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


class AtomicPath:
    """``tmp`` (``.NAME.tmp`` beside ``path``) to write a file or a folder into, and ``commit`` to
    move it onto ``path`` (a folder there is replaced). As a context manager it yields ``tmp``,
    commits when the block ends and removes ``tmp`` when the block raises."""

    def __init__(self, path: Path, suffix: str = ".tmp") -> None:
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}{suffix}")

    def begin(self) -> Path:
        """``tmp``, with the parent folder made and a leftover of an interrupted write removed."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _remove(self.tmp)
        return self.tmp

    def commit(self) -> None:
        if self.path.is_dir() and not self.path.is_symlink():
            shutil.rmtree(self.path)
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        _remove(self.tmp)

    def __enter__(self) -> Path:
        return self.begin()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()
