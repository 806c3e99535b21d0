"""Bounded, streaming samples of a step's Parquet shards: the first rows of each shard, never the
whole step.

Up to ``SAMPLE_FILES`` shards, evenly spaced, each contribute their first ``limit / shards``
rows, read in batches of only the columns needed, so the report's memory and time stay flat
however large the run is.
"""

from __future__ import annotations

import json
import math
import re
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq

from scratchlm.curate import layout
from scratchlm.curate.shards import BATCH_ROWS, done_shards

SAMPLE_ROWS = 20_000  # rows read per step, for outputs and for rejects alike
SAMPLE_FILES = 256  # shards opened per step at most, evenly spaced (a crawl has tens of thousands)
SNIPPETS_PER_REASON = 3
SNIPPET_CHARS = 400


@dataclass
class Example:
    """A dropped document as the report shows it; a duplicate names the document it repeats."""

    id: str
    text: str  # its excerpt
    numbers: dict[str, float]  # its numeric meta
    duplicate_of: str = ""  # the kept document's id (dedup steps)
    duplicate_part: str = ""  # the step's output shard holding the kept document
    lang: str = ""  # meta.lang, where a language step wrote it


def excerpt(text: str) -> str:
    """The start of a text, as the report shows it."""
    return text[:SNIPPET_CHARS] + ("…" if len(text) > SNIPPET_CHARS else "")


@dataclass
class Sample:
    """What the report keeps of some shards: lengths, numeric meta fields, languages and reject
    snippets."""

    total_rows: int = 0  # rows in the shards read from
    skipped_files: int = 0  # shards not read at all (beyond SAMPLE_FILES)
    lengths: array = field(default_factory=lambda: array("q"))  # characters per document
    numbers: dict[str, array] = field(
        default_factory=lambda: defaultdict(lambda: array("d"))
    )  # numeric meta
    langs: Counter = field(default_factory=Counter)  # meta.lang
    keys: set[str] = field(default_factory=set)  # every meta field seen
    # reason -> its first few documents
    snippets: dict[str, list[Example]] = field(default_factory=lambda: defaultdict(list))

    @property
    def rows(self) -> int:
        return len(self.lengths)

    @property
    def partial(self) -> bool:
        return self.rows < self.total_rows or self.skipped_files > 0

    def add_meta(self, meta: dict[str, Any]) -> None:
        self.keys.update(meta)
        for key, value in numeric(meta).items():
            self.numbers[key].append(value)
        if isinstance(meta.get("lang"), str):
            self.langs[meta["lang"]] += 1


def numeric(meta: dict[str, Any]) -> dict[str, float]:
    """The finite numeric fields of a document's meta."""
    return {
        key: float(value)
        for key, value in meta.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    }


def _first_batches(
    parquet: pq.ParquetFile, columns: list[str], quota: int
) -> Iterator[dict[str, Any]]:
    """Batches (as Arrow columns) of the first ``quota`` rows of one shard."""
    left = quota
    for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=columns):
        if left <= 0:
            return
        batch = batch.slice(0, left)
        left -= batch.num_rows
        yield {name: batch.column(name) for name in columns}


def spread(files: list[Path], most: int) -> list[Path]:
    """At most ``most`` of ``files``, evenly spaced, first and order kept."""
    if len(files) <= most:
        return files
    return [files[i * len(files) // most] for i in range(most)]


def sample_shards(
    files: list[Path], limit: int = SAMPLE_ROWS, most_files: int = SAMPLE_FILES
) -> Sample:
    """Sample the first rows of up to ``most_files`` shards of ``files`` (document or reject
    shards)."""
    sample = Sample()
    chosen = spread(files, most_files)
    sample.skipped_files = len(files) - len(chosen)
    if not chosen:
        return sample
    quota = math.ceil(limit / len(chosen))
    for path in chosen:
        parquet = pq.ParquetFile(path)
        sample.total_rows += parquet.metadata.num_rows
        rejects = "reason" in parquet.schema_arrow.names
        columns = ["id", "text", "meta", "reason"] if rejects else ["text", "meta"]
        for batch in _first_batches(parquet, columns, quota):
            sample.lengths.extend(pc.utf8_length(batch["text"]).to_pylist())
            for meta in batch["meta"].to_pylist():
                sample.add_meta(json.loads(meta))
            if rejects:
                _add_snippets(sample, batch)
    return sample


FETCH_FACTS = (("url", "url"), ("content_type", "content type"), ("location", "redirects to"))


def fetch_facts(reason: str, meta: dict[str, Any]) -> str:
    """What a reject without text (a redirect, an HTTP error, not HTML) is: its URL, HTTP status
    (from an ``http_NNN`` reason) and content type, where recorded."""
    facts = [f"{label}: {meta[key]}" for key, label in FETCH_FACTS[:1] if meta.get(key)]
    status = re.search(r"http_(\d{3})$", reason)
    facts += [f"status: {status.group(1)}"] if status else []
    facts += [f"{label}: {meta[key]}" for key, label in FETCH_FACTS[1:] if meta.get(key)]
    return "(no text) " + "; ".join(facts) if facts else "(no text)"


def _add_snippets(sample: Sample, batch: dict[str, Any]) -> None:
    """The first few snippets of each reason of a reject batch (the counts come from stats.json);
    a reject without text shows what was fetched instead."""
    for row, reason in enumerate(batch["reason"].to_pylist()):
        found = sample.snippets[reason]
        if len(found) < SNIPPETS_PER_REASON:
            text = batch["text"][row].as_py()
            meta = json.loads(batch["meta"][row].as_py())
            snippet = excerpt(text) if text.strip() else fetch_facts(reason, meta)
            found.append(
                Example(
                    batch["id"][row].as_py(),
                    snippet,
                    numeric(meta),
                    str(meta.get("duplicate_of", "")),
                    str(meta.get("duplicate_part", "")),
                    str(meta.get("lang", "")),
                )
            )


def find_text(shard: Path, doc_id: str) -> str | None:
    """The text of the document ``doc_id`` in one shard (the ids read a row group at a time, the
    texts of the one row group holding it), or None when the shard is missing or lacks it."""
    if not shard.is_file():
        return None
    parquet = pq.ParquetFile(shard)
    for group in range(parquet.num_row_groups):
        row = pc.index(parquet.read_row_group(group, columns=["id"]).column(0), doc_id).as_py()
        if row >= 0:
            return parquet.read_row_group(group, columns=["text"]).column(0)[row].as_py()
    return None


@dataclass
class StepSample:
    folder: str
    kept: Sample
    rejected: Sample

    @property
    def stage(self) -> str:
        """The recipe stage name: ``03_gopher_quality`` -> ``gopher_quality``."""
        return self.folder.split("_", 1)[1] if "_" in self.folder else self.folder


def kept_sample_rows(index: int, shards: int) -> int:
    """How many of its first kept documents shard ``index`` of ``shards`` keeps for the report where
    its step writes no full output: what ``sample_shards`` reads of it (0 for a shard it skips)."""
    most = min(shards, SAMPLE_FILES)
    step = -(
        -index * most // shards
    )  # the first of spread's picks i * shards // most at or after index
    return math.ceil(SAMPLE_ROWS / most) if step < most and step * shards // most == index else 0


def _kept_sample(step_dir: Path, limit: int) -> Sample:
    """The sample of a step that kept no full output: from the first kept documents the runner
    wrote of some shards (``kept-sample/``), its totals from the shards' ``.done`` counts."""
    files = sorted((step_dir / layout.KEPT_SAMPLE).glob(layout.SHARDS))
    sample = sample_shards(files, limit)
    finished = sorted(step_dir.glob(layout.DONE_MARKERS))
    sample.total_rows = sum(json.loads(p.read_text(encoding="utf-8"))["docs_out"] for p in finished)
    sample.skipped_files = len(finished) - len(files)
    return sample


def sample_step(step_dir: Path, limit: int = SAMPLE_ROWS) -> StepSample:
    """Samples of a step's output shards (or, where it kept none, of its kept sample) and of its
    rejects."""
    shards = done_shards(step_dir)
    kept = sample_shards(shards, limit) if shards else _kept_sample(step_dir, limit)
    rejected = sample_shards(sorted((step_dir / layout.REJECTS).glob(layout.SHARDS)), limit)
    return StepSample(step_dir.name, kept, rejected)
