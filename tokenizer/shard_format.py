"""The token shard format (``scratchlm-shards/1``): the contract between ``tokenizer/`` and
``model/``.

A shard folder holds ``tokenizer.json`` (a copy of the tokenizer used), ``train-00000.npy`` and
``train-00000.docs.npy``, ..., ``val-00000.npy`` ..., and ``manifest.json`` (written last). A
``.npy`` token array is 1-D uint16 (vocabulary of at most 65,535 tokens) or uint32, each
document's tokens followed by ``eos_id``; ``*.docs.npy`` is int64, each document's start offset
in the shard. A document never spans two shards. The split is by document: a document is in
``val`` when the 64-bit BLAKE2b hash of its id, as a fraction of 2**64, is below ``val_fraction``,
so adding documents never moves another across the split.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterable

import numpy as np

from scratchlm.curate.atomic import AtomicPath
from scratchlm.curate.errors import ConfigError
from scratchlm.curate.writer import claim_folder

FORMAT = "scratchlm-shards/1"
MANIFEST = "manifest.json"
WORK = "_work"  # the encoded parts and the plan of an unfinished shard folder
PLAN = "plan.json"  # in WORK: what a rerun is compared against
SPLITS = ("train", "val")
SPLIT_SALT = b"scratchlm-split/1"


def token_dtype(vocab_size: int) -> np.dtype:
    """uint16 while every id fits, else uint32."""
    return np.dtype(np.uint16) if vocab_size <= 65_535 else np.dtype(np.uint32)


def split_of(doc_id: str, val_fraction: float) -> str:
    """``val`` or ``train``, from a hash of the document id alone."""
    digest = hashlib.blake2b(doc_id.encode("utf-8"), digest_size=8, key=SPLIT_SALT).digest()
    return "val" if int.from_bytes(digest, "big") < val_fraction * 2**64 else "train"


def shard_names(split: str, index: int) -> tuple[str, str]:
    """The token file and document-offsets file of shard ``index`` of a split."""
    stem = f"{split}-{index:05d}"
    return f"{stem}.npy", f"{stem}.docs.npy"


class _HashingFile:
    """A binary file that hashes what is written to it."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.digest = hashlib.sha256()

    def write(self, data: bytes | memoryview) -> int:
        self.digest.update(data)
        return self.stream.write(data)


def write_npy(path: Path, chunks: Iterable[np.ndarray], dtype: np.dtype, length: int) -> str:
    """Stream ``chunks`` into a 1-D ``.npy`` of ``length`` items (temp name, then rename); its
    sha256."""
    written = 0
    with AtomicPath(path) as tmp:
        with open(tmp, "wb") as stream:
            out = _HashingFile(stream)
            np.lib.format.write_array_header_1_0(
                out,
                {
                    "descr": np.lib.format.dtype_to_descr(dtype),
                    "fortran_order": False,
                    "shape": (length,),
                },
            )
            for chunk in chunks:
                data = np.ascontiguousarray(chunk, dtype=dtype)
                out.write(memoryview(data).cast("B"))
                written += len(data)
        if written != length:
            raise RuntimeError(f"{path.name}: wrote {written} items, expected {length}")
    return out.digest.hexdigest()


@dataclass(frozen=True)
class ShardEntry:
    """One shard as the manifest lists it."""

    file: str
    docs_file: str
    split: str
    tokens: int
    docs: int
    sha256: str
    docs_sha256: str = ""  # optional in the format; scratchlm's sharding always writes it


def load_manifest(folder: Path) -> dict:
    path = Path(folder) / MANIFEST
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: no manifest (not a shard folder, or sharding did not finish)"
        )
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{path}: format {manifest.get('format')!r}, expected {FORMAT!r}")
    return manifest


def finished_or_claim(
    output: Path,
    record: Path,
    plan: dict[str, Any],
    error: type[ConfigError],
    holds: tuple[str, str],
) -> dict | None:
    """The finished manifest of ``output`` when it was written for ``plan``; else None, with
    ``plan`` recorded in ``record`` for a resume. Shards of another plan are refused with ``error``:
    "``output`` holds ``holds[0]``" (a manifest) or "holds ``holds[1]``" (an unfinished plan's
    record)."""
    finished, unfinished = holds
    if (output / MANIFEST).exists():
        manifest = load_manifest(output)
        if manifest.get("plan") == plan:
            return manifest
        raise error(f"{output} holds {finished}; choose another --output")
    claim_folder(record, json.dumps(plan, indent=1), unfinished, output, error)
    return None


def shard_entries(manifest: dict, split: str | None = None) -> list[ShardEntry]:
    fields = ShardEntry.__dataclass_fields__
    return [
        ShardEntry(**{k: v for k, v in s.items() if k in fields})
        for s in manifest["shards"]
        if split is None or s["split"] == split
    ]


def open_tokens(folder: Path, entry: ShardEntry) -> np.ndarray:
    """A shard's tokens, memory-mapped."""
    return np.load(Path(folder) / entry.file, mmap_mode="r")


def open_offsets(folder: Path, entry: ShardEntry) -> np.ndarray:
    """A shard's document start offsets."""
    return np.load(Path(folder) / entry.docs_file, mmap_mode="r")
