"""The Ray executor: same bytes as the local one, a killed worker is retried cleanly, a killed
driver resumes.

Ray starts once for the module (local mode, 2 CPUs): starting it is the slow part.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pyarrow.parquet as pq
import pytest

from scratchlm.curate.document import Document
from scratchlm.curate.stage import MapStage
from scratchlm.pipelines.executors import make_executor
from scratchlm.pipelines.recipe import Recipe, Step, parse_recipe
from scratchlm.pipelines.runner import run_curation
from tests.conftest import DATA, REPO, start_curate, write_brown_and_copies

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.xdist_group(
    "ray"
)  # one worker, one Ray start (make test uses --dist loadgroup)

# kept rows pass a writer row group (2048) before "f0-2600", so the shard is half on disk when its
# worker dies
SHARD_LINES = 2700


@dataclass(frozen=True)
class HoldOnce(MapStage):
    """Test stage: drops short lines; the first time it meets ``hold_id`` it records its pid and
    waits to be killed."""

    hold_id: str
    signal_dir: str

    def __call__(self, doc: Document) -> str | None:
        held = Path(self.signal_dir) / "held"
        if doc.id == self.hold_id and not held.exists():
            tmp = held.with_suffix(".tmp")
            tmp.write_text(str(os.getpid()))
            os.replace(tmp, held)
            time.sleep(120)
        return "hold_once:short" if len(doc.text) < 40 else None


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


def _brown_lines(folder: Path, files: int, lines_per_file: int) -> None:
    """Real Brown corpus lines, one JSONL document per non-empty line, over ``files`` files."""
    text = gzip.decompress((DATA / "prose" / "brown.jsonl.gz").read_bytes()).decode()
    lines = [
        line.strip()
        for record in text.splitlines()
        for line in json.loads(record)["text"].splitlines()
    ]
    lines = [line for line in lines if line]
    folder.mkdir(parents=True)
    for i in range(files):
        chunk = lines[i * lines_per_file : (i + 1) * lines_per_file]
        assert len(chunk) == lines_per_file
        rows = (json.dumps({"id": f"f{i}-{n}", "text": t}) for n, t in enumerate(chunk))
        (folder / f"lines-{i}.jsonl").write_text("\n".join(rows) + "\n")


def _parquet_bytes(run: Path) -> dict[str, bytes]:
    """Every Parquet file of a run by relative path (``.done`` and stats hold timings: left out)."""
    return {str(p.relative_to(run)): p.read_bytes() for p in sorted(run.rglob("*.parquet"))}


def _hold_recipe(signal_dir: Path) -> Recipe:
    read = parse_recipe({"steps": [{"read": {}}]}).steps[0]
    # no per-document deadline: the held process must be the Ray worker itself, whose death Ray
    # retries
    return Recipe(
        "ray-test", [read, Step("hold_once", HoldOnce("f0-2600", str(signal_dir)))], doc_timeout_s=0
    )


def test_a_killed_worker_is_retried_and_the_output_matches_the_local_run(
    tmp_path: Path, ray_cluster: str
) -> None:
    inputs = tmp_path / "in"
    _brown_lines(inputs, 2, SHARD_LINES)
    local_signals, ray_signals = tmp_path / "local-signals", tmp_path / "ray-signals"
    local_signals.mkdir()
    ray_signals.mkdir()
    (local_signals / "held").write_text("no hold in the local run")
    run_curation(
        _hold_recipe(local_signals), [str(inputs)], tmp_path / "local", make_executor("local", 1)
    )

    ray_run = tmp_path / "ray"
    killed: dict[str, object] = {}

    def kill_the_holding_worker() -> None:
        held = ray_signals / "held"
        deadline = time.monotonic() + 90
        while not held.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        pid = int(held.read_text())
        partial = ray_run / "02_hold_once" / ".part-00000.parquet.tmp"
        killed["partial_bytes"] = partial.stat().st_size if partial.exists() else 0
        os.kill(pid, signal.SIGKILL)
        killed["pid"] = pid

    killer = threading.Thread(target=kill_the_holding_worker, daemon=True)
    killer.start()
    result = run_curation(
        _hold_recipe(ray_signals), [str(inputs)], ray_run, make_executor("ray", 2)
    )
    killer.join(timeout=5)

    assert "pid" in killed, "the worker never reached the held document"
    with pytest.raises(ProcessLookupError):
        os.kill(int(killed["pid"]), 0)
    assert int(killed["partial_bytes"]) > 0, (
        "the worker died before any row group of its shard was on disk"
    )
    assert _parquet_bytes(ray_run) == _parquet_bytes(tmp_path / "local")
    assert not list(ray_run.rglob("*.tmp"))
    (folder, stats) = result.steps[-1]
    ids = [
        i
        for p in sorted((ray_run / folder).rglob("part-*.parquet"))
        for i in pq.read_table(p, columns=["id"]).column(0).to_pylist()
    ]
    assert len(ids) == len(set(ids)) == stats.docs_in == 2 * SHARD_LINES
    assert stats.docs_out + stats.dropped["hold_once:short"] == stats.docs_in
    assert stats.dropped["hold_once:short"] > 0


def test_a_recipe_with_global_dedup_stages_gives_the_same_bytes_under_local_and_ray(
    tmp_path: Path, ray_cluster: str
) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    write_brown_and_copies(inputs, 30, 5)
    (inputs / "langid.jsonl.gz").write_bytes((DATA / "langid-dev.jsonl.gz").read_bytes())
    recipe = parse_recipe(
        {
            "name": "same",
            "steps": [
                {"read": {}},
                {"language": {"keep": ["en"]}},
                {"gopher_quality": {}},
                {"exact_dedup": {}},
                {"minhash": {}},
            ],
        }
    )
    local = run_curation(recipe, [str(inputs)], tmp_path / "local", make_executor("local", 2))
    on_ray = run_curation(
        recipe, [str(inputs)], tmp_path / "ray", make_executor("ray", 0)
    )  # 0: a task per CPU
    assert _parquet_bytes(tmp_path / "ray") == _parquet_bytes(tmp_path / "local")
    assert [s.to_dict() | {"seconds": 0} for _, s in on_ray.steps] == [
        s.to_dict() | {"seconds": 0} for _, s in local.steps
    ]
    assert local.steps[3][1].dropped == {"exact_dedup:duplicate": 5}
    assert any((tmp_path / "ray" / "05_minhash" / "_work").rglob("*.parquet")), (
        "dedup work files were compared"
    )


def _curate_cli(recipe: Path, inputs: Path, out: Path, address: str) -> subprocess.Popen:
    options = ["--executor", "ray", "--ray-address", address, "--workers", "1"]
    return start_curate(recipe, inputs, out, *options, stderr=subprocess.PIPE, text=True)


def test_a_killed_driver_resumes_on_ray_to_the_same_bytes(tmp_path: Path, ray_cluster: str) -> None:
    inputs = tmp_path / "in"
    _brown_lines(inputs, 12, 150)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("name: t\nsteps:\n  - read: {}\n")
    local = tmp_path / "local"
    run_curation(
        parse_recipe({"name": "t", "steps": [{"read": {}}]}),
        [str(inputs)],
        local,
        make_executor("local", 1),
    )

    broken = tmp_path / "broken"
    driver = _curate_cli(recipe, inputs, broken, ray_cluster)
    deadline = time.monotonic() + 90
    while (
        time.monotonic() < deadline
        and len(list(broken.glob("*/part-*.done"))) < 2
        and driver.poll() is None
    ):
        time.sleep(0.002)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    done_before = {p.name for p in broken.glob("*/part-*.done")}
    assert not (broken / "stats.json").exists(), (
        "the run finished before its driver could be killed"
    )
    assert 2 <= len(done_before) < 12

    before = {p: p.stat().st_mtime_ns for p in broken.glob("*/part-*.done")}
    resumed = _curate_cli(recipe, inputs, broken, ray_cluster)
    _, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert {p: p.stat().st_mtime_ns for p in before} == before, "finished shards were redone"
    assert _parquet_bytes(broken) == _parquet_bytes(local)


def test_without_ray_the_cli_says_how_to_install_it(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text("name: t\nsteps:\n  - read: {}\n")
    code = (
        "import sys; sys.modules['ray'] = None; from scratchlm.pipelines.cli import main; "
        "sys.exit(main(sys.argv[1:]))"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "curate",
            str(tmp_path / "r.yaml"),
            "--input",
            str(DATA / "prose"),
            "--output",
            str(tmp_path / "run"),
            "--executor",
            "ray",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "pip install 'scratchlm[ray]'" in done.stderr
    assert done.stderr.count("\n") == 1
