"""Fused segments: a run whose map steps share one pass per shard writes the same final output,
rejects and stats as a run in which every step wrote its output, resumes byte-identically after
kill -9, resumes a run of the earlier layout, and still reports every step."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from scratchlm.pipelines import runner
from scratchlm.pipelines.executors import make_executor
from scratchlm.pipelines.recipe import load_recipe, with_keep_intermediate
from scratchlm.pipelines.report import write_report
from scratchlm.pipelines.runner import run_curation, segments
from tests.conftest import DATA, start_curate
from tests.test_report_page import _parse

STEPS = '''
import os, time
from pathlib import Path

def stall(doc):
    """Sleeps on the marked document while the ARMED file exists beside this one."""
    here = Path(__file__).parent
    if "STALL" in doc.text and (here / "ARMED").exists():
        (here / "REACHED").write_text(str(os.getpid()))
        time.sleep(600)
    return "short" if len(doc.text) < 130 else None
'''
FOLDERS = [
    "01_read",
    "02_custom",
    "03_language",
    "04_gopher_quality",
    "05_c4_quality",
    "06_fineweb_quality",
    "07_exact_dedup",
    "08_gopher_repetition",
]


@pytest.fixture
def corpus(tmp_path: Path) -> tuple[Path, Path]:
    """Three inputs (repeated prose, prose, multilingual short texts with one marked document) and a
    recipe of two segments: read..fineweb_quality, then exact_dedup..gopher_repetition."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    brown = (
        gzip.decompress((DATA / "prose" / "brown.jsonl.gz").read_bytes()).decode().splitlines()[:60]
    )
    (inputs / "brown.jsonl").write_text("\n".join(brown) + "\n", encoding="utf-8")
    again = [
        json.dumps({**json.loads(line), "id": f"again-{i}"}) for i, line in enumerate(brown[:20])
    ]
    (inputs / "again.jsonl").write_text("\n".join(again) + "\n", encoding="utf-8")
    langid = gzip.decompress((DATA / "langid-dev.jsonl.gz").read_bytes()).decode().splitlines()
    marked = json.loads(langid[600])  # in the third batch: two have gone through the whole segment
    langid[600] = json.dumps({**marked, "text": marked["text"] + " STALL"})
    (inputs / "langid.jsonl").write_text("\n".join(langid) + "\n", encoding="utf-8")
    (tmp_path / "steps.py").write_text(STEPS, encoding="utf-8")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        f"name: fused\nsteps:\n  - read: {{}}\n  - custom: "
        f"{{function: {tmp_path / 'steps.py'}:stall}}\n"
        "  - language: {keep: [en, de]}\n  - gopher_quality: "
        "{min_words: 20}\n  - c4_quality: {action: annotate}\n"
        "  - fineweb_quality: {}\n  - exact_dedup: {}\n  - gopher_repetition: {}\n",
        encoding="utf-8",
    )
    return inputs, recipe


def _files(run: Path) -> dict[str, bytes]:
    """Every Parquet file of a run's steps, by path."""
    return {
        p.relative_to(run).as_posix(): p.read_bytes() for p in sorted(run.glob("0*/**/*.parquet"))
    }


def _stats(run: Path) -> dict[str, object]:
    """Every step's stats.json and .done, without the seconds (the only thing that may differ)."""
    found = {}
    for path in sorted([*run.glob("0*/stats.json"), *run.glob("0*/part-*.done")]):
        data = json.loads(path.read_text(encoding="utf-8"))
        data.pop("seconds")
        found[path.relative_to(run).as_posix()] = data
    return found


def _unfused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every step its own segment: each writes its full output and the next reads it back (the
    layout of runs made before segments were fused)."""
    monkeypatch.setattr(
        runner, "segments", lambda recipe: [range(i, i + 1) for i in range(len(recipe.steps))]
    )


def test_segments_end_before_every_global_stage(corpus):
    assert segments(load_recipe(corpus[1])) == [range(6), range(6, 8)]


def test_fused_and_unfused_runs_write_the_same_output_rejects_and_stats(
    tmp_path, corpus, monkeypatch
):
    inputs, recipe_file = corpus
    recipe = load_recipe(recipe_file)
    fused, kept, unfused = tmp_path / "fused", tmp_path / "kept", tmp_path / "unfused"
    run_curation(recipe, [str(inputs)], fused, make_executor("local", 2), log=lambda _: None)
    run_curation(
        with_keep_intermediate(recipe, True),
        [str(inputs)],
        kept,
        make_executor("local", 1),
        log=lambda _: None,
    )
    with monkeypatch.context() as patch:
        _unfused(patch)
        run_curation(recipe, [str(inputs)], unfused, make_executor("local", 1), log=lambda _: None)

    outputs = {
        folder: sorted(p.name for p in (fused / folder).glob("part-*.parquet"))
        for folder in FOLDERS
    }
    assert [f for f, parts in outputs.items() if parts] == [
        "06_fineweb_quality",
        "08_gopher_repetition",
    ]
    without_samples = {k: v for k, v in _files(fused).items() if "/kept-sample/" not in k}
    reference = _files(unfused)
    assert without_samples == {k: reference[k] for k in without_samples}
    assert (
        _files(kept) == reference
    )  # keep_intermediate: every step's output, as unfused runs wrote it
    assert _stats(fused) == _stats(kept) == _stats(unfused)
    stats = json.loads((fused / "stats.json").read_text())
    assert [s["docs_out"] for s in stats.values()][-1] > 0 and all(
        stats[f]["dropped"] or stats[f]["annotated"] for f in FOLDERS[1:]
    )

    for run in (fused, unfused):
        write_report(run)
    pages = [_parse(run / "report" / "index.html").tables for run in (fused, unfused)]
    for tables in pages:  # the seconds are the only column that may differ
        tables["funnel"] = [row[:-1] for row in tables["funnel"]]
    assert [row[0] for row in pages[0]["funnel"][1:]] == FOLDERS
    assert pages[0] == pages[1]


def test_a_run_of_the_unfused_layout_resumes_to_the_same_bytes(tmp_path, corpus, monkeypatch):
    inputs, recipe_file = corpus
    recipe = load_recipe(recipe_file)
    whole, old = tmp_path / "whole", tmp_path / "old"
    run_curation(recipe, [str(inputs)], whole, make_executor("local", 1), log=lambda _: None)
    with monkeypatch.context() as patch:
        _unfused(patch)
        run_curation(recipe, [str(inputs)], old, make_executor("local", 1), log=lambda _: None)
    for folder in FOLDERS[
        3:6
    ]:  # as if killed while the earlier layout ran its fourth step on part-00001
        for path in (old / folder).glob("**/part-00001.*"):
            path.unlink()
        (old / folder / "stats.json").unlink()
    for folder in FOLDERS[6:]:
        shutil.rmtree(old / folder)
    run_curation(recipe, [str(inputs)], old, make_executor("local", 1), log=lambda _: None)
    assert (old / "03_language" / "part-00001.parquet").exists()
    assert not (old / "05_c4_quality" / "part-00001.parquet").exists()  # the rest ran fused
    final = [
        f"{folder}/{p}"
        for folder in FOLDERS[-1:]
        for p in ("part-00000.parquet", "part-00001.parquet")
    ]
    assert {k: v for k, v in _files(old).items() if k in final or "/rejects/" in k} == {
        k: v for k, v in _files(whole).items() if k in final or "/rejects/" in k
    }
    assert _stats(old) == _stats(whole)


def _curate(recipe: Path, inputs: Path, output: Path, cwd: Path) -> subprocess.Popen:
    return start_curate(
        recipe, inputs, output, cwd=cwd, start_new_session=True, stderr=subprocess.PIPE
    )


def test_kill_9_in_the_middle_of_a_segment_then_resume_is_byte_identical(tmp_path, corpus):
    inputs, recipe = corpus
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    run_curation(
        load_recipe(recipe), [str(inputs)], whole, make_executor("local", 1), log=lambda _: None
    )
    (tmp_path / "ARMED").write_text("")
    killed = _curate(recipe, inputs, broken, tmp_path)
    reached = tmp_path / "REACHED"
    deadline = time.monotonic() + 120
    while not reached.exists() and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert reached.exists(), killed.stderr.read() if killed.stderr else ""
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    stalled = int(reached.read_text() or 0)
    for _ in range(200):  # the shard's child dies with its supervisor
        if not Path(f"/proc/{stalled}").exists():
            break
        time.sleep(0.05)
    assert (
        broken / "06_fineweb_quality" / "part-00001.done"
    ).exists()  # the first two shards had finished
    assert not (broken / "06_fineweb_quality" / "part-00002.done").exists()  # the third had not

    (tmp_path / "ARMED").unlink()
    resumed = _curate(recipe, inputs, broken, tmp_path)
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read() if resumed.stderr else ""
    assert _files(broken) == _files(whole)
    assert _stats(broken) == _stats(whole)
    assert not list(broken.glob("0*/**/.*.tmp"))

    # killed between two steps' markers: the last step's is missing, the shard's segment is redone
    (broken / "06_fineweb_quality" / "part-00001.done").unlink()
    (broken / "05_c4_quality" / "rejects" / "part-00001.parquet").unlink()
    assert (
        run_curation(
            load_recipe(recipe),
            [str(inputs)],
            broken,
            make_executor("local", 1),
            log=lambda _: None,
        )
        .steps[-1][1]
        .docs_out
        > 0
    )
    assert _files(broken) == _files(whole)
    assert _stats(broken) == _stats(whole)


def test_a_step_folder_fused_into_its_segment_is_refused_as_input_with_what_to_do(tmp_path, corpus):
    from scratchlm.curate.errors import InputError
    from scratchlm.curate.inputs import expand_inputs

    inputs, recipe = corpus
    run = tmp_path / "run"
    run_curation(
        load_recipe(recipe), [str(inputs)], run, make_executor("local", 1), log=lambda _: None
    )
    with pytest.raises(
        InputError, match=r"04_gopher_quality kept no output .* --keep-intermediate"
    ):
        expand_inputs([str(run / "04_gopher_quality")])
    assert [f.source for f in expand_inputs([str(run)])] == [
        f"08_gopher_repetition/part-0000{i}.parquet" for i in range(3)
    ]


def test_keep_intermediate_is_a_recipe_key_and_a_flag_and_a_bad_value_is_refused(tmp_path):
    from scratchlm.curate.errors import ConfigError
    from scratchlm.pipelines.cli import main
    from scratchlm.pipelines.recipe import parse_recipe

    with pytest.raises(ConfigError, match="keep_intermediate: expected true or false, got 'yes'"):
        parse_recipe({"name": "t", "keep_intermediate": "yes", "steps": [{"read": {}}]})
    assert parse_recipe(
        {"name": "t", "keep_intermediate": True, "steps": [{"read": {}}]}
    ).keep_intermediate
    docs = tmp_path / "docs.jsonl"
    docs.write_text(
        "".join(
            json.dumps({"id": f"d{i}", "text": f"word {i} " * (i + 1)}) + "\n" for i in range(30)
        )
    )
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "name: t\nsteps:\n  - read: {}\n  - sample: "
        "{rate: 0.5}\n  - gopher_quality: {min_words: 10}\n"
    )
    for flags, written in (
        ([], ["03_gopher_quality"]),
        (["--keep-intermediate"], ["01_read", "02_sample", "03_gopher_quality"]),
    ):
        out = tmp_path / f"run{len(flags)}"
        assert (
            main(["curate", str(recipe), "--input", str(docs), "--output", str(out), *flags]) == 0
        )
        assert sorted(p.parent.name for p in out.glob("0*/part-00000.parquet")) == written
    assert (
        _files(tmp_path / "run1")["03_gopher_quality/part-00000.parquet"]
        == _files(tmp_path / "run0")["03_gopher_quality/part-00000.parquet"]
    )


@pytest.mark.parametrize("shards", [1, 3, 256, 257, 1000, 4097])
def test_a_fused_step_keeps_a_sample_of_exactly_the_shards_and_rows_the_report_reads(shards):
    from scratchlm.pipelines.report.sample import (
        SAMPLE_FILES,
        SAMPLE_ROWS,
        kept_sample_rows,
        spread,
    )

    read = spread(list(range(shards)), SAMPLE_FILES)
    rows = [kept_sample_rows(i, shards) for i in range(shards)]
    assert [i for i, n in enumerate(rows) if n] == read
    assert {rows[i] for i in read} == {-(-SAMPLE_ROWS // len(read))}
