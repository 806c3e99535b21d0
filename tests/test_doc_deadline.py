"""The per-document deadline: a document on which a step hangs or crashes is that step's reject,
the stuck process is killed, and the rest of the shard is kept, with the local and the Ray
executor."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import run_curate
from scratchlm.curate.document import Document
from scratchlm.curate.stage import BatchStage
from scratchlm.curate.writer import ShardWriter
from scratchlm.pipelines.deadline import Plan, Watch, WorkerError, supervise
from scratchlm.pipelines.segment import ShardTask, StepTask, process_shard

FUNCTIONS = """
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
"""


def _rows(folder: Path) -> list[dict]:
    return [r for p in sorted(folder.glob("part-*.parquet")) for r in pq.read_table(p).to_pylist()]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """Two input files of six documents; the third of the first and the fifth of the second are
    hostile."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name, bad in (("a", 2), ("b", 4)):
        rows = [
            {
                "id": f"{name}{i}",
                "text": f"document {i} of {name}" + (" HANG DIE" if i == bad else ""),
            }
            for i in range(6)
        ]
        (folder / f"{name}.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8"
        )
    (tmp_path / "steps.py").write_text(FUNCTIONS, encoding="utf-8")
    return folder


def _recipe(tmp_path: Path, function: str) -> Path:
    path = tmp_path / f"{function}.yaml"
    path.write_text(
        f"name: t\nsteps:\n  - read: {{}}\n  - custom: {{function: steps.py:{function}}}\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("executor", ["local", "ray"])
def test_a_never_returning_function_is_rejected_as_a_timeout_and_the_shard_goes_on(
    tmp_path, corpus, executor
):
    if executor == "ray":
        pytest.importorskip("ray")
    out = tmp_path / f"run-{executor}"
    options = ("--workers", "2", "--executor", executor, "--doc-timeout", "2")
    done = run_curate(_recipe(tmp_path, "hang"), corpus, out, *options, cwd=tmp_path, timeout=240)
    assert done.returncode == 0, done.stderr
    kept = _rows(out / "02_custom")
    assert [r["id"] for r in kept] == [f"a{i}" for i in (0, 1, 3, 4, 5)] + [
        f"b{i}" for i in (0, 1, 2, 3, 5)
    ]
    rejects = [
        r
        for p in sorted((out / "02_custom" / "rejects").glob("*.parquet"))
        for r in pq.read_table(p).to_pylist()
    ]
    assert [(r["id"], r["reason"]) for r in rejects] == [
        ("a2", "custom:timeout"),
        ("b4", "custom:timeout"),
    ]
    assert all(
        json.loads(r["meta"])["error"]
        == "custom ran past the 2 s deadline on this document; the work was abandoned"
        for r in rejects
    )
    stats = json.loads((out / "02_custom" / "stats.json").read_text())
    assert (stats["docs_in"], stats["docs_out"], stats["dropped"]) == (
        12,
        10,
        {"custom:timeout": 2},
    )


def test_a_document_that_kills_its_process_is_rejected_as_a_crash(tmp_path, corpus):
    out = tmp_path / "run"
    done = run_curate(_recipe(tmp_path, "die"), corpus, out, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(_rows(out / "02_custom")) == 10
    stats = json.loads((out / "02_custom" / "stats.json").read_text())
    assert stats["dropped"] == {"custom:crash": 2}


def test_without_a_deadline_nothing_is_supervised(tmp_path, corpus):
    """--doc-timeout 0 runs the stage in the worker itself: the crash takes the run down, as it
    must."""
    out = tmp_path / "run"
    done = run_curate(
        _recipe(tmp_path, "die"), corpus, out, "--doc-timeout", "0", cwd=tmp_path, timeout=120
    )
    assert done.returncode != 0


@dataclass(frozen=True)
class HangingBatches(BatchStage):
    """Test stage: drops nothing; any call (a batch or one document) holding a hostile text
    hangs."""

    def __call__(self, doc: Document) -> None:
        if "HANG" in doc.text:
            time.sleep(600)

    def map_batch(self, docs: list[Document]) -> list[None]:
        return [self(doc) for doc in docs]


def _shard(tmp_path: Path, hostile: set[int], name: str) -> tuple[ShardTask, Path]:
    """A shard of 600 documents (three batches) whose documents in ``hostile`` hang the stage."""
    shard = tmp_path / f"{name}.parquet"
    writer = ShardWriter(shard)
    for i in range(600):
        writer.write(
            Document(
                f"d{i}", f"document {i}" + (" HANG" if i in hostile else ""), {"source": f"s#{i}"}
            )
        )
    writer.close()
    out = tmp_path / f"out-{name}"
    return ShardTask(
        (StepTask("hang", HangingBatches(), str(out)),), str(shard), str(shard), "part-00000", 0.5
    ), out


def test_an_overrunning_batch_is_split_and_only_the_hostile_document_is_abandoned(tmp_path):
    task, out = _shard(tmp_path, {300}, "a")
    (stats,) = process_shard(task)
    assert (stats.docs_in, stats.docs_out, dict(stats.dropped)) == (600, 599, {"hang:timeout": 1})
    rejects = pq.read_table(out / "rejects" / "part-00000.parquet").to_pylist()
    assert [(r["id"], r["reason"]) for r in rejects] == [("d300", "hang:timeout")]
    assert (
        json.loads(rejects[0]["meta"])["error"]
        == "hang ran past the 0.5 s deadline on this document; the work was abandoned"
    )


def test_the_output_after_a_restart_is_the_bytes_of_a_run_without_the_hostile_document(tmp_path):
    """Kept documents are written as if the overrunning one had been dropped at once."""
    hostile, _ = _shard(tmp_path, {10, 450}, "b")
    process_shard(hostile)
    kept = pq.read_table(Path(hostile.steps[0].output_dir) / "part-00000.parquet").to_pylist()
    assert [r["id"] for r in kept] == [f"d{i}" for i in range(600) if i not in (10, 450)]
    plain = tmp_path / "plain.parquet"
    writer = ShardWriter(plain)
    for row in kept:
        writer.write(Document(row["id"], row["text"], json.loads(row["meta"])))
    writer.close()
    assert (
        plain.read_bytes()
        == (Path(hostile.steps[0].output_dir) / "part-00000.parquet").read_bytes()
    )


@dataclass(frozen=True)
class Tag(BatchStage):
    """Test stage: writes its name into each document's meta, in batches."""

    name: str

    def __call__(self, doc: Document) -> None:
        doc.meta[self.name] = len(doc.text)

    def map_batch(self, docs: list[Document]) -> list[None]:
        return [self(doc) for doc in docs]


def test_in_a_fused_segment_the_overrunning_step_rejects_and_the_others_go_on(tmp_path):
    """Steps before the hanging one still count the document; steps after it never see it."""
    plain, out = _shard(tmp_path, set(), "plain")
    hostile, out_hostile = _shard(tmp_path, {5, 400}, "fused")
    for task, folder in ((plain, out), (hostile, out_hostile)):
        steps = (
            StepTask("before", Tag("before"), str(folder / "1"), write_output=False),
            StepTask("hang", HangingBatches(), str(folder / "2"), write_output=False),
            StepTask("after", Tag("after"), str(folder / "3")),
        )
        process_shard(ShardTask(steps, task.source, task.input_path, task.part, task.doc_timeout_s))
    done = [json.loads((out_hostile / step / "part-00000.done").read_text()) for step in "123"]
    assert [(d["docs_in"], d["docs_out"], d["dropped"]) for d in done] == [
        (600, 600, {}),
        (600, 598, {"hang:timeout": 2}),
        (598, 598, {}),
    ]
    rejects = pq.read_table(out_hostile / "2" / "rejects" / "part-00000.parquet").to_pylist()
    assert [(r["id"], r["reason"], sorted(json.loads(r["meta"]))) for r in rejects] == [
        (f"d{i}", "hang:timeout", ["before", "error", "source"]) for i in (5, 400)
    ]
    assert not (out_hostile / "1" / "part-00000.parquet").exists()
    kept = pq.read_table(out_hostile / "3" / "part-00000.parquet").to_pylist()
    unbroken = pq.read_table(out / "3" / "part-00000.parquet").to_pylist()
    assert kept == [r for r in unbroken if r["id"] not in ("d5", "d400")]


def _raise(plan: Plan, watch: Watch) -> None:
    raise KeyError("no sundays")


def test_a_stage_error_is_raised_with_its_traceback():
    with pytest.raises(WorkerError, match="KeyError: 'no sundays'"):
        supervise(_raise, timeout_s=5)


def _start_a_program_and_hang(marker: str, plan: Plan, watch: Watch) -> None:
    program = subprocess.Popen(["sleep", "600"])
    Path(marker).write_text(str(program.pid))
    watch.start(0)
    time.sleep(600)


def test_a_killed_call_takes_the_programs_it_started_with_it(tmp_path):
    marker = tmp_path / "program.pid"
    assert supervise(functools.partial(_abandon_once, str(marker)), timeout_s=0.5) == "second pass"
    program = int(marker.read_text())
    for _ in range(100):
        if (
            not Path(f"/proc/{program}").exists()
            or "Z" in Path(f"/proc/{program}/stat").read_text().split()[2]
        ):
            break
        time.sleep(0.05)
    else:
        os.kill(program, signal.SIGKILL)
        pytest.fail("a program started by the killed call outlived it")


def _abandon_once(marker: str, plan: Plan, watch: Watch) -> str:
    if plan.abandoned:  # the pass after the kill
        return "second pass"
    _start_a_program_and_hang(marker, plan, watch)
    return "first pass"


def test_the_shard_process_dies_with_its_supervisor(tmp_path):
    """A worker killed by its executor leaves no child behind writing the same shard."""
    marker = tmp_path / "child.pid"
    script = tmp_path / "supervisor.py"
    script.write_text(
        "import os, sys, time\n"
        "from scratchlm.pipelines.deadline import supervise\n"
        f"def work(plan, watch):\n    open({str(marker)!r}, "
        "'w').write(str(os.getpid()))\n    time.sleep(600)\n"
        "supervise(work, 1000)\n",
        encoding="utf-8",
    )
    parent = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=Path(__file__).resolve().parents[1],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
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


@pytest.mark.parametrize(
    "value, error",
    [
        (-1, "got -1"),
        ("ten", "got 'ten'"),
        (True, "got True"),
        (".inf", "got inf"),
        (".nan", "got nan"),
    ],
)
def test_a_bad_deadline_is_refused_before_any_work(tmp_path, corpus, value, error):
    recipe = tmp_path / "bad.yaml"
    literal = value if isinstance(value, str) and value.startswith(".") else json.dumps(value)
    recipe.write_text(
        f"name: t\ndoc_timeout_s: {literal}\nsteps:\n  - read: {{}}\n", encoding="utf-8"
    )
    done = run_curate(recipe, corpus, tmp_path / "run", cwd=tmp_path)
    assert done.returncode != 0
    assert (
        f"doc_timeout_s: expected a number of seconds >= 0 (0: no deadline), {error}" in done.stderr
    )
    assert not (tmp_path / "run").exists()
