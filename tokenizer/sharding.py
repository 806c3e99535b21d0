"""Curated documents to token shards, in two resumable phases.

1. **encode** (parallel, one task per input file): a worker encodes its file's documents in
   batches with the encoder ``tokenizer/encoders.py`` picks (``fastokens`` where it reproduces
   ``tokenizers``' ids exactly, else ``tokenizers``' ``encode_batch_fast``; the manifest's
   ``encoders`` names what ran), appends the EOS token after each, and appends the tokens
   and document lengths of each split to ``_work/part-NNNNN.{split}.tokens|.lens`` (raw arrays,
   written under temporary names, renamed at the end), then writes ``part-NNNNN.done``. A
   worker holds one batch of documents at a time; a finished part is skipped on resume, and its
   bytes depend only on its input file and the tokenizer.
2. **pack** (sequential, a streaming copy): each split's token streams, in input order, are cut
   at document boundaries into shards of at most ``shard_tokens`` tokens (a longer document
   gets a shard of its own), written as ``.npy`` with their document offsets; ``manifest.json``
   is written last and ``_work`` removed. Packing is deterministic, so a resumed run writes the
   same bytes as an unbroken one.

Parallelism (``ShardConfig.parallel``): ``threads`` encodes the files one after the other in
this process, each batch on ``RAYON_NUM_THREADS`` threads (``tokenizers``' own, or
``encoders.encode_threads`` for fastokens); ``processes`` runs one task per file on the
executor's workers, each single-threaded (``TOKENIZERS_PARALLELISM=false``, one fastokens
thread).
``benchmarks/tokenize.py`` measures both.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from scratchlm.curate.atomic import AtomicPath
from scratchlm.curate.checksum import file_sha256
from scratchlm.curate.errors import ConfigError
from scratchlm.curate.layout import done_file, part_name
from scratchlm.curate.stage import Executor, iter_batches
from scratchlm.curate.writer import write_atomic
from scratchlm.tokenizer.config import TOKENIZER_FILE, ShardConfig
from scratchlm.tokenizer.corpus import CorpusFile, iter_documents
from scratchlm.tokenizer.encoders import Encoder, encode_threads, load_encoder
from scratchlm.tokenizer.files import load_tokenizer, token_id
from scratchlm.tokenizer.shard_format import (
    FORMAT,
    MANIFEST,
    PLAN,
    SPLITS,
    WORK,
    finished_or_claim,
    shard_names,
    split_of,
    token_dtype,
    write_npy,
)

COPY_CHUNK = 1 << 23  # tokens per write when packing


@contextmanager
def tokenizers_parallelism(enabled: bool) -> Iterator[None]:
    """Set ``TOKENIZERS_PARALLELISM`` for the duration (forked workers inherit it), then restore
    it."""
    previous = os.environ.get("TOKENIZERS_PARALLELISM")
    os.environ["TOKENIZERS_PARALLELISM"] = "true" if enabled else "false"
    try:
        yield
    finally:
        if previous is None:
            del os.environ["TOKENIZERS_PARALLELISM"]
        else:
            os.environ["TOKENIZERS_PARALLELISM"] = previous


@lru_cache(maxsize=2)
def _load_encoder(path: str, sha256: str, fast: bool, threads: int) -> Encoder:
    """The encoder a worker encodes with, loaded once per process and version (``sha256``: a
    tokenizer trained again into the same path is loaded again)."""
    return load_encoder(path, fast, threads)


@dataclass(frozen=True)
class EncodeTask:
    """One input file to encode: everything a worker needs, picklable."""

    file: CorpusFile
    part: str
    work_dir: str
    tokenizer_path: str
    tokenizer_sha256: str
    val_fraction: float
    eos_id: int
    dtype: str
    batch_docs: int
    threads: bool
    fast: bool  # the fast encoder where it is exact (ShardConfig.encoder "auto")


@dataclass
class PartResult:
    """What ``part-NNNNN.done`` records about one encoded input file."""

    part: str
    source: str
    path: str
    curated: bool
    docs: dict[str, int]
    tokens: dict[str, int]
    bytes: int
    encoder: str = ""  # Encoder.name (empty in parts encoded before it was recorded)

    @property
    def docs_in(self) -> int:  # for the progress bar
        return sum(self.docs.values())


class _PartStream:
    """Tokens and document lengths of one split of one part, appended batch by batch."""

    def __init__(self, work: Path, part: str, split: str, dtype: np.dtype) -> None:
        self.targets = [
            AtomicPath(work / f"{part}.{split}.tokens"),
            AtomicPath(work / f"{part}.{split}.lens"),
        ]
        self.files = [open(t.begin(), "wb") for t in self.targets]  # noqa: SIM115 (closed by close())
        self.dtype = dtype
        self.pending: list[np.ndarray] = []
        self.docs = 0
        self.tokens = 0

    def add(self, ids: list[int], eos_id: int) -> None:
        tokens = np.empty(len(ids) + 1, self.dtype)
        tokens[:-1] = ids
        tokens[-1] = eos_id
        self.pending.append(tokens)

    def flush(self) -> None:
        if not self.pending:
            return
        lengths = np.fromiter((len(t) for t in self.pending), np.int64, len(self.pending))
        np.concatenate(self.pending).tofile(self.files[0])
        lengths.tofile(self.files[1])
        self.docs += len(lengths)
        self.tokens += int(lengths.sum())
        self.pending = []

    def close(self) -> None:
        self.flush()
        for stream, target in zip(self.files, self.targets):
            stream.close()
            target.commit()


def encode_part(task: EncodeTask) -> PartResult:
    """Encode one input file into its per-split token and length streams, then mark it done."""
    with tokenizers_parallelism(task.threads):
        threads = encode_threads() if task.threads else 1
        encoder = _load_encoder(task.tokenizer_path, task.tokenizer_sha256, task.fast, threads)
        work = Path(task.work_dir)
        streams = {
            split: _PartStream(work, task.part, split, np.dtype(task.dtype)) for split in SPLITS
        }
        text_bytes = 0
        for batch in iter_batches(iter_documents(task.file), task.batch_docs):
            for doc, ids in zip(batch, encoder.encode_batch([doc.text for doc in batch])):
                streams[split_of(doc.id, task.val_fraction)].add(ids, task.eos_id)
                text_bytes += len(doc.text.encode("utf-8"))
            for stream in streams.values():
                stream.flush()
    for stream in streams.values():
        stream.close()
    result = PartResult(
        task.part,
        task.file.source,
        task.file.path,
        task.file.curated,
        docs={s: streams[s].docs for s in SPLITS},
        tokens={s: streams[s].tokens for s in SPLITS},
        bytes=text_bytes,
        encoder=encoder.name,
    )
    write_atomic(work / done_file(task.part), json.dumps(asdict(result), sort_keys=True))
    return result


class _ShardPacker:
    """Cuts one split's token streams into shards at document boundaries and writes them."""

    def __init__(self, folder: Path, split: str, dtype: np.dtype, shard_tokens: int) -> None:
        self.folder, self.split, self.dtype, self.shard_tokens = folder, split, dtype, shard_tokens
        self.segments: list[tuple[np.ndarray, int, int]] = []  # (token stream, start, end)
        self.lengths: list[np.ndarray] = []
        self.fill = 0
        self.entries: list[dict[str, Any]] = []

    def add_part(self, tokens_path: Path, lens_path: Path) -> None:
        lengths = np.fromfile(lens_path, np.int64)
        if not len(lengths):
            return
        ends = np.cumsum(lengths)
        tokens = np.memmap(tokens_path, self.dtype, "r")
        if len(tokens) != ends[-1]:
            raise RuntimeError(
                f"{tokens_path}: {len(tokens)} tokens, its lengths file says {ends[-1]}"
            )
        i = 0
        while i < len(lengths):
            start = int(ends[i - 1]) if i else 0
            j = int(np.searchsorted(ends, start + self.shard_tokens - self.fill, side="right"))
            if j == i:
                if self.fill:
                    self.close_shard()
                    continue
                j = i + 1  # a document longer than a shard gets a shard of its own
            self.segments.append((tokens, start, int(ends[j - 1])))
            self.lengths.append(lengths[i:j])
            self.fill += int(ends[j - 1]) - start
            i = j
            if self.fill >= self.shard_tokens:
                self.close_shard()

    def _chunks(self) -> Iterator[np.ndarray]:
        for tokens, start, end in self.segments:
            for offset in range(start, end, COPY_CHUNK):
                yield tokens[offset : min(end, offset + COPY_CHUNK)]

    def close_shard(self) -> None:
        if not self.fill:
            return
        file, docs_file = shard_names(self.split, len(self.entries))
        lengths = np.concatenate(self.lengths)
        offsets = np.zeros(len(lengths), np.int64)
        np.cumsum(lengths[:-1], out=offsets[1:])
        self.entries.append(
            {
                "file": file,
                "docs_file": docs_file,
                "split": self.split,
                "tokens": self.fill,
                "docs": len(lengths),
                "sha256": write_npy(self.folder / file, self._chunks(), self.dtype, self.fill),
                "docs_sha256": write_npy(
                    self.folder / docs_file, [offsets], np.dtype(np.int64), len(offsets)
                ),
            }
        )
        self.segments, self.lengths, self.fill = [], [], 0


def _plan(files: list[CorpusFile], tokenizer_sha256: str, config: ShardConfig) -> dict[str, Any]:
    """What the shards depend on; a folder holding shards of another plan is not resumed into."""
    return {
        "format": FORMAT,
        "inputs": [f.source for f in files],
        "tokenizer_sha256": tokenizer_sha256,
        "shard_tokens": config.shard_tokens,
        "val_fraction": config.val_fraction,
        "eos_token": config.eos_token,
    }


class OtherShards(ConfigError):
    """The output folder holds shards, finished or not, of another plan."""


_OTHER_PLAN = (
    "shards of other inputs, tokenizer or options",
    "an unfinished sharding of other inputs or options",
)


def copy_tokenizer(tokenizer_path: Path, output: Path) -> Path:
    """``output/tokenizer.json``, a copy of ``tokenizer_path`` (kept when it is that file)."""
    copy = output / TOKENIZER_FILE
    if copy.exists() and copy.resolve() == tokenizer_path.resolve():
        return copy
    with AtomicPath(copy) as tmp:
        shutil.copyfile(tokenizer_path, tmp)
    return copy


def shard_corpus(
    files: list[CorpusFile],
    tokenizer_path: Path,
    output: Path,
    config: ShardConfig,
    executor: Executor,
    log: Any = print,
    replace: bool = False,
) -> dict[str, Any]:
    """Encode ``files`` into token shards under ``output``; the manifest (also returned) is written
    last. Shards of another plan there are refused, or with ``replace`` removed first."""
    if not files:
        raise ConfigError("shard: no input documents")
    output.mkdir(parents=True, exist_ok=True)
    work = output / WORK
    tokenizer_file = Path(tokenizer_path)
    if not tokenizer_file.exists():
        raise ConfigError(f"--tokenizer {tokenizer_path}: no such file")
    tokenizer_sha256 = file_sha256(tokenizer_file)
    plan = _plan(files, tokenizer_sha256, config)
    try:
        done = finished_or_claim(output, work / PLAN, plan, OtherShards, _OTHER_PLAN)
    except OtherShards:
        if not replace:
            raise
        log(f"{output} held shards of other inputs, tokenizer or options: encoding again")
        shutil.rmtree(output)
        output.mkdir(parents=True)
        done = finished_or_claim(output, work / PLAN, plan, OtherShards, _OTHER_PLAN)
    if done is not None:
        log(f"shards already complete: {output / MANIFEST}")
        return done
    copy = copy_tokenizer(tokenizer_file, output)
    tokenizer = load_tokenizer(copy)
    vocab_size = tokenizer.get_vocab_size(with_added_tokens=True)
    eos_id = token_id(tokenizer, f"--tokenizer {tokenizer_path}", config.eos_token)
    dtype = token_dtype(vocab_size)
    parts = [part_name(i) for i in range(len(files))]
    threads = config.parallel == "threads"
    fast = config.encoder == "auto"
    tasks = [
        EncodeTask(
            f,
            p,
            str(work),
            str(copy),
            tokenizer_sha256,
            config.val_fraction,
            eos_id,
            dtype.name,
            config.batch_docs,
            threads,
            fast,
        )
        for f, p in zip(files, parts)
        if not (work / done_file(p)).exists()
    ]
    if threads:
        for task in tasks:
            encode_part(task)
    else:
        with tokenizers_parallelism(False):
            executor.map(encode_part, tasks, desc="shard:encode")
    results = [
        PartResult(**json.loads((work / done_file(p)).read_text(encoding="utf-8"))) for p in parts
    ]

    entries = []
    for split in SPLITS:
        packer = _ShardPacker(output, split, dtype, config.shard_tokens)
        for part in parts:
            packer.add_part(work / f"{part}.{split}.tokens", work / f"{part}.{split}.lens")
        packer.close_shard()
        entries.extend(packer.entries)
    manifest = {
        "format": FORMAT,
        "dtype": dtype.name,
        "eos_id": eos_id,
        "vocab_size": vocab_size,
        "tokenizer": TOKENIZER_FILE,
        "tokenizer_sha256": tokenizer_sha256,
        "splits": {
            split: {
                "tokens": sum(r.tokens[split] for r in results),
                "docs": sum(r.docs[split] for r in results),
                "shards": sum(e["split"] == split for e in entries),
            }
            for split in SPLITS
        },
        "shards": entries,
        "encoders": sorted({r.encoder for r in results}),
        "plan": plan,
        "inputs": [asdict(r) for r in results],
    }
    write_atomic(output / MANIFEST, json.dumps(manifest, indent=1))
    shutil.rmtree(work)
    return manifest
