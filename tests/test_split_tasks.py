"""Big input files split into read tasks: the same documents, ids, rejects and stats as one task."""

from __future__ import annotations

import gzip
import importlib
import json
import subprocess
import tracemalloc
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from scratchlm.curate.errors import ConfigError
from scratchlm.curate.readers import ReaderOptions, line_cuts, read_file
from scratchlm.curate.readers.base import BLANK_LINE, FORMAT_MODULES, SPLIT_FORMATS
from scratchlm.curate.readers.spans import plan_spans
from scratchlm.pipelines.executors import make_executor
from scratchlm.pipelines.recipe import TASK_BYTES, byte_size, parse_recipe
from scratchlm.pipelines.runner import run_curation
from tests.conftest import DATA, kill_9_after, run_cli, start_curate

STEPS = [{"read": {}}, {"gopher_quality": {}}, {"exact_dedup": {}}]
BAD_LINE = b"{not json\n"


def _brown_records(count: int = 160) -> list[bytes]:
    lines = gzip.decompress((DATA / "prose" / "brown.jsonl.gz").read_bytes()).splitlines(
        keepends=True
    )
    return lines[:count]


def _jsonl_lines() -> list[bytes]:
    """Real records with what a crawl's JSONL holds: a byte-order mark, blank and whitespace lines,
    a bad line, a record without text, exact duplicates and short records."""
    records = _brown_records()
    short = [
        json.dumps({"id": f"short-{i}", "text": "too short"}).encode() + b"\n" for i in range(20)
    ]
    lines = [b"\xef\xbb\xbf" + records[0], b"\n", b" \t\r\n"]
    for i, record in enumerate(records[1:], 1):
        lines.append(record)
        if i % 7 == 0:
            copy = {**json.loads(records[i // 2]), "id": f"copy-{i}"}  # an earlier record's text
            lines.append(json.dumps(copy).encode() + b"\n")
        if i % 11 == 0:
            lines.append(short[i % 20])
        if i % 13 == 0:
            lines += [b"\n", BAD_LINE, b'{"id": "no-text-%d"}\n' % i]
    return lines


def _members(lines: list[bytes], compress, per_member: int = 5) -> bytes:
    return b"".join(
        compress(b"".join(lines[i : i + per_member])) for i in range(0, len(lines), per_member)
    )


def _write_inputs(folder: Path) -> dict[str, Path]:
    """One file of each splittable format, built from the shipped samples."""
    folder.mkdir()
    lines = _jsonl_lines()
    files = {
        "jsonl": folder / "a.jsonl",
        "gzip": folder / "b.jsonl.gz",
        "zstd": folder / "c.jsonl.zst",
        "parquet": folder / "d.parquet",
        "warc": folder / "e.warc",
        "warc.gz": folder / "f.warc.gz",
    }
    files["jsonl"].write_bytes(b"".join(lines))
    files["gzip"].write_bytes(_members(lines, lambda data: gzip.compress(data, mtime=0)))
    files["zstd"].write_bytes(_members(lines, zstandard.ZstdCompressor().compress))
    records = [json.loads(line) for line in _brown_records()]
    table = pa.table(
        {
            "id": [r["id"] for r in records],
            "text": [r["text"] for r in records],
            "source": [r["source"] for r in records],
        }
    )
    pq.write_table(table, files["parquet"], row_group_size=16)
    archive = (DATA / "web-sample.warc.gz").read_bytes()
    files["warc"].write_bytes(gzip.decompress(archive)[:1_500_000].rsplit(b"WARC/1.0\r\n", 1)[0])
    files["warc.gz"].write_bytes(archive[:1_200_000])  # cut off mid-record: a file error at its end
    return files


def _run(
    inputs: list[Path],
    out: Path,
    task_bytes: int,
    workers: int = 2,
    executor: str = "local",
    steps: list[dict] = STEPS,
) -> None:
    recipe = parse_recipe({"name": "split", "task_bytes": task_bytes, "steps": steps})
    run_curation(
        recipe, [str(p) for p in inputs], out, make_executor(executor, workers), log=lambda _: None
    )


def _rows(folder: Path) -> list[dict]:
    """Every row of a folder's parts, in part order; a dropped duplicate's ``duplicate_part`` (the
    run's part file that holds the document it repeats) is left out: it names the layout."""
    rows = [
        row
        for part in sorted(folder.glob("part-*.parquet"))
        for row in pq.read_table(part).to_pylist()
    ]
    for row in rows:
        meta = json.loads(row["meta"])
        meta.pop("duplicate_part", None)
        row["meta"] = meta
    return rows


def _stats(run: Path) -> dict:
    """The run's per-step stats without timings."""
    summary = json.loads((run / "stats.json").read_text())
    return {
        step: {k: v for k, v in stats.items() if k != "seconds"} for step, stats in summary.items()
    }


def _same_output(split: Path, whole: Path) -> None:
    for step in ("01_read", "02_gopher_quality", "03_exact_dedup"):
        assert _rows(split / step) == _rows(whole / step), step
        assert _rows(split / step / "rejects") == _rows(whole / step / "rejects"), step
    assert _stats(split) == _stats(whole)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return _write_inputs(tmp_path_factory.mktemp("split") / "in")


@pytest.mark.parametrize("fmt", ["jsonl", "gzip", "zstd", "parquet", "warc", "warc.gz"])
def test_a_split_file_gives_the_documents_rejects_and_stats_of_the_whole_file(
    fmt: str, inputs: dict[str, Path], tmp_path: Path
) -> None:
    path = inputs[fmt]
    task_bytes = path.stat().st_size // 5
    spans = plan_spans(str(path), ReaderOptions(), task_bytes)
    assert spans is not None and len(spans) >= 4
    _run([path], tmp_path / "whole", 0, workers=1)
    _run([path], tmp_path / "split", task_bytes)
    assert len(list((tmp_path / "split" / "01_read").glob("part-*.done"))) == len(spans)
    _same_output(tmp_path / "split", tmp_path / "whole")
    read = _stats(tmp_path / "whole")["01_read"]
    assert read["docs_in"] > 30 and read["docs_out"] > 0


def _repeated_id_records() -> list[dict]:
    """Real records whose ids repeat across the whole file (every third one shares one of ten ids),
    one of them with the name a later repeat would be renamed to, and some without an id."""
    records = [json.loads(line) for line in _brown_records()]
    for i, record in enumerate(records):
        if i % 3 == 0:
            record["id"] = f"shared-{i % 10}"
        elif i % 17 == 0:
            del record["id"]  # derived: <source>#<n>
    records[40]["id"] = "shared-9~100"  # record 100 (shared-9, repeated) would take this name
    return records


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_ids_repeated_across_parts_are_renamed_as_in_the_whole_file(
    fmt: str, tmp_path: Path
) -> None:
    records = _repeated_id_records()
    if fmt == "jsonl":
        path = tmp_path / "repeats.jsonl"
        path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in records))
    else:
        path = tmp_path / "repeats.parquet"
        columns = {key: [r.get(key) for r in records] for key in ("id", "text", "source")}
        pq.write_table(pa.table(columns), path, row_group_size=16)
    task_bytes = path.stat().st_size // 5
    _run([path], tmp_path / "whole", 0, workers=1, steps=STEPS[:1])
    _run([path], tmp_path / "split", task_bytes, steps=STEPS[:1])
    tasks = json.loads((tmp_path / "split" / "tasks.json").read_text())["tasks"]
    assert len(tasks) >= 4 and all(task["span"]["seen"] for task in tasks[1:])
    _same_output(tmp_path / "split", tmp_path / "whole")
    ids = [row["id"] for row in _rows(tmp_path / "split" / "01_read")]
    assert len(ids) == len(set(ids)) == len(records)
    assert "shared-9~101" in ids  # the next free name: shared-9~100 is an earlier record's id
    repeats = sum(1 for i in range(len(records)) if i % 3 == 0) - 10
    assert _stats(tmp_path / "split")["01_read"]["counted"] == {"read:repeated_ids": repeats}


def test_ids_line_numbers_and_offsets_are_the_files_own_at_the_cuts(
    inputs: dict[str, Path],
) -> None:
    path = inputs["jsonl"]
    lines = _jsonl_lines()
    spans = plan_spans(str(path), ReaderOptions(), 1)
    assert spans is not None and len(spans) == len(lines)  # a cut at every line start
    starts = [sum(len(line) for line in lines[:n]) for n in range(len(lines))]
    assert [(s.seek, s.offset, s.lines) for s in spans] == [
        (start, start, n) for n, start in enumerate(starts)
    ]
    bad_json = 0
    for number, (line, span) in enumerate(zip(lines, spans), 1):
        items = list(read_file(str(path), "a.jsonl", ReaderOptions(), span))
        records = sum(1 for before in lines[:number] if before.strip())
        assert span.records == records - bool(line.strip())
        if not line.strip():
            assert items == [BLANK_LINE]
            continue
        assert len(items) == 1
        for item in items:
            doc = getattr(item, "doc", item)
            assert doc.meta["source"] == f"a.jsonl#{records}"
            if line == BAD_LINE:
                bad_json += 1
                assert (item.reason, doc.id, doc.meta["line"]) == (
                    "read:bad_json",
                    f"a.jsonl#{records}",
                    number,
                )
                assert (
                    doc.meta["error"]
                    == f"line {number}: Expecting property name enclosed in double quotes"
                )
            elif b'"no-text-' in line:
                assert (item.reason, doc.id, doc.meta["line"]) == (
                    "read:missing_text",
                    json.loads(line)["id"],
                    number,
                )
            else:
                assert doc.text == json.loads(line.removeprefix(b"\xef\xbb\xbf"))["text"]
    assert bad_json == lines.count(BAD_LINE) > 3


def test_a_cut_off_gzip_member_is_one_file_error_with_the_files_offset_and_line(
    tmp_path: Path,
) -> None:
    lines = _jsonl_lines()
    data = _members(lines, lambda chunk: gzip.compress(chunk, mtime=0))
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) - 3000])
    whole = list(read_file(str(path), "cut.jsonl.gz", ReaderOptions()))
    spans = plan_spans(str(path), ReaderOptions(), len(data) // 6)
    assert spans is not None and len(spans) >= 4
    split = [
        item
        for span in spans
        for item in read_file(str(path), "cut.jsonl.gz", ReaderOptions(), span)
    ]
    assert repr(split) == repr(whole)
    error = whole[-1]
    assert error.offset.startswith("byte ") and error.offset.endswith(
        f"(after line {error.offset.split()[-1][:-1]})"
    )
    assert "corrupt or truncated stream" in error.error


def test_the_formats_declared_splittable_are_those_whose_reader_plans() -> None:
    modules = {
        fmt: importlib.import_module(f"scratchlm.curate.readers.{name}")
        for fmt, name in FORMAT_MODULES.items()
    }
    assert {fmt for fmt, module in modules.items() if hasattr(module, "plan")} == SPLIT_FORMATS


def test_a_file_gzipped_as_one_member_stays_one_task(tmp_path: Path) -> None:
    path = tmp_path / "one.jsonl.gz"
    path.write_bytes(gzip.compress(b"".join(_jsonl_lines()), mtime=0))
    assert plan_spans(str(path), ReaderOptions(), 1000) is None
    run = tmp_path / "run"
    _run([path], run, 1000)
    assert sorted(p.name for p in (run / "01_read").glob("part-*.done")) == ["part-00000.done"]
    assert json.loads((run / "tasks.json").read_text())["tasks"] == [
        {"source": "one.jsonl.gz", "span": None}
    ]


def test_parts_are_numbered_over_tasks_in_input_order(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    first, last = tmp_path / "first.jsonl", tmp_path / "last.jsonl"
    first.write_bytes(_brown_records(3)[1])
    last.write_bytes(_brown_records(3)[2])
    run = tmp_path / "run"
    thirds = -(-inputs["jsonl"].stat().st_size // 3)
    _run([first, inputs["jsonl"], last], run, thirds, steps=STEPS[:1])
    tasks = json.loads((run / "tasks.json").read_text())["tasks"]
    assert [t["source"] for t in tasks] == [
        "first.jsonl",
        "a.jsonl",
        "a.jsonl",
        "a.jsonl",
        "last.jsonl",
    ]
    assert [t["span"]["seek"] for t in tasks[1:4]] == sorted(t["span"]["seek"] for t in tasks[1:4])
    sources = [
        row["meta"]
        for part in sorted((run / "01_read").glob("part-*.parquet"))
        for row in pq.read_table(part, columns=["meta"]).to_pylist()[:1]
    ]
    assert [json.loads(m)["source"].split("#")[0] for m in sources] == [t["source"] for t in tasks]


def test_the_ray_executor_runs_the_same_tasks(inputs: dict[str, Path], tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    path = inputs["zstd"]
    _run([path], tmp_path / "whole", 0, workers=1)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        _run([path], tmp_path / "ray", path.stat().st_size // 4, executor="ray")
    finally:
        ray.shutdown()
    assert len(list((tmp_path / "ray" / "01_read").glob("part-*.done"))) >= 4
    _same_output(tmp_path / "ray", tmp_path / "whole")


def _curate(recipe: Path, inputs: Path, out: Path, task_bytes: str) -> subprocess.Popen:
    return start_curate(recipe, inputs, out, "--workers", "2", "--task-bytes", task_bytes)


def test_kill_9_then_resume_of_a_split_run_is_exact(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(json.dumps({"name": "split", "steps": STEPS}), encoding="utf-8")
    path = inputs["jsonl"]
    task_bytes = str(path.stat().st_size // 12)
    whole = tmp_path / "whole"
    assert _curate(recipe, path, whole, "0").wait(timeout=120) == 0
    broken = tmp_path / "broken"
    kill_9_after(_curate(recipe, path, broken, task_bytes), broken, "01_read/part-*.done", 2)
    assert not (broken / "stats.json").exists(), "the run finished before it could be killed"
    # resumed with another threshold: the run folder's recorded tasks are kept
    done = run_cli(
        "curate", str(recipe), "--input", str(path), "--output", str(broken), "--task-bytes", "1GB"
    )
    assert done.returncode == 0, done.stderr
    assert f"was planned with task_bytes {int(task_bytes):,}: its tasks are kept" in done.stdout
    assert len(list((broken / "01_read").glob("part-*.done"))) >= 12
    _same_output(broken, whole)


def test_task_bytes_values_are_checked_before_any_work(tmp_path: Path) -> None:
    assert parse_recipe({"steps": [{"read": {}}]}).task_bytes == TASK_BYTES == 256 << 20
    assert [byte_size(v, "x") for v in (0, 5, "64MiB", "1.5 GB", "300 kb", "7")] == [
        0,
        5,
        64 << 20,
        1_500_000_000,
        300_000,
        7,
    ]
    for bad in (-1, "lots", "5 parsecs", 2.5, True, None):
        with pytest.raises(ConfigError, match=r"^task_bytes: expected a size in bytes >= 0"):
            parse_recipe({"steps": [{"read": {}}], "task_bytes": bad})
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: t\nsteps:\n  - read: {}\n", encoding="utf-8")
    done = run_cli(
        "curate",
        str(recipe),
        "--input",
        str(recipe),
        "--output",
        str(tmp_path / "run"),
        "--task-bytes=-3MB",
    )
    assert done.returncode != 0
    assert "--task-bytes: expected a size in bytes >= 0" in done.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("compress", [None, "gzip"])
def test_planning_memory_does_not_grow_with_the_file(
    compress: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(line_cuts, "BLOCK", 1 << 16)
    lines = _jsonl_lines()
    peaks = []
    for copies in (2, 20):
        path = tmp_path / f"x{copies}.jsonl"
        data = [line for _ in range(copies) for line in lines]
        if compress is None:
            path.write_bytes(b"".join(data))
        else:
            path.write_bytes(_members(data, lambda chunk: gzip.compress(chunk, mtime=0)))
        tracemalloc.start()
        cuts = line_cuts.line_cuts(str(path), path.stat().st_size // 20)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert len(cuts) >= 15
    assert peaks[1] < 1.5 * peaks[0] and peaks[1] < 4 << 20


def test_a_run_folder_from_before_read_tasks_keeps_one_task_per_file(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    path, run = inputs["jsonl"], tmp_path / "run"
    _run([path], run, 0, workers=1, steps=STEPS[:1])
    (run / "tasks.json").unlink()  # as a run made before read tasks were planned left it
    before = _rows(run / "01_read")
    _run([path], run, path.stat().st_size // 4, steps=STEPS[:1])
    assert json.loads((run / "tasks.json").read_text()) == {
        "task_bytes": 0,
        "tasks": [{"source": "a.jsonl", "span": None}],
    }
    assert _rows(run / "01_read") == before
    assert len(list((run / "01_read").glob("part-*.done"))) == 1
