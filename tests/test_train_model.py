"""The GPT's math against a plain reference, KV-cache decoding, sampling filters, safetensors,
refusals."""

from __future__ import annotations

import dataclasses
import json
import math
import pickle

import numpy as np
import pytest
import torch

from scratchlm.model import checkpoint
from scratchlm.model.config import GPTConfig, TrainConfig, model_config
from scratchlm.model.data import open_shards
from scratchlm.model.errors import ModelError
from scratchlm.model.generate import filter_logits, generate
from scratchlm.model.gpt import GPT
from scratchlm.model.safetensors_io import load_file, save_file
from scratchlm.model.train import Trainer, resolve_model_config
from train_shards import brown_shards

torch.set_num_threads(1)
SMALL = GPTConfig(vocab_size=97, block_size=16, n_layer=2, n_head=4, n_embd=32, dropout=0.0)


def reference_logits(model: GPT, idx: torch.Tensor) -> torch.Tensor:
    """The same network by hand: loops over heads, an explicit mask, the GELU formula."""
    sd = {k: v.double() for k, v in model.state_dict().items()}
    c = model.config
    batch, tokens = idx.shape
    head_dim = c.n_embd // c.n_head

    def norm(x, prefix):
        mean = x.mean(-1, keepdim=True)
        var = ((x - mean) ** 2).mean(-1, keepdim=True)
        return (x - mean) / torch.sqrt(var + 1e-5) * sd[prefix + ".weight"] + sd[prefix + ".bias"]

    def linear(x, prefix):
        y = x @ sd[prefix + ".weight"].T
        return y + sd[prefix + ".bias"] if prefix + ".bias" in sd else y

    x = sd["tok_emb.weight"][idx] + sd["pos_emb.weight"][:tokens]
    mask = torch.triu(torch.ones(tokens, tokens, dtype=torch.bool), diagonal=1)
    for i in range(c.n_layer):
        p = f"blocks.{i}."
        h = norm(x, p + "norm1")
        qkv = linear(h, p + "att.qkv")
        q, k, v = qkv[..., : c.n_embd], qkv[..., c.n_embd : 2 * c.n_embd], qkv[..., 2 * c.n_embd :]
        heads = []
        for head in range(c.n_head):
            sl = slice(head * head_dim, (head + 1) * head_dim)
            scores = q[..., sl] @ k[..., sl].transpose(1, 2) / math.sqrt(head_dim)
            weights = torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1)
            heads.append(weights @ v[..., sl])
        x = x + linear(torch.cat(heads, dim=-1), p + "att.out_proj")
        h = linear(norm(x, p + "norm2"), p + "ff.up")
        h = 0.5 * h * (1 + torch.tanh(math.sqrt(2 / math.pi) * (h + 0.044715 * h**3)))
        x = x + linear(h, p + "ff.down")
    x = norm(x, "head.final_norm")
    head_weight = sd["tok_emb.weight"] if c.tie_weights else sd["head.out_head.weight"]
    return x @ head_weight.T


@pytest.mark.parametrize("tie,qkv_bias", [(True, False), (False, True)])
def test_forward_matches_reference(tie: bool, qkv_bias: bool) -> None:
    torch.manual_seed(0)
    model = GPT(dataclasses.replace(SMALL, tie_weights=tie, qkv_bias=qkv_bias)).double().eval()
    idx = torch.randint(0, 97, (3, 16))
    targets = torch.randint(0, 97, (3, 16))
    expected = reference_logits(model, idx)
    got = model(idx)
    assert got.shape == (3, 16, 97)
    assert torch.allclose(got, expected, atol=1e-10, rtol=0)
    manual_loss = -torch.log_softmax(expected, -1).gather(-1, targets[..., None]).mean()
    assert torch.allclose(model(idx, targets).double(), manual_loss, atol=1e-10)
    assert (model.head.out_head.weight is model.tok_emb.weight) == tie


def test_kv_cache_decoding_matches_full_forward() -> None:
    torch.manual_seed(1)
    model = GPT(SMALL).double().eval()
    prompt = torch.randint(0, 97, (2, 5))
    cached = generate(model, prompt, max_new_tokens=11, temperature=0)
    out = prompt
    for _ in range(11):  # greedy, recomputing the whole sequence each time
        out = torch.cat([out, model(out)[:, -1].argmax(-1, keepdim=True)], dim=1)
    assert torch.equal(cached, out)
    longer = generate(
        model,
        prompt,
        max_new_tokens=40,
        temperature=1.0,
        top_k=5,
        generator=torch.Generator().manual_seed(0),
    )
    assert longer.shape == (2, 45)  # runs past block_size (16) by restarting the cache


def test_sampling_filters() -> None:
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    assert torch.isinf(filter_logits(logits, top_k=2, top_p=None)[0, 2:]).all()
    assert torch.isfinite(filter_logits(logits, top_k=2, top_p=None)[0, :2]).all()
    nucleus = filter_logits(logits, top_k=None, top_p=0.7)  # 0.5 + 0.3 reaches 0.7
    assert torch.isfinite(nucleus[0, :2]).all() and torch.isinf(nucleus[0, 2:]).all()


def test_safetensors_files_interoperate_with_the_library(tmp_path) -> None:
    st = pytest.importorskip("safetensors.torch")
    tensors = {
        "a": torch.randn(3, 4),
        "b": torch.arange(5, dtype=torch.int64),
        "c": torch.randn(2, 2).to(torch.bfloat16),
        "scalar": torch.tensor(2.5),
    }
    save_file(tensors, tmp_path / "ours.safetensors")
    theirs = st.load_file(str(tmp_path / "ours.safetensors"))
    assert all(torch.equal(theirs[k], v) for k, v in tensors.items())
    st.save_file(tensors, str(tmp_path / "theirs.safetensors"))
    ours = load_file(tmp_path / "theirs.safetensors")
    assert all(torch.equal(ours[k], v) and ours[k].dtype == v.dtype for k, v in tensors.items())


class Payload:
    """Anything not plain data: unpickling it would run code."""

    def __reduce__(self):
        return (print, ("unpickled!",))


def test_checkpoint_refuses_changed_files_and_pickles(tmp_path) -> None:
    model = GPT(SMALL)
    weights = checkpoint.weights_for_saving(model.state_dict(), tied=True)
    state = {"step": 3, "model_config": dataclasses.asdict(SMALL)}
    folder = checkpoint.save(tmp_path, 3, weights, state)
    loaded = checkpoint.load(tmp_path)  # the training folder resolves to its newest checkpoint
    restored = GPT(GPTConfig(**loaded.model_config))
    checkpoint.load_weights(restored, loaded.weights)
    assert all(
        torch.equal(a, b)
        for a, b in zip(model.state_dict().values(), restored.state_dict().values())
    )

    blob = bytearray((folder / checkpoint.WEIGHTS).read_bytes())
    blob[-3] ^= 0xFF
    (folder / checkpoint.WEIGHTS).write_bytes(bytes(blob))
    with pytest.raises(ModelError, match="sha256 does not match"):
        checkpoint.load(folder)

    def reindex() -> None:
        index = json.loads((folder / checkpoint.INDEX).read_text())
        index["sha256"] = {n: checkpoint.sha256_file(folder / n) for n in index["sha256"]}
        (folder / checkpoint.INDEX).write_text(json.dumps(index))

    reindex()  # the bytes now agree with the index but the header offsets do not
    (folder / checkpoint.WEIGHTS).write_bytes(bytes(blob[:-10]))
    reindex()
    with pytest.raises(ModelError, match="not a valid safetensors file"):
        checkpoint.load(folder)

    checkpoint.save(tmp_path, 4, weights, state)
    folder = tmp_path / "step-0000004"
    with open(folder / checkpoint.STATE, "wb") as f:
        pickle.dump({"step": 4, "hook": Payload()}, f)
    reindex()
    with pytest.raises(ModelError, match="refused, not plain tensors"):
        checkpoint.load(folder)


def test_shard_folders_are_checked(tmp_path) -> None:
    shards = brown_shards(tmp_path / "shards", chars=50_000, vocab_size=300)
    cfg = TrainConfig(model={"vocab_size": 256, "block_size": 16})
    with pytest.raises(ModelError, match="vocabulary of 300 tokens exceeds the model's 256"):
        resolve_model_config(cfg, open_shards(shards))
    assert (
        resolve_model_config(TrainConfig(), open_shards(shards)).vocab_size == 320
    )  # padded to 64
    path = shards / "train-00000.npy"
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="train-00000.npy: sha256 does not match"):
        Trainer(TrainConfig(model={"block_size": 16}), shards, tmp_path / "out")
    with pytest.raises(ModelError, match="unknown preset"):
        model_config("gpt2-7b")
    assert np.load(shards / "val-00000.npy").dtype == np.uint16


def test_bf16_residual_stream_under_autocast() -> None:
    torch.manual_seed(2)
    model = GPT(SMALL)
    idx, targets = torch.randint(0, 97, (2, 16)), torch.randint(0, 97, (2, 16))
    seen = []
    model.blocks[1].register_forward_pre_hook(lambda module, args: seen.append(args[0].dtype))
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        fp32_stream = model(idx, targets)
        model.residual_dtype = torch.bfloat16
        bf16_stream = model(idx, targets)
    assert seen == [torch.float32, torch.bfloat16]
    assert abs(float(fp32_stream) - float(bf16_stream)) < 0.02
    with torch.no_grad():
        model(idx)  # outside autocast the stream stays fp32 (as in sampling)
    assert seen[-1] == torch.float32


def test_activation_checkpointing_gives_the_same_gradients() -> None:
    torch.manual_seed(3)
    model = GPT(SMALL).double()
    idx, targets = torch.randint(0, 97, (2, 16)), torch.randint(0, 97, (2, 16))
    grads = []
    for recompute in (False, True):
        model.zero_grad()
        model.activation_checkpointing = recompute
        model(idx, targets).backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    assert all(torch.allclose(a, b, atol=1e-12) for a, b in zip(*grads))


def test_weight_decay_skips_biases_norms_and_embeddings() -> None:
    from scratchlm.model.lora import LoraConfig, add_lora
    from scratchlm.model.train import decay_groups

    model = GPT(dataclasses.replace(SMALL, qkv_bias=True))
    names = {id(p): n for n, p in model.named_parameters()}
    decay, plain = decay_groups(model, 0.1)
    assert (decay["weight_decay"], plain["weight_decay"]) == (0.1, 0.0)
    assert sorted(names[id(p)] for p in plain["params"]) == sorted(
        n
        for n in names.values()
        if n.endswith("bias") or ".norm" in n or "final_norm" in n or n.endswith("_emb.weight")
    )
    assert {names[id(p)] for p in decay["params"]} == {
        n for n in names.values() if n.endswith("weight") and "norm" not in n and "_emb" not in n
    }
    assert "tok_emb.weight" in {
        names[id(p)] for p in plain["params"]
    }  # the tied head is the embedding
    for p in model.parameters():  # fine-tuning LoRA: only the adapters train, and they decay
        p.requires_grad_(False)
    add_lora(model, LoraConfig(rank=2, alpha=4.0))
    (only,) = decay_groups(model, 0.1)
    assert only["weight_decay"] == 0.1 and {id(p) for p in only["params"]} == {
        id(p) for p in model.parameters() if p.requires_grad
    }
