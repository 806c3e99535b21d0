"""Each piece of curation code that reads document text, on prose and on each hostile family.

    .venv/bin/python -m benchmarks.text_worst_case [--chars 1000000] [--only NAME ...]

For every function of ``tests/adversarial.py``'s ``text_functions`` (the text stages with their
defaults, dedup's hashing, HTML extraction) and every text family of ``FAMILIES`` (``prose`` and
the hostile ones: runs of one character glued to words, dot leaders, megabyte tokens, surrogates,
control characters...), the throughput in MB/s of UTF-8 input on one text of ``--chars``
characters (as raw UTF-8; each function but ``text_clean`` gets the text cleaned, as a run hands
it to stages), CPU time, best of two calls. ``prose`` is real prose: the Brown samples. The last row
gives each function's worst family as a fraction of its prose throughput (the goal: at least 0.1).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from adversarial import FAMILIES, best_cpu, hostile_text, text_functions  # noqa: E402


def measure(functions: dict, chars: int) -> dict[str, dict[str, float]]:
    """MB/s per function and family."""
    table: dict[str, dict[str, float]] = {name: {} for name in functions}
    for family in FAMILIES:
        raw = FAMILIES[family](chars)
        text = hostile_text(family, chars)
        megabytes = len(raw.encode("utf-8", errors="surrogatepass")) / 1e6
        for name, function in functions.items():
            given = (
                raw if name == "text_clean" else text
            )  # the cleaning sees the raw text, the rest its output
            table[name][family] = megabytes / max(
                best_cpu(lambda: function(given), repeats=2), 1e-6
            )
        print(f"  measured {family}", file=sys.stderr, flush=True)
    return table


def print_table(table: dict[str, dict[str, float]]) -> None:
    names = list(table)
    print("| family | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for family in FAMILIES:
        print(f"| {family} | " + " | ".join(f"{table[n][family]:.1f}" for n in names) + " |")
    worst = {n: min((v, f) for f, v in table[n].items()) for n in names}
    print(
        "| **worst / prose** | "
        + " | ".join(f"{worst[n][0] / table[n]['prose']:.2f} ({worst[n][1]})" for n in names)
        + " |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--chars", type=int, default=1_000_000, help="characters per text (default: 1,000,000)"
    )
    parser.add_argument("--only", nargs="+", metavar="NAME", help="measure only these functions")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        functions = text_functions(Path(work))
        if args.only:
            functions = {n: functions[n] for n in args.only}
        print_table(measure(functions, args.chars))


if __name__ == "__main__":
    main()
