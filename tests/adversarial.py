"""Hostile text for the tests and for ``benchmarks/text_worst_case.py``: each family makes a text of
about ``n`` characters of one kind that web crawls hold and that naive text code handles badly."""

from __future__ import annotations

import functools
import gzip
import html
import json
import resource
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

from scratchlm.curate.document import Document
from scratchlm.curate.stage import GlobalStage
from scratchlm.pipelines.executors.local import LocalExecutor


def _repeat(unit: str, n: int) -> str:
    return (unit * (n // len(unit) + 1))[:n]


def _glued_run(char: str) -> Callable[[int], str]:
    """A run of one character glued between two words (``word.....word``)."""
    return lambda n: "word" + char * n + "word"


FAMILIES: dict[str, Callable[[int], str]] = {
    "prose": lambda n: _repeat("\n\n".join(_brown(500)), n),  # real prose: the Brown samples
    "dot_leader": lambda n: "ext/Socket/socketpair.t" + "." * n + "FAILED tests 15-45",
    **{
        f"run_{name}": _glued_run(char)
        for name, char in [
            ("dash", "-"),
            ("comma", ","),
            ("apostrophe", "'"),
            ("slash", "/"),
            ("colon", ":"),
            ("equals", "="),
            ("underscore", "_"),
            ("at", "@"),
            ("bracket", "["),
            ("star", "*"),
            ("letter", "x"),
            ("digit", "7"),
            ("space", " "),
            ("newline", "\n"),
            ("tab", "\t"),
        ]
    },
    "megabyte_token": lambda n: _repeat("abcdefghijklmnopqrstuvwxyz0123456789", n),
    "dotted_numbers": lambda n: _repeat("1.", n),
    "hex_colons": lambda n: _repeat("a:", n),
    "at_signs": lambda n: _repeat("a@", n),
    "email_like": lambda n: "x@" + _repeat("a.", n) + "1",
    "digit_groups": lambda n: _repeat("0 12 ", n),
    "plus_digits": lambda n: _repeat(
        " +123456789012345678901234567890", n
    ),  # too long for a phone number
    "url_dots": lambda n: "www." + "." * n + "x",
    "url_path": lambda n: "http://" + _repeat("a/", n),
    "short_lines": lambda n: _repeat("ab\n", n),
    "repeated_word": lambda n: _repeat("the ", n),
    "mixed_punctuation": lambda n: _repeat("a.,;:!?-'/\"()[]", n),
    "combining_marks": lambda n: "a" + "\u0301" * n + "b",
    "mark_inversions": lambda n: (
        "a" + _repeat("\u0301\u0316", n) + "b"
    ),  # marks out of canonical order
    "lone_surrogates": lambda n: _repeat("ab\ud800c\udfff ", n),
    "control_chars": lambda n: _repeat("a\x00b\x01\x7f\x1b[0m ", n),
    "cjk_run": lambda n: _repeat("我们来回顾一下现代", n),
}


DATA = Path(__file__).resolve().parent / "data"


@functools.cache
def _brown(count: int) -> tuple[str, ...]:
    with gzip.open(DATA / "prose" / "brown.jsonl.gz", "rt", encoding="utf-8") as lines:
        return tuple(json.loads(line)["text"] for line, _ in zip(lines, range(count)))


def hostile_text(family: str, n: int) -> str:
    """A text of ``family`` as a run hands it to its stages: cleaned by ``curate.text.clean``."""
    from scratchlm.curate.text.clean import clean_text

    return clean_text(FAMILIES[family](n))[0]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def best_cpu(fn: Callable[[], object], repeats: int = 3) -> float:
    """The least CPU time of ``repeats`` calls of ``fn``."""
    best = float("inf")
    for _ in range(repeats):
        start = cpu_seconds()
        fn()
        best = min(best, cpu_seconds() - start)
    return best


FAST_ENOUGH_S = 0.02  # a call on the large text this quick is linear enough whatever the ratio


def grows_linearly(
    fn: Callable[[str], object], family: str | Callable[[int], str], n: int = 50_000
) -> bool:
    """Whether ``fn``'s CPU time on 4n characters of ``family`` (a name of ``FAMILIES``, or a
    function of n giving the text) is under 8 times its time on n (4 when linear, 16 when
    quadratic); a call that fast is accepted whatever the ratio."""
    make = family if callable(family) else functools.partial(hostile_text, family)
    small, large = make(n), make(4 * n)
    large_s = best_cpu(lambda: fn(large))
    return large_s < FAST_ENOUGH_S or large_s < 8 * best_cpu(lambda: fn(small))


def text_functions(workdir: Path) -> dict[str, Callable[[str], object]]:
    """Every piece of curation code that reads document text, as a function of one text: the map
    stages with their defaults (decontamination against an item cut from Brown prose, a quality
    classifier trained on Brown against a few hostile texts), dedup's hashing, the HTML extractor.
    Give them text as a run does, cleaned (``hostile_text``); ``text_clean`` is that cleaning."""
    from scratchlm.curate.dedup.normalize import Normalization
    from scratchlm.curate.dedup.signatures import permutations, signature_batch, text_hash_batch
    from scratchlm.curate.extract import WebOptions, page_text
    from scratchlm.curate.stages import stage_class
    from scratchlm.curate.text.classifier import TrainOptions, train
    from scratchlm.curate.text.clean import clean_text

    workdir.mkdir(parents=True, exist_ok=True)
    words = _brown(1)[0].split()
    items = workdir / "hellaswag_val.jsonl"
    items.write_text(
        json.dumps(
            {"ctx": " ".join(words[:25]), "endings": [" ".join(words[25:40]), "no."], "label": 0}
        )
        + "\n",
        encoding="utf-8",
    )
    model = workdir / "quality.bin"
    if not model.exists():
        hostile = [clean_text(make(2000))[0] for make in FAMILIES.values()]
        train(list(_brown(40)), hostile * 2, model, TrainOptions(epoch=5, dim=16, bucket=10_000))
    options = {
        "decontaminate": {"eval_files": (str(items),)},
        "quality_classifier": {"model": str(model)},
    }
    stages = {
        name: _map_stage(stage_class(name)(**options.get(name, {})), workdir / name)
        for name in TEXT_STAGES
    }
    functions: dict[str, Callable[[str], object]] = {
        name: (lambda text, stage=stage: stage(Document("d", text, {"source": "s"})))
        for name, stage in stages.items()
    }
    # the URL filter reads meta.url, not the text: the hostile text is the URL (after a scheme
    # and host)
    url_filter = stages["url_filter"]
    functions["url_filter"] = lambda text: url_filter(
        Document("d", "", {"url": f"http://example.com/{text}"})
    )
    norm, perms = Normalization(), permutations(112, 1)
    functions["minhash_signature"] = lambda text: signature_batch(pa.array([text]), norm, 5, perms)
    functions["exact_hash"] = lambda text: text_hash_batch(pa.array([text]), norm)
    web = WebOptions()
    functions["html_extraction"] = lambda text: page_text(
        f"<html><body><p>{html.escape(text)}</p></body></html>", web
    )
    functions["text_clean"] = clean_text  # what every document goes through once, as it is read
    functions["fused_chain"] = lambda text: _chain(
        list(stages.values()), Document("d", text, {"source": "s"})
    )
    return functions


def _map_stage(stage: object, workdir: Path) -> Callable[[Document], object]:
    """What a run calls per document: a global stage's map stage after its ``prepare``."""
    return stage.prepare([], workdir, LocalExecutor(1)) if isinstance(stage, GlobalStage) else stage


def _chain(stages: list[Callable[[Document], object]], doc: Document) -> object:
    """Every stage on one document in turn, as a fused segment runs them: the splits of
    ``curate.text.analysis`` are shared between stages, and a transform's output goes on."""
    result: object = None
    for stage in stages:
        result = stage(doc)
        if isinstance(result, Document):
            doc = result
    return result


# the map stages that read document text (perplexity needs a trained model: its text work is the
# tokenizer's, which is HF tokenizers' Rust code)
TEXT_STAGES: tuple[str, ...] = (
    "language",
    "gopher_repetition",
    "gopher_quality",
    "c4_quality",
    "c4_badwords",
    "fineweb_quality",
    "pii",
    "url_filter",
    "decontaminate",
    "quality_classifier",
)
