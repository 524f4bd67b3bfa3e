"""GPT-2 small, the 124M-parameter language model, with a KV cache for decoding.

Radford, Wu, Child, Luan, Amodei & Sutskever, "Language Models are Unsupervised
Multitask Learners", OpenAI 2019, Table 2 (the smallest model: 12 layers, d_model = 768)
and Section 2.3 (a 50,257-token vocabulary, a context of 1024 tokens, LayerNorm moved to
the input of each sub-block and a final LayerNorm after the last block); 12 heads of 64
and a 3072-wide feed-forward as in GPT-1 (Radford et al. 2018, Section 4.1). Module
names follow the released checkpoint and nanoGPT ("h.0.attn.c_attn"); the causal
attention is written by hand, nanoGPT-style, against a registered lower-triangular mask
sized to the context.

`forward(ids, past=None)`: `ids` are (B, T) int64 token ids; `past` is None (prefill) or
one `(k, v)` pair per layer, each (B, 12, P, 64), the cache of the P tokens before. The
new keys and values are appended after the cached ones, so the T new tokens attend to
S = P + T keys, under rows P .. P+T-1 of the causal mask; their positions start at P.
The LM head (768 -> 50,257, its weight tied to the token embedding) runs on every
position, and forward returns the logits (B, T, 50257).
"""
from __future__ import annotations

import math

import torch
from torch import nn

KV = tuple[torch.Tensor, torch.Tensor]


class CausalSelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int, context: int) -> None:
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.c_attn = nn.Linear(dim, 3 * dim)  # q, k and v in one matmul
        self.c_proj = nn.Linear(dim, dim)
        self.register_buffer("bias", torch.tril(torch.ones(context, context)).view(1, 1, context, context),
                             persistent=False)

    def forward(self, x: torch.Tensor, past: KV | None = None) -> torch.Tensor:
        B, T, D = x.shape
        q, k, v = self.c_attn(x).split(D, dim=2)
        q = q.view(B, T, self.heads, self.head_dim).transpose(1, 2)  # (B, heads, T, head_dim)
        k = k.view(B, T, self.heads, self.head_dim).transpose(1, 2)
        v = v.view(B, T, self.heads, self.head_dim).transpose(1, 2)
        if past is not None:
            k = torch.cat([past[0], k], dim=2)  # (B, heads, S = P + T, head_dim)
            v = torch.cat([past[1], v], dim=2)
        S = k.shape[2]
        P = S - T
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim))  # (B, heads, T, S)
        att = att.masked_fill(self.bias[:, :, P:S, :S] == 0, float("-inf"))  # rows P..P+T-1
        att = att.softmax(dim=-1)
        y = att @ v  # (B, heads, T, head_dim)
        return self.c_proj(y.transpose(1, 2).reshape(B, T, D))


class MLP(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.c_fc = nn.Linear(dim, hidden)
        self.gelu = nn.GELU(approximate="tanh")
        self.c_proj = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c_proj(self.gelu(self.c_fc(x)))


class Block(nn.Module):
    """Pre-LN: x + attn(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, dim: int, heads: int, ffn: int, context: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(dim)
        self.attn = CausalSelfAttention(dim, heads, context)
        self.ln_2 = nn.LayerNorm(dim)
        self.mlp = MLP(dim, ffn)

    def forward(self, x: torch.Tensor, past: KV | None = None) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), past)
        return x + self.mlp(self.ln_2(x))


class GPT2(nn.Module):
    context = 1024  # n_ctx: learned positions 0..1023

    def __init__(self, vocab: int = 50257, depth: int = 12, dim: int = 768, heads: int = 12,
                 ffn: int = 3072) -> None:
        super().__init__()
        self.wte = nn.Embedding(vocab, dim)
        self.wpe = nn.Embedding(self.context, dim)
        self.h = nn.ModuleList(Block(dim, heads, ffn, self.context) for _ in range(depth))
        self.ln_f = nn.LayerNorm(dim)
        self.lm_head = nn.Linear(dim, vocab, bias=False)
        self.lm_head.weight = self.wte.weight  # tied, as in the released model

    def forward(self, ids: torch.Tensor, past: tuple[KV, ...] | None = None) -> torch.Tensor:
        """ids (B, T) int64 [+ the cache of P tokens] -> logits (B, T, vocab)."""
        T = ids.shape[1]
        P = 0 if past is None else past[0][0].shape[2]
        pos = torch.arange(P, P + T, device=ids.device)
        x = self.wte(ids) + self.wpe(pos)
        for i, block in enumerate(self.h):
            x = block(x, None if past is None else past[i])
        return self.lm_head(self.ln_f(x))
