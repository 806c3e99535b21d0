"""A fastText quality classifier (the DCLM recipe: reference text against random web text).

Training and scoring share ``normalize`` so that the model sees the same text both times.
Training needs the fastText training bindings (the ``fasttext-community`` distribution); scoring
works with any ``fasttext`` module that can load a model.
"""

from __future__ import annotations

import random
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from scratchlm.curate.atomic import AtomicPath
from scratchlm.curate.errors import ConfigError

POSITIVE = "__label__hq"
NEGATIVE = "__label__cc"
_SPACES = re.compile(r"\s+")
_PUNCT = re.compile(r"([^\w\s])")


def normalize(text: str) -> str:
    """Lower case, punctuation split from words, all whitespace one space (one line per text).
    Worst case: O(n) (two patterns of single-character matches, one pass each)."""
    return _SPACES.sub(" ", _PUNCT.sub(r" \1 ", text.lower())).strip()


@dataclass(frozen=True)
class TrainOptions:
    epoch: int = 20  # one update per document: small training sets need many epochs
    lr: float = 0.2
    dim: int = 64
    word_ngrams: int = 2
    bucket: int = 200_000  # hash buckets of word n-grams: the model holds bucket x dim floats
    min_count: int = 2
    valid_fraction: float = 0.1
    seed: int = 0


def train(
    positive: Iterable[str], negative: Iterable[str], output: Path, options: TrainOptions
) -> dict[str, float]:
    """Train on the two text streams, save the model to ``output`` (written then renamed) and
    return counts and the precision on a held-out share of both classes.
    Worst case: O(total characters) to normalise, then fastText's epochs over the tokens."""
    import fasttext

    if not hasattr(fasttext, "train_supervised"):
        raise ConfigError(
            "training needs fastText's training bindings: "
            "pip install --force-reinstall fasttext-community"
        )
    rng = random.Random(options.seed)
    lines = [f"{POSITIVE} {t}" for t in map(normalize, positive) if t]
    n_pos = len(lines)
    lines += [f"{NEGATIVE} {t}" for t in map(normalize, negative) if t]
    n_neg = len(lines) - n_pos
    if not n_pos or not n_neg:
        raise ConfigError(
            f"training needs texts of both classes (positive: {n_pos}, negative: {n_neg})"
        )
    rng.shuffle(lines)
    n_valid = int(len(lines) * options.valid_fraction)
    valid, training = lines[:n_valid], lines[n_valid:]
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output.parent) as tmp:
        train_file = Path(tmp) / "train.txt"
        train_file.write_text("\n".join(training) + "\n", encoding="utf-8")
        try:
            model = fasttext.train_supervised(
                input=str(train_file),
                epoch=options.epoch,
                lr=options.lr,
                dim=options.dim,
                wordNgrams=options.word_ngrams,
                bucket=options.bucket,
                minCount=options.min_count,
                thread=1,
                seed=options.seed,
                verbose=0,
            )
        except RuntimeError as err:  # fastText diverged ("Encountered NaN")
            raise ConfigError(
                f"fastText training failed: {err} (try a lower --lr or a larger --dim)"
            ) from None
        with AtomicPath(output) as partial:
            model.save_model(str(partial))
    report = {"positive": n_pos, "negative": n_neg, "train": len(training), "valid": len(valid)}
    if valid:
        labels, _ = model.predict([line.split(" ", 1)[1] for line in valid], k=1)
        correct = sum(pred[0] == line.split(" ", 1)[0] for pred, line in zip(labels, valid))
        report["valid_accuracy"] = correct / len(valid)
    return report


def positive_scores(model, texts: list[str]) -> list[float]:
    """The probability of the positive label for each text. Worst case: O(n) per text
    (``normalize``, then fastText's hashing of word and character n-grams, both linear)."""
    labels, probs = model.predict([normalize(t) for t in texts], k=2)
    scores = []
    for names, values in zip(labels, probs):
        by_label = dict(zip(names, values))
        scores.append(min(1.0, float(by_label.get(POSITIVE, 0.0))))
    return scores
