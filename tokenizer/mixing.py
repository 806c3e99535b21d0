"""Several token shard folders into one training set, each source with its share of the tokens.

1. **plan** (lengths only): each source's training documents (its ``train`` split) come in a
   seeded order, epoch after epoch: its shards in a permuted order, each shard's documents
   permuted (one shard's document offsets in memory at a time). A source's target is its weight
   times the budget; it gets whole epochs, then the prefix of one more epoch whose token count is
   closest to what is left, so it holds its share to within one document. A target needing more
   than ``max_epochs`` passes is refused, naming the source and the numbers, before anything is
   written.
2. **write**: a generator seeded with ``seed`` interleaves the sources: the next document comes
   from a source drawn with probability proportional to the tokens it still has to give, so each
   source is spread over the whole stream. The stream is cut at document boundaries into
   ``train-NNNNN.npy`` shards; each source's own ``val`` split is copied into
   ``val-NAME-NNNNN.npy`` (manifest entries with ``source``), so that training reports each
   source's validation loss. Tokens are read with ``pread``, never memory-mapped, and a shard's
   list of documents is the only thing that grows: memory is bounded by the shard size, not by
   the number of documents. A finished shard is recorded in ``_work/``; a resumed run replays the
   decisions (lengths only) and writes the missing shards alone: the bytes of an unbroken run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from scratchlm.curate.checksum import file_sha256
from scratchlm.curate.errors import ConfigError
from scratchlm.curate.writer import write_atomic
from scratchlm.tokenizer.config import TOKENIZER_FILE
from scratchlm.tokenizer.shard_format import (
    FORMAT,
    MANIFEST,
    PLAN,
    WORK,
    finished_or_claim,
    load_manifest,
    shard_names,
    write_npy,
)
from scratchlm.tokenizer.sharding import copy_tokenizer

DRAWS = 4096  # interleaving draws taken from the generator at a time
INTERLEAVE_SALT = 0x6D6978  # keeps the interleaving generator apart from the document orders


class MixError(ConfigError):
    """A mixture that cannot be made as asked (refused before any shard is written)."""


@dataclass(frozen=True)
class Source:
    """A token shard folder with its weight in the mixture."""

    name: str
    folder: Path
    weight: float
    max_epochs: float
    manifest: dict
    licence: str | None = None

    def entries(self, split: str) -> list[dict[str, Any]]:
        return [e for e in self.manifest["shards"] if e["split"] == split]

    @property
    def epoch_tokens(self) -> int:
        return sum(e["tokens"] for e in self.entries("train"))

    @property
    def epoch_docs(self) -> int:
        return sum(e["docs"] for e in self.entries("train"))

    @property
    def content_id(self) -> str:
        """A digest of the source's shard checksums: the same data wherever the folder is."""
        return hashlib.sha256(
            "".join(e["sha256"] for e in self.manifest["shards"]).encode()
        ).hexdigest()


def open_source(
    name: str, folder: Path, weight: float, max_epochs: float, licence: str | None = None
) -> Source:
    """A source from its shard folder; a folder without a finished manifest is refused."""
    try:
        manifest = load_manifest(folder)
    except (FileNotFoundError, ValueError) as err:
        raise MixError(f"mix: source {name!r}: {err}") from None
    return Source(name, Path(folder), weight, max_epochs, manifest, licence)


def _source_key(name: str) -> int:
    """A number from the source's name alone: adding a source changes no other's order."""
    return int.from_bytes(hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest(), "big")


def shard_documents(folder: Path, entry: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """A shard's document start offsets and lengths."""
    starts = np.load(folder / entry["docs_file"]).astype(np.int64)
    return starts, np.diff(starts, append=entry["tokens"])


def epoch_blocks(
    source: Source, seed: int, epoch: int
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(shard index, document starts, lengths) of one epoch over the source's training shards, in
    the epoch's seeded order."""
    entries = source.entries("train")
    rng = np.random.default_rng([seed, _source_key(source.name), epoch])
    for index in rng.permutation(len(entries)).tolist():
        starts, lengths = shard_documents(source.folder, entries[index])
        order = rng.permutation(len(starts))
        yield index, starts[order], lengths[order]


def closest_prefix(source: Source, seed: int, epoch: int, target: int) -> tuple[int, int]:
    """(documents, tokens) of the prefix of ``epoch`` whose token count is closest to ``target``
    (the shorter one on a tie)."""
    docs = tokens = 0
    for _, _, lengths in epoch_blocks(source, seed, epoch):
        if not len(lengths):
            continue
        ends = tokens + np.cumsum(lengths)
        if ends[-1] < target:
            docs, tokens = docs + len(lengths), int(ends[-1])
            continue
        k = int(np.searchsorted(ends, target, side="left"))  # ends[k] >= target
        before = int(ends[k - 1]) if k else tokens
        if int(ends[k]) - target < target - before:
            return docs + k + 1, int(ends[k])
        return docs + k, before
    return docs, tokens


@dataclass(frozen=True)
class SourcePlan:
    """What one source gives the mixture: whole epochs, then a prefix of one more."""

    source: Source
    target: int
    full_epochs: int
    partial_docs: int
    partial_tokens: int

    @property
    def tokens(self) -> int:
        return self.full_epochs * self.source.epoch_tokens + self.partial_tokens

    @property
    def docs(self) -> int:
        return self.full_epochs * self.source.epoch_docs + self.partial_docs

    @property
    def epochs(self) -> float:
        return self.tokens / self.source.epoch_tokens

    def summary(self, total: int) -> dict[str, Any]:
        """The source as the manifest's ``mixture`` lists it."""
        s = self.source
        val = s.entries("val")
        return {
            "name": s.name,
            "folder": str(s.folder),
            "weight": s.weight,
            "max_epochs": s.max_epochs,
            "licence": s.licence,
            "target_tokens": self.target,
            "tokens": self.tokens,
            "docs": self.docs,
            "epochs": round(self.epochs, 6),
            "share": round(self.tokens / total, 6) if total else 0.0,
            "epoch_tokens": s.epoch_tokens,
            "epoch_docs": s.epoch_docs,
            "val_tokens": sum(e["tokens"] for e in val),
            "val_docs": sum(e["docs"] for e in val),
        }


def mixture_budget(sources: list[Source], total_tokens: int | None) -> int:
    """``total_tokens``, or (None) the most tokens no source's ``max_epochs`` forbids."""
    if total_tokens is not None:
        return total_tokens
    return min(int(s.max_epochs * s.epoch_tokens / s.weight) for s in sources)


def check_sources(sources: list[Source], tokenizer_sha256: str) -> None:
    """Refuse sources without training tokens or encoded with another tokenizer."""
    problems = []
    for s in sources:
        if s.manifest.get("tokenizer_sha256") != tokenizer_sha256:
            problems.append(
                f"mix: source {s.name!r}: {s.folder} was encoded with another "
                f"tokenizer (sha256 {str(s.manifest.get('tokenizer_sha256'))[:12]}, "
                f"the mixture's is {tokenizer_sha256[:12]})"
            )
        elif s.epoch_tokens == 0:
            problems.append(f"mix: source {s.name!r}: {s.folder} holds no training tokens")
    if problems:
        raise MixError("\n".join(problems))


def epoch_problems(sources: list[Source], budget: int) -> list[str]:
    """One line per source that would need more epochs than its ``max_epochs`` for ``budget``."""
    problems = []
    for s in sources:
        needed = s.weight * budget / s.epoch_tokens
        if needed > s.max_epochs * (1 + 1e-9):
            problems.append(
                f"mix: source {s.name!r} needs {needed:.2f} epochs (weight {s.weight:g} of "
                f"{budget:,} tokens = {round(s.weight * budget):,} tokens; it holds "
                f"{s.epoch_tokens:,} training tokens) "
                f"but max_epochs is {s.max_epochs:g}; lower its "
                f"weight or total_tokens, or raise its max_epochs"
            )
    return problems


def plan_mixture(sources: list[Source], total_tokens: int | None, seed: int) -> list[SourcePlan]:
    """Each source's epochs and documents for the budget; every source needing more epochs than
    its ``max_epochs`` is refused at once, with the numbers."""
    budget = mixture_budget(sources, total_tokens)
    problems = epoch_problems(sources, budget)
    if problems:
        raise MixError("\n".join(problems))
    plans = []
    for s in sources:
        target = min(round(s.weight * budget), int(s.max_epochs * s.epoch_tokens))
        full = target // s.epoch_tokens
        docs, tokens = closest_prefix(s, seed, full, target - full * s.epoch_tokens)
        plans.append(SourcePlan(s, target, full, docs, tokens))
    return plans


def source_documents(plan: SourcePlan, seed: int) -> Iterator[tuple[int, int, int]]:
    """(shard index, start, length) of each document the source gives, in its mixture order."""
    for epoch in range(plan.full_epochs + 1):
        left = plan.partial_docs if epoch == plan.full_epochs else None
        if left == 0:
            return
        for shard, starts, lengths in epoch_blocks(plan.source, seed, epoch):
            if left is not None:
                starts, lengths = starts[:left], lengths[:left]
                left -= len(starts)
            yield from zip([shard] * len(starts), starts.tolist(), lengths.tolist())
            if left == 0:
                return


Doc = tuple[int, str, int, int, int]  # (source index, split, shard index, start, length)


def interleaved(plans: list[SourcePlan], seed: int) -> Iterator[Doc]:
    """The training documents of all sources, each next one from a source drawn with probability
    proportional to the tokens it has still to give."""
    streams = [source_documents(p, seed) for p in plans]
    remaining = [p.tokens for p in plans]
    total = sum(remaining)
    rng = np.random.default_rng([seed, INTERLEAVE_SALT])
    while total:
        for u in rng.random(DRAWS).tolist():
            pick = min(int(u * total), total - 1)
            index = 0
            while pick >= remaining[index]:
                pick -= remaining[index]
                index += 1
            shard, start, length = next(streams[index])
            remaining[index] -= length
            total -= length
            yield index, "train", shard, start, length
            if not total:
                return


def val_documents(index: int, source: Source) -> Iterator[Doc]:
    """A source's validation documents, in its order."""
    for shard, entry in enumerate(source.entries("val")):
        starts, lengths = shard_documents(source.folder, entry)
        for start, length in zip(starts.tolist(), lengths.tolist()):
            yield index, "val", shard, start, length


class TokenReader:
    """Reads document tokens from the sources' ``.npy`` shards with ``pread`` (nothing mapped)."""

    def __init__(self, sources: list[Source], dtype: np.dtype) -> None:
        self.sources, self.dtype = sources, dtype
        self.files: dict[tuple[int, str, int], tuple[int, int]] = {}  # -> (fd, data offset)

    def _open(self, key: tuple[int, str, int]) -> tuple[int, int]:
        if key not in self.files:
            index, split, shard = key
            source = self.sources[index]
            path = source.folder / source.entries(split)[shard]["file"]
            with open(path, "rb") as f:
                version = np.lib.format.read_magic(f)
                header = (
                    np.lib.format.read_array_header_1_0
                    if version == (1, 0)
                    else np.lib.format.read_array_header_2_0
                )
                _, _, dtype = header(f)
                if dtype != self.dtype:
                    raise MixError(
                        f"mix: {path}: tokens of {dtype}, the mixture's are {self.dtype}"
                    )
                offset = f.tell()
            self.files[key] = (os.open(path, os.O_RDONLY), offset)
        return self.files[key]

    def read(self, doc: Doc) -> np.ndarray:
        index, split, shard, start, length = doc
        fd, offset = self._open((index, split, shard))
        size = self.dtype.itemsize
        data = os.pread(fd, length * size, offset + start * size)
        if len(data) != length * size:
            raise MixError(
                f"mix: source {self.sources[index].name!r}: shard {shard} of {split} "
                f"is shorter than its manifest says"
            )
        return np.frombuffer(data, self.dtype)

    def close(self) -> None:
        for fd, _ in self.files.values():
            os.close(fd)
        self.files = {}


class _Packer:
    """Cuts a document stream into shards of at most ``shard_tokens`` tokens (a longer document
    gets a shard of its own); a shard recorded in ``_work`` is not written again."""

    def __init__(
        self,
        output: Path,
        stem: str,
        split: str,
        source: str | None,
        reader: TokenReader,
        shard_tokens: int,
    ) -> None:
        self.output, self.stem, self.split, self.source = output, stem, split, source
        self.reader, self.shard_tokens = reader, shard_tokens
        self.docs: list[Doc] = []
        self.fill = 0
        self.entries: list[dict[str, Any]] = []

    def add(self, doc: Doc) -> None:
        if self.fill and self.fill + doc[4] > self.shard_tokens:
            self.close_shard()
        self.docs.append(doc)
        self.fill += doc[4]

    def close_shard(self) -> None:
        if not self.docs:
            return
        file, docs_file = shard_names(self.stem, len(self.entries))
        record = self.output / WORK / f"{file}.json"
        if record.exists() and (self.output / file).exists():
            entry = json.loads(record.read_text(encoding="utf-8"))
        else:
            lengths = np.fromiter((d[4] for d in self.docs), np.int64, len(self.docs))
            offsets = np.concatenate([[0], np.cumsum(lengths[:-1])]).astype(np.int64)
            entry = {
                "file": file,
                "docs_file": docs_file,
                "split": self.split,
                "tokens": self.fill,
                "docs": len(self.docs),
                "sha256": write_npy(
                    self.output / file,
                    map(self.reader.read, self.docs),
                    self.reader.dtype,
                    self.fill,
                ),
                "docs_sha256": write_npy(
                    self.output / docs_file, [offsets], np.dtype(np.int64), len(offsets)
                ),
            }
            if self.source is not None:
                entry["source"] = self.source
            write_atomic(record, json.dumps(entry))
        self.entries.append(entry)
        self.docs, self.fill = [], 0


def _plan_record(
    sources: list[Source],
    total_tokens: int | None,
    seed: int,
    shard_tokens: int,
    tokenizer_sha256: str,
) -> dict[str, Any]:
    """What the mixture's bytes depend on; a folder holding another plan is not resumed into."""
    return {
        "format": FORMAT,
        "tokenizer_sha256": tokenizer_sha256,
        "seed": seed,
        "total_tokens": total_tokens,
        "shard_tokens": shard_tokens,
        "sources": [
            {
                "name": s.name,
                "weight": s.weight,
                "max_epochs": s.max_epochs,
                "content": s.content_id,
            }
            for s in sources
        ],
    }


class OtherMixture(MixError):
    """The output folder holds shards, finished or not, of another mixture."""


_OTHER_PLAN = ("shards of another mixture", "an unfinished mixture of other sources or options")


def mix_shards(
    sources: list[Source],
    tokenizer_path: Path,
    output: Path,
    total_tokens: int | None,
    seed: int,
    shard_tokens: int,
    log: Any = print,
    replace: bool = False,
) -> dict[str, Any]:
    """Write the mixture of ``sources`` under ``output`` and return its manifest (written last).
    Impossible requests are refused before anything is written."""
    tokenizer_sha256 = file_sha256(Path(tokenizer_path))
    check_sources(sources, tokenizer_sha256)
    plans = plan_mixture(sources, total_tokens, seed)
    plan = _plan_record(sources, total_tokens, seed, shard_tokens, tokenizer_sha256)
    output = Path(output)
    try:
        done = finished_or_claim(output, output / WORK / PLAN, plan, OtherMixture, _OTHER_PLAN)
    except OtherMixture:
        if not replace:
            raise
        log(f"mix: {output} held another mixture: writing it again")
        shutil.rmtree(output)
        done = finished_or_claim(output, output / WORK / PLAN, plan, OtherMixture, _OTHER_PLAN)
    if done is not None:
        log(f"mix: already complete: {output / MANIFEST}")
        return done
    first = sources[0].manifest
    dtype = np.dtype(first["dtype"])
    reader = TokenReader(sources, dtype)
    try:
        train = _Packer(output, "train", "train", None, reader, shard_tokens)
        for doc in interleaved(plans, seed):
            train.add(doc)
        train.close_shard()
        entries = train.entries
        for index, source in enumerate(sources):
            val = _Packer(output, f"val-{source.name}", "val", source.name, reader, shard_tokens)
            for doc in val_documents(index, source):
                val.add(doc)
            val.close_shard()
            entries += val.entries
    finally:
        reader.close()
    copy_tokenizer(Path(tokenizer_path), output)
    total = sum(p.tokens for p in plans)
    manifest = {
        "format": FORMAT,
        "dtype": dtype.name,
        "eos_id": first["eos_id"],
        "vocab_size": first["vocab_size"],
        "tokenizer": TOKENIZER_FILE,
        "tokenizer_sha256": tokenizer_sha256,
        "splits": {
            split: {
                "tokens": sum(e["tokens"] for e in entries if e["split"] == split),
                "docs": sum(e["docs"] for e in entries if e["split"] == split),
                "shards": sum(e["split"] == split for e in entries),
            }
            for split in ("train", "val")
        },
        "shards": entries,
        "plan": plan,
        "mixture": {
            "seed": seed,
            "total_tokens": total_tokens,
            "budget_tokens": mixture_budget(sources, total_tokens),
            "tokens": total,
            "sources": [p.summary(total) for p in plans],
        },
    }
    write_atomic(output / MANIFEST, json.dumps(manifest, indent=1))
    shutil.rmtree(output / WORK)
    return manifest
