"""The chunked head loss computes F.cross_entropy(x @ W.T, targets) and its gradients, and trains
the same."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from conftest import REPO
from scratchlm.model.chunked_loss import IGNORE_INDEX, chunked_cross_entropy
from scratchlm.model.config import GPU_LOSS_CHUNK, TrainConfig, loss_chunk_for
from scratchlm.model.errors import ModelError
from scratchlm.model.train import Trainer
from scratchlm.model.xent_rows import kernel_available
from train_shards import brown_shards
from training_helpers import six_step_config, tiny_config

torch.set_num_threads(1)


def _both(rows: int, width: int, vocab: int, chunk: int, ignored: list[int], seed: int):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, width, dtype=torch.float64, generator=gen, requires_grad=True)
    w = torch.randn(vocab, width, dtype=torch.float64, generator=gen, requires_grad=True)
    targets = torch.randint(0, vocab, (rows,), generator=gen)
    targets[ignored] = IGNORE_INDEX
    plain = F.cross_entropy(x @ w.t(), targets)
    (gx, gw) = torch.autograd.grad(plain * 3.0, (x, w))
    chunked = chunked_cross_entropy(x, w, targets, chunk)
    (cx, cw) = torch.autograd.grad(chunked * 3.0, (x, w))
    return (plain, gx, gw), (chunked, cx, cw)


@pytest.mark.parametrize("chunk", [1, 7, 50, 64])
def test_loss_and_gradients_match_the_plain_loss(chunk: int) -> None:
    (plain, gx, gw), (chunked, cx, cw) = _both(50, 16, 97, chunk, ignored=[3, 4, 49], seed=chunk)
    assert torch.allclose(chunked, plain, rtol=1e-12, atol=1e-12)
    assert torch.allclose(cx, gx, rtol=1e-10, atol=1e-12) and torch.allclose(
        cw, gw, rtol=1e-10, atol=1e-12
    )
    assert cx[[3, 4, 49]].abs().max() == 0  # ignored positions get no gradient


def test_training_with_a_chunked_loss_matches_the_plain_loss(tmp_path: Path) -> None:
    shards = brown_shards(tmp_path / "shards", chars=40_000, vocab_size=300)
    base = six_step_config(log_every=1, eval_tokens=512, lr=3e-3)
    losses = []
    for chunk in (0, 37):
        trainer = Trainer(
            dataclasses.replace(base, loss_chunk=chunk),
            shards,
            tmp_path / f"out{chunk}",
            device="cpu",
        )
        assert trainer.model.head.loss_chunk == chunk
        losses.append([float(trainer.train_step(step)[0]) for step in range(base.max_steps)])
        weights = torch.cat([p.detach().flatten() for p in trainer.model.parameters()])
        losses[-1].append(weights)
    plain, chunked = losses
    assert plain[:-1] == pytest.approx(chunked[:-1], abs=1e-5)
    assert plain[0] > plain[-2]  # it trains
    assert torch.allclose(plain[-1], chunked[-1], atol=1e-5)


def test_without_gradients_the_chunks_form_only_the_loss() -> None:
    gen = torch.Generator().manual_seed(3)
    x, w = torch.randn(40, 8, generator=gen), torch.randn(61, 8, generator=gen)
    targets = torch.randint(0, 61, (40,), generator=gen)
    targets[[0, 39]] = IGNORE_INDEX
    with torch.no_grad():
        loss = chunked_cross_entropy(x, w, targets, 9)
    assert not loss.requires_grad and loss.grad_fn is None
    assert torch.allclose(loss, F.cross_entropy(x @ w.t(), targets), rtol=1e-6)


def test_the_default_chunks_only_where_the_row_kernel_runs() -> None:
    assert loss_chunk_for(None, kernel=True) == GPU_LOSS_CHUNK == 32_768
    assert (
        loss_chunk_for(None, kernel=False) == 0
    )  # no row kernel (a CPU): whole logits, faster there
    assert loss_chunk_for(0, kernel=True) == 0 and loss_chunk_for(96, kernel=False) == 96
    assert not kernel_available(torch.device("cpu"))
    with pytest.raises(ModelError, match="loss_chunk must be 0"):
        TrainConfig(loss_chunk=-1)


def test_a_cpu_trainer_takes_the_whole_logits_by_default(tmp_path: Path) -> None:
    shards = brown_shards(tmp_path / "shards", chars=40_000, vocab_size=300)
    cfg = tiny_config(max_steps=1, micro_batch=2, checkpoint_every=0)
    trainer = Trainer(cfg, shards, tmp_path / "out", device="cpu")
    assert trainer.model.head.loss_chunk == 0
    trainer.run()
    start = json.loads((tmp_path / "out" / "log.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert (
        start["event"] == "start"
        and start["loss_chunk"] == 0
        and start["train"]["loss_chunk"] is None
    )
    assert start["kernels"] == {
        "mlp": "PyTorch (linear, GELU, linear) (fused path off: no autocast)",
        "loss": "F.cross_entropy over the whole logits",
        "attention": "F.scaled_dot_product_attention on the CPU",
    }


def test_float16_products_are_refused() -> None:
    x, w = torch.randn(4, 8), torch.randn(10, 8)
    with torch.autocast("cpu", dtype=torch.float16), pytest.raises(ValueError, match="not float16"):
        chunked_cross_entropy(x.requires_grad_(), w, torch.zeros(4, dtype=torch.long), 2)


def test_a_compiled_model_keeps_the_chunked_loss_out_of_its_graph_and_agrees_with_eager() -> None:
    """compile_for_training wraps the chunked loss in torch.compiler.disable (not at import: that
    would import the compiler with every import of the model) and trains to the same gradients."""
    from scratchlm.model.config import model_config
    from scratchlm.model.gpt import GPT

    torch.manual_seed(0)
    eager = GPT(
        model_config(
            "tiny",
            {
                "n_layer": 1,
                "n_head": 2,
                "n_embd": 32,
                "block_size": 16,
                "vocab_size": 64,
                "dropout": 0.0,
            },
        )
    )
    compiled = GPT(eager.config)
    compiled.load_state_dict(eager.state_dict())
    for model in (eager, compiled):
        model.head.loss_chunk = 12
    assert compiled.head.chunked_loss is chunked_cross_entropy
    compiled.compile_for_training()
    assert compiled.head.chunked_loss is not chunked_cross_entropy
    idx = torch.randint(0, 64, (3, 16), generator=torch.Generator().manual_seed(1))
    losses = []
    for model in (eager, compiled):
        model.train()
        loss = model(idx, idx)
        loss.backward()
        losses.append(float(loss))
    assert losses[0] == pytest.approx(losses[1], abs=1e-5)
    for a, b in zip(eager.parameters(), compiled.parameters()):
        assert torch.allclose(a.grad, b.grad, atol=1e-5)


def test_importing_the_model_does_not_import_the_compiler() -> None:
    code = (
        "import sys, scratchlm.model.gpt, scratchlm.model.train; "
        "print('torch._dynamo' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert done.stdout.strip() == "False"


def test_with_every_target_ignored_the_loss_is_nan_and_the_gradients_zero_as_in_cross_entropy() -> (
    None
):
    x, w = torch.randn(6, 4, requires_grad=True), torch.randn(9, 4, requires_grad=True)
    targets = torch.full((6,), IGNORE_INDEX)
    loss = chunked_cross_entropy(x, w, targets, 4)
    loss.backward()
    assert torch.isnan(loss) and torch.isnan(F.cross_entropy(x.detach() @ w.detach().t(), targets))
    assert x.grad.abs().max() == 0 and w.grad.abs().max() == 0
    with torch.no_grad():
        assert torch.isnan(chunked_cross_entropy(x, w, targets, 4))
