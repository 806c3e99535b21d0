"""The ``decontaminate`` stage: n-gram overlap with evaluation items, on real prose."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from scratchlm.curate.decontam.ngrams import NgramIndex, words_of
from scratchlm.curate.document import Document
from scratchlm.curate.errors import ConfigError
from scratchlm.curate.stages.decontaminate import ContaminationFilter, Decontaminate
from scratchlm.pipelines.executors import make_executor
from scratchlm.pipelines.recipe import parse_recipe
from scratchlm.pipelines.runner import run_curation
from tests.conftest import DATA


def decontaminate(**options) -> ContaminationFilter:
    """The step's per-document pass, its index built in this process (as outside a run)."""
    return ContaminationFilter(Decontaminate(**options))


def prose(name: str) -> list[str]:
    with gzip.open(DATA / "prose" / name, "rt", encoding="utf-8") as lines:
        return [json.loads(line)["text"] for line in lines]


BROWN = prose("brown.jsonl.gz")
KJV = prose("kjv.jsonl.gz")
WORDS = BROWN[7].split()  # a Brown text: the evaluation items are cut from it


def write_jsonl(path: Path, records: list[dict | None]) -> Path:
    """JSONL with one record a line; ``None`` writes a blank line."""
    path.write_text(
        "".join("\n" if r is None else json.dumps(r) + "\n" for r in records), encoding="utf-8"
    )
    return path


@pytest.fixture
def hellaswag(tmp_path: Path) -> Path:
    """Two HellaSwag-layout items cut from a Brown text, after a blank line (on lines 2 and 3)."""
    return write_jsonl(
        tmp_path / "hellaswag_val.jsonl",
        [
            None,
            {
                "ctx": " ".join(WORDS[0:25]),
                "endings": [" ".join(WORDS[25:40]), "he sat down."],
                "label": "0",
            },
            {
                "ctx": " ".join(WORDS[200:225]),
                "endings": ["she left.", " ".join(WORDS[225:245])],
                "label": 1,
            },
        ],
    )


def disguise(words: list[str]) -> str:
    """The same words with case, punctuation and spacing changed."""
    return ", ".join(
        w.upper().strip(".,;:!?\"'") if i % 2 else f"({w.lower()})" for i, w in enumerate(words)
    )


def embed(snippet: str) -> str:
    """A KJV passage with ``snippet`` in its middle."""
    text = KJV[3]
    middle = text.index(" ", len(text) // 2)
    return f"{text[:middle]}\n{snippet}\n{text[middle:]}"


def test_a_13_gram_with_changed_case_and_punctuation_is_caught(hellaswag: Path) -> None:
    stage = decontaminate(eval_files=(str(hellaswag),))
    doc = Document("d", embed(disguise(WORDS[209:222])))
    assert stage(doc) == "decontaminate:hellaswag_val.jsonl"
    assert doc.meta["contaminated_by"] == "hellaswag_val.jsonl#3"
    assert doc.meta["contaminated_ngrams"] == 1
    # non-ASCII text (curly quotes, a dash) takes the regular-expression path to the same words
    doc = Document("u", embed("“" + " ".join(WORDS[209:222]) + "” — Café"))
    assert stage(doc) == "decontaminate:hellaswag_val.jsonl"
    # an n-gram spanning the context and the right ending counts too
    doc = Document("e", embed(" ".join(WORDS[20:33])))
    assert stage(doc) == "decontaminate:hellaswag_val.jsonl"
    assert doc.meta["contaminated_by"] == "hellaswag_val.jsonl#2"


def test_words_are_the_lowercased_word_character_runs() -> None:
    for text in BROWN[:50] + ["Straße—„Ärger“ İstanbul's co-op_2 naïve…"]:
        assert words_of(text) == [w.lower() for w in re.findall(r"\w+", text)]


def test_sharing_only_12_words_is_kept(hellaswag: Path) -> None:
    text = embed(disguise(WORDS[210:222]))
    assert decontaminate(eval_files=(str(hellaswag),))(Document("d", text)) is None
    assert (
        decontaminate(eval_files=(str(hellaswag),), n=12)(Document("d", text))
        == "decontaminate:hellaswag_val.jsonl"
    )


def test_clean_real_text_is_kept(hellaswag: Path) -> None:
    stage = decontaminate(eval_files=(str(hellaswag),))
    assert [stage(Document(str(i), t)) for i, t in enumerate(KJV[:20])] == [None] * 20
    assert stage(Document("whole", BROWN[7])) == "decontaminate:hellaswag_val.jsonl"


def test_reasons_name_each_evaluation_file(tmp_path: Path, hellaswag: Path) -> None:
    choices = write_jsonl(
        tmp_path / "mc.jsonl",
        [
            {
                "context": " ".join(WORDS[400:420]),
                "choices": ["yes", " ".join(WORDS[420:430])],
                "answer": 1,
            }
        ],
    )
    passages = write_jsonl(
        tmp_path / "lambada.jsonl", [{"text": t} for t in (" ".join(WORDS[500:560]), "too short")]
    )
    stage = decontaminate(eval_files=(str(hellaswag), str(choices), str(passages)))
    cases = {
        "decontaminate:mc.jsonl": WORDS[415:428],
        "decontaminate:lambada.jsonl": WORDS[530:545],
    }
    for reason, words in cases.items():
        doc = Document("d", embed(" ".join(words)))
        assert stage(doc) == reason
        assert doc.meta["contaminated_by"] == f"{reason.split(':')[1]}#1"
    assert stage.index.short == 1  # "too short" has fewer than 13 words


def test_annotate_keeps_and_cut_removes_the_span(hellaswag: Path) -> None:
    snippet = disguise(WORDS[205:235])
    text = embed(snippet)
    doc = Document("d", text)
    assert (
        decontaminate(eval_files=(str(hellaswag),), action="annotate")(doc)
        == "decontaminate:hellaswag_val.jsonl"
    )
    cut = decontaminate(eval_files=(str(hellaswag),), action="cut")
    result = cut(Document("d", text))
    assert isinstance(result, Document)
    before, after = text.split(snippet)
    # the snippet's 30 words, all in the item, go; the words around them stay
    assert words_of(result.text) == words_of(before) + words_of(after)
    assert result.text.startswith(before) and result.text.endswith(after)
    assert result.meta["contaminated_by"] == "hellaswag_val.jsonl#3"
    assert cut(result) is None
    # a document that is nothing but the item is dropped
    assert cut(Document("all", disguise(WORDS[200:245]))) == "decontaminate:hellaswag_val.jsonl"


def test_saved_index_answers_as_the_built_one(tmp_path: Path, hellaswag: Path) -> None:
    built = NgramIndex.build([str(hellaswag)], 13)
    built.save(tmp_path / "index")
    loaded = NgramIndex.load(tmp_path / "index")
    assert loaded.vocab == built.vocab and list(loaded.hashes) == list(built.hashes)
    words = words_of(disguise(WORDS[0:40]))
    assert (
        list(loaded.find(words).windows)
        == list(built.find(words).windows)
        == list(range(len(words) - 12))
    )


def test_recipe_run_counts_contamination_per_file(tmp_path: Path, hellaswag: Path) -> None:
    inputs = write_jsonl(
        tmp_path / "train.jsonl",
        [
            {"id": "clean", "text": KJV[5]},
            {"id": "leak", "text": embed(disguise(WORDS[0:20]))},
            {"id": "clean2", "text": BROWN[100]},
        ],
    )
    recipe = parse_recipe(
        {"name": "t", "steps": [{"read": {}}, {"decontaminate": {"eval_files": [str(hellaswag)]}}]}
    )
    out = tmp_path / "run"
    result = run_curation(recipe, [str(inputs)], out, make_executor("local", 1))
    folder, stats = result.steps[-1]
    assert dict(stats.dropped) == {"decontaminate:hellaswag_val.jsonl": 1}
    step = json.loads((out / folder / "stats.json").read_text())
    assert step["dropped"] == {"decontaminate:hellaswag_val.jsonl": 1}
    rejects = pq.read_table(next((out / folder / "rejects").glob("*.parquet"))).to_pylist()
    assert [json.loads(r["meta"])["contaminated_by"] for r in rejects] == ["hellaswag_val.jsonl#2"]
    assert (
        len(list((out / folder / "_work").glob("index-*/hashes.npy"))) == 1
    )  # built once, in prepare


def test_bad_options_and_files_are_refused_with_their_place(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"steps\[1\]\.decontaminate: eval_files: no such file: nope.jsonl"
    ):
        parse_recipe({"steps": [{"read": {}}, {"decontaminate": {"eval_files": ["nope.jsonl"]}}]})
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"text": "fine"}])
    with bad.open("a") as f:
        f.write('{"ctx": "a", "endings": ["b"], "label": 3}\n')
    with pytest.raises(
        ConfigError, match=r"bad\.jsonl:2: answer/label 3 is not an index into the 1 choices"
    ):
        decontaminate(eval_files=(str(bad),))(Document("d", "text"))


def test_prepare_builds_once_and_again_when_a_file_changes(tmp_path: Path, hellaswag: Path) -> None:
    stage = Decontaminate(eval_files=(str(hellaswag),)).prepare(
        [], tmp_path / "work", executor=None
    )
    first = Path(stage.index_dir)
    stamp = (first / "hashes.npy").stat().st_mtime_ns
    again = Decontaminate(eval_files=(str(hellaswag),)).prepare(
        [], tmp_path / "work", executor=None
    )
    assert Path(again.index_dir) == first and (first / "hashes.npy").stat().st_mtime_ns == stamp
    with hellaswag.open("a") as f:
        f.write(json.dumps({"text": " ".join(WORDS[600:640])}) + "\n")
    changed = Decontaminate(eval_files=(str(hellaswag),)).prepare(
        [], tmp_path / "work", executor=None
    )
    assert Path(changed.index_dir) != first
    doc = Document("d", embed(" ".join(WORDS[610:625])))
    assert (
        changed(doc) == "decontaminate:hellaswag_val.jsonl"
        and doc.meta["contaminated_by"] == "hellaswag_val.jsonl#4"
    )
    assert (
        stage(Document("d", embed(" ".join(WORDS[610:625])))) is None
    )  # the old index, as it was built
