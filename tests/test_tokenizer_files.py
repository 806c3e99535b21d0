"""The one tokenizer.json loader: how a literal end-of-text marker in a text encodes; bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from scratchlm.curate.errors import ConfigError
from scratchlm.tokenizer.files import load_tokenizer
from train_shards import EOS, read_texts, train_bpe


def test_a_literal_marker_is_text_in_data_and_the_token_in_prompts(
    tmp_path: Path, data_dir: Path
) -> None:
    path = tmp_path / "tokenizer.json"
    train_bpe(read_texts(data_dir / "prose" / "brown.jsonl.gz", 50_000), 400).save(str(path))
    text = f"The end.{EOS}The start."
    data, prompt = load_tokenizer(path), load_tokenizer(path, special_tokens_as_text=False)
    eos = data.token_to_id(EOS)
    as_text = data.encode(text, add_special_tokens=False).ids
    assert eos not in as_text and data.decode(as_text, skip_special_tokens=False) == text
    as_token = prompt.encode(text, add_special_tokens=False).ids
    assert as_token.count(eos) == 1 and prompt.decode(as_token, skip_special_tokens=False) == text


def test_missing_and_broken_files_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope.json: no tokenizer.json there$"):
        load_tokenizer(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text('{"version": "1.0", "model": 3}', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.json: not a readable tokenizer.json \(") as err:
        load_tokenizer(tmp_path / "bad.json")
    assert "\n" not in str(err.value)
