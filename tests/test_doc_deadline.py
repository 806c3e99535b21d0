"""The per-document deadline: a document on which a step hangs or crashes is that step's reject,
the stuck process is killed, and the rest of the shard is kept, with the local and the Ray executor."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import run_cli

from pipelines.deadline import Plan, Watch, WorkerError, supervise

FUNCTIONS = '''
import os, signal

def hang(doc):
    if "HANG" in doc.text:
        while True:
            pass
    return None

def die(doc):
    if "DIE" in doc.text:
        os.kill(os.getpid(), signal.SIGKILL)
    return None
'''


def _rows(folder: Path) -> list[dict]:
    return [r for p in sorted(folder.glob("part-*.parquet")) for r in pq.read_table(p).to_pylist()]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """Two input files of six documents; the third of the first and the fifth of the second are hostile."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name, bad in (("a", 2), ("b", 4)):
        rows = [{"id": f"{name}{i}", "text": f"document {i} of {name}" + (" HANG DIE" if i == bad else "")}
                for i in range(6)]
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (tmp_path / "steps.py").write_text(FUNCTIONS, encoding="utf-8")
    return folder


def _recipe(tmp_path: Path, function: str) -> Path:
    path = tmp_path / f"{function}.yaml"
    path.write_text(f"name: t\nsteps:\n  - read: {{}}\n  - custom: {{function: steps.py:{function}}}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("executor", ["local", "ray"])
def test_a_never_returning_function_is_rejected_as_a_timeout_and_the_shard_goes_on(tmp_path, corpus, executor):
    if executor == "ray":
        pytest.importorskip("ray")
    out = tmp_path / f"run-{executor}"
    done = run_cli("curate", str(_recipe(tmp_path, "hang")), "--input", str(corpus), "--output", str(out),
                   "--workers", "2", "--executor", executor, "--doc-timeout", "2", cwd=tmp_path, timeout=240)
    assert done.returncode == 0, done.stderr
    kept = _rows(out / "02_custom")
    assert [r["id"] for r in kept] == [f"a{i}" for i in (0, 1, 3, 4, 5)] + [f"b{i}" for i in (0, 1, 2, 3, 5)]
    rejects = [r for p in sorted((out / "02_custom" / "rejects").glob("*.parquet")) for r in pq.read_table(p).to_pylist()]
    assert [(r["id"], r["reason"]) for r in rejects] == [("a2", "custom:timeout"), ("b4", "custom:timeout")]
    assert all("past the deadline" in json.loads(r["meta"])["error"] for r in rejects)
    stats = json.loads((out / "02_custom" / "stats.json").read_text())
    assert (stats["docs_in"], stats["docs_out"], stats["dropped"]) == (12, 10, {"custom:timeout": 2})


def test_a_document_that_kills_its_process_is_rejected_as_a_crash(tmp_path, corpus):
    out = tmp_path / "run"
    done = run_cli("curate", str(_recipe(tmp_path, "die")), "--input", str(corpus), "--output", str(out),
                   cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(_rows(out / "02_custom")) == 10
    stats = json.loads((out / "02_custom" / "stats.json").read_text())
    assert stats["dropped"] == {"custom:crash": 2}


def test_without_a_deadline_nothing_is_supervised(tmp_path, corpus):
    """--doc-timeout 0 runs the stage in the worker itself: the crash takes the run down, as it must."""
    out = tmp_path / "run"
    done = run_cli("curate", str(_recipe(tmp_path, "die")), "--input", str(corpus), "--output", str(out),
                   "--doc-timeout", "0", cwd=tmp_path, timeout=120)
    assert done.returncode != 0


def _batches(hostile: set[int]):
    """A shard of 10 documents in batches of 5; a hostile document hangs whenever a call includes it."""
    def work(plan: Plan, watch: Watch) -> list[str]:
        answers = []
        for first in (0, 5):
            indices = range(first, first + 5)
            batch = [[i] for i in indices] if first in plan.one_by_one or not plan.abandoned.keys().isdisjoint(indices) \
                else [list(indices)]
            for call in batch:
                if call[0] in plan.abandoned:
                    answers.append(f"{call[0]}:{plan.abandoned[call[0]].kind}")
                    continue
                watch.start(call[0], len(call))
                if hostile & set(call):
                    time.sleep(600)
                watch.stop()
                answers.extend(f"{i}:ok" for i in call)
        return answers
    return work


def test_an_overrunning_batch_is_split_and_only_the_hostile_document_is_abandoned(tmp_path):
    answers = supervise(_batches({7}), timeout_s=0.5)
    assert answers == [f"{i}:ok" for i in range(7)] + ["7:timeout", "8:ok", "9:ok"]


def test_a_stage_error_is_raised_with_its_traceback():
    def work(plan: Plan, watch: Watch) -> None:
        raise KeyError("no sundays")

    with pytest.raises(WorkerError, match="KeyError: 'no sundays'"):
        supervise(work, timeout_s=5)


def test_the_shard_process_dies_with_its_supervisor(tmp_path):
    """A worker killed by its executor leaves no child behind writing the same shard."""
    marker = tmp_path / "child.pid"
    script = tmp_path / "supervisor.py"
    script.write_text(
        "import os, sys, time\n"
        "from pipelines.deadline import supervise\n"
        f"def work(plan, watch):\n    open({str(marker)!r}, 'w').write(str(os.getpid()))\n    time.sleep(600)\n"
        "supervise(work, 1000)\n", encoding="utf-8")
    parent = subprocess.Popen([sys.executable, str(script)], cwd=Path(__file__).resolve().parents[1],
                              env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    child = int(marker.read_text())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    for _ in range(200):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.kill(child, signal.SIGKILL)
        pytest.fail("the shard's process outlived its supervisor")



@pytest.mark.parametrize("value, error", [(-1, "got -1"), ("ten", "got 'ten'"), (True, "got True")])
def test_a_bad_deadline_is_refused_before_any_work(tmp_path, corpus, value, error):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text(f"name: t\ndoc_timeout_s: {json.dumps(value)}\nsteps:\n  - read: {{}}\n", encoding="utf-8")
    done = run_cli("curate", str(recipe), "--input", str(corpus), "--output", str(tmp_path / "run"), cwd=tmp_path)
    assert done.returncode != 0
    assert f"doc_timeout_s: expected a number of seconds >= 0 (0: no deadline), {error}" in done.stderr
    assert not (tmp_path / "run").exists()
