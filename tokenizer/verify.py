"""``scratchlm shard verify``: check a shard folder against its manifest and its source documents.

Checks, each problem reported as one line naming the file: the tokenizer copy's and every
shard's sha256; dtype, length and token range (< vocab size); document offsets (start at 0,
increasing, each document ends with EOS and holds no other EOS); split totals; and, for a
seeded random sample of documents, that decoding their tokens gives back the source text.
"""

from __future__ import annotations

import random
from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from scratchlm.curate.checksum import file_sha256
from scratchlm.tokenizer.corpus import CorpusFile, iter_documents
from scratchlm.tokenizer.files import load_tokenizer
from scratchlm.tokenizer.shard_format import (
    SPLITS,
    ShardEntry,
    load_manifest,
    open_offsets,
    open_tokens,
    shard_entries,
    split_of,
)


@dataclass
class VerifyReport:
    problems: list[str] = field(default_factory=list)
    shards: int = 0
    tokens: int = 0
    docs: int = 0
    decoded: int = 0
    decode_skipped: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _check_shard(folder: Path, entry: ShardEntry, manifest: dict) -> list[str]:
    """Every problem with one shard (checksums first: an altered file is reported as such)."""
    problems = []
    for name, expected in ((entry.file, entry.sha256), (entry.docs_file, entry.docs_sha256)):
        path = folder / name
        if not path.exists():
            problems.append(f"{name}: missing")
        elif expected and file_sha256(path) != expected:
            problems.append(
                f"{name}: sha256 does not match the manifest (file altered or truncated)"
            )
    if problems:
        return problems
    try:
        tokens, offsets = open_tokens(folder, entry), open_offsets(folder, entry)
    except ValueError as err:
        return [f"{entry.file}: not a readable .npy array ({err})"]
    if (
        tokens.dtype != np.dtype(manifest["dtype"])
        or tokens.ndim != 1
        or len(tokens) != entry.tokens
    ):
        return [
            f"{entry.file}: {tokens.dtype} array of shape {tokens.shape}, "
            f"manifest says {manifest['dtype']} of {entry.tokens} tokens"
        ]
    if offsets.dtype != np.int64 or len(offsets) != entry.docs:
        return [
            f"{entry.docs_file}: {offsets.dtype} array of {len(offsets)} offsets, "
            f"manifest says int64 of {entry.docs}"
        ]
    if entry.tokens and int(tokens.max()) >= manifest["vocab_size"]:
        problems.append(
            f"{entry.file}: token id {int(tokens.max())} >= vocab size {manifest['vocab_size']}"
        )
    if entry.docs and (
        offsets[0] != 0 or np.any(np.diff(offsets) <= 0) or offsets[-1] >= entry.tokens
    ):
        problems.append(
            f"{entry.docs_file}: offsets do not start at 0 and increase within the shard"
        )
    elif entry.docs:
        eos = manifest["eos_id"]
        ends = np.append(offsets[1:] - 1, entry.tokens - 1)
        if np.any(tokens[ends] != eos):
            problems.append(f"{entry.file}: a document does not end with the EOS token {eos}")
        elif int(np.count_nonzero(tokens == eos)) != entry.docs:
            problems.append(f"{entry.file}: EOS token {eos} inside a document")
    return problems


def _document_tokens(folder: Path, entries: list[ShardEntry], index: int) -> np.ndarray:
    """The tokens (without EOS) of document ``index`` of a split, counting across its shards."""
    for entry in entries:
        if index < entry.docs:
            offsets = open_offsets(folder, entry)
            end = offsets[index + 1] if index + 1 < entry.docs else entry.tokens
            return np.asarray(open_tokens(folder, entry)[offsets[index] : end - 1])
        index -= entry.docs
    raise IndexError(index)


def _source_texts(
    source: dict, wanted: Mapping[str, Container[int]], val_fraction: float
) -> dict[tuple[str, int], str]:
    """The texts of the ``wanted`` documents (split -> indices within that split) of one input file,
    read in one pass that stops at the last of them."""
    file = CorpusFile(source["path"], source["source"], source["curated"])
    count = sum(len(indices) for indices in wanted.values())
    seen = dict.fromkeys(SPLITS, 0)
    texts: dict[tuple[str, int], str] = {}
    for doc in iter_documents(file):
        split = split_of(doc.id, val_fraction)
        if seen[split] in wanted.get(split, ()):
            texts[split, seen[split]] = doc.text
            if len(texts) == count:
                return texts
        seen[split] += 1
    raise IndexError(f"{source['path']}: has fewer documents of a split than the manifest says")


def _check_decoding(
    folder: Path, manifest: dict, samples: int, seed: int, report: VerifyReport
) -> None:
    """Decode a seeded sample of documents per split and compare each with its source text; each
    source file is read once for all of its sampled documents."""
    tokenizer = load_tokenizer(folder / manifest["tokenizer"])
    rng = random.Random(seed)
    inputs = manifest["inputs"]
    # input index -> split -> {index within that input's split: index within the whole split}
    wanted: dict[int, dict[str, dict[int, int]]] = {}
    for split in SPLITS:
        total = manifest["splits"][split]["docs"]
        for index in sorted(rng.sample(range(total), min(samples, total))):
            position = index
            for k, source in enumerate(inputs):
                if position < source["docs"][split]:
                    break
                position -= source["docs"][split]
            wanted.setdefault(k, {}).setdefault(split, {})[position] = index
    entries = {split: shard_entries(manifest, split) for split in SPLITS}
    for k, by_split in sorted(wanted.items()):
        source = inputs[k]
        if not Path(source["path"]).exists():
            sampled = sum(len(positions) for positions in by_split.values())
            report.decode_skipped.append(
                f"{source['path']}: source not found, decode check skipped "
                f"for its {sampled} sampled documents"
            )
            continue
        texts = _source_texts(source, by_split, manifest["plan"]["val_fraction"])
        for split, positions in by_split.items():
            for position, index in positions.items():
                tokens = _document_tokens(folder, entries[split], index)
                if (
                    tokenizer.decode(tokens.tolist(), skip_special_tokens=False)
                    != texts[split, position]
                ):
                    report.problems.append(
                        f"{split} document {index} ({source['source']} {split} #{position}): "
                        "decoded tokens differ from the source text"
                    )
                report.decoded += 1


def verify_shards(folder: Path, samples: int = 8, seed: int = 0) -> VerifyReport:
    """All checks over a shard folder; ``samples`` documents per split are decoded against their
    source."""
    folder = Path(folder)
    manifest = load_manifest(folder)
    report = VerifyReport()
    tokenizer_path = folder / manifest["tokenizer"]
    if not tokenizer_path.exists():
        report.problems.append(f"{manifest['tokenizer']}: missing")
    elif file_sha256(tokenizer_path) != manifest["tokenizer_sha256"]:
        report.problems.append(f"{manifest['tokenizer']}: sha256 does not match the manifest")
    for split in SPLITS:
        entries = shard_entries(manifest, split)
        expected = manifest["splits"][split]
        totals = (sum(e.tokens for e in entries), sum(e.docs for e in entries), len(entries))
        if totals != (expected["tokens"], expected["docs"], expected["shards"]):
            report.problems.append(
                f"manifest.json: {split} shards hold {totals[0]} tokens, {totals[1]} docs in "
                f"{totals[2]} shards; the split says {expected}"
            )
        for entry in entries:
            report.problems.extend(_check_shard(folder, entry, manifest))
            report.shards += 1
            report.tokens += entry.tokens
            report.docs += entry.docs
    if report.ok and samples > 0 and "inputs" in manifest:
        _check_decoding(folder, manifest, samples, seed, report)
    elif samples > 0 and "inputs" not in manifest:
        report.decode_skipped.append("manifest.json: lists no source inputs, decode check skipped")
    return report
