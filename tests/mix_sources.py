"""Test helper: source shard folders of real text (Brown, King James), one tokenizer for all."""

from __future__ import annotations

from pathlib import Path

from tests.train_shards import read_texts, train_bpe, write_shards

PROSE = Path(__file__).parent / "data" / "prose"


def pieces(texts: list[str], sizes: tuple[int, ...] = (150, 400, 250, 700, 320)) -> list[str]:
    """The texts cut at spaces into documents of varied lengths (many short documents)."""
    out: list[str] = []
    for text in texts:
        start = 0
        while start < len(text):
            end = text.find(" ", start + sizes[len(out) % len(sizes)])
            end = len(text) if end < 0 else end
            out.append(text[start:end].strip() or ".")
            start = end
    return out


def source_folders(root: Path, shard_tokens: int = 4_000, scale: int = 1) -> dict[str, Path]:
    """``brown`` (the larger) and ``kjv`` shard folders, several train shards each, the last
    three documents of each as ``val``; ``scale`` times more text."""
    texts = {
        "brown": pieces(read_texts(PROSE / "brown.jsonl.gz", 60_000 * scale)),
        "kjv": pieces(read_texts(PROSE / "kjv.jsonl.gz", 20_000 * scale))[: 60 * scale],
    }
    tok = train_bpe([t for ts in texts.values() for t in ts], 400)
    return {
        name: write_shards(root / name, tok, {"train": ts[:-3], "val": ts[-3:]}, shard_tokens)
        for name, ts in texts.items()
    }
