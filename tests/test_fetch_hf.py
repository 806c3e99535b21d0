"""Hugging Face datasets on disk: ``save_to_disk`` folders and a real local dataset cache."""

from __future__ import annotations

import json
import os

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")  # no hub access, before datasets reads its config
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import datasets  # noqa: E402

from scratchlm.curate.document import Document  # noqa: E402
from scratchlm.curate.inputs import expand_inputs  # noqa: E402
from scratchlm.curate.readers import FileError, ReaderOptions, Rejected, read_file  # noqa: E402
from scratchlm.curate.stages.read import Read  # noqa: E402
from scratchlm.pipelines.executors.local import LocalExecutor  # noqa: E402
from scratchlm.pipelines.recipe import parse_recipe  # noqa: E402
from scratchlm.pipelines.runner import run_curation  # noqa: E402

ROWS = {"content": ["first text", "second text", None, "fourth text"], "label": [1, 2, 3, 4]}


def read_all(path: str, source: str, **options) -> list:
    return list(read_file(path, source, ReaderOptions(**options)))


def test_save_to_disk_folder_is_one_input_read_in_order(tmp_path):
    folder = tmp_path / "inputs" / "mydata"
    datasets.Dataset.from_dict(ROWS).save_to_disk(str(folder), num_shards=2)
    inputs = expand_inputs([str(tmp_path / "inputs")])
    assert [(i.path, i.source) for i in inputs] == [(str(folder), "mydata")]
    items = read_all(inputs[0].path, inputs[0].source, text_field="content")
    docs = [i for i in items if isinstance(i, Document)]
    assert [d.text for d in docs] == ["first text", "second text", "fourth text"]
    assert [d.meta for d in docs][0] == {"label": 1, "source": "mydata#1"}
    (reject,) = [i for i in items if isinstance(i, Rejected)]
    assert reject.reason == "read:text_not_string" and reject.doc.meta["source"] == "mydata#3"


def test_dataset_dict_folder_gives_one_input_per_split(tmp_path):
    split = datasets.Dataset.from_dict(ROWS)
    datasets.DatasetDict({"train": split, "test": split.select([0])}).save_to_disk(
        str(tmp_path / "dd")
    )
    assert [i.source for i in expand_inputs([str(tmp_path / "dd")])] == ["test", "train"]


def test_local_dataset_cache_arrow_files_are_read(tmp_path):
    source = tmp_path / "rows.jsonl"
    source.write_text(
        "".join(json.dumps({"text": f"cached row {i}", "n": i}) + "\n" for i in range(5))
    )
    loaded = datasets.load_dataset(
        "json", data_files=str(source), cache_dir=str(tmp_path / "cache"), split="train"
    )
    (arrow,) = [f["filename"] for f in loaded.cache_files]
    items = read_all(arrow, "cache.arrow")
    assert [d.text for d in items] == [f"cached row {i}" for i in range(5)]
    folder = os.path.dirname(arrow)  # the cache folder: dataset_info.json beside the .arrow files
    inputs = expand_inputs([folder])
    assert len(inputs) == 1 and [d.text for d in read_all(inputs[0].path, "c")] == [
        d.text for d in items
    ]


def test_read_step_over_a_saved_dataset_with_text_field(tmp_path):
    datasets.Dataset.from_dict(ROWS).save_to_disk(str(tmp_path / "ds"))
    recipe = parse_recipe({"name": "hf", "steps": [{"read": {"text_field": "content"}}]})
    assert isinstance(recipe.steps[0].stage, Read)
    result = run_curation(recipe, [str(tmp_path / "ds")], tmp_path / "run", LocalExecutor(1))
    stats = result.steps[0][1]
    assert (stats.docs_in, stats.docs_out, dict(stats.dropped)) == (
        4,
        3,
        {"read:text_not_string": 1},
    )


def test_broken_dataset_folder_is_a_file_error(tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "state.json").write_text(
        '{"_data_files": [{"filename": "data-00000-of-00001.arrow"}]}'
    )
    (folder / "data-00000-of-00001.arrow").write_bytes(b"not arrow at all")
    (item,) = read_all(str(folder), "broken")
    assert (
        isinstance(item, FileError)
        and item.file == "broken"
        and item.offset.startswith("data-00000-of-00001.arrow")
    )
