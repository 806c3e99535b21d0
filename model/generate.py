"""Text continuation with a KV cache: temperature, top-k and top-p (nucleus) sampling."""

from __future__ import annotations

import torch

from scratchlm.model.gpt import GPT, KVCache


def filter_logits(logits: torch.Tensor, top_k: int | None, top_p: float | None) -> torch.Tensor:
    """Logits with everything outside the top-k and the top-p nucleus set to -inf."""
    if top_k:
        kth = torch.topk(logits, min(top_k, logits.shape[-1])).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True)
        probs = torch.softmax(sorted_logits, dim=-1)
        # drop a token when the tokens ranked above it already hold top_p of the mass
        drop = probs.cumsum(dim=-1) - probs > top_p
        logits = logits.masked_fill(drop.scatter(-1, order, drop), float("-inf"))
    return logits


@torch.no_grad()
def generate(
    model: GPT,
    prompt: torch.Tensor,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    eos_id: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Continue ``prompt`` (batch, tokens); temperature 0 is greedy. Stops early when all rows hit
    ``eos_id``."""
    was_training = model.training
    model.eval()
    block = model.config.block_size
    out = prompt
    cache, feed = None, prompt
    done = torch.zeros(prompt.shape[0], dtype=torch.bool, device=prompt.device)
    for _ in range(max_new_tokens):
        if cache is None or cache.length >= block:
            # learned positions end at block_size: restart the cache from the most recent tokens
            cache = KVCache(
                model.config, prompt.shape[0], prompt.device, model.tok_emb.weight.dtype
            )
            feed = out[:, -(block - 1) :] if out.shape[1] >= block else out
        logits = model(feed, cache=cache)[:, -1, :].float()
        if temperature <= 0:
            token = logits.argmax(dim=-1, keepdim=True)
        else:
            probs = torch.softmax(filter_logits(logits / temperature, top_k, top_p), dim=-1)
            token = torch.multinomial(probs, 1, generator=generator)
        out = torch.cat([out, token], dim=1)
        feed = token
        if eos_id is not None:
            done |= token.squeeze(1) == eos_id
            if bool(done.all()):
                break
    model.train(was_training)
    return out
