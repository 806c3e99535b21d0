"""Export to and import from Hugging Face GPT-2 folders, checked against ``transformers`` itself
(offline)."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest
import torch
from tokenizers import Tokenizer

from conftest import DATA, run_cli
from finetune_data import read_split, tiny_checkpoint
from scratchlm.curate.errors import ConfigError
from scratchlm.model import checkpoint
from scratchlm.model import finetune as ft
from scratchlm.pipelines.hf_interop import import_hf

os.environ["HF_HUB_OFFLINE"] = "1"
transformers = pytest.importorskip("transformers")

TOLERANCE = 1e-4  # max abs logit difference in float32


def real_text() -> str:
    with gzip.open(DATA / "prose" / "kjv.jsonl.gz", "rt", encoding="utf-8") as f:
        return json.loads(f.readline())["text"][:400]


def our_logits(folder: Path, ids: torch.Tensor) -> torch.Tensor:
    model, _ = ft.load_base(folder, torch.device("cpu"))
    with torch.no_grad():
        return model.eval()(ids)


@pytest.mark.parametrize("model", [{}, {"tie_weights": False, "qkv_bias": True, "n_head": 4}])
def test_exported_model_loads_in_transformers_with_the_same_logits(tmp_path, monkeypatch, model):
    base = tiny_checkpoint(
        tmp_path / "base", [r["text"] for r in read_split("val")], vocab_size=700, **model
    )
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    result = run_cli("export", "--checkpoint", str(base), "--to", "hf", str(tmp_path / "hf"))
    assert result.returncode == 0, result.stderr
    hf_model = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "hf").eval()
    hf_tok = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
    text = real_text()
    ids = hf_tok(text, return_tensors="pt").input_ids
    ours = checkpoint.load(base)
    assert ids[0].tolist() == Tokenizer.from_file(str(base / "tokenizer.json")).encode(text).ids
    assert hf_tok.decode(ids[0]) == text
    assert (
        hf_tok.eos_token == "<|endoftext|>" and hf_model.config.eos_token_id == hf_tok.eos_token_id
    )
    ids = ids[:, : ours.model_config["block_size"]]
    with torch.no_grad():
        theirs = hf_model(ids).logits
    assert (theirs - our_logits(base, ids)).abs().max() < TOLERANCE

    # and back: the imported checkpoint holds the very same weights
    back = checkpoint.load(import_hf(tmp_path / "hf", tmp_path / "back")).weights
    if not model.get("qkv_bias"):  # GPT-2 has a query/key/value bias: export wrote zeros
        assert all(
            torch.equal(back.pop(f"blocks.{i}.att.qkv.bias"), torch.zeros(192)) for i in range(2)
        )
    assert set(back) == set(ours.weights) and all(
        torch.equal(back[k], ours.weights[k]) for k in back
    )


@pytest.mark.parametrize("tied", [True, False])
def test_imported_random_gpt2_gives_the_same_logits(tmp_path, monkeypatch, tied):
    """A GPT2LMHeadModel built locally from a config, saved as transformers saves it, imported."""
    texts = [r["text"] for r in read_split("val")]
    tiny_checkpoint(tmp_path / "tok", texts, vocab_size=600)
    tok = Tokenizer.from_file(str(tmp_path / "tok" / "tokenizer.json"))
    config = transformers.GPT2Config(
        vocab_size=tok.get_vocab_size(),
        n_positions=80,
        n_embd=48,
        n_layer=3,
        n_head=3,
        tie_word_embeddings=tied,
        bos_token_id=0,
        eos_token_id=0,
    )
    torch.manual_seed(1)
    hf_model = transformers.GPT2LMHeadModel(config).eval()
    with (
        torch.no_grad()
    ):  # biases start at zero in GPT-2's init: give them values so the mapping is tested
        for name, param in hf_model.named_parameters():
            if name.endswith("bias"):
                param.normal_(std=0.02)
    hf_model.save_pretrained(tmp_path / "gpt2")
    tok.model.save(str(tmp_path / "gpt2"))  # vocab.json + merges.txt, as GPT-2's own files

    if tied:  # through the CLI once, the function otherwise
        monkeypatch.setenv("OMP_NUM_THREADS", "1")
        result = run_cli(
            "import", "--from-hf", str(tmp_path / "gpt2"), "--out", str(tmp_path / "ours")
        )
        assert result.returncode == 0, result.stderr
    else:
        import_hf(tmp_path / "gpt2", tmp_path / "ours")
    imported = checkpoint.load(tmp_path / "ours")
    assert (
        imported.model_config["tie_weights"] is tied and imported.model_config["qkv_bias"] is True
    )
    ours_tok = Tokenizer.from_file(str(imported.folder / "tokenizer.json"))
    text = real_text()
    assert ours_tok.encode(text).ids == tok.encode(text).ids
    ids = torch.tensor([tok.encode(text).ids[:80]])
    with torch.no_grad():
        theirs = hf_model(ids).logits
    assert (theirs - our_logits(tmp_path / "ours", ids)).abs().max() < TOLERANCE


def test_import_refuses_what_our_gpt_cannot_compute(tmp_path):
    config = transformers.GPT2Config(
        vocab_size=300, n_positions=16, n_embd=16, n_layer=1, n_head=2, activation_function="gelu"
    )
    transformers.GPT2LMHeadModel(config).save_pretrained(tmp_path / "gpt2")
    with pytest.raises(ConfigError, match="config.json: activation 'gelu'"):
        import_hf(tmp_path / "gpt2", tmp_path / "ours")
