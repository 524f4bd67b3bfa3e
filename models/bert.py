"""BERT-base, the encoder only.

Devlin, Chang, Lee & Toutanova, "BERT: Pre-training of Deep Bidirectional Transformers
for Language Understanding", NAACL 2019, Section 3 (BERT_BASE: L = 12 layers, H = 768,
A = 12 heads, feed-forward size 4H = 3072; a 30,000-token WordPiece vocabulary, 30,522
in the released uncased model; two segments) and Appendix A.2 (sequences of up to 512
tokens). Post-LN blocks as in the Transformer (Vaswani et al., NeurIPS 2017):
x = LN(x + MHA(x)), then x = LN(x + FFN(x)), GELU in the FFN. Module names are close to
Hugging Face's ("encoder.layer.0.attention.self.query").

Encoder only: no pooler and no masked-LM / next-sentence heads; the output is the last
hidden state (B, T, 768). The word, position and token-type embeddings are table
lookups (no MACs); attention is `scaled_dot_product_attention`, bidirectional (not causal).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)

    def split(self, x: torch.Tensor) -> torch.Tensor:
        B, T, _ = x.shape
        return x.view(B, T, self.heads, self.head_dim).transpose(1, 2)  # (B, heads, T, head_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, D = x.shape
        out = F.scaled_dot_product_attention(self.split(self.query(x)), self.split(self.key(x)),
                                             self.split(self.value(x)))
        return out.transpose(1, 2).reshape(B, T, D)


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.self = SelfAttention(dim, heads)
        self.output = nn.Linear(dim, dim)
        self.norm = nn.LayerNorm(dim, eps=1e-12)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x + self.output(self.self(x)))


class Layer(nn.Module):
    """Post-LN: LN(x + attention(x)), then LN(x + FFN(x))."""

    def __init__(self, dim: int, heads: int, ffn: int) -> None:
        super().__init__()
        self.attention = Attention(dim, heads)
        self.intermediate = nn.Linear(dim, ffn)
        self.act = nn.GELU()
        self.output = nn.Linear(ffn, dim)
        self.norm = nn.LayerNorm(dim, eps=1e-12)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.attention(x)
        return self.norm(x + self.output(self.act(self.intermediate(x))))


class Encoder(nn.Module):
    def __init__(self, depth: int, dim: int, heads: int, ffn: int) -> None:
        super().__init__()
        self.layer = nn.ModuleList(Layer(dim, heads, ffn) for _ in range(depth))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layer:
            x = layer(x)
        return x


class Embeddings(nn.Module):
    def __init__(self, vocab: int, positions: int, types: int, dim: int) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, dim)
        self.position_embeddings = nn.Embedding(positions, dim)
        self.token_type_embeddings = nn.Embedding(types, dim)
        self.norm = nn.LayerNorm(dim, eps=1e-12)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        T = ids.shape[1]
        pos = torch.arange(T, device=ids.device)
        segment = torch.zeros_like(ids)  # every token in sentence A
        x = self.word_embeddings(ids) + self.position_embeddings(pos) + self.token_type_embeddings(segment)
        return self.norm(x)


class BertBase(nn.Module):
    context = 512  # learned positions: at most 512 tokens per sequence

    def __init__(self, vocab: int = 30522, depth: int = 12, dim: int = 768, heads: int = 12,
                 ffn: int = 3072, types: int = 2) -> None:
        super().__init__()
        self.embeddings = Embeddings(vocab, self.context, types, dim)
        self.encoder = Encoder(depth, dim, heads, ffn)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Token ids (B, T) int64 -> the last hidden state (B, T, 768)."""
        return self.encoder(self.embeddings(ids))
