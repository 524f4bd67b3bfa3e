"""The token zoo (ViT-B/16, BERT-base, GPT-2 small, one Llama-3-8B block): MACs by hand.

Every MAC count is a hand formula written out below, one independent function per model,
and is checked three ways:

(a) against `torch.utils.flop_counter.FlopCounterMode` run on the meta model (MACs =
    FLOPs / 2), prefill and decode, batch 1 and 4;
(b) against published figures, within 1 %;
(c) against the mapper's importer, `mapper.load_workload(...)`: exactly, with every MAC
    mapped (the `test_importer_*` functions).

What counts: every product of a matmul the hardware runs, i.e. nn.Linear / nn.Conv2d
layers and both attention matmuls (q·kᵀ and att·v). Attention is counted DENSE: a
causal mask does not remove the masked q·k products, the dense hardware computes them
and the softmax zeroes them. Embedding lookups, LayerNorm/RMSNorm, softmax, GELU/SiLU,
RoPE, the SwiGLU gate product and residual additions are elementwise: no MACs.

Notation: T new tokens per sequence, S = P + T keys (P cached), d model width, L layers,
B sequences (or images) in the batch; everything is linear in B (each sequence has its
own activations and KV cache; only the weights are shared).
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

import mapper
from mapper import models
from mapper.models.gpt2 import GPT2
from mapper.models.llama import LlamaBlock

# --- the hand formulas ----------------------------------------------------------------


def vit_macs(resolution: int = 224, batch: int = 1) -> int:
    """ViT-B/16 (L = 12, d = 768, MLP 3072 = 4d, 12 heads of 64, 1000 classes).

    patches  n = (R/16)^2, tokens T = n + 1 (class token)
    patch embedding, a 16x16 stride-16 conv 3 -> d:   n · d · 3·16·16
    per layer:  qkv (d -> 3d) 3·T·d²  +  proj T·d²  +  MLP 2·T·d·4d = 8·T·d²   = 12·T·d²
                q·kᵀ: 12 heads · T·T·64 = T²·d,  att·v: T²·d                    =  2·T²·d
    head (class token only):  d · 1000
    total = B · (n·d·768 + L·(12·T·d² + 2·T²·d) + 1000·d)
    """
    n, d, L = (resolution // 16) ** 2, 768, 12
    T = n + 1
    return batch * (n * d * 3 * 16 * 16 + L * (12 * T * d * d + 2 * T * T * d) + d * 1000)


def bert_macs(T: int = 128, batch: int = 1) -> int:
    """BERT-base encoder (L = 12, d = 768, FFN 3072 = 4d, 12 heads), no pooler, no heads.

    per layer:  q, k, v, attention output 4·T·d²  +  FFN 2·T·d·4d = 8·T·d²   = 12·T·d²
                bidirectional attention q·kᵀ + att·v                        =  2·T²·d
    total = B · L · (12·T·d² + 2·T²·d)          (embeddings are lookups: 0)
    """
    d, L = 768, 12
    return batch * L * (12 * T * d * d + 2 * T * T * d)


def gpt2_macs(T: int = 1024, phase: str = "prefill", batch: int = 1) -> int:
    """GPT-2 small (L = 12, d = 768, FFN 3072, 12 heads, vocab V = 50257); T = seq_len.

    prefill: n = T new tokens, S = T keys;  decode: n = 1 new token, S = T keys (T-1 cached)
    per layer:  c_attn (d -> 3d) 3·n·d² + c_proj n·d² + c_fc/c_proj 8·n·d²   = 12·n·d²
                q·kᵀ + att·v, dense (masked products counted): 2·n·S·d
    LM head on every new position: n·d·V
    total = B · (L·(12·n·d² + 2·n·S·d) + n·d·V)
    """
    d, L, V = 768, 12, 50257
    n, S = (T if phase == "prefill" else 1), T
    return batch * (L * (12 * n * d * d + 2 * n * S * d) + n * d * V)


def gpt2_causal_macs(T: int = 1024) -> int:
    """GPT-2 prefill of T tokens counting only the q·k pairs a causal mask keeps, no LM head.

    token t (0-based) attends to t+1 keys: Σ (t+1) = T(T+1)/2 pairs per head, each pair
    64 MACs in q·kᵀ and 64 in att·v, over 12 heads: 2 · d · T(T+1)/2 per layer.
    total = L·(12·T·d² + d·T·(T+1))
    """
    d, L = 768, 12
    return L * (12 * T * d * d + d * T * (T + 1))


def llama_macs(T: int = 1024, phase: str = "prefill", batch: int = 1) -> int:
    """One Llama-3-8B block (d = 4096, 32 query heads, 8 KV heads, head dim 128, FFN 14336).

    prefill: n = T new tokens, S = T keys;  decode: n = 1, S = T (T-1 cached)
    q_proj d·4096, k_proj and v_proj d·1024 each, o_proj 4096·d        per token: d·10240
    SwiGLU gate, up (d -> 14336) and down (14336 -> d)                  per token: 3·d·14336
    attention, grouped: 8 KV heads · (4n rows) · S · 128 for q·kᵀ, the same for att·v
                        = 2 · 8·4·128 · n·S = 2·n·S·d   (as many MACs as 32-head MHA)
    total = B · (n·(d·10240 + 3·d·14336) + 2·n·S·d)
    """
    d, kv, ffn, hd, group = 4096, 8, 14336, 128, 4
    n, S = (T if phase == "prefill" else 1), T
    linear = n * (d * 32 * hd + 2 * d * kv * hd + 32 * hd * d + 3 * d * ffn)
    attention = 2 * kv * (group * n) * S * hd
    return batch * (linear + attention)


def hand_macs(name: str, seq_len: int | None, phase: str, batch: int) -> int:
    if name == "vit_b16":
        return vit_macs(224, batch)
    T = seq_len or models.DEFAULT_SEQ_LEN[name]
    if name == "bert_base":
        return bert_macs(T, batch)
    return {"gpt2": gpt2_macs, "llama_block": llama_macs}[name](T, phase, batch)


# (name, seq_len, phase): None = the model's default length (1024 for gpt2 and llama_block)
CASES = [("vit_b16", None, "prefill"), ("bert_base", 128, "prefill"), ("bert_base", 77, "prefill"),
         ("gpt2", 1024, "prefill"), ("gpt2", 100, "prefill"), ("gpt2", 1024, "decode"), ("gpt2", 2, "decode"),
         ("llama_block", 1024, "prefill"), ("llama_block", 1024, "decode"), ("llama_block", 4096, "decode"),
         ("llama_block", 33, "prefill")]
IDS = [f"{n}-{p}-{s or 224}" for n, s, p in CASES]


# --- (a) the flop counter on the meta model --------------------------------------------


def counted(name: str, **kw) -> dict[str, int]:
    """MACs per aten op as FlopCounterMode counts them on the meta model (FLOPs / 2)."""
    with torch.device("meta"):
        module, args = models.build_inputs(name, **kw)
        with FlopCounterMode(display=False) as fc:
            module(*args)
    return {str(op): flops // 2 for op, flops in fc.get_flop_counts()["Global"].items()}


def test_flop_counter_counts_what_we_expect_on_meta():
    """torch 2.13's counter on meta tensors: a matmul of m·k·n is 2·m·k·n FLOPs (mm, addmm for
    a Linear with bias, bmm for a batched @), a conv 2·out·C·R·S; SDPA runs the math path on
    meta (two bmm) and is counted dense even with is_causal=True; elementwise ops are free."""
    with torch.device("meta"):
        q, k, v = (torch.empty(2, 12, 128, 64) for _ in range(3))
        x, lin = torch.empty(2, 128, 768), torch.nn.Linear(768, 2304)
        img, conv = torch.empty(2, 3, 224, 224), torch.nn.Conv2d(3, 768, 16, stride=16)
        cases = {
            "linear+bias": (lambda: lin(x), {"aten.addmm": 2 * 128 * 768 * 2304}),
            "linear": (lambda: F.linear(x, lin.weight), {"aten.mm": 2 * 128 * 768 * 2304}),
            "q@kT": (lambda: q @ k.transpose(-2, -1), {"aten.bmm": 2 * 12 * 128 * 128 * 64}),
            "sdpa": (lambda: F.scaled_dot_product_attention(q, k, v), {"aten.bmm": 2 * 2 * 12 * 128 * 128 * 64}),
            "sdpa causal": (lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                            {"aten.bmm": 2 * 2 * 12 * 128 * 128 * 64}),
            "conv": (lambda: conv(img), {"aten.convolution": 2 * 14 * 14 * 768 * 3 * 16 * 16}),
            "elementwise": (lambda: (x * x).softmax(-1) + F.gelu(x), {}),
        }
        for what, (run, macs) in cases.items():
            with FlopCounterMode(display=False) as fc:
                run()
            got = {str(op): f // 2 for op, f in fc.get_flop_counts().get("Global", {}).items()}
            assert got == macs, what


@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize("name,seq_len,phase", CASES, ids=IDS)
def test_flop_counter_matches_hand_formula(name, seq_len, phase, batch):
    kw = {} if name == "vit_b16" else {"seq_len": seq_len, "phase": phase}
    macs = counted(name, batch=batch, **kw)
    assert sum(macs.values()) == hand_macs(name, seq_len, phase, batch)
    assert set(macs) <= {"aten.mm", "aten.addmm", "aten.bmm", "aten.convolution"}


def test_flop_counter_attention_is_dense():
    """The bmm share alone: GPT-2's masked causal attention counts all T² products, and the
    Llama block's grouped attention (4 query heads on one KV head, one matmul) as many as MHA."""
    assert counted("gpt2", seq_len=1024)["aten.bmm"] == 12 * 2 * 1024 * 1024 * 768
    assert counted("gpt2", seq_len=1024, phase="decode")["aten.bmm"] == 12 * 2 * 1 * 1024 * 768
    assert counted("llama_block", seq_len=512)["aten.bmm"] == 2 * 512 * 512 * 4096
    assert counted("llama_block", seq_len=4096, phase="decode", batch=4)["aten.bmm"] == 4 * 2 * 4096 * 4096
    assert counted("bert_base", seq_len=128)["aten.bmm"] == 12 * 2 * 128 * 128 * 768
    assert counted("vit_b16")["aten.bmm"] == 12 * 2 * 197 * 197 * 768


def test_vit_resolution_sets_tokens():
    for res in (224, 384):
        assert sum(counted("vit_b16", resolution=res).values()) == vit_macs(res)
    with torch.device("meta"):
        module, shape = models.build("vit_b16", 384)
    assert shape == (1, 3, 384, 384) and tuple(module.pos_embed.shape) == (1, (384 // 16) ** 2 + 1, 768)


# --- (b) published figures --------------------------------------------------------------


def close(ours: float, published: float, tol: float = 0.01) -> bool:
    return abs(ours - published) <= tol * published


def test_vit_b16_matches_published():
    # DeiT (Touvron et al., ICML 2021), Table 1: ViT-B/16 and DeiT-B at 224: 17.6 "GFLOPs",
    # i.e. multiply-adds. Attention is bidirectional, so dense = what the figure counts.
    assert vit_macs(224) == 17_563_828_224
    assert close(vit_macs(224), 17.6e9)


def test_bert_base_matches_published():
    # BERT-base at 128 tokens: 11.2 GMAC, the figure usually quoted as 22.5 GFLOPs
    # (e.g. MobileBERT, Sun et al., ACL 2020) for the encoder (no pooler, no heads).
    # Bidirectional attention: dense = what the figure counts.
    assert bert_macs(128) == 11_173_625_856
    assert close(bert_macs(128), 11.2e9)


def test_gpt2_matches_kaplan():
    """Kaplan et al. 2020, "Scaling Laws for Neural Language Models", Table 1: forward FLOPs
    per token C_forward = 2N + 2·n_layer·n_ctx·d_attn, N = 2·d·n_layer·(2·d_attn + d_ff)
    = 12·n_layer·d² non-embedding parameters; the LM head ("de-embed", 2·d·n_vocab) is left
    out of C_forward. The attention term is a causal mask's, averaged over the positions
    (token t sees t+1 keys: n_ctx/2 on average, times q·kᵀ and att·v)."""
    L, d, n_ctx, V = 12, 768, 1024, 50257
    N = 12 * L * d * d
    c_forward = 2 * N + 2 * L * n_ctx * d  # FLOPs per token
    kaplan_macs = n_ctx * c_forward // 2  # a 1024-token prefill, MACs
    # the causal count (what Kaplan's term approximates) is within 1 % of it:
    assert close(gpt2_causal_macs(n_ctx), kaplan_macs)
    # our dense count adds the masked half of attention (Kaplan's attention term once more)
    # and the LM head on every position; Kaplan's terms then give it exactly:
    dense = kaplan_macs + L * n_ctx * n_ctx * d + n_ctx * d * V
    assert gpt2_macs(n_ctx, "prefill") == dense == 145_824_153_600
    # decode at a full context: the new token sees all n_ctx keys (none masked: dense =
    # causal), twice Kaplan's averaged attention term, plus the LM head for one token:
    assert gpt2_macs(n_ctx, "decode") == c_forward // 2 + L * n_ctx * d + d * V == 142_406_400


def test_parameter_counts_match_the_released_models():
    """The sizes are right: parameter counts of the meta models (tied weights once) against
    the released checkpoints, written as formulas of the sizes."""
    d = 768
    block = 12 * d * d + 13 * d  # weights 4d² + 8d², biases 3d + d + 4d + d, two LayerNorms 4d
    with torch.device("meta"):
        counts = {name: sum(p.numel() for p in models.build_inputs(name)[0].parameters())
                  for name in models.TOKEN_ZOO}
    # ViT-B/16: 86.6M (Dosovitskiy et al., Table 1: 86M): patch conv, cls, pos, blocks, norm, head
    assert counts["vit_b16"] == (3 * 256 * d + d) + d + 197 * d + 12 * block + 2 * d + (d * 1000 + 1000) \
        == 86_567_656
    # BERT-base without its pooler: 109,482,240 (the released uncased model) - (d² + d)
    assert counts["bert_base"] == (30522 + 512 + 2) * d + 2 * d + 12 * block == 109_482_240 - (d * d + d)
    # GPT-2 small: 124,439,808 (the released "117M" model), LM head tied to wte
    assert counts["gpt2"] == (50257 + 1024) * d + 12 * block + 2 * d == 124_439_808
    # Llama 3 8B: 32 such blocks, two 128,256 x 4096 embeddings and a final norm: 8,030,261,248
    assert counts["llama_block"] == 4096 * 10240 + 3 * 4096 * 14336 + 2 * 4096
    assert 32 * counts["llama_block"] + 2 * 128256 * 4096 + 4096 == 8_030_261_248


# --- the modules and their inputs -------------------------------------------------------


# the MAC-carrying ops torch.export keeps: (linear, conv2d, matmul, sdpa) calls
EXPORTED = {"vit_b16": (49, 1, 24, 0), "bert_base": (72, 0, 0, 12), "gpt2": (49, 0, 24, 0), "llama_block": (7, 0, 2, 0)}


@pytest.mark.parametrize("name,phase", [("vit_b16", "prefill"), ("bert_base", "prefill"), ("gpt2", "prefill"),
                                        ("gpt2", "decode"), ("llama_block", "prefill"), ("llama_block", "decode")])
def test_torch_export_traces_on_meta(name, phase):
    kw = {} if name == "vit_b16" else {"seq_len": 64, "phase": phase}
    with torch.device("meta"):
        module, args = models.build_inputs(name, batch=2, **kw)
        ep = torch.export.export(module, args)
    targets = [str(n.target) for n in ep.graph.nodes if n.op == "call_function"]
    ops = ("aten.linear.default", "aten.conv2d.default", "aten.matmul.default",
           "aten.scaled_dot_product_attention.default")
    assert tuple(targets.count(op) for op in ops) == EXPORTED[name]


def test_build_inputs_shapes():
    with torch.device("meta"):
        _, (img,) = models.build_inputs("vit_b16", resolution=384, batch=3)
        assert tuple(img.shape) == (3, 3, 384, 384) and img.is_meta
        _, (img,) = models.build_inputs("bnn_mnist", batch=4)  # a fixed input keeps its shape
        assert tuple(img.shape) == (4, 1, 28, 28)
        module, (ids,) = models.build_inputs("bert_base")
        assert (tuple(ids.shape), ids.dtype, module.training) == ((1, 128), torch.long, False)
        _, (ids,) = models.build_inputs("gpt2", seq_len=512, batch=4)
        assert (tuple(ids.shape), ids.dtype) == ((4, 512), torch.long)
        module, (ids, past) = models.build_inputs("gpt2", phase="decode", batch=4)  # 1024 keys
        assert tuple(ids.shape) == (4, 1) and len(past) == 12
        assert all(tuple(t.shape) == (4, 12, 1023, 64) for kv in past for t in kv)
        assert tuple(module(ids, past).shape) == (4, 1, 50257)
        _, (x,) = models.build_inputs("llama_block", seq_len=300, batch=2)
        assert (tuple(x.shape), x.dtype) == ((2, 300, 4096), torch.float32)
        module, (x, (k, v)) = models.build_inputs("llama_block", seq_len=4096, phase="decode")
        assert tuple(x.shape) == (1, 1, 4096) and tuple(k.shape) == tuple(v.shape) == (1, 8, 4095, 128)
        assert tuple(module(x, (k, v)).shape) == (1, 1, 4096)
    assert set(models.TOKEN_ZOO) <= set(models.MODELS) | set(models.TOKEN_MODELS)


@pytest.mark.parametrize("name,kw,says", [
    ("bert_base", {"phase": "decode"}, "encoder"),
    ("vit_b16", {"seq_len": 197}, "197 at 224"),
    ("resnet50", {"seq_len": 128}, "image model"),
    ("vit_b16", {"phase": "decode"}, "image model"),
    ("gpt2", {"seq_len": 1025}, "1024"),
    ("gpt2", {"seq_len": 2048, "phase": "decode"}, "1024"),
    ("bert_base", {"seq_len": 513}, "512"),
    ("llama_block", {"seq_len": 131073}, "131072"),
    ("gpt2", {"seq_len": 1, "phase": "decode"}, "from 2"),
    ("llama_block", {"seq_len": 1, "phase": "decode"}, "from 2"),
    ("gpt2", {"seq_len": 0}, "from 1"),
    ("gpt2", {"phase": "train"}, "prefill, decode"),
    ("gpt2", {"batch": 0}, "batch"),
])
def test_build_inputs_refuses_bad_combinations(name, kw, says):
    with torch.device("meta"), pytest.raises(ValueError, match=says):
        models.build_inputs(name, **kw)


def test_build_inputs_accepts_the_limits():
    with torch.device("meta"):
        assert tuple(models.build_inputs("gpt2", seq_len=1024)[1][0].shape) == (1, 1024)
        assert tuple(models.build_inputs("gpt2", seq_len=2, phase="decode")[1][1][0][0].shape) == (1, 12, 1, 64)
        assert tuple(models.build_inputs("bert_base", seq_len=512)[1][0].shape) == (1, 512)
        _, (x, (k, _v)) = models.build_inputs("llama_block", seq_len=131072, phase="decode")
        assert tuple(k.shape) == (1, 8, 131071, 128)


def test_decode_with_a_cache_equals_the_prefill():
    """The mask offset and RoPE/position offsets are right: tiny real models (CPU, a few
    thousand weights) give the same last-token output from a cache as from a full prefill."""
    torch.manual_seed(0)
    gpt = GPT2(vocab=50, depth=2, dim=32, heads=4, ffn=64).eval()
    blk = LlamaBlock(dim=64, heads=8, kv_heads=2, ffn=96).eval()  # 4 query heads per KV head
    for p in [*gpt.parameters(), *blk.parameters()]:
        torch.nn.init.normal_(p, std=0.2)
    ids = torch.randint(0, 50, (2, 9))
    x = gpt.wte(ids[:, :6]) + gpt.wpe(torch.arange(6))
    past = []
    for layer in gpt.h:  # the cache of the first 6 tokens, layer by layer
        _, k, v = layer.attn.c_attn(layer.ln_1(x)).split(32, dim=2)
        past.append((k.view(2, 6, 4, 8).transpose(1, 2), v.view(2, 6, 4, 8).transpose(1, 2)))
        x = layer(x)
    assert torch.allclose(gpt(ids[:, 6:], tuple(past)), gpt(ids)[:, 6:], atol=1e-5)

    attn = blk.self_attn
    h = torch.randn(2, 7, 64)
    cached = blk.input_layernorm(h[:, :5])  # the cache of the first 5 tokens
    k = attn.rope(attn.k_proj(cached).view(2, 5, 2, 8), 0).transpose(1, 2)
    v = attn.v_proj(cached).view(2, 5, 2, 8).transpose(1, 2)
    assert torch.allclose(blk(h[:, 5:], (k, v)), blk(h)[:, 5:], atol=1e-5)
    # and the grouped attention equals 32-head attention on repeated KV heads (causal SDPA)
    q = attn.rope(attn.q_proj(h).view(2, 7, 8, 8), 0).transpose(1, 2)
    k = attn.rope(attn.k_proj(h).view(2, 7, 2, 8), 0).transpose(1, 2).repeat_interleave(4, dim=1)
    v = attn.v_proj(h).view(2, 7, 2, 8).transpose(1, 2).repeat_interleave(4, dim=1)
    ref = attn.o_proj(F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(2, 7, 64))
    assert torch.allclose(attn(h), ref, atol=1e-5)


# --- (c) the importer ---------------------------------------------------------------------


def check_importer(name: str, seq_len: int | None, phase: str, batch: int) -> None:
    if name == "vit_b16":
        wl = mapper.load_workload(name, resolution=224, batch=batch)
    else:
        wl = mapper.load_workload(name, seq_len=seq_len, phase=phase, batch=batch)
    assert wl.total_macs == hand_macs(name, seq_len, phase, batch)
    assert wl.unmapped_macs == 0  # every MAC is in a mapped layer: MAC coverage 1
    assert wl.model_macs == wl.total_macs


@pytest.mark.parametrize("batch", [1, 4])
def test_importer_vit_b16(batch):
    check_importer("vit_b16", None, "prefill", batch)


@pytest.mark.parametrize("batch", [1, 4])
def test_importer_bert_base(batch):
    check_importer("bert_base", 128, "prefill", batch)


@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize("seq_len,phase", [(1024, "prefill"), (1024, "decode"), (100, "prefill"), (2, "decode")])
def test_importer_gpt2(seq_len, phase, batch):
    check_importer("gpt2", seq_len, phase, batch)


@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize("seq_len,phase", [(1024, "prefill"), (1024, "decode"), (4096, "decode")])
def test_importer_llama_block(seq_len, phase, batch):
    check_importer("llama_block", seq_len, phase, batch)
