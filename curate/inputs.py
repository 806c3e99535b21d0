"""Expanding ``--input`` arguments (files, folders, globs, URLs, ``@lists``) into an ordered list of
inputs."""

from __future__ import annotations

import glob
import os
import re
from collections import Counter, deque
from dataclasses import dataclass
from pathlib import Path

from scratchlm.curate import layout
from scratchlm.curate.errors import InputError
from scratchlm.curate.remote import is_remote

# files that are never documents, even inside an input folder
SKIPPED_NAMES = {".DS_Store", "dataset_dict.json"}
SKIPPED_SUFFIXES = (layout.DONE, ".tmp", ".json.lock")
# a folder holding one of these is a saved Hugging Face dataset: one input, read by
# curate.readers.hf
DATASET_MARKERS = ("state.json", "dataset_info.json")


@dataclass(frozen=True)
class InputFile:
    path: str  # where to open it
    source: str  # how ids and ``meta.source`` name it: stable across machines and reruns


def is_dataset_folder(folder: Path) -> bool:
    return any((folder / marker).is_file() for marker in DATASET_MARKERS)


STEP_FOLDER = re.compile(r"\d{2}_\w+")  # 01_read, 02_language...: a run's step folders


def curated_parts(folder: Path) -> tuple[Path, list[Path]] | None:
    """For a scratchlm run folder (``recipe.yaml``, ``inputs.json`` and step folders) or one of its
    step folders (shards with ``.done`` markers): the folder the inputs are named from and the
    curated shards, the final step's for a run; rejects are never inputs. None for any other
    folder. An unfinished run or step is an InputError."""
    if (folder / layout.RECIPE).is_file() and (folder / layout.INPUTS).is_file():
        steps = sorted(p for p in folder.iterdir() if p.is_dir() and STEP_FOLDER.fullmatch(p.name))
        if steps:
            return folder, _finished_parts(steps[-1], f"run folder {folder}")
    if any(folder.glob(layout.DONE_MARKERS)):
        return folder, _finished_parts(folder, f"step folder {folder}")
    return None


def _finished_parts(step: Path, what: str) -> list[Path]:
    parts = sorted(step.glob(layout.SHARDS))
    if not (step / layout.STATS).is_file():
        raise InputError(
            f"{what} is not finished ({step.name} has no stats.json yet): finish the run first"
        )
    if not parts:
        raise InputError(
            f"{what} kept no output (its step ran fused with the next ones): pass the run "
            "folder, or rerun the run with --keep-intermediate"
        )
    return parts


def _folder_files(folder: Path) -> list[Path]:
    files = []
    for root, dirs, names in os.walk(folder):
        if is_dataset_folder(Path(root)):
            files.append(Path(root))
            dirs[:] = []
            continue
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.startswith(".") or name in SKIPPED_NAMES or name.endswith(SKIPPED_SUFFIXES):
                continue
            files.append(Path(root) / name)
    return sorted(files)


def url_source(url: str) -> str:
    """A URL's stable name: without its scheme (``host/path?query``)."""
    return url.split("://", 1)[1]


def glob_base(pattern: str) -> Path:
    """The folder a glob's matches are named relative to: its leading parts without wildcards."""
    parts = Path(pattern).parts
    fixed = next(i for i, part in enumerate(parts) if glob.has_magic(part))
    return Path(*parts[:fixed]) if fixed else Path(".")


def list_lines(text: str) -> list[str]:
    """The entries of a list file: one a line, stripped; blank lines and ``#`` comments skipped."""
    return [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def _list_entries(argument: str) -> list[str]:
    """The inputs named in an ``@list`` file, one per line (blank lines and ``#`` comments
    skipped)."""
    listing = Path(argument[1:])
    try:
        entries = list_lines(listing.read_text(encoding="utf-8"))
    except OSError as err:
        raise InputError(f"input list {listing} cannot be read: {err.strerror}") from None
    if not entries:
        raise InputError(f"input list {listing} names no inputs")
    # a relative local path in a list is relative to the list's folder
    return [e if is_remote(e) or os.path.isabs(e) else str(listing.parent / e) for e in entries]


def expand_inputs(arguments: list[str]) -> list[InputFile]:
    """Inputs in argument order; a folder contributes its files sorted, a glob its matches sorted.

    A URL is one input, opened when it is read; ``@FILE`` stands for the inputs FILE lists.
    A folder holding a saved Hugging Face dataset is one input. A scratchlm run folder stands for
    its final step's curated shards, a step folder for its shards (never their rejects).
    """
    found: list[InputFile] = []
    queue = deque(arguments)
    while queue:
        argument = queue.popleft()
        path = Path(argument)
        if argument.startswith("@"):
            queue.extendleft(reversed(_list_entries(argument)))
        elif is_remote(argument):
            found.append(InputFile(argument, url_source(argument)))
        elif (path.is_dir() and is_dataset_folder(path)) or path.is_file():
            found.append(InputFile(str(path), path.name))
        elif path.is_dir() and (curated := curated_parts(path)) is not None:
            base, parts = curated
            found.extend(InputFile(str(f), f.relative_to(base).as_posix()) for f in parts)
        elif path.is_dir():
            files = _folder_files(path)
            if not files:
                raise InputError(f"input folder {argument} holds no files")
            found.extend(InputFile(str(f), f.relative_to(path).as_posix()) for f in files)
        elif glob.has_magic(argument):
            matches = sorted(m for m in glob.glob(argument, recursive=True) if Path(m).is_file())
            if not matches:
                raise InputError(f"input pattern {argument} matches no files")
            base = glob_base(argument)
            found.extend(InputFile(m, Path(m).relative_to(base).as_posix()) for m in matches)
        else:
            raise InputError(f"input path {argument} does not exist")
    duplicates = sorted(s for s, n in Counter(f.source for f in found).items() if n > 1)
    if duplicates:
        raise InputError(
            f"two inputs share the name {duplicates[0]}: "
            "ids would collide; pass their parent folder instead"
        )
    return found
