"""The runner: every document ends in one place, kill -9 resumes to identical bytes, reruns do
nothing."""

from __future__ import annotations

import gzip
import json
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from scratchlm.curate.errors import ConfigError
from scratchlm.pipelines.executors import make_executor
from scratchlm.pipelines.recipe import parse_recipe
from scratchlm.pipelines.runner import run_curation
from tests.conftest import DATA, kill_9_after, run_curate, start_curate

RECIPE = {"name": "t", "steps": [{"read": {}}]}


def _split_brown(folder: Path, files: int) -> int:
    """Real Brown corpus records spread over ``files`` JSONL files; returns the record count."""
    lines = gzip.decompress((DATA / "prose" / "brown.jsonl.gz").read_bytes()).splitlines(
        keepends=True
    )
    folder.mkdir(parents=True)
    for i in range(files):
        (folder / f"brown-{i:02d}.jsonl").write_bytes(b"".join(lines[i::files]))
    return len(lines)


def _rows(path: Path) -> int:
    return pq.ParquetFile(path).metadata.num_rows


def test_every_input_document_ends_in_exactly_one_place(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    good = _split_brown(inputs, 3)
    (inputs / "bad.jsonl").write_bytes(b'{"id": 1, "text": "fine"}\n{oops\n{"text": 3}\n\xff\xfe\n')
    (inputs / "empty.jsonl").write_bytes(b"")
    (inputs / "cut.jsonl.gz").write_bytes((DATA / "prose" / "kjv.jsonl.gz").read_bytes()[:300_000])
    out = tmp_path / "run"
    result = run_curation(parse_recipe(RECIPE), [str(inputs)], out, make_executor("local", 2))
    ((folder, stats),) = result.steps
    finals = sum(_rows(p) for p in (out / folder).glob("part-*.parquet"))
    rejects = sum(_rows(p) for p in (out / folder / "rejects").glob("part-*.parquet"))
    reasons = [
        r
        for p in sorted((out / folder / "rejects").glob("*.parquet"))
        for r in pq.read_table(p, columns=["reason"]).column(0).to_pylist()
    ]
    assert sorted(reasons) == ["read:bad_json", "read:invalid_utf8", "read:text_not_string"]
    cut_records = finals - good - 1
    assert 0 < cut_records < 66
    assert stats.docs_in == finals + rejects == good + 1 + cut_records + 3
    assert stats.docs_out == finals and stats.docs_dropped == rejects
    errors = {e["file"]: e for e in stats.errors}
    assert set(errors) == {"empty.jsonl", "cut.jsonl.gz"}
    assert errors["cut.jsonl.gz"]["offset"].endswith(f"(after line {cut_records})")
    summary = json.loads((out / "stats.json").read_text())
    assert summary[folder]["docs_in"] == stats.docs_in
    assert json.loads((out / folder / "stats.json").read_text())["dropped"] == {
        "read:bad_json": 1,
        "read:invalid_utf8": 1,
        "read:text_not_string": 1,
    }


def _outputs(run: Path) -> dict[str, bytes]:
    """Every Parquet file of a run, by relative path (stats carry timings, so they are left out)."""
    return {str(p.relative_to(run)): p.read_bytes() for p in sorted(run.rglob("*.parquet"))}


def _curate(recipe: Path, inputs: Path, out: Path) -> subprocess.Popen:
    return start_curate(recipe, inputs, out, "--workers", "1", stderr=subprocess.PIPE)


def test_kill_9_then_rerun_gives_identical_bytes_and_a_finished_run_does_nothing(
    tmp_path: Path,
) -> None:
    inputs = tmp_path / "in"
    _split_brown(inputs, 24)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(json.dumps(RECIPE), encoding="utf-8")
    clean, broken = tmp_path / "clean", tmp_path / "broken"
    assert _curate(recipe, inputs, clean).wait(timeout=120) == 0

    kill_9_after(_curate(recipe, inputs, broken), broken, "*/part-*.done", 2)
    assert not (broken / "stats.json").exists(), "the run finished before it could be killed"
    assert 2 <= len(list(broken.glob("*/part-*.done"))) < 24

    assert _curate(recipe, inputs, broken).wait(timeout=120) == 0
    assert _outputs(broken) == _outputs(clean)
    assert not list(broken.rglob("*.tmp"))

    done_times = {p: p.stat().st_mtime_ns for p in broken.rglob("*.done")}
    assert run_curate(recipe, inputs, broken, timeout=120).returncode == 0
    assert {p: p.stat().st_mtime_ns for p in broken.rglob("*.done")} == done_times


def test_a_run_folder_refuses_another_recipe(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    _split_brown(inputs, 2)
    out = tmp_path / "run"
    run_curation(parse_recipe(RECIPE), [str(inputs)], out, make_executor("local", 1))
    other = parse_recipe({"name": "other", "steps": [{"read": {}}]})
    with pytest.raises(ConfigError) as err:
        run_curation(other, [str(inputs)], out, make_executor("local", 1))
    assert str(err.value) == f"{out} holds a run of a different recipe; choose another --output"


def test_file_errors_are_printed_one_a_line_and_a_run_with_nothing_readable_fails(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "cut.jsonl.gz").write_bytes((DATA / "prose" / "kjv.jsonl.gz").read_bytes()[:40])
    (bad / "empty.jsonl").write_bytes(b"")
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: t\nsteps:\n  - read: {}\n", encoding="utf-8")
    done = run_curate(recipe, bad, tmp_path / "run")
    assert done.returncode == 2
    lines = [line for line in done.stdout.splitlines() if line.startswith("file error: ")]
    assert [line.split(" at ")[0] for line in lines] == [
        "file error: cut.jsonl.gz",
        "file error: empty.jsonl",
    ]
    assert "empty file: no records" in lines[1]
    assert done.stderr.strip() == (
        "scratchlm: error: no document could be read from the 2 input file(s); "
        "the file errors above say why"
    )

    (bad / "good.jsonl").write_text('{"id": "a", "text": "some text"}\n', encoding="utf-8")
    done = run_curate(recipe, bad, tmp_path / "run2")
    assert done.returncode == 0, done.stderr
    assert sum(line.startswith("file error: ") for line in done.stdout.splitlines()) == 2


def _curate_one_file(tmp_path: Path, lines: str, recipe: dict) -> tuple[Path, Path]:
    """Curate ``tmp_path/in/a.jsonl``, holding ``lines``, into ``tmp_path/run`` with ``recipe``;
    the input folder and the run folder."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "a.jsonl").write_text(lines, encoding="utf-8")
    run = tmp_path / "run"
    run_curation(
        parse_recipe(recipe), [str(inputs)], run, make_executor("local", 1), log=lambda _: None
    )
    return inputs, run


def test_a_run_folder_as_input_stands_for_its_curated_output_not_its_rejects(tmp_path):
    from scratchlm.curate.inputs import expand_inputs

    sample = {"name": "t", "steps": [{"read": {}}, {"sample": {"rate": 1.0}}]}
    _, run = _curate_one_file(tmp_path, '{"id": "a", "text": "kept"}\n{oops\n', sample)
    assert (run / "01_read" / "rejects" / "part-00000.parquet").exists()
    assert [(f.source, Path(f.path)) for f in expand_inputs([str(run)])] == [
        ("02_sample/part-00000.parquet", run / "02_sample" / "part-00000.parquet")
    ]
    with pytest.raises(
        ConfigError, match=r"step folder .*01_read kept no output \(its step ran fused"
    ):
        expand_inputs([str(run / "01_read")])  # fused into its segment: no output of its own
    assert [f.source for f in expand_inputs([str(run / "02_sample")])] == ["part-00000.parquet"]
    again = run_curation(
        parse_recipe(RECIPE),
        [str(run)],
        tmp_path / "again",
        make_executor("local", 1),
        log=lambda _: None,
    )
    assert (again.steps[0][1].docs_in, again.steps[0][1].docs_dropped) == (1, 0)

    (
        run / "02_sample" / "stats.json"
    ).unlink()  # as if the run had been killed before its last step ended
    with pytest.raises(
        ConfigError, match=r"run folder .* is not finished \(02_sample has no stats.json yet\)"
    ):
        expand_inputs([str(run)])
    mine = tmp_path / "mine"  # a user's folder that happens to hold a recipe.yaml and a stats.json
    (mine / "data").mkdir(parents=True)
    for name in ("recipe.yaml", "stats.json", "data/a.jsonl"):
        (mine / name).write_text("{}\n", encoding="utf-8")
    assert [f.source for f in expand_inputs([str(mine)])] == [
        "data/a.jsonl",
        "recipe.yaml",
        "stats.json",
    ]


def test_a_folder_refused_over_other_inputs_keeps_its_recorded_recipe(tmp_path):
    inputs, run = _curate_one_file(tmp_path, '{"id": "a", "text": "kept"}\n', RECIPE)
    recorded = (run / "recipe.yaml").read_bytes()
    (inputs / "b.jsonl").write_text('{"id": "b", "text": "new"}\n', encoding="utf-8")
    changed = parse_recipe({**RECIPE, "train": {"preset": "tiny", "max_steps": 3}})
    with pytest.raises(ConfigError, match="holds a run over different inputs"):
        run_curation(changed, [str(inputs)], run, make_executor("local", 1), log=lambda _: None)
    assert (run / "recipe.yaml").read_bytes() == recorded


def test_repeated_ids_and_blank_lines_are_counted_in_stats_table_and_report(tmp_path):
    kjv = gzip.decompress((DATA / "prose" / "kjv.jsonl.gz").read_bytes())
    lines = kjv.splitlines(keepends=True)[:5]
    repeat = json.dumps({**json.loads(lines[4]), "id": json.loads(lines[0])["id"]}).encode() + b"\n"
    blanks = b"\n \n"
    (tmp_path / "in.jsonl").write_bytes(
        b"".join(lines[:2]) + blanks + b"".join(lines[2:4]) + repeat + b"\n"
    )
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: t\nsteps:\n  - read: {}\n", encoding="utf-8")
    run = tmp_path / "run"
    done = run_curate(recipe, tmp_path / "in.jsonl", run)
    assert done.returncode == 0, done.stderr
    table_row = next(line for line in done.stdout.splitlines() if line.startswith("01_read"))
    assert table_row.split() == [
        "01_read",
        "5",
        "5",
        "0",
        "-",
        "(counted:",
        "read:blank_lines=3,",
        "read:repeated_ids=1)",
    ]
    assert (
        "repeated ids: 1 record(s) had the id of an earlier record of the same input file; "
        "each was renamed ID~N (meta.original_id keeps the id)"
    ) in done.stdout.splitlines()
    assert "blank lines: 3 blank input line(s) skipped" in done.stdout.splitlines()
    stats = json.loads((run / "stats.json").read_text())["01_read"]
    assert stats["counted"] == {"read:blank_lines": 3, "read:repeated_ids": 1}
    assert stats["docs_in"] == 5 and stats["dropped"] == {}
    table = pq.read_table(run / "01_read" / "part-00000.parquet")
    first = json.loads(lines[0])["id"]
    ids = [json.loads(x)["id"] for x in lines[:4]] + [f"{first}~5"]
    assert table.column("id").to_pylist() == ids
    assert json.loads(table.column("meta")[4].as_py())["original_id"] == first
    page = (run / "report" / "index.html").read_text(encoding="utf-8")
    assert "01_read: repeated ids: 1 record(s) had the id of an earlier record" in page
    assert "01_read: blank lines: 3 blank input line(s) skipped" in page
