"""LoRA: only adapters learn, merging reproduces the adapted model, saved adapters merge back."""

from __future__ import annotations

import pytest
import torch

from conftest import run_cli
from finetune_data import read_split, tiny_checkpoint
from scratchlm.model import checkpoint
from scratchlm.model import finetune as ft
from scratchlm.model.config import GPTConfig
from scratchlm.model.errors import ModelError
from scratchlm.model.gpt import GPT
from scratchlm.model.lora import LoraConfig, LoRALinear, add_lora, merge_lora
from scratchlm.pipelines.finetune_data import TextTokenizer, encode_labelled

CONFIG = GPTConfig(
    vocab_size=256, block_size=32, n_layer=2, n_head=2, n_embd=32, dropout=0.0, qkv_bias=True
)


def adapted_model() -> tuple[GPT, GPT]:
    """(base copy, LoRA model) with the same base weights."""
    torch.manual_seed(0)
    base = GPT(CONFIG).eval()
    model = GPT(CONFIG)
    model.load_state_dict(base.state_dict())
    assert add_lora(model, LoraConfig(rank=4, alpha=8)) == 4 * CONFIG.n_layer
    return base, model


def test_only_adapters_receive_gradients_and_base_stays():
    base, model = adapted_model()
    x = torch.randint(0, 256, (4, 16))
    with torch.no_grad():  # B starts at zero: the adapted model computes what the base computes
        assert torch.equal(model(x), base(x))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(3):
        loss = model(x, x.roll(-1, dims=1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for name, param in model.named_parameters():
        if "lora_" in name:
            assert param.requires_grad and param.grad is not None and param.grad.abs().sum() > 0, (
                name
            )
        else:
            assert not param.requires_grad and param.grad is None, name
            assert torch.equal(param, base.state_dict()[name]), name
    with torch.no_grad():
        assert not torch.allclose(model(x), base(x))


def test_merged_weights_give_the_adapted_outputs():
    _, model = adapted_model()
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(std=0.05)
    x = torch.randint(0, 256, (3, 20))
    with torch.no_grad():
        adapted = model(x)
        assert merge_lora(model) == 4 * CONFIG.n_layer
        assert not any(isinstance(m, LoRALinear) for m in model.modules())
        assert set(model.state_dict()) == set(GPT(CONFIG).state_dict())
        assert (model(x) - adapted).abs().max() < 1e-5


def test_lora_classifier_saves_adapters_that_merge_back(tmp_path, monkeypatch):
    """Fine-tune with LoRA, then rebuild the model from base + adapters with ``finetune merge``."""
    texts = [r["text"] for r in read_split("val")]
    base = tiny_checkpoint(tmp_path / "base", texts, vocab_size=512, block_size=64)
    model, saved = ft.load_base(base, torch.device("cpu"))
    cfg = ft.FinetuneConfig(epochs=1, batch_size=8, lr=1e-3, lora_rank=4, lora_alpha=8)
    ft.setup(model, cfg, classes=3)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n or n.startswith("head.out_head.") for n in trainable)
    tok = TextTokenizer.load(base / "tokenizer.json")
    rows = [(r["text"], r["label"]) for r in read_split("val")][:48]
    data = encode_labelled(rows, ["brown", "kjv", "shakespeare"], tok, tmp_path)
    history = ft.finetune_classifier(model, data, data[:8], tok.eos_id, cfg)
    tuned = ft.save(
        tmp_path / "tuned",
        model,
        saved,
        {"task": "classify", "labels": ["brown", "kjv", "shakespeare"]},
        cfg,
        history[-1]["step"],
    )
    assert (tmp_path / "tuned" / ft.ADAPTERS).stat().st_size < (
        saved.folder / checkpoint.WEIGHTS
    ).stat().st_size / 3

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    result = run_cli(
        "finetune",
        "merge",
        "--adapters",
        str(tmp_path / "tuned"),
        "--out",
        str(tmp_path / "merged"),
    )
    assert result.returncode == 0, result.stderr
    merged, direct = checkpoint.load(tmp_path / "merged").weights, checkpoint.load(tuned).weights
    assert set(merged) == set(direct)
    assert all(torch.allclose(merged[k], direct[k], atol=1e-6) for k in direct)
    base_weights = saved.weights
    assert not torch.equal(
        merged["blocks.0.att.qkv.weight"], base_weights["blocks.0.att.qkv.weight"]
    )
    assert torch.equal(merged["tok_emb.weight"], base_weights["tok_emb.weight"])

    other = tiny_checkpoint(tmp_path / "other", texts, vocab_size=512, block_size=64, seed=1)
    with pytest.raises(ModelError, match="not the base checkpoint these adapters were trained on"):
        ft.merge_adapters(tmp_path / "tuned", tmp_path / "wrong", other)
