"""Why pages are checked for nesting depth first: extraction time against depth, and the check's
cost.

- resiliparse's main-content extraction of a page of N nested ``div``s, for growing N: its time
  grows with the square of N (each doubling about quadruples it);
- ``curate.extract.too_deep`` (a CSS child chain run in C) on the same pages;
- ``too_deep`` over every HTML page of the sample WARC at the default ``max_html_depth``: the
  cost every page pays. Each time is the best of ``--repeat``.

    .venv/bin/python -m benchmarks.html_depth [--depths 1000 2000 4000 8000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Callable

from resiliparse.parse.html import HTMLTree

from benchmarks.fetch import html_pages
from scratchlm.curate.extract import WebOptions, decode_html, extract_main_text, too_deep

WARC = Path(__file__).resolve().parents[1] / "tests" / "data" / "web-sample.warc.gz"


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def nested_page(depth: int) -> str:
    return (
        "<html><body>"
        + "<div>" * depth
        + "<p>text at the bottom</p>"
        + "</div>" * depth
        + "</body></html>"
    )


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--depths", type=int, nargs="+", default=[1000, 2000, 4000, 8000])
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    limit = WebOptions().max_html_depth
    print(f"{'nested divs':>11} {'extraction s':>13} {'too_deep ms':>12}")
    for depth in args.depths:
        html = nested_page(depth)
        tree = HTMLTree.parse(html)
        extract = best_of(
            args.repeat, lambda: extract_main_text(html, "resiliparse", HTMLTree.parse(html))
        )
        check = best_of(args.repeat, lambda: too_deep(tree, limit))
        print(f"{depth:>11,} {extract:>13.3f} {check * 1000:>12.3f}")
    trees = [HTMLTree.parse(decode_html(body, charset)) for _, body, charset in html_pages(WARC)]
    seconds = best_of(args.repeat, lambda: [too_deep(t, limit) for t in trees])
    print(
        f"too_deep over the sample WARC's {len(trees)} HTML pages (max_html_depth {limit}): "
        f"{seconds / len(trees) * 1000:.3f} ms a page"
    )


if __name__ == "__main__":
    main()
