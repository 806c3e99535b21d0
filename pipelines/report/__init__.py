"""The curation report: ``RUN_DIR/report/index.html`` (self-contained), its PNG plots, and
``datacard.md``."""

from __future__ import annotations

import re
from pathlib import Path

from scratchlm.curate.writer import write_atomic
from scratchlm.pipelines.report.datacard import datacard
from scratchlm.pipelines.report.page import para, render
from scratchlm.pipelines.report.run import load_run
from scratchlm.pipelines.report.sample import SAMPLE_ROWS

REPORT_DIR = "report"
PAGE = "index.html"  # in REPORT_DIR, so that serving the folder shows it
DATACARD = "datacard.md"


def _file_name(name: str, taken: set[str]) -> str:
    """A safe, unique ``.png`` file name for a plot."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "plot"
    candidate, n = stem, 1
    while candidate in taken:
        n += 1
        candidate = f"{stem}-{n}"
    taken.add(candidate)
    return f"{candidate}.png"


def write_report(run_dir: Path, sample_rows: int = SAMPLE_ROWS) -> Path:
    """Write the report of the run in ``run_dir``; returns the path of ``index.html``."""
    from scratchlm.pipelines.report.sections import (
        build_sections,  # matplotlib: imported only when a report is made
    )

    run = load_run(Path(run_dir), sample_rows)
    out = run.run_dir / REPORT_DIR
    out.mkdir(exist_ok=True)
    sections = build_sections(run)
    taken: set[str] = set()
    for section in sections:
        for plot in section.plots:
            path = out / _file_name(plot.name, taken)
            write_atomic(path, plot.png)
            plot.name = path.stem
    intro = [
        para(
            f"Run folder {run.run_dir}: "
            f"{len(run.inputs):,} input file(s), {len(run.stats)} step(s)."
        )
    ]
    write_atomic(out / DATACARD, datacard(run))
    index = out / PAGE
    write_atomic(index, render(f"Curation report: {run.name}", intro, sections))
    return index
