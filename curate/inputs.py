"""Expanding ``--input`` arguments (files, folders, globs) into an ordered list of input files."""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

from curate.errors import InputError

# files that are never documents, even inside an input folder
SKIPPED_NAMES = {".DS_Store"}
SKIPPED_SUFFIXES = (".done", ".tmp", ".json.lock")


@dataclass(frozen=True)
class InputFile:
    path: str    # where to open it
    source: str  # how ids and ``meta.source`` name it: stable across machines and reruns


def _folder_files(folder: Path) -> list[Path]:
    files = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.startswith(".") or name in SKIPPED_NAMES or name.endswith(SKIPPED_SUFFIXES):
                continue
            files.append(Path(root) / name)
    return sorted(files)


def expand_inputs(arguments: list[str]) -> list[InputFile]:
    """Files in argument order; a folder contributes its files sorted, a glob its matches sorted."""
    found: list[InputFile] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_file():
            found.append(InputFile(str(path), path.name))
        elif path.is_dir():
            files = _folder_files(path)
            if not files:
                raise InputError(f"input folder {argument} holds no files")
            found.extend(InputFile(str(f), f.relative_to(path).as_posix()) for f in files)
        elif glob.has_magic(argument):
            matches = sorted(m for m in glob.glob(argument, recursive=True) if Path(m).is_file())
            if not matches:
                raise InputError(f"input pattern {argument} matches no files")
            base = Path(argument.split("*")[0].rsplit("/", 1)[0] or ".")
            found.extend(InputFile(m, Path(m).relative_to(base).as_posix()) for m in matches)
        else:
            raise InputError(f"input path {argument} does not exist")
    sources = [f.source for f in found]
    duplicates = sorted({s for s in sources if sources.count(s) > 1})
    if duplicates:
        raise InputError(f"two inputs share the name {duplicates[0]}: ids would collide; pass their parent folder instead")
    return found
