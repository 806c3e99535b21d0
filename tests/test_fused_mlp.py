"""The fused MLP (model/fused_mlp.py): its autograd formulas against the plain block's (CPU,
float64, PyTorch operations behind the custom operators), compilation without graph breaks, the
CPU fallback, and on a CUDA GPU the cuBLASLt epilogues against the plain path in bf16."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from scratchlm.model import fused_mlp
from scratchlm.model.config import GPTConfig
from scratchlm.model.gpt import GPT, FeedForward

torch.set_num_threads(1)
SMALL = GPTConfig(vocab_size=97, block_size=16, n_layer=2, n_head=4, n_embd=32, dropout=0.0)
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _block(
    config: GPTConfig, seed: int, device: str = "cpu", dtype: torch.dtype = torch.float32
) -> FeedForward:
    torch.manual_seed(seed)
    block = FeedForward(config).to(device, dtype)
    for bias in (block.up.bias, block.down.bias):
        torch.nn.init.normal_(bias, std=0.5)
    return block


def _output_and_grads(
    fn, block: FeedForward, x: torch.Tensor, dy: torch.Tensor
) -> list[torch.Tensor]:
    x = x.detach().requires_grad_()
    y = fn(x)
    return [y.detach(), *torch.autograd.grad(y, [x, *block.parameters()], dy.to(y.dtype))]


def _plain(block: FeedForward):
    return lambda x: block.down(torch.nn.functional.gelu(block.up(x), approximate="tanh"))


def test_the_fused_formulas_equal_the_plain_blocks_in_float64() -> None:
    block = _block(SMALL, seed=0, dtype=torch.float64)
    x, dy = torch.randn(3, 5, 32, dtype=torch.float64), torch.randn(3, 5, 32, dtype=torch.float64)
    plain = _output_and_grads(_plain(block), block, x, dy)
    fused = _output_and_grads(lambda t: fused_mlp.gelu_mlp(t, block.up, block.down), block, x, dy)
    assert [t.shape for t in fused] == [t.shape for t in plain]
    for got, want in zip(fused, plain):
        assert torch.allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("backward", ["dgelu", "pytorch"])
def test_each_backward_with_the_residual_inside_equals_the_plain_block(
    backward: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """float64 on the CPU runs each custom operator's PyTorch reference: the autograd formulas of
    every backward variant, with the residual stream added in the down projection."""
    monkeypatch.setattr(fused_mlp, "BACKWARD", backward)
    block = _block(SMALL, seed=4, dtype=torch.float64)
    x, r, dy = (torch.randn(3, 5, 32, dtype=torch.float64) for _ in range(3))
    r.requires_grad_()
    fused = _output_and_grads(
        lambda t: fused_mlp.gelu_mlp(t, block.up, block.down, r), block, x, dy
    )
    r_grad_fused = torch.autograd.grad(fused_mlp.gelu_mlp(x, block.up, block.down, r), r, dy)[0]
    plain = _output_and_grads(lambda t: r + _plain(block)(t), block, x, dy)
    for got, want in zip(fused, plain):
        assert torch.allclose(got, want, rtol=1e-12, atol=1e-12)
    assert torch.equal(r_grad_fused, dy)


def test_the_fused_path_compiles_as_one_graph() -> None:
    block = _block(SMALL, seed=1, dtype=torch.float64)
    x, dy = torch.randn(2, 4, 32, dtype=torch.float64), torch.randn(2, 4, 32, dtype=torch.float64)
    compiled = torch.compile(
        lambda t: fused_mlp.gelu_mlp(t, block.up, block.down, residual=2 * t),
        fullgraph=True,
        backend="aot_eager",
    )
    got = _output_and_grads(compiled, block, x, dy)
    want = _output_and_grads(lambda t: 2 * t + _plain(block)(t), block, x, dy)
    assert all(torch.allclose(g, w, rtol=1e-12, atol=1e-12) for g, w in zip(got, want))


def test_a_cpu_model_keeps_the_plain_path(monkeypatch: pytest.MonkeyPatch) -> None:
    model = GPT(SMALL)
    note = model.use_fused_mlp(torch.device("cpu"))
    assert note == f"{fused_mlp.PLAIN} (fused path off: no CUDA device (cpu))"
    assert not any(block.ff.fused for block in model.blocks)
    assert model.use_fused_mlp(torch.device("cpu"), off="fused_mlp is false").endswith(
        "off: fused_mlp is false)"
    )
    # a block switched on by hand still takes the plain path for CPU tensors
    monkeypatch.setattr(
        fused_mlp, "gelu_mlp", lambda *args: pytest.fail("the fused path ran on the CPU")
    )
    model.blocks[0].ff.fused = True
    idx = torch.randint(0, 97, (2, 16))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert torch.isfinite(model(idx, idx)).all()
    assert fused_mlp.check(torch.device("cpu"), 32) == "no CUDA device (cpu)"


@cuda
@pytest.mark.parametrize("with_residual", [False, True])
def test_cublaslt_epilogues_match_the_plain_path_in_bf16(with_residual: bool) -> None:
    """gpt2-124m's MLP at 8,192 tokens, with and without a bf16 residual stream added: each of
    output, dx, dW_up, db_up, dW_down, db_down from the fused path is within 1% (relative norm) of
    a float64 reference, and no further from it than 1.5 times the plain bf16 path's distance
    plus 0.1%."""
    config = dataclasses.replace(SMALL, n_embd=768, n_head=12)
    block = _block(config, seed=2, device="cuda")
    block.up.bias.data *= 0.04  # GPT-2-like pre-activations
    reference = _block(config, seed=2, device="cuda", dtype=torch.float64)
    reference.load_state_dict(block.state_dict())
    x, dy = torch.randn(8, 1024, 768, device="cuda"), torch.randn(8, 1024, 768, device="cuda")
    r = torch.randn(8, 1024, 768, device="cuda").bfloat16() if with_residual else None
    assert fused_mlp.check(torch.device("cuda"), 768) is None
    want = _output_and_grads(
        lambda t: _plain(reference)(t) + (0 if r is None else r.double()),
        reference,
        x.double(),
        dy.double(),
    )
    results = {}
    for fused in (False, True):
        block.fused = fused
        with torch.autocast("cuda", dtype=torch.bfloat16):
            got = _output_and_grads(lambda t: block(t, residual=r), block, x, dy)
        results[fused] = [((g.double() - w).norm() / w.norm()).item() for g, w in zip(got, want)]
    print("relative errors (plain, fused):", results)
    for plain_err, fused_err in zip(results[False], results[True]):
        assert fused_err < 1e-2 and fused_err <= 1.5 * plain_err + 1e-3


@cuda
def test_a_compiled_gpt_trains_the_same_on_both_paths() -> None:
    """Five AdamW steps of a compiled 2-layer model (bf16 residual stream) on one batch: the losses
    of the two paths differ by less than 1%."""
    config = dataclasses.replace(SMALL, n_embd=256, n_head=4, block_size=128, vocab_size=512)
    idx = torch.randint(
        0, 512, (8, 128), device="cuda", generator=torch.Generator("cuda").manual_seed(0)
    )
    losses = {}
    for fused in (False, True):
        torch.manual_seed(3)
        model = GPT(config).cuda()
        model.residual_dtype = torch.bfloat16  # the fused path adds it inside the down product
        assert model.use_fused_mlp(torch.device("cuda"), None if fused else "plain") == (
            fused_mlp.kernels() if fused else f"{fused_mlp.PLAIN} (fused path off: plain)"
        )
        model.compile_for_training()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        for _ in range(5):
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = model(idx, idx)
            loss.backward()
            opt.step()
            opt.zero_grad()
        losses[fused] = loss.item()
    assert abs(losses[True] - losses[False]) < 0.01 * losses[False]
