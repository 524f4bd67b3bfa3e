"""One Llama-3-8B decoder block, with grouped-query attention and a KV cache.

Dubey et al., "The Llama 3 Herd of Models", 2024, Table 3 (8B: model dimension 4096,
32 layers, FFN dimension 14,336, 32 attention heads, 8 key/value heads, so a head
dimension of 128; SwiGLU activation; RoPE with base frequency theta = 500,000) and
Section 3.2 (a standard dense Transformer as in Llama 2: RMSNorm before each sub-block,
no biases). Module names follow the Hugging Face port ("self_attn.q_proj", "mlp.gate_proj").

A block, not a whole model: `forward(x, past=None)` takes hidden states (B, T, 4096)
float and returns the block's output (B, T, 4096). `past` is None (prefill) or one
`(k, v)` pair, each (B, 8, P, 128), the cache of the P tokens before; the new keys and
values are appended after it, so the T new tokens (positions P .. P+T-1) attend to
S = P + T keys under a causal mask. RoPE is applied elementwise (cos/sin products, no
matmul). The 4 query heads that share a KV head share its keys in ONE matmul: q is
reshaped to (B, 8, 4T, 128), row g*T + t being query head 4j+g of token t, and
q @ k^T gives (B, 8, 4T, S); softmax, then @ v gives (B, 8, 4T, 128).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


class GroupedQueryAttention(nn.Module):
    def __init__(self, dim: int, heads: int, kv_heads: int, theta: float) -> None:
        super().__init__()
        self.heads, self.kv_heads = heads, kv_heads
        self.head_dim = dim // heads
        self.group = heads // kv_heads  # query heads per KV head
        self.q_proj = nn.Linear(dim, heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(dim, kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(dim, kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(heads * self.head_dim, dim, bias=False)
        inv_freq = 1.0 / theta ** (torch.arange(0, self.head_dim, 2, dtype=torch.float32) / self.head_dim)
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def rope(self, x: torch.Tensor, first: int) -> torch.Tensor:
        """Rotate x (B, T, heads, head_dim) by the angles of positions first .. first+T-1."""
        pos = torch.arange(first, first + x.shape[1], device=x.device, dtype=torch.float32)
        angles = pos[:, None] * self.inv_freq[None, :]  # (T, head_dim/2), elementwise
        angles = torch.cat([angles, angles], dim=-1)[:, None, :]  # (T, 1, head_dim)
        return x * angles.cos().to(x.dtype) + rotate_half(x) * angles.sin().to(x.dtype)

    def forward(self, x: torch.Tensor, past: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        B, T, _ = x.shape
        hd, G, J = self.head_dim, self.group, self.kv_heads
        P = 0 if past is None else past[0].shape[2]
        q = self.rope(self.q_proj(x).view(B, T, self.heads, hd), P)
        k = self.rope(self.k_proj(x).view(B, T, J, hd), P).transpose(1, 2)  # (B, 8, T, hd)
        v = self.v_proj(x).view(B, T, J, hd).transpose(1, 2)
        if past is not None:
            k = torch.cat([past[0], k], dim=2)  # (B, 8, S = P + T, hd)
            v = torch.cat([past[1], v], dim=2)
        S = k.shape[2]
        # query head h = j*G + g uses KV head j: (B, T, J, G, hd) -> (B, J, G*T, hd), row g*T + t
        q = q.view(B, T, J, G, hd).permute(0, 2, 3, 1, 4).reshape(B, J, G * T, hd)
        att = (q @ k.transpose(-2, -1)) * hd ** -0.5  # (B, 8, 4T, S): the 4 heads in one matmul
        rows = torch.arange(P, P + T, device=x.device).repeat(G)  # row g*T + t is token position P + t
        cols = torch.arange(S, device=x.device)
        att = att.masked_fill(cols[None, :] > rows[:, None], float("-inf"))
        att = att.softmax(dim=-1)
        y = att @ v  # (B, 8, 4T, hd)
        y = y.view(B, J, G, T, hd).permute(0, 3, 1, 2, 4).reshape(B, T, self.heads * hd)
        return self.o_proj(y)


class SwiGLU(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(dim, hidden, bias=False)
        self.up_proj = nn.Linear(dim, hidden, bias=False)
        self.down_proj = nn.Linear(hidden, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaBlock(nn.Module):
    context = 131072  # Llama 3.1's longest context (Section 3.4.2); the block itself has no limit

    def __init__(self, dim: int = 4096, heads: int = 32, kv_heads: int = 8, ffn: int = 14336,
                 theta: float = 500000.0) -> None:
        super().__init__()
        self.input_layernorm = RMSNorm(dim)
        self.self_attn = GroupedQueryAttention(dim, heads, kv_heads, theta)
        self.post_attention_layernorm = RMSNorm(dim)
        self.mlp = SwiGLU(dim, ffn)

    def forward(self, x: torch.Tensor, past: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        x = x + self.self_attn(self.input_layernorm(x), past)
        return x + self.mlp(self.post_attention_layernorm(x))
