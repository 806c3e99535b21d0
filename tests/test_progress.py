"""Progress while curating: periodic plain lines when stderr is not a terminal, with live counts
from the shard workers (forked, under the per-document deadline's child too)."""

from __future__ import annotations

import json
import re

from conftest import REPO, curate_args, run_cli


def test_plain_progress_lines_count_documents_while_a_shard_runs(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in (
        "a",
        "b",
    ):  # two shards: a pool of two forked workers, each running its shard in a child
        (folder / f"{name}.jsonl").write_text(
            "".join(
                json.dumps({"id": f"{name}{i}", "text": f"text {i}"}) + "\n" for i in range(300)
            ),
            encoding="utf-8",
        )
    (tmp_path / "slow.py").write_text(
        "import time\n\ndef slow(doc):\n    time.sleep(0.004)\n", encoding="utf-8"
    )
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "name: t\nsteps:\n  - read: {}\n  - custom: {function: slow.py:slow}\n", encoding="utf-8"
    )
    done = run_cli(
        *curate_args(recipe, folder, tmp_path / "run", "--workers", "2"),
        cwd=tmp_path,
        timeout=120,
        env={"SCRATCHLM_PROGRESS_S": "0.3", "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr
    lines = re.findall(
        r"^01_read\.\.02_custom: (\d+)/2 shards, ([\d,]+) docs, [\d.]+ MB/s, ETA (\S+)$",
        done.stderr,
        re.M,
    )
    assert len(lines) >= 2, done.stderr
    counts = [int(docs.replace(",", "")) for _, docs, _ in lines]
    assert counts == sorted(counts)
    assert any(
        0 < count < 600 for count in counts
    )  # counted while the shards ran, not when they ended
