"""Hostile text for the tests and for ``benchmarks/text_worst_case.py``: each family makes a text of
about ``n`` characters of one kind that web crawls hold and that naive text code handles badly."""
from __future__ import annotations

import resource
from collections.abc import Callable

PROSE = ("The quick brown fox jumps over the lazy dog, and the dog, e.g. Mr. Smith's, doesn't mind. "
         "See https://example.com/a?b=1 or write to jane.doe@example.org before 12.05.2024!\n\n")


def _repeat(unit: str, n: int) -> str:
    return (unit * (n // len(unit) + 1))[:n]


def _glued_run(char: str) -> Callable[[int], str]:
    """A run of one character glued between two words (``word.....word``)."""
    return lambda n: "word" + char * n + "word"


FAMILIES: dict[str, Callable[[int], str]] = {
    "prose": lambda n: _repeat(PROSE, n),
    "dot_leader": lambda n: "ext/Socket/socketpair.t" + "." * n + "FAILED tests 15-45",
    **{f"run_{name}": _glued_run(char) for name, char in [
        ("dash", "-"), ("comma", ","), ("apostrophe", "'"), ("slash", "/"), ("colon", ":"),
        ("equals", "="), ("underscore", "_"), ("at", "@"), ("bracket", "["), ("star", "*"),
        ("letter", "x"), ("digit", "7"), ("space", " "), ("newline", "\n"), ("tab", "\t"),
    ]},
    "megabyte_token": lambda n: _repeat("abcdefghijklmnopqrstuvwxyz0123456789", n),
    "dotted_numbers": lambda n: _repeat("1.", n),
    "hex_colons": lambda n: _repeat("a:", n),
    "at_signs": lambda n: _repeat("a@", n),
    "email_like": lambda n: "x@" + _repeat("a.", n) + "1",
    "digit_groups": lambda n: _repeat("0 12 ", n),
    "url_dots": lambda n: "www." + "." * n + "x",
    "url_path": lambda n: "http://" + _repeat("a/", n),
    "short_lines": lambda n: _repeat("ab\n", n),
    "repeated_word": lambda n: _repeat("the ", n),
    "mixed_punctuation": lambda n: _repeat("a.,;:!?-'/\"()[]", n),
    "combining_marks": lambda n: "a" + "\u0301" * n + "b",
    "lone_surrogates": lambda n: _repeat("ab\ud800c\udfff ", n),
    "control_chars": lambda n: _repeat("a\x00b\x01\x7f\x1b[0m ", n),
    "cjk_run": lambda n: _repeat("我们来回顾一下现代", n),
}


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


def grows_linearly(fn: Callable[[str], object], family: str, n: int = 50_000) -> bool:
    """Whether ``fn``'s CPU time on 4n characters of ``family`` is under 8 times its time on n
    (4 when linear, 16 when quadratic); a call that fast is accepted whatever the ratio."""
    make = FAMILIES[family]
    small, large = make(n), make(4 * n)
    large_s = best_cpu(lambda: fn(large))
    return large_s < FAST_ENOUGH_S or large_s < 8 * best_cpu(lambda: fn(small))
