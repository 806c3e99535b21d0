"""The ``custom`` step: a user's own function as a recipe step, on real prose, in workers."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import curate_args, run_cli, run_curate
from scratchlm.pipelines.executors.local import LocalExecutor
from scratchlm.pipelines.recipe import Recipe, parse_recipe
from scratchlm.pipelines.runner import CurationResult, run_curation

FUNCTIONS = '''
from scratchlm.curate.document import Document
from scratchlm.curate.stage import BatchStage, GlobalStage

def drop_short(doc, min_words=100):
    return "too_short" if len(doc.text.split()) < min_words else None

def shout_titles(doc):
    if "Mr." not in doc.text:
        return None
    return Document(doc.id, doc.text.upper(), {**doc.meta, "shouted": True})

def fragile(doc):
    if "sunday" in doc.text.lower():
        raise KeyError("no sundays")
    return 0 if "friday" in doc.text.lower() else None

class BatchedShort(BatchStage):
    """Drops short documents a batch at a time, noting the batch size; a Sunday raises."""

    def __init__(self, min_words=100):
        self.min_words = min_words

    def map_batch(self, docs):
        if any("sunday" in d.text.lower() for d in docs):
            raise KeyError("no sundays")
        for d in docs:
            d.meta["batch"] = len(docs)
        return ["too_short" if len(d.text.split()) < self.min_words else None for d in docs]

class Everything(GlobalStage):
    def prepare(self, inputs, workdir, executor):
        return None
'''


@pytest.fixture
def prose(tmp_path: Path, data_dir: Path) -> Path:
    """60 Brown samples cut to a spread of lengths (the i-th keeps 20 * i words)."""
    with gzip.open(data_dir / "prose" / "brown.jsonl.gz", "rt", encoding="utf-8") as f:
        docs = [json.loads(line) for _, line in zip(range(60), f)]
    path = tmp_path / "in" / "brown.jsonl"
    path.parent.mkdir()
    path.write_text(
        "".join(
            json.dumps({"id": d["id"], "text": " ".join(d["text"].split()[: 20 * i])}) + "\n"
            for i, d in enumerate(docs, start=1)
        ),
        encoding="utf-8",
    )
    (tmp_path / "my_filters.py").write_text(FUNCTIONS, encoding="utf-8")
    return path


def _rows(folder: Path) -> list[dict]:
    return [r for p in sorted(folder.glob("part-*.parquet")) for r in pq.read_table(p).to_pylist()]


def _texts(path: Path) -> dict[str, str]:
    """The text of each record of the JSONL file ``path``, by id."""
    return {
        json.loads(line)["id"]: json.loads(line)["text"] for line in path.read_text().splitlines()
    }


def _custom_recipe(*steps: dict) -> Recipe:
    """A recipe that reads its input, then runs a ``custom`` step of each options in ``steps``."""
    return parse_recipe(
        {"name": "custom", "steps": [{"read": {}}, *({"custom": step} for step in steps)]}
    )


def _curate(recipe: Recipe, source: Path, out: Path, workers: int = 1) -> CurationResult:
    """Curate the file ``source`` into ``out`` with ``recipe`` on local workers, quietly."""
    return run_curation(recipe, [str(source)], out, LocalExecutor(workers), log=lambda *_: None)


def test_custom_functions_filter_transform_and_fail_per_document(prose, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # FILE.py paths are relative to the working directory
    texts = _texts(prose)
    recipe = _custom_recipe(
        {"function": "my_filters.py:drop_short", "options": {"min_words": 300}},
        {"function": "my_filters.py:shout_titles", "name": "shout"},
        {"function": "my_filters.py:fragile"},
    )
    result = _curate(recipe, prose, tmp_path / "run", workers=2)
    stats = json.loads((tmp_path / "run" / "stats.json").read_text())
    short = [i for i, t in texts.items() if len(t.split()) < 300]
    assert (
        stats["02_custom"]["dropped"] == {"drop_short:too_short": len(short)} and len(short) == 14
    )
    kept = [i for i in texts if i not in short]
    shouted = {i for i in kept if "Mr." in texts[i]}
    failing = {i for i in kept if "sunday" in texts[i].lower()}
    zero = {i for i in kept if i not in failing and "friday" in texts[i].lower()}
    assert shouted and failing and zero
    assert stats["04_custom"]["dropped"] == {"fragile:error": len(failing | zero)}
    rejects = {
        r["id"]: json.loads(r["meta"])["error"]
        for r in _rows(tmp_path / "run" / "04_custom" / "rejects")
    }
    assert {i for i, e in rejects.items() if e == "KeyError: 'no sundays'"} == failing
    assert {i for i, e in rejects.items() if e.startswith("returned 0;")} == zero
    final = {r["id"]: r for r in _rows(result.final_dir)}
    assert sorted(final) == sorted(set(kept) - failing - zero)
    for doc_id, row in final.items():
        assert row["text"] == (texts[doc_id].upper() if doc_id in shouted else texts[doc_id])
        assert json.loads(row["meta"]).get("shouted", False) == (doc_id in shouted)


def test_annotate_mode_keeps_every_document(prose, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    recipe = _custom_recipe({"function": "my_filters.py:drop_short", "action": "annotate"})
    result = _curate(recipe, prose, tmp_path / "run")
    assert len(_rows(result.final_dir)) == 60
    stats = json.loads((tmp_path / "run" / "stats.json").read_text())["02_custom"]
    assert stats["annotated"] == {
        "drop_short:too_short": 4
    }  # under 100 words: the first four samples


def test_a_users_batch_stage_answers_whole_batches_and_fails_per_document(
    prose, tmp_path, monkeypatch
):
    """One call per batch (the shard's 60 documents in one); when a batch call raises, each
    document is asked alone and only the failing ones are rejected."""
    monkeypatch.chdir(tmp_path)
    texts = _texts(prose)
    recipe = _custom_recipe(
        {"function": "my_filters.py:BatchedShort", "options": {"min_words": 300}, "name": "short"}
    )
    result = _curate(recipe, prose, tmp_path / "run")
    failing = {i for i, t in texts.items() if "sunday" in t.lower()}
    short = {i for i, t in texts.items() if len(t.split()) < 300} - failing
    assert failing and short
    stats = json.loads((tmp_path / "run" / "stats.json").read_text())["02_custom"]
    assert stats["dropped"] == {"short:too_short": len(short), "short:error": len(failing)}
    final = {r["id"]: json.loads(r["meta"]) for r in _rows(result.final_dir)}
    assert sorted(final) == sorted(set(texts) - short - failing)
    assert {meta["batch"] for meta in final.values()} == {
        1
    }  # the Sunday made the batch go one by one
    no_sunday = prose.parent / "weekdays.jsonl"
    no_sunday.write_text(
        "".join(
            line + "\n"
            for line in prose.read_text().splitlines()
            if json.loads(line)["id"] not in failing
        ),
        encoding="utf-8",
    )
    again = _curate(recipe, no_sunday, tmp_path / "again")
    assert {json.loads(r["meta"])["batch"] for r in _rows(again.final_dir)} == {60 - len(failing)}


@pytest.mark.parametrize(
    "options, message",
    [
        (
            {"function": "my_filters.py:drop_short", "options": {"min_chars": 5}},
            "do not fit my_filters.py:drop_short",
        ),
        ({"function": "my_filters.py:nothing"}, "my_filters.py has no function nothing"),
        ({"function": "missing.py:f"}, "function file missing.py not found"),
        ({"function": "no_such_module_here:f"}, "cannot import module no_such_module_here"),
        ({"function": "drop_short"}, "function must be FILE.py:NAME or MODULE:NAME"),
        ({"function": "my_filters.py:Everything"}, "is a class but not a MapStage or BatchStage"),
        (
            {"function": "my_filters.py:BatchedShort", "options": {"words": 5}},
            "do not fit my_filters.py:BatchedShort",
        ),
    ],
)
def test_bad_functions_are_refused_before_any_work(prose, tmp_path, options, message):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        json.dumps({"name": "c", "steps": [{"read": {}}, {"custom": options}]}), encoding="utf-8"
    )
    done = run_curate(recipe, prose, tmp_path / "out", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "steps[1].custom" in done.stderr and message in done.stderr
    assert not (tmp_path / "out").exists()


def test_resuming_after_the_function_changed_is_refused(prose, tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        json.dumps(
            {
                "name": "c",
                "steps": [{"read": {}}, {"custom": {"function": "my_filters.py:drop_short"}}],
            }
        ),
        encoding="utf-8",
    )
    args = curate_args(recipe, prose, tmp_path / "out")
    assert run_cli(*args, cwd=tmp_path).returncode == 0
    again = run_cli(*args, cwd=tmp_path)
    assert again.returncode == 0 and re.search(r"^02_custom +60 +56 +4 ", again.stdout, re.M)
    source = tmp_path / "my_filters.py"
    source.write_text(
        source.read_text().replace("min_words=100", "min_words=200"), encoding="utf-8"
    )
    changed = run_cli(*args, cwd=tmp_path)
    assert changed.returncode == 2 and "holds a run of a different recipe" in changed.stderr
