"""Hugging Face datasets on disk, read with pyarrow alone (no hub, no ``datasets`` import).

Reads a ``Dataset.save_to_disk`` folder (its ``state.json`` lists the Arrow files in order), a
dataset cache folder (every ``*.arrow`` in it, sorted) or a single cached ``.arrow`` file, one
record batch at a time. Columns other than the id and text become ``meta``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pyarrow as pa

from scratchlm.curate.readers.base import FileError, ReaderOptions, ReadItem
from scratchlm.curate.readers.jsonl import record_to_item


def arrow_files(path: Path) -> list[Path]:
    """The Arrow files of a dataset folder in dataset order, or the file itself."""
    if path.is_file():
        return [path]
    state = path / "state.json"
    if state.is_file():
        return [
            path / f["filename"]
            for f in json.loads(state.read_text(encoding="utf-8"))["_data_files"]
        ]
    return sorted(path.glob("*.arrow"))


def _batches(file: Path) -> Iterator[pa.RecordBatch]:
    """Record batches of an Arrow IPC stream (what ``datasets`` writes) or IPC file."""
    with pa.memory_map(str(file)) as source:
        try:
            reader = pa.ipc.open_stream(source)
        except pa.ArrowInvalid:
            source.seek(0)
            reader = pa.ipc.open_file(source)
            for i in range(reader.num_record_batches):
                yield reader.get_batch(i)
            return
        yield from reader


def read(path: str, source: str, options: ReaderOptions) -> Iterator[ReadItem]:
    try:
        files = arrow_files(Path(path))
    except (OSError, ValueError, KeyError, TypeError) as err:
        yield FileError(source, "state.json", f"not a readable saved dataset: {err}")
        return
    if not files:
        yield FileError(source, "folder", "no .arrow files in the dataset folder")
        return
    index = failed = 0
    for file in files:
        name = file.name if file != Path(path) else "byte 0"
        try:
            for batch in _batches(file):
                for record in batch.to_pylist():
                    index += 1
                    yield record_to_item(record, source, index, options)
        except (OSError, pa.ArrowException) as err:
            failed += 1
            yield FileError(
                source, f"{name} (after record {index})", f"unreadable Arrow data: {err}"
            )
    if index == 0 and not failed:
        yield FileError(source, "record 0", "empty dataset: no records")
