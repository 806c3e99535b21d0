"""On-disk names each have one owner; where ``model/`` keeps its own copy (it imports nothing of
the other packages), the copies agree."""

from __future__ import annotations

from scratchlm.curate import layout
from scratchlm.model import checkpoint, data
from scratchlm.tokenizer import shard_format
from scratchlm.tokenizer.config import TOKENIZER_FILE


def test_the_shard_folder_names_model_reads_are_those_tokenizer_writes() -> None:
    assert data.FORMAT == shard_format.FORMAT == "scratchlm-shards/1"
    assert data.MANIFEST == shard_format.MANIFEST == "manifest.json"
    assert data.TOKENIZER_FILE == TOKENIZER_FILE == "tokenizer.json"


def test_a_checkpoint_names_the_tokenizer_copied_beside_its_weights(tmp_path) -> None:
    saved = checkpoint.Checkpoint(tmp_path / "step-0000001", {}, {}, {})
    assert saved.tokenizer_path == tmp_path / "step-0000001" / TOKENIZER_FILE


def test_a_run_folders_shard_names() -> None:
    assert layout.part_name(3) == "part-00003"
    assert f"{layout.part_name(12)}{layout.SHARD}" == "part-00012.parquet"
    assert f"{layout.part_name(12)}{layout.DONE}" == "part-00012.done"
