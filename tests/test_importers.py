"""The operator-level importer: every MAC of a module becomes a layer or is reported.

Expected MACs are hand counts (written out beside each case); the sub-pixel decomposition
of a transposed convolution is checked numerically against torch's own conv_transpose2d.
"""
from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import mapper
from mapper import models
from mapper.importers.ops import conv_layers, subpixel_phases
from mapper.importers.torch_fx import extract

T, D, HEADS = 16, 32, 4  # tokens, model width, heads
DH = D // HEADS
# one encoder layer on T tokens: in-projection (3 D^2 per token), Q.K^T and A.V (T*D each
# per token), out-projection (D^2), the MLP (2 D F); F = 64 below
FF = 64
ENCODER_MACS = T * (3 * D * D + 2 * T * D + D * D + 2 * D * FF)


def _full(wl) -> None:
    assert wl.unmapped == () and wl.mac_coverage == 1.0


def test_transformer_encoder_layer_stock_module_is_fully_mapped():
    """nn.TransformerEncoderLayer (its eval fast path included) maps every MAC."""
    enc = nn.TransformerEncoderLayer(D, HEADS, FF, batch_first=True).eval()
    wl = extract(enc, (1, T, D))
    _full(wl)
    assert wl.total_macs == ENCODER_MACS
    qk = [L for L in wl.layers if L.operand == "keys"]
    av = [L for L in wl.layers if L.operand == "values"]
    assert len(qk) == len(av) == HEADS  # the heads are groups: one layer each
    assert {(L.K, L.C, L.H, L.kind) for L in qk} == {(T, DH, T, "matmul")}
    assert {(L.K, L.C, L.H) for L in av} == {(DH, T, T)}
    assert [L.name for L in wl.layers if L.kind == "fc"] == [
        "self_attn.in_proj", "self_attn.out_proj", "linear1", "linear2"]


def test_stacked_encoder_and_multihead_attention():
    stack = nn.TransformerEncoder(nn.TransformerEncoderLayer(D, HEADS, FF, batch_first=True), 3,
                                  enable_nested_tensor=False).eval()
    wl = extract(stack, (2, T, D))  # batch 2: rows double on the linears, heads x 2 groups
    _full(wl)
    assert wl.total_macs == 3 * 2 * ENCODER_MACS
    mha = nn.MultiheadAttention(D, HEADS, batch_first=True).eval()

    class SelfAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.mha = mha

        def forward(self, x):
            return self.mha(x, x, x)[0]

    wl = extract(SelfAttention(), (1, T, D))
    _full(wl)
    assert wl.total_macs == T * (3 * D * D + 2 * T * D + D * D)


class HandAttention(nn.Module):
    """A GPT-style block written with @ and a causal mask, or with F.scaled_dot_product_attention."""

    def __init__(self, sdpa: bool) -> None:
        super().__init__()
        self.sdpa = sdpa
        self.qkv = nn.Linear(D, 3 * D)
        self.proj = nn.Linear(D, D)
        self.register_buffer("mask", torch.tril(torch.ones(64, 64)).view(1, 1, 64, 64))

    def forward(self, x, past_k=None, past_v=None):
        B, t, _ = x.shape
        q, k, v = self.qkv(x).split(D, dim=2)
        q, k, v = (z.view(B, t, HEADS, DH).transpose(1, 2) for z in (q, k, v))
        if past_k is not None:
            k, v = torch.cat([past_k, k], 2), torch.cat([past_v, v], 2)
        s = k.shape[2]
        if self.sdpa:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=past_k is None)
        else:
            att = (q @ k.transpose(-2, -1)) / math.sqrt(DH)
            att = att.masked_fill(self.mask[:, :, s - t:s, :s] == 0, float("-inf"))
            y = att.softmax(-1) @ v
        return self.proj(y.transpose(1, 2).reshape(B, t, D))


@pytest.mark.parametrize("sdpa", [False, True])
def test_hand_written_and_sdpa_attention(sdpa):
    wl = extract(HandAttention(sdpa), (2, T, D))
    _full(wl)
    # per sequence: qkv 3 D^2 T, QK^T and A.V T*T*D each (dense: the masked half too), proj D^2 T
    assert wl.total_macs == 2 * (3 * D * D * T + 2 * T * T * D + D * D * T)
    labels = [L.operand for L in wl.layers]
    assert labels.count("keys") == labels.count("values") == 2 * HEADS  # 2 sequences x heads
    assert {L.name.rsplit(".", 1)[0] for L in wl.layers if L.operand == "keys"} == {"qk"}


@pytest.mark.parametrize("sdpa", [False, True])
def test_kv_cache_as_forward_arguments_is_the_k_and_v_cache(sdpa):
    P = 40  # cached tokens; one new token attends to P + 1 keys
    args = (torch.empty(1, 1, D), torch.empty(1, HEADS, P, DH), torch.empty(1, HEADS, P, DH))
    wl = extract(HandAttention(sdpa), args)
    _full(wl)
    assert wl.total_macs == 3 * D * D + 2 * (P + 1) * D + D * D
    qk = [L for L in wl.layers if L.operand == "K-cache"]
    av = [L for L in wl.layers if L.operand == "V-cache"]
    assert len(qk) == len(av) == HEADS
    assert {(L.K, L.C, L.H) for L in qk} == {(P + 1, DH, 1)}
    assert {(L.K, L.C, L.H) for L in av} == {(DH, P + 1, 1)}


class Functional(nn.Module):
    """Conv1d, ConvTranspose2d, F.conv2d (grouped, dilated) and F.linear."""

    def __init__(self) -> None:
        super().__init__()
        self.line = nn.Conv1d(8, 16, 5, padding=2)
        self.up = nn.ConvTranspose2d(16, 8, 4, stride=2, padding=1)
        self.w = nn.Parameter(torch.empty(8, 4, 3, 3))  # groups=2: 8 in -> 8 out
        self.fc = nn.Parameter(torch.empty(10, 8))

    def forward(self, x):
        y = self.line(x)  # (1, 16, 64)
        img = y.view(1, 16, 8, 8)
        img = self.up(img)  # (1, 8, 16, 16)
        img = F.conv2d(img, self.w, padding=2, dilation=2, groups=2)
        return F.linear(img.mean((2, 3)), self.fc)


def test_conv1d_transposed_functional_and_linear_by_hand():
    wl = extract(Functional(), (1, 8, 64))
    _full(wl)
    line = 16 * 8 * 5 * 64  # K C kernel L_out
    up = 8 * 16 * (16 * 2) * (16 * 2)  # K C x (outputs x taps per output) per axis: 2 taps each
    grouped = 2 * (4 * 4 * 9 * 16 * 16)  # 2 groups of K=4 C=4, 3x3, 16x16
    fc = 10 * 8
    assert wl.total_macs == line + up + grouped + fc
    by = {L.name: L for L in wl.layers}
    assert (by["line"].H, by["line"].W, by["line"].R, by["line"].S) == (64, 1, 5, 1)
    assert sorted(n for n in by if n.startswith("up.")) == ["up.p00", "up.p01", "up.p10", "up.p11"]
    assert {(by[f"w.g{i}"].K, by[f"w.g{i}"].dilation) for i in (0, 1)} == {(4, 2)}
    assert by["fc"].kind == "fc" and (by["fc"].K, by["fc"].C) == (10, 8)


@pytest.mark.parametrize("k, s, p, op, d", [(4, 2, 1, 0, 1), (3, 2, 1, 1, 1), (5, 3, 2, 2, 1), (3, 2, 0, 0, 2),
                                            (2, 3, 0, 0, 1), (7, 4, 3, 1, 1)])
def test_subpixel_decomposition_equals_conv_transpose2d(k, s, p, op, d):
    """Each phase, run as the ordinary stride-1 convolution it is said to be, gives exactly
    torch's transposed-convolution outputs of that phase; the MACs are the (output, tap) pairs."""
    g = torch.Generator().manual_seed(k * 100 + s * 10 + p)
    x = torch.randn(1, 3, 7, 7, generator=g, dtype=torch.float64)
    w = torch.randn(3, 2, k, k, generator=g, dtype=torch.float64)
    ref = F.conv_transpose2d(x, w, stride=s, padding=p, output_padding=op, dilation=d)
    out = ref.shape[-1]
    phases = subpixel_phases(out, k, s, p, d)
    for f0, n, taps, spacing in phases:
        tap_ids = [t for t in range(k) if (t * d) % s == (f0 + p) % s]
        assert len(tap_ids) == taps
        for f1, n1, taps1, _ in phases:
            # output o = f + s*m reads input (o + p - t*d) / s for its taps t
            got = torch.zeros(1, 2, n, n1, dtype=torch.float64)
            cols = [t for t in range(k) if (t * d) % s == (f1 + p) % s]
            for a in range(n):
                for b in range(n1):
                    oh, ow = f0 + s * a, f1 + s * b
                    for th in tap_ids:
                        for tw in cols:
                            ih, iw = (oh + p - th * d) // s, (ow + p - tw * d) // s
                            if 0 <= ih < 7 and 0 <= iw < 7:
                                got[0, :, a, b] += x[0, :, ih, iw] @ w[:, :, th, tw]
            assert torch.allclose(got, ref[..., f0::s, f1::s])
            assert taps1 == len(cols)
        if taps > 1:  # consecutive taps of a phase read inputs `spacing` apart: one dilation
            assert {(b - a) * d // s for a, b in zip(tap_ids, tap_ids[1:])} == {spacing}
    layers = conv_layers("up", n=1, c_in=3, c_out=2, kernel=(k, k), out_spatial=(out, out), stride=(s, s),
                         padding=(p, p), dilation=(d, d), groups=1, transposed=True)
    pairs = sum(1 for o in range(out) for t in range(k) if (o + p - t * d) % s == 0)
    assert sum(L.macs for L in layers) == 2 * 3 * pairs * pairs


class Partial(nn.Module):
    """A Conv3d and a hand-written dot product: MACs the layer model cannot hold."""

    def __init__(self) -> None:
        super().__init__()
        self.c3 = nn.Conv3d(2, 4, 3)
        self.fc = nn.Linear(4 * 4 * 4 * 4, 8)

    def forward(self, x):
        v = self.c3(x)  # (1, 4, 4, 4, 4)
        y = self.fc(v.flatten(1))
        return y, (y * y).sum(-1)


PARTIAL_CONV3D = 4 * 2 * 27 * 64  # K C kd kh kw x outputs
PARTIAL_DOT = 8  # (y * y).sum(): 8 products
PARTIAL_FC = 8 * 256


def test_unmapped_ops_are_reported_with_their_macs():
    wl = extract(Partial(), (1, 2, 6, 6, 6))
    assert wl.total_macs == PARTIAL_FC
    assert {u.op: u.macs for u in wl.unmapped} == {"conv3d": PARTIAL_CONV3D, "mul+sum": PARTIAL_DOT}
    assert wl.model_macs == PARTIAL_FC + PARTIAL_CONV3D + PARTIAL_DOT
    d = wl.to_dict()
    assert d["mapped_macs"] == PARTIAL_FC and d["model_macs"] == wl.model_macs
    assert {u["op"] for u in d["unmapped"]} == {"conv3d", "mul+sum"}


PARTIAL_PY = """
import torch
from torch import nn


class Partial(nn.Module):
    def __init__(self):
        super().__init__()
        self.c3 = nn.Conv3d(2, 4, 3)
        self.fc = nn.Linear(256, 8)

    def forward(self, x):
        return self.fc(self.c3(x).flatten(1))
"""


@pytest.mark.parametrize("command", [["layers"], ["solve", "--hw", "nnbaton-case-study"],
                                     ["gap", "--hw", "nnbaton-case-study", "--baselines", "template"],
                                     ["enumerate", "--hw", "nnbaton-case-study"]])
def test_every_command_reports_the_coverage(command, tmp_path, capsys):
    from mapper.cli import main
    f = tmp_path / "partial.py"
    f.write_text(PARTIAL_PY)
    spec = [f"{f}:Partial", "--input-shape", "1,2,6,6,6"]
    assert main([command[0], *spec, *command[1:], "--json"]) == 0
    out, err = capsys.readouterr()
    d = json.loads(out)
    totals = d.get("totals", d)
    assert totals["model_macs"] == PARTIAL_FC + PARTIAL_CONV3D and totals["mapped_macs"] == PARTIAL_FC
    assert [u["op"] for u in totals["unmapped"]] == ["conv3d"]
    assert "warning: only" in err and "conv3d" in err
    assert main([command[0], *spec, *command[1:]]) == 0
    out, err = capsys.readouterr()
    assert "MAC coverage: " in out and "conv3d" in out and "warning: only" in err


@pytest.mark.parametrize("name", ["alexnet", "resnet50", "mobilenetv2"])
def test_operator_level_reading_equals_the_fx_reading_of_the_cnn_zoo(name):
    """One workload either way: torch.export sees the same layers, names and order as the
    torch.fx fast path (ResNet-50: every conv and the FC)."""
    from mapper.importers import torch_export
    with torch.device("meta"):
        module, args = models.build_inputs(name, resolution=96)
    fx = extract(module, args, name)
    ex = torch_export.extract(module, args, name)
    assert [(L.name, L.shape_key(), L.kind) for L in ex.layers] == [(L.name, L.shape_key(), L.kind)
                                                                    for L in fx.layers]
    assert ex.unmapped == ()


def test_tracing_failure_names_the_place_and_says_tracing():
    class Bad(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(8, 8)

        def forward(self, x):
            return self.fc(x.view(3, 5))  # cannot view 8 elements as 3 x 5

    with pytest.raises(mapper.MapperError, match=r"tracing its forward.*test_importers.py:\d+ in forward"):
        extract(Bad(), (1, 8))


def test_a_weight_expanded_over_the_batch_is_one_layer_with_the_rows():
    """batch_first attention at batch 3 runs its in-projection as a bmm of one expanded
    weight: the 3 sequences are rows of one layer (shared weights), not 3 groups."""
    enc = nn.TransformerEncoderLayer(D, HEADS, FF, batch_first=True).eval()
    wl = extract(enc, (3, T, D))
    _full(wl)
    assert wl.total_macs == 3 * ENCODER_MACS
    fc = [L for L in wl.layers if L.kind == "fc"]
    assert [(L.name, L.H) for L in fc] == [("self_attn.in_proj", 3 * T), ("self_attn.out_proj", 3 * T),
                                          ("linear1", 3 * T), ("linear2", 3 * T)]
    assert len([L for L in wl.layers if L.operand == "keys"]) == 3 * HEADS  # sequences x heads


@pytest.mark.slow
@pytest.mark.parametrize("phase", ["prefill", "decode"])
def test_solve_gpt2_every_layer_optimal_with_the_coverage_line(phase, capsys):
    """The issue's acceptance: `mapper solve gpt2 --seq-len 1024 --phase ...` proves every
    layer and prints the coverage line."""
    from mapper.cli import main
    assert main(["solve", "gpt2", "--seq-len", "1024", "--phase", phase, "--hw", "nnbaton-case-study",
                 "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["statuses"] == ["OPTIMAL"] and d["mac_coverage"] == 1.0 and d["phase"] == phase
    assert d["model_macs"] == d["total_macs"] and d["unmapped"] == []
    assert {L["operand"] for L in d["layers"] if L.get("operand")} == {"weights", "K-cache", "V-cache"} \
        if phase == "decode" else {"weights", "keys", "values"}
