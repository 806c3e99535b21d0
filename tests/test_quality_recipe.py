"""The FineWeb recipe end to end through the real CLI, and annotate mode through the runner."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from conftest import REPO, run_cli
from quality_corpus import fortune, prose, web
from scratchlm.pipelines.recipe import load_recipe

FINEWEB = REPO / "pipelines" / "recipes" / "fineweb.yaml"


def _write_jsonl(path: Path, docs) -> None:
    with path.open("w", encoding="utf-8") as out:
        for doc in docs:
            out.write(
                json.dumps(
                    {
                        "id": doc.id,
                        "text": doc.text,
                        **{k: v for k, v in doc.meta.items() if k == "url"},
                    }
                )
                + "\n"
            )


def _rows(step_dir: Path) -> list[dict]:
    rows = []
    for part in sorted(step_dir.glob("part-*.parquet")):
        rows += pq.read_table(part).to_pylist()
    return rows


def test_fineweb_recipe_steps_in_fineweb_order():
    recipe = load_recipe(FINEWEB)
    assert [s.name for s in recipe.steps] == [
        "read",
        "url_filter",
        "language",
        "gopher_repetition",
        "gopher_quality",
        "c4_quality",
        "fineweb_quality",
        "minhash",
        "pii",
    ]
    language = recipe.steps[2].stage
    assert language.keep == ["en"] and language.threshold == 0.65


def test_fineweb_recipe_runs_and_accounts_for_every_document(tmp_path):
    contact = prose("brown/cb01")
    contact.text += (
        "\nLetters to the editor: write to editor@example-gazette.com or telnet to 192.0.2.17."
    )
    docs = [
        prose("brown/ca01"),
        prose("brown/ca02"),
        contact,
        fortune("fortune/de/de/bahnhof#11"),
        web("https://docs.python.org/3.11/c-api/allocation.html"),
        web("http://scamlist.onion/index.html"),
    ]
    inputs = tmp_path / "docs.jsonl"
    _write_jsonl(inputs, docs)
    done = run_cli(
        "curate", str(FINEWEB), "--input", str(inputs), "--output", str(tmp_path / "run")
    )
    assert done.returncode == 0, done.stderr
    stats = json.loads((tmp_path / "run" / "stats.json").read_text())
    for step in stats.values():
        assert step["docs_in"] == step["docs_out"] + sum(step["dropped"].values())
    final = _rows(tmp_path / "run" / "09_pii")
    kept = {row["id"] for row in final}
    assert {"brown/ca01", "brown/ca02", "brown/cb01"} <= kept
    assert "fortune/de/de/bahnhof#11" not in kept
    scrubbed = next(row for row in final if row["id"] == "brown/cb01")
    assert "editor@example-gazette.com" not in scrubbed["text"] and "<EMAIL>" in scrubbed["text"]
    meta = json.loads(scrubbed["meta"])
    assert meta["lang"] == "en" and meta["pii_email"] == 1 and meta["pii_ip"] == 1
    assert meta["gopher_word_count"] > 50 and "fineweb_punct_lines_ratio" in meta


def test_annotate_mode_keeps_documents_and_records_reasons(tmp_path):
    recipe = tmp_path / "look.yaml"
    recipe.write_text(
        "name: look\nsteps:\n  - read: {}\n  - gopher_quality: {action: annotate}\n"
        "  - fineweb_quality: {action: annotate}\n",
        encoding="utf-8",
    )
    inputs = tmp_path / "docs.jsonl"
    _write_jsonl(inputs, [prose("brown/ca01"), fortune("fortune/de/de/bahnhof#11")])
    done = run_cli("curate", str(recipe), "--input", str(inputs), "--output", str(tmp_path / "run"))
    assert done.returncode == 0, done.stderr
    rows = {
        row["id"]: json.loads(row["meta"]) for row in _rows(tmp_path / "run" / "03_fineweb_quality")
    }
    assert set(rows) == {"brown/ca01", "fortune/de/de/bahnhof#11"}
    assert "filter_reasons" not in rows["brown/ca01"]
    assert rows["fortune/de/de/bahnhof#11"]["filter_reasons"][0] == "gopher_quality:word_count"
    assert rows["fortune/de/de/bahnhof#11"]["gopher_word_count"] < 50
