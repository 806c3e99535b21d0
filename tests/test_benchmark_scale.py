"""benchmarks/scale.py: its input is deterministic and mixed as documented; it runs end to end."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.scale import MIX, DocumentMaker, write_jsonl
from tests.conftest import REPO


def test_the_input_is_deterministic_and_mixes_copies_languages_and_hostile_text(
    tmp_path: Path,
) -> None:
    first, again = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    counts = write_jsonl([first], 3_000_000, DocumentMaker(seed=3))
    write_jsonl([again], 3_000_000, DocumentMaker(seed=3))
    assert first.read_bytes() == again.read_bytes()
    records = [json.loads(line) for line in first.read_text(encoding="utf-8").splitlines()]
    assert 3_000_000 <= first.stat().st_size < 3_000_000 + 2_000_000
    assert {r["kind"] for r in records} == {"fresh", *(name for name, _ in MIX)} == set(counts)
    texts = [r["text"] for r in records]
    copies = [i for i, r in enumerate(records) if r["kind"] == "exact"]
    assert copies and all(texts[i] in texts[:i] for i in copies)  # a copy of an earlier document
    assert len({r["id"] for r in records}) == len(records)


@pytest.mark.slow
def test_the_benchmark_runs_at_a_tiny_size_and_prints_its_tables() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.scale", "--gb", "0.002", "--case", "one"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = [
        line.split(" | ") for line in done.stdout.splitlines() if line.startswith("| one file | ")
    ]
    assert [row[1] for row in rows] == ["1", "2"]
    mb_per_cpu_s, worker_rss_mb = [float(row[8]) for row in rows], [float(row[10]) for row in rows]
    assert min(mb_per_cpu_s) > 0 and 0 < max(worker_rss_mb) < 500
    steps = [
        line[2:-2].split(" | ") for line in done.stdout.splitlines() if re.match(r"\| \d\d_", line)
    ]
    assert [step[0] for step in steps] == [
        "01_read",
        "02_url_filter",
        "03_language",
        "04_gopher_repetition",
        "05_gopher_quality",
        "06_c4_quality",
        "07_fineweb_quality",
        "08_minhash",
        "09_pii",
    ]
    assert int(steps[0][1].replace(",", "")) > int(steps[-1][2].replace(",", "")) > 0
    tasks = re.search(r"planning it: (\d+) read tasks", done.stdout)
    assert tasks is not None and int(tasks.group(1)) == 4
