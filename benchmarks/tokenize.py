"""BPE training, sharding and every candidate encoder against HF ``tokenizers``, on 1 and 2 cores.

    .venv/bin/python -m benchmarks.tokenize --mb 50 --vocab 32768 --cores 1 2

Corpus: the real text at hand (Brown, KJV and Shakespeare prose from tests/data, the
langid fortunes, and the visible text of every HTML page in the sample WARC, extracted with
resiliparse), repeated with variation until it reaches ``--mb``: copy k > 0 of a document has
its paragraphs in an order shuffled with seed k, so the words repeat but not the documents.
It is written as a curated step folder (8 zstd Parquet shards with ``.done`` markers).

Each measurement runs in a fresh process pinned to the first N cores (``sched_setaffinity``,
``RAYON_NUM_THREADS=N``) and reports seconds and its peak RSS (children included):

* ``train-ours``: ``tokenizer.train.train_to_folder`` streaming from the Parquet shards;
* ``train-direct``: ``Tokenizer.train_from_iterator`` on all texts held in one Python list
  (loading the list is not timed, its memory is counted);
* ``shard-procs`` / ``shard-threads``: ``tokenizer.sharding.shard_corpus`` with N worker
  processes or in one process with N encoder threads, with the encoder it picks (fastokens);
  ``shard-tokenizers``: the same as ``shard-threads`` with ``encoder: tokenizers`` (the path
  before the fast encoder, and the reference the others' shard bytes are compared with);
* ``encode-direct`` / ``encode-fast-direct``: ``Tokenizer.encode_batch`` / ``encode_batch_fast``
  (no offsets; what ``encoder: tokenizers`` calls) on the same texts in memory, 512 per call;
  ``encode-fast-direct`` is the reference for the ids of the other encoders:
* ``encode-fastokens``: ``tokenizer.encoders.FastokensEncoder`` on N threads (what sharding
  calls: ``encode_batch_flat`` on one document at a time); ``encode-tokie``:
  ``tokie.Tokenizer.encode_batch``; both load our ``tokenizer.json``; ``encode-tiktoken``:
  ``tiktoken.Encoding.encode_ordinary_batch`` (N threads) with the ranks and pattern converted
  from it (``tiktoken_encoding``);
* ``didactic``: the pure-Python BPE trained on the first 1 MB, against the fast one.

A row's "ids" column says whether its output equals the reference on every document: a SHA-256
over each document's ids (and their count) for the encoders, the shards' SHA-256s for the shard
runs; "code points" the same for the encoders on ``tokenizer_samples.code_point_texts`` (every
code point of planes 0-3 and 14 beside letters, digits and spaces: 6.5 MB, not timed).
Not measured: ``rs-bpe`` (0.1.0) builds only OpenAI's cl100k and o200k, with no constructor for
another vocabulary; ``bpeasy`` (0.1.6) trains, and encodes through a ``tiktoken.Encoding`` (the
``encode-tiktoken`` row).
"""

from __future__ import annotations

import sys
from pathlib import Path

if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)  # this file is tokenize.py: keep it from shadowing the standard library module

import argparse
import gzip
import hashlib
import json
import os
import random
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib.util import find_spec
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
PARTS = 8
KINDS = (
    "train-ours",
    "train-direct",
    "shard-tokenizers",
    "shard-procs",
    "shard-threads",
    "encode-direct",
    "encode-fast-direct",
    "encode-fastokens",
    "encode-tokie",
    "encode-tiktoken",
)
DIRECT = {
    "train-ours": "train-direct",
    "shard-procs": "shard-tokenizers",
    "shard-threads": "shard-tokenizers",
    "shard-tokenizers": "encode-fast-direct",
    "encode-fastokens": "encode-fast-direct",
    "encode-tokie": "encode-fast-direct",
    "encode-tiktoken": "encode-fast-direct",
}
CANDIDATES = {
    "encode-fastokens": "fastokens",
    "encode-tokie": "tokie",
    "encode-tiktoken": "tiktoken",
}
REFERENCE = {"shard": "shard-tokenizers", "encode": "encode-fast-direct"}
# GPT-2's split regex as tiktoken's r50k writes it (HF's ByteLevel lists the contractions apart)
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


def data_file(name: str) -> Path:
    """The shipped file ``name``, in any folder of tests/data."""
    found = sorted(DATA.rglob(name))
    if not found:
        raise SystemExit(f"{name}: not found under {DATA}")
    return found[0]


def real_documents() -> list[tuple[str, str]]:
    """(id, text) of every real document at hand."""
    from resiliparse.extract.html2text import extract_plain_text
    from warcio.archiveiterator import ArchiveIterator

    docs = []
    for name in ("brown", "kjv", "shakespeare"):
        with gzip.open(data_file(f"{name}.jsonl.gz"), "rt") as prose:
            docs += [(f"{name}/{i}", json.loads(line)["text"]) for i, line in enumerate(prose)]
    with gzip.open(data_file("langid-dev.jsonl.gz"), "rt") as langid:
        docs += [(f"langid/{i}", json.loads(line)["text"]) for i, line in enumerate(langid)]
    with open(data_file("web-sample.warc.gz"), "rb") as stream:
        for i, record in enumerate(ArchiveIterator(stream)):
            if record.rec_type != "response" or "html" not in (
                record.http_headers.get_header("Content-Type") or ""
            ):
                continue
            text = extract_plain_text(
                record.content_stream().read().decode("utf-8", errors="replace")
            )
            if text.strip():
                docs.append((f"warc/{i}", text))
    return docs


def varied(text: str, copy: int) -> str:
    """Copy ``copy`` of a document: the same paragraphs in a seeded order (copy 0 is the
    original)."""
    if copy == 0:
        return text
    paragraphs = text.split("\n\n") if "\n\n" in text else text.split("\n")
    random.Random(copy).shuffle(paragraphs)
    return "\n\n".join(paragraphs)


def build_corpus(folder: Path, megabytes: float) -> dict:
    """Write the curated step folder once; its description is kept in ``corpus.json``."""
    info_path = folder / "corpus.json"
    if info_path.exists():
        info = json.loads(info_path.read_text())
        if info["target_mb"] == megabytes:
            return info
    from scratchlm.curate.document import Document
    from scratchlm.curate.writer import ShardWriter, write_atomic

    docs = real_documents()
    unique = sum(len(t.encode()) for _, t in docs)
    target = int(megabytes * 1e6)
    writers = [ShardWriter(folder / f"part-{p:05d}.parquet") for p in range(PARTS)]
    written, count, copy = 0, 0, 0
    while written < target:
        for doc_id, text in docs:
            text = varied(text, copy)
            writers[count % PARTS].write(Document(f"{doc_id}/copy{copy}", text, {}))
            written += len(text.encode())
            count += 1
            if written >= target:
                break
        copy += 1
    for p, writer in enumerate(writers):
        writer.close()
        write_atomic(folder / f"part-{p:05d}.done", "{}")
    info = {
        "target_mb": megabytes,
        "bytes": written,
        "docs": count,
        "unique_bytes": unique,
        "unique_docs": len(docs),
        "copies": copy,
    }
    write_atomic(info_path, json.dumps(info))
    return info


def load_texts(folder: Path) -> list[str]:
    from scratchlm.tokenizer.corpus import corpus_files, corpus_texts

    return list(corpus_texts(corpus_files([str(folder)])))


def usage() -> tuple[float, float]:
    """CPU seconds so far and peak RSS in MiB, of this process and its finished children."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    return cpu, max(own.ru_maxrss, children.ru_maxrss) / 1024


def measure(kind: str, cores: int, corpus: Path, work: Path, vocab: int) -> dict:
    """One measurement, in this (fresh, pinned) process."""
    from tokenizers import pre_tokenizers, trainers

    from scratchlm.pipelines.executors.local import LocalExecutor
    from scratchlm.tokenizer.config import BpeConfig, ShardConfig
    from scratchlm.tokenizer.corpus import corpus_files
    from scratchlm.tokenizer.sharding import shard_corpus
    from scratchlm.tokenizer.train import new_byte_level_bpe, train_to_folder

    config = BpeConfig(vocab_size=vocab)
    tokenizer_path = work / "tokenizer" / "tokenizer.json"
    result: dict = {"kind": kind, "cores": cores}

    @contextmanager
    def timed() -> Iterator[None]:
        cpu, wall = usage()[0], time.perf_counter()
        yield
        result["seconds"], result["cpu_seconds"] = time.perf_counter() - wall, usage()[0] - cpu

    if kind == "train-ours":
        with timed():
            train_to_folder(corpus_files([str(corpus)]), config, work / f"tok-{cores}")
        if not tokenizer_path.exists():
            tokenizer_path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(work / f"tok-{cores}" / "tokenizer.json", tokenizer_path)
    elif kind == "train-direct":
        texts = load_texts(corpus)
        tokenizer = new_byte_level_bpe()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab,
            min_frequency=config.min_frequency,
            special_tokens=list(config.special_tokens),
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        with timed():
            tokenizer.train_from_iterator(texts, trainer)
    elif kind.startswith("shard-"):
        output = work / f"{kind}-{cores}"
        shutil.rmtree(output, ignore_errors=True)
        shard_config = ShardConfig(
            parallel="processes" if kind == "shard-procs" else "threads",
            encoder="tokenizers" if kind == "shard-tokenizers" else "auto",
        )
        with timed():
            manifest = shard_corpus(
                corpus_files([str(corpus)]),
                tokenizer_path,
                output,
                shard_config,
                LocalExecutor(cores),
                log=lambda *_: None,
            )
        result["tokens"] = sum(s["tokens"] for s in manifest["splits"].values())
        result["bytes"] = sum(i["bytes"] for i in manifest["inputs"])
        result["encoders"] = manifest["encoders"]
        shard_hashes = " ".join(e["sha256"] for e in manifest["shards"])
        result["ids_sha256"] = hashlib.sha256(shard_hashes.encode()).hexdigest()
    elif kind.startswith("encode-"):
        texts, call = load_texts(corpus), encoder_call(kind, tokenizer_path, cores)
        result.update(encode_all(call, texts))
        result["bytes"] = sum(len(t.encode()) for t in texts)
        result["peak_rss_mb"] = usage()[1]
        result["code_points_sha256"] = encode_all(call, code_point_texts())["ids_sha256"]
    result.setdefault("peak_rss_mb", usage()[1])
    return result


EncodeBatch = Callable[[list[str]], Sequence[Sequence[int]]]


def code_point_texts() -> list[str]:
    sys.path.insert(0, str(REPO / "tests"))
    from tokenizer_samples import code_point_texts as texts

    return texts()


def encoder_call(kind: str, tokenizer_path: Path, cores: int) -> EncodeBatch:
    """Texts to per-document ids, as encoder ``kind`` does it on ``cores`` threads."""
    from scratchlm.tokenizer.encoders import FastokensEncoder
    from scratchlm.tokenizer.files import load_tokenizer

    if kind in ("encode-direct", "encode-fast-direct"):
        tokenizer = load_tokenizer(tokenizer_path)  # a literal <|endoftext|> is text, as in shards
        fast = kind == "encode-fast-direct"
        encode = tokenizer.encode_batch_fast if fast else tokenizer.encode_batch
        return lambda texts: [e.ids for e in encode(texts, add_special_tokens=False)]
    if kind == "encode-fastokens":
        return FastokensEncoder(tokenizer_path, cores).encode_batch
    if kind == "encode-tokie":
        import tokie

        tokenizer = tokie.Tokenizer.from_json(str(tokenizer_path))
        return lambda texts: [e.ids for e in tokenizer.encode_batch(texts, False)]
    encoding = tiktoken_encoding(tokenizer_path)
    return lambda texts: encoding.encode_ordinary_batch(texts, num_threads=cores)


def tiktoken_encoding(tokenizer_path: Path) -> Any:
    """A ``tiktoken.Encoding`` of our byte-level BPE: every byte and every merge's result ranked by
    its id (ids grow in merge order, which tiktoken's lowest-rank-first merging needs), GPT-2's
    split pattern. Tokens no merge makes (``<|endoftext|>``) are left out: HF never outputs them."""
    import tiktoken

    from scratchlm.tokenizer.didactic import CHAR_TO_BYTE

    model = json.loads(tokenizer_path.read_text(encoding="utf-8"))["model"]
    vocab = model["vocab"]
    ranks = {bytes([byte]): vocab[char] for char, byte in CHAR_TO_BYTE.items()}
    for merge in model["merges"]:
        left, right = merge.split(" ") if isinstance(merge, str) else merge
        ranks[bytes(CHAR_TO_BYTE[c] for c in left + right)] = vocab[left + right]
    return tiktoken.Encoding(
        "scratchlm", pat_str=GPT2_PATTERN, mergeable_ranks=ranks, special_tokens={}
    )


def encode_all(encode: EncodeBatch, texts: list[str]) -> dict:
    """Encode ``texts`` 512 a call; seconds and CPU seconds count the calls alone, not the SHA-256
    of each document's ids (and their count) taken after each call."""
    digest, tokens, seconds, cpu = hashlib.sha256(), 0, 0.0, 0.0
    for start in range(0, len(texts), 512):
        cpu_before, wall_before = usage()[0], time.perf_counter()
        batch = encode(texts[start : start + 512])
        seconds, cpu = seconds + time.perf_counter() - wall_before, cpu + usage()[0] - cpu_before
        for ids in batch:
            array = np.asarray(ids, np.uint32)
            digest.update(len(array).to_bytes(8, "little") + array.tobytes())
            tokens += len(array)
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "tokens": tokens,
        "ids_sha256": digest.hexdigest(),
    }


def run_pinned(kind: str, cores: int, args: argparse.Namespace) -> dict:
    env = {**os.environ, "RAYON_NUM_THREADS": str(cores), "TOKENIZERS_PARALLELISM": "true"}
    command = [
        sys.executable,
        __file__,
        "--measure",
        kind,
        "--cores",
        str(cores),
        "--work",
        str(args.work),
        "--vocab",
        str(args.vocab),
        "--mb",
        str(args.mb),
    ]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True, cwd=REPO)
    return json.loads(out.stdout.strip().splitlines()[-1])


def didactic_contrast(corpus: Path, vocab: int) -> dict:
    from scratchlm.tokenizer.config import BpeConfig
    from scratchlm.tokenizer.corpus import corpus_files, corpus_texts
    from scratchlm.tokenizer.didactic import DidacticBPE
    from scratchlm.tokenizer.train import train_bpe

    texts, size = [], 0
    for text in corpus_texts(corpus_files([str(corpus)])):  # streamed: only the first 1 MB is read
        texts.append(text[: 1_000_000 - size])
        size += len(texts[-1])
        if size >= 1_000_000:
            break
    started = time.perf_counter()
    slow = DidacticBPE.train(texts, vocab)
    slow_seconds = time.perf_counter() - started
    started = time.perf_counter()
    fast = train_bpe(texts, BpeConfig(vocab_size=vocab))
    fast_seconds = time.perf_counter() - started
    nbytes = sum(len(t.encode()) for t in texts)
    return {
        "bytes": nbytes,
        "vocab": vocab,
        "didactic_s": slow_seconds,
        "fast_s": fast_seconds,
        "didactic_bpt": nbytes / sum(len(slow.encode(t)) for t in texts),
        "fast_bpt": nbytes / sum(len(e.ids) for e in fast.encode_batch(texts)),
    }


def same_ids(row: dict, best: dict[tuple[str, int], dict], key: str = "ids_sha256") -> str:
    """Whether ``row``'s ids (``key``) equal its reference row's on every document ("ref": it
    is the reference)."""
    reference = REFERENCE.get(row["kind"].split("-")[0])
    if key not in row or reference is None:
        return ""
    if row["kind"] == reference:
        return "ref"
    found = best.get((reference, row["cores"]))
    found = found or next((r for (k, _), r in best.items() if k == reference), None)
    return "?" if found is None else "same" if found[key] == row[key] else "DIFF"


def versus(row: dict, direct: dict | None) -> str:
    if direct is None:
        return ""
    wall, cpu = row["seconds"] / direct["seconds"], row["cpu_seconds"] / direct["cpu_seconds"]
    if row["kind"].startswith("train"):
        return f"{wall:.2f}x, {cpu:.2f}x time"
    return f"{100 / wall:.0f}%, {100 / cpu:.0f}% throughput ({direct['kind']})"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mb", type=float, default=50.0, help="corpus size in MB (default 50)")
    parser.add_argument("--vocab", type=int, default=32768, help="vocabulary size (default 32768)")
    parser.add_argument(
        "--cores", type=int, nargs="+", default=[1, 2], help="core counts (default 1 2)"
    )
    parser.add_argument(
        "--didactic-vocab", type=int, default=2048, help="vocabulary of the 1 MB contrast (0: skip)"
    )
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "scratchlm-bench-tokenize"
    )
    parser.add_argument(
        "--repeat", type=int, default=2, help="rounds; the fastest run of each is kept"
    )
    parser.add_argument(
        "--kinds", nargs="+", choices=KINDS, default=list(KINDS), help="measurements to run"
    )
    parser.add_argument("--measure", choices=KINDS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    corpus = args.work / "corpus"
    if args.measure:
        cores = args.cores[0]
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:cores]))
        print(json.dumps(measure(args.measure, cores, corpus, args.work, args.vocab)))
        return
    corpus.mkdir(parents=True, exist_ok=True)
    info = build_corpus(corpus, args.mb)
    print(
        f"corpus: {info['bytes'] / 1e6:.1f} MB in {info['docs']:,} documents from "
        f"{info['unique_bytes'] / 1e6:.1f} MB "
        f"of unique real text ({info['unique_docs']:,} documents) in {info['copies']} varied copies"
    )
    for kind, module in CANDIDATES.items():
        if kind in args.kinds and find_spec(module) is None:
            print(f"{kind}: {module} is not installed, not measured")
            args.kinds.remove(kind)
    best: dict[tuple[str, int], dict] = {}
    for _ in range(
        args.repeat
    ):  # rounds interleave ours and direct, so both see the same machine load
        for cores in args.cores:
            for kind in args.kinds:
                row = run_pinned(kind, cores, args)
                print(json.dumps(row), file=sys.stderr)
                if (kind, cores) not in best or row["seconds"] < best[kind, cores]["seconds"]:
                    best[kind, cores] = row
    rows = list(best.values())
    print(f"\nbest of {args.repeat} rounds")
    print(
        f"{'measurement':<18} {'cores':>5} {'seconds':>8} "
        f"{'CPU s':>6} {'peak RSS MB':>11} {'MB/s':>6} "
        f"{'Mtok/s':>7} {'ids':>5} {'code points':>11}  vs DIRECT row (wall, CPU)"
    )
    for row in rows:
        direct = best.get((DIRECT.get(row["kind"], ""), row["cores"]))
        rate = (
            (
                f"{row['bytes'] / 1e6 / row['seconds']:6.2f} "
                f"{row['tokens'] / 1e6 / row['seconds']:7.3f}"
            )
            if "bytes" in row
            else f"{'':6} {'':7}"
        )
        print(
            f"{row['kind']:<18} {row['cores']:>5} {row['seconds']:8.1f} {row['cpu_seconds']:6.1f} "
            f"{row['peak_rss_mb']:11.0f} {rate} {same_ids(row, best):>5} "
            f"{same_ids(row, best, 'code_points_sha256'):>11}  {versus(row, direct)}"
        )
    for row in rows:
        if "encoders" in row:
            encoders = ", ".join(row["encoders"])
            print(f"{row['kind']} on {row['cores']} cores encoded with {encoders}")
    if args.didactic_vocab <= 0:
        return
    contrast = didactic_contrast(corpus, args.didactic_vocab)
    print(
        f"\ndidactic BPE on {contrast['bytes'] / 1e6:.2f} MB, vocab {contrast['vocab']}: "
        f"{contrast['didactic_s']:.1f} s ({contrast['didactic_bpt']:.3f} bytes/token) vs fast "
        f"{contrast['fast_s']:.2f} s ({contrast['fast_bpt']:.3f} bytes/token)"
    )


if __name__ == "__main__":
    main()
