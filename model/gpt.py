"""The GPT-2 architecture as built in the book, chapter 4: embeddings, pre-LayerNorm blocks, a head.

Two departures for speed, neither changing the math: the query, key and value projections are one
``Linear`` (three in the book), and attention runs through ``F.scaled_dot_product_attention``,
which picks a fused (flash) kernel where one exists.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from scratchlm.model import fused_mlp
from scratchlm.model.chunked_loss import chunked_cross_entropy
from scratchlm.model.config import GPTConfig


class KVCache:
    """Keys and values of the tokens seen so far, one buffer per layer, for incremental decoding."""

    def __init__(
        self, config: GPTConfig, batch: int, device: torch.device, dtype: torch.dtype
    ) -> None:
        head_dim = config.n_embd // config.n_head
        shape = (batch, config.n_head, config.block_size, head_dim)
        self.keys = [torch.empty(shape, device=device, dtype=dtype) for _ in range(config.n_layer)]
        self.values = [
            torch.empty(shape, device=device, dtype=dtype) for _ in range(config.n_layer)
        ]
        self.length = 0  # positions filled

    def update(
        self, layer: int, k: torch.Tensor, v: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Store the new keys/values after the cached ones; all of them back."""
        end = self.length + k.shape[2]
        self.keys[layer][:, :, self.length : end] = k
        self.values[layer][:, :, self.length : end] = v
        return self.keys[layer][:, :, :end], self.values[layer][:, :, :end]


class MultiHeadAttention(nn.Module):
    """Causal multi-head self-attention."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.qkv_bias)
        self.out_proj = nn.Linear(config.n_embd, config.n_embd)
        self.dropout = config.dropout

    def forward(
        self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0
    ) -> torch.Tensor:
        batch, tokens, width = x.shape
        q, k, v = self.qkv(x).split(width, dim=2)
        # (batch, tokens, width) -> (batch, heads, tokens, head_dim)
        q, k, v = (t.view(batch, tokens, self.n_head, -1).transpose(1, 2) for t in (q, k, v))
        causal = True
        if cache is not None:
            if tokens > 1 and cache.length:
                raise ValueError("a KV cache takes several tokens only as the first (prefill) call")
            k, v = cache.update(layer, k, v)
            causal = tokens > 1  # one new query attends to every cached key
        y = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=causal
        )
        return self.out_proj(y.transpose(1, 2).reshape(batch, tokens, width))


class FeedForward(nn.Module):
    """Linear up to 4x the width, GELU (tanh approximation, as GPT-2), linear back down.

    With ``fused`` set (``GPT.use_fused_mlp``) a CUDA forward in bf16 or fp16 runs the GELU inside
    the matrix products (model/fused_mlp.py); the plain path here is the reference.
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.up = nn.Linear(config.n_embd, 4 * config.n_embd)
        self.down = nn.Linear(4 * config.n_embd, config.n_embd)
        self.fused = False

    def forward(self, x: torch.Tensor, residual: torch.Tensor | None = None) -> torch.Tensor:
        """The block's output, plus ``residual`` where given."""
        if self.fused and fused_mlp.runs(x):
            return fused_mlp.gelu_mlp(x, self.up, self.down, residual)
        out = self.down(F.gelu(self.up(x), approximate="tanh"))
        return out if residual is None else residual + out


class TransformerBlock(nn.Module):
    """Pre-LayerNorm block: x + attn(norm(x)), then x + ff(norm(x)), dropout on each branch."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(config.n_embd)
        self.att = MultiHeadAttention(config)
        self.norm2 = nn.LayerNorm(config.n_embd)
        self.ff = FeedForward(config)
        self.drop = nn.Dropout(config.dropout)

    def forward(
        self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0
    ) -> torch.Tensor:
        x = x + self.drop(self.att(self.norm1(x), cache, layer))
        if self.training and self.drop.p > 0:
            return x + self.drop(self.ff(self.norm2(x)))
        return self.ff(self.norm2(x), residual=x)  # the fused path adds it inside its last product


class OutputHead(nn.Module):
    """Final LayerNorm and the projection to vocabulary logits; the loss too when targets are
    given."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.final_norm = nn.LayerNorm(config.n_embd)
        self.out_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.loss_chunk = (
            0  # > 0: the loss takes this many positions at a time (model/chunked_loss.py)
        )
        self.chunked_loss = (
            chunked_cross_entropy  # compile_for_training keeps it out of the compiled graph
        )

    def forward(self, x: torch.Tensor, targets: torch.Tensor | None = None) -> torch.Tensor:
        x = self.final_norm(x)
        if targets is not None and self.loss_chunk and self.out_head.bias is None:
            return self.chunked_loss(
                x.flatten(0, 1), self.out_head.weight, targets.flatten().long(), self.loss_chunk
            )
        logits = self.out_head(x)
        if targets is None:
            return logits
        return F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten().long())


class GPT(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        if config.vocab_size is None:
            raise ValueError("vocab_size must be resolved before building the model")
        self.config = config
        self.tok_emb = nn.Embedding(config.vocab_size, config.n_embd)
        self.pos_emb = nn.Embedding(config.block_size, config.n_embd)
        self.drop_emb = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(TransformerBlock(config) for _ in range(config.n_layer))
        self.head = OutputHead(config)
        if config.tie_weights:
            self.head.out_head.weight = self.tok_emb.weight
        self.activation_checkpointing = False
        self.residual_dtype: torch.dtype | None = (
            None  # under autocast, the residual stream's dtype
        )
        self.compiled: tuple[list[nn.Module], nn.Module] | None = (
            None  # set by compile_for_training
        )
        self.apply(self._init_weights)
        # GPT-2 scales the residual projections by 1/sqrt(2 * n_layer) (Radford et al. 2019, section
        # 2.3)
        for name, param in self.named_parameters():
            if name.endswith(("att.out_proj.weight", "ff.down.weight")):
                nn.init.normal_(param, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None, cache: KVCache | None = None
    ) -> torch.Tensor:
        """Logits (batch, tokens, vocab), or the mean cross-entropy against ``targets`` when
        given."""
        start = cache.length if cache is not None else 0
        positions = torch.arange(start, start + idx.shape[1], device=idx.device)
        x = self.drop_emb(self.tok_emb(idx) + self.pos_emb(positions))
        if self.residual_dtype is not None and torch.is_autocast_enabled(idx.device.type):
            x = x.to(self.residual_dtype)
        blocks, head = (
            self.compiled if self.training and self.compiled else (self.blocks, self.head)
        )
        for layer, block in enumerate(blocks):
            if self.activation_checkpointing and self.training:
                x = checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x, cache, layer)
        if cache is not None:
            cache.length += idx.shape[1]
        return head(x, targets)

    def compile_for_training(self) -> None:
        """Compile each block and the head (one block graph serves all layers: fast to compile).

        Only training-mode forwards use the compiled code; evaluation and KV-cache decoding stay
        eager. The chunked loss stays out of the head's graph: plain cuBLAS products and the row
        kernel (its ``torch.compiler.disable`` is applied here, since the wrapper imports the
        compiler, about 1 s).
        """
        self.head.chunked_loss = torch.compiler.disable(chunked_cross_entropy)
        self.compiled = ([torch.compile(block) for block in self.blocks], torch.compile(self.head))

    def use_fused_mlp(self, device: torch.device, off: str | None = None) -> str:
        """Run the feed-forward blocks' fused path on ``device`` where it works, else (or when a
        reason to leave it ``off`` is given) the plain one; which kernels run, for the log."""
        reason = off or fused_mlp.check(device, self.config.n_embd)
        for block in self.blocks:
            block.ff.fused = reason is None
        if reason is None:
            return fused_mlp.kernels()
        return f"{fused_mlp.PLAIN} (fused path off: {reason})"

    def matmul_params(self) -> int:
        """Parameters that take part in matrix products: all but the position table and an untied
        input table."""
        skip = {id(self.pos_emb.weight)}
        if not self.config.tie_weights:
            skip.add(id(self.tok_emb.weight))
        return sum(p.numel() for p in self.parameters() if id(p) not in skip)


def flops_per_token(model: GPT, context: int) -> float:
    """Training FLOPs per token, 6N + 12·L·H·Q·T (PaLM, Chowdhery et al. 2022, appendix B).

    N: parameters in matrix products; L layers, H heads, Q head size, T context length.
    """
    c = model.config
    return 6 * model.matmul_params() + 12 * c.n_layer * c.n_head * (c.n_embd // c.n_head) * context
