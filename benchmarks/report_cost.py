"""The cost of ``scratchlm report`` on a large run: CPU seconds and peak memory, sampled and whole.

Builds ``--docs`` documents (Brown texts cut into pieces of ``--words`` words, cycled) in
``--files`` JSONL files, curates them with ``read`` + ``gopher_quality`` (``scratchlm curate``,
two workers), then times ``scratchlm report`` on the run in a child process: with the default
sample of rows per step and outcome, and reading every row (``--sample-rows`` the document count).
CPU seconds and peak RSS are the report process's alone (``getrusage(RUSAGE_CHILDREN)`` in a
process whose only child it is).

    .venv/bin/python -m benchmarks.report_cost [--docs 200000] [--files 50] [--words 120]
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks._cli import int_parser
from benchmarks.dedup_data import prose_texts

SCRATCHLM = [sys.executable, "-m", "scratchlm.pipelines"]


def write_inputs(folder: Path, docs: int, files: int, words: int) -> int:
    """``docs`` documents in ``files`` JSONL files; returns their bytes."""
    pieces = []
    for text in prose_texts(("brown",)):
        tokens = text.split()
        pieces += [" ".join(tokens[i : i + words]) for i in range(0, len(tokens), words)]
    source = itertools.cycle(pieces)
    folder.mkdir(parents=True)
    per_file = -(-docs // files)
    total = 0
    for index in range(files):
        count = min(per_file, docs - index * per_file)
        lines = "".join(
            json.dumps({"id": f"{index}-{i}", "text": next(source)}) + "\n" for i in range(count)
        )
        (folder / f"part-{index:03d}.jsonl").write_text(lines, encoding="utf-8")
        total += len(lines.encode("utf-8"))
    return total


MEASURE = """
import json, resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, capture_output=True)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps([usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024]))
"""


def child_cost(cmd: list[str]) -> tuple[float, float]:
    """(CPU seconds, peak RSS MB) of ``cmd``, run as the only child of a fresh measuring process."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *cmd], check=True, capture_output=True, text=True
    )
    cpu, peak = json.loads(done.stdout)
    return cpu, peak


def main() -> None:
    args = int_parser(__doc__, docs=200_000, files=50, words=120).parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        size = write_inputs(work / "input", args.docs, args.files, args.words)
        recipe = work / "recipe.yaml"
        recipe.write_text(
            "name: report-cost\nsteps:\n  - read: {}\n  - gopher_quality: {}\n", encoding="utf-8"
        )
        run = work / "run"
        subprocess.run(
            [
                *SCRATCHLM,
                "curate",
                str(recipe),
                "--input",
                str(work / "input"),
                "--output",
                str(run),
                "--workers",
                "2",
            ],
            check=True,
            capture_output=True,
        )
        print(
            f"run: {args.docs:,} documents in {args.files} files, "
            f"{size / 1e6:.0f} MB of JSONL, read + gopher_quality"
        )
        print(f"{'scratchlm report':<40} {'CPU s':>6} {'peak RSS MB':>12}")
        for name, extra in (
            ("default sample (20,000 rows)", []),
            (f"every row (--sample-rows {args.docs})", ["--sample-rows", str(args.docs)]),
        ):
            cpu, peak = child_cost([*SCRATCHLM, "report", *extra, str(run)])
            print(f"{name:<40} {cpu:>6.1f} {peak:>12.0f}")


if __name__ == "__main__":
    main()
