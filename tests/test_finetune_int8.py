"""int8 dynamic quantization for CPU inference: every Linear quantized, outputs and loss close to
float32."""

from __future__ import annotations

import torch
from torch import nn

from finetune_data import read_split, tiny_checkpoint
from scratchlm.model import finetune as ft
from scratchlm.model.generate import generate
from scratchlm.model.quantize import quantize_int8
from scratchlm.pipelines.finetune_data import TextTokenizer


def test_int8_model_quantizes_every_linear_and_stays_close(tmp_path):
    texts = [r["text"] for r in read_split("val")]
    base = tiny_checkpoint(tmp_path, texts, vocab_size=512, block_size=64, n_embd=128)
    model, _ = ft.load_base(base, torch.device("cpu"))
    model.eval()
    int8 = quantize_int8(model)
    linears = [n for n, m in model.named_modules() if type(m) is nn.Linear]
    quantized = dict(int8.named_modules())
    assert len(linears) == 4 * model.config.n_layer + 1
    assert all(isinstance(quantized[n], torch.ao.nn.quantized.dynamic.Linear) for n in linears)
    assert all(
        type(m) is nn.Linear for n, m in model.named_modules() if n in linears
    )  # original untouched

    tok = TextTokenizer.load(base / "tokenizer.json")
    ids = torch.tensor([tok.encode([t])[0][:65] for t in texts[:8] if len(tok.encode([t])[0]) > 65])
    x, y = ids[:, :-1], ids[:, 1:]
    with torch.no_grad():
        full, small = model(x), int8(x)
        loss_full, loss_int8 = model(x, y).item(), int8(x, y).item()
    assert (
        0 < (full - small).abs().mean() < 0.1 * full.abs().mean()
    )  # int8 rounding, measured 4% here
    assert abs(loss_full - loss_int8) < 0.01 * loss_full
    agree = (full.argmax(-1) == small.argmax(-1)).float().mean()
    assert agree > 0.9
    out = generate(int8, x[:1, :8], 12, temperature=0.0)
    assert out.shape == (1, 20)
