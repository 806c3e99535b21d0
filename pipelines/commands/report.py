"""``scratchlm report RUN_DIR``: the curation report of a run folder (HTML page, plots, data
card)."""

from __future__ import annotations

import argparse
from pathlib import Path

from scratchlm.pipelines.report import write_report
from scratchlm.pipelines.report.sample import SAMPLE_ROWS


def report(args: argparse.Namespace) -> int:
    index = write_report(args.run_dir, args.sample_rows)
    print(f"report: {index}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "report", help="write RUN_DIR/report/index.html, its plots and datacard.md"
    )
    p.add_argument(
        "run_dir", type=Path, metavar="RUN_DIR", help="a run folder written by curate or run"
    )
    p.add_argument(
        "--sample-rows",
        type=int,
        default=SAMPLE_ROWS,
        help="documents read per step (kept and dropped each) for the plots and examples",
    )
    p.set_defaults(func=report)
