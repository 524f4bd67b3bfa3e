"""The ONNX importer: the same layers as the torch importer for the same model, exact hand
counts on graphs built with onnx.helper, and a WorkloadError naming the file for every bad one.

Round trips export with torch.onnx.export: the dynamo exporter (torch.export + onnxscript, the
default in torch 2.13) and the TorchScript one (dynamo=False), whose graphs differ (the dynamo
exporter folds BatchNorm into Conv and a Linear's transposed weight into an unnamed
initializer "val_0"; the TorchScript exporter names weights "onnx::Conv_497" and nodes
"/layer1/layer1.0/conv1/Conv").
"""
from __future__ import annotations

import contextlib
import io
import json
import re
import warnings

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import mapper
from mapper.importers.onnx_graph import load_onnx
from mapper.workload import WorkloadError

torch = pytest.importorskip("torch")
nn = torch.nn


def _export(module, args, path, dynamo):
    """torch.onnx.export, quietly (progress lines, deprecation warnings)."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), tuple(args), str(path), dynamo=dynamo, verbose=False)
    return path


def _rows(wl):
    return [(L.name, L.kind, L.operand, L.shape_key()) for L in wl.layers]


# ------------------------------------------------------------------ round trips
class Attention(nn.Module):
    """Hand-written attention with `@` (4 heads on 16 tokens of width 64)."""

    def __init__(self, d=64, heads=4):
        super().__init__()
        self.heads, self.qkv, self.proj = heads, nn.Linear(d, 3 * d), nn.Linear(d, d)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(x).reshape(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        a = ((q @ k.transpose(-2, -1)) * (d // self.heads) ** -0.5).softmax(-1)
        return self.proj((a @ v).transpose(1, 2).reshape(b, t, d))


class CachedAttention(nn.Module):
    """One decode step: the new token's keys and values appended to caches given as inputs."""

    def __init__(self, d=32):
        super().__init__()
        self.q, self.k, self.v = nn.Linear(d, d, bias=False), nn.Linear(d, d, bias=False), nn.Linear(d, d)

    def forward(self, x, past_k, past_v):
        k = torch.cat([past_k, self.k(x)], dim=1)
        v = torch.cat([past_v, self.v(x)], dim=1)
        a = torch.softmax(self.q(x) @ k.transpose(1, 2) / 8.0, dim=-1)
        return a @ v


class Convs(nn.Module):
    """Conv1d, ConvTranspose2d (stride 2, padding 1, output_padding 1), grouped, depthwise
    and dilated convolutions."""

    def __init__(self):
        super().__init__()
        self.line = nn.Conv1d(8, 16, 3, padding=1)
        self.up = nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1)
        self.grouped = nn.Conv2d(8, 16, 3, padding=1, groups=4)
        self.dw = nn.Conv2d(16, 16, 3, stride=2, padding=1, groups=16)
        self.dilated = nn.Conv2d(16, 8, 3, padding=2, dilation=2)

    def forward(self, x):
        y = self.line(x.flatten(2)).reshape(1, 16, 8, 8)
        return self.dilated(self.dw(self.grouped(self.up(y))))


def _resnet():
    from mapper import models
    module, shape = models.build("resnet50", 64)
    return module, [shape]


def _mobilenet():
    from mapper import models
    module, shape = models.build("mobilenetv2", 64)
    return module, [shape]


W, KV, CACHE = {"weights"}, {"weights", "keys", "values"}, {"weights", "K-cache", "V-cache"}
CASES = {  # name: (build, dynamo exporter?, the operand labels found)
    "resnet50": (_resnet, True, W),
    "mobilenetv2-torchscript": (_mobilenet, False, W),
    "encoder": (lambda: (nn.TransformerEncoderLayer(64, 4, 128, batch_first=True), [(1, 16, 64)]), True, KV),
    "attention": (lambda: (Attention(), [(1, 16, 64)]), True, KV),
    "attention-torchscript": (lambda: (Attention(), [(1, 16, 64)]), False, KV),
    "kv-cache": (lambda: (CachedAttention(), [(1, 1, 32), (1, 7, 32), (1, 7, 32)]), True, CACHE),
    "convs": (lambda: (Convs(), [(1, 8, 8, 8)]), True, W),
    "convs-torchscript": (lambda: (Convs(), [(1, 8, 8, 8)]), False, W),
}


@pytest.mark.parametrize("case", list(CASES))
def test_onnx_export_gives_the_layers_of_the_direct_import(case, tmp_path):
    build, dynamo, operands = CASES[case]
    module, shapes = build()
    module = module.eval()
    path = _export(module, [torch.randn(s) for s in shapes], tmp_path / f"{case}.onnx", dynamo)
    got = load_onnx(path)
    ref = mapper.load_workload(module, input_shape=shapes if len(shapes) > 1 else shapes[0])
    # Names are the same too: initializer names ("layer1.0.conv1.weight" -> "layer1.0.conv1"),
    # the module path of a node ("/layer1/layer1.0/conv1/Conv", or the dynamo exporter's name
    # scopes), the bias of a Linear whose weight the exporter renamed ("val_0" + "self_attn.
    # in_proj_bias" -> "self_attn.in_proj"), and "<module>.qk" / ".av" for attention.
    assert _rows(got) == _rows(ref)
    assert {L.operand for L in got.layers} == operands
    assert got.model_macs == ref.model_macs and got.unmapped == ref.unmapped == ()
    assert got.model == case and got.inputs == tuple(shapes)


def test_round_trip_labels_are_the_attention_operands(tmp_path):
    """What the comparison above covers, spelled out for the cached decode step."""
    path = _export(CachedAttention(), [torch.randn(1, 1, 32), torch.randn(1, 7, 32), torch.randn(1, 7, 32)],
                   tmp_path / "decode.onnx", True)
    wl = load_onnx(path, model_name="decode")
    assert wl.model == "decode"
    assert [(L.name, L.kind, L.operand, L.K, L.C, L.H) for L in wl.layers] == [
        ("k", "fc", "weights", 32, 32, 1), ("v", "fc", "weights", 32, 32, 1), ("q", "fc", "weights", 32, 32, 1),
        ("qk", "matmul", "K-cache", 8, 32, 1), ("av", "matmul", "V-cache", 32, 8, 1)]


# ------------------------------------------------------------------ hand-built graphs
def _init(name, shape):
    return numpy_helper.from_array(np.zeros(shape, dtype=np.float32), name)


def _model(nodes, inputs, outputs, inits=(), opset=17, value_info=()):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(inits), value_info=list(value_info))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def _save(model, path):
    onnx.save(model, str(path))
    return path


def _hand_model():
    """Conv 3x3 + Gemm (initializer weights) + MatMul of two activations + a 3-D Conv."""
    nodes = [
        helper.make_node("Conv", ["x", "conv1.weight"], ["y"], name="/conv1/Conv", pads=[1, 1, 1, 1]),
        helper.make_node("Flatten", ["y"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["g"], name="fc_gemm", transB=1),
        helper.make_node("Reshape", ["g", "shape"], ["r"], name="reshape"),
        helper.make_node("Transpose", ["r"], ["rt"], name="transpose", perm=[0, 2, 1]),
        helper.make_node("MatMul", ["r", "rt"], ["m"], name="scores"),
        helper.make_node("Conv", ["v", "c3.weight"], ["z"], name="conv3d"),
    ]
    inits = [_init("conv1.weight", (4, 3, 3, 3)), _init("fc.weight", (16, 256)), _init("fc.bias", (16,)),
             numpy_helper.from_array(np.array([1, 4, 4], dtype=np.int64), "shape"),
             _init("c3.weight", (3, 2, 3, 3, 3))]
    return _model(nodes, [_vi("x", [1, 3, 8, 8]), _vi("v", [1, 2, 4, 4, 4])],
                  [_vi("m", None), _vi("z", None)], inits)


def test_hand_built_graph_exact_layers_and_unmapped_macs(tmp_path):
    wl = load_onnx(_save(_hand_model(), tmp_path / "hand.onnx"))
    assert [(L.name, L.kind, L.operand, L.K, L.C, L.H, L.W, L.R, L.S, L.stride, L.padding, L.macs)
            for L in wl.layers] == [
        ("conv1", "conv", "weights", 4, 3, 8, 8, 3, 3, 1, 1, 4 * 3 * 9 * 64),  # K C R S H W
        ("fc", "fc", "weights", 16, 256, 1, 1, 1, 1, 1, 0, 16 * 256),
        ("scores", "matmul", "activation", 4, 4, 4, 1, 1, 1, 1, 0, 4 * 4 * 4),  # [4x4] @ [4x4]
    ]
    (u,) = wl.unmapped
    assert (u.op, u.count, u.macs) == ("Conv", 1, 3 * 2 * 27 * 8)  # K C kd kh kw x 2x2x2 outputs
    assert "3-D convolution" in u.reason and "first at node 'conv3d'" in u.reason
    assert wl.model_macs == 6912 + 4096 + 64 + 1296
    assert wl.skipped == {"Flatten": 1, "Reshape": 1, "Transpose": 1}
    assert wl.skipped_elements == {"Flatten": 256, "Reshape": 16, "Transpose": 16}
    assert wl.inputs == ((1, 3, 8, 8), (1, 2, 4, 4, 4)) and wl.model == "hand"
    assert mapper.load_workload(str(tmp_path / "hand.onnx")).layers == wl.layers  # the .onnx dispatch


def test_hand_built_kv_cache_attention_with_scoped_names(tmp_path):
    """Graph inputs past_k / past_v concatenated with the new keys and values: K-/V-cache;
    node names in the TorchScript exporter's style give the module path."""
    d, t, past = 8, 4, 3
    nodes = [
        helper.make_node("MatMul", ["x", "wq"], ["q"], name="/blk/attn/q/MatMul"),
        helper.make_node("MatMul", ["x", "wk"], ["kn"], name="/blk/attn/k/MatMul"),
        helper.make_node("MatMul", ["x", "wv"], ["vn"], name="/blk/attn/v/MatMul"),
        helper.make_node("Concat", ["past_k", "kn"], ["k"], name="/blk/attn/Concat", axis=1),
        helper.make_node("Concat", ["past_v", "vn"], ["v"], name="/blk/attn/Concat_1", axis=1),
        helper.make_node("Transpose", ["k"], ["kt"], name="/blk/attn/Transpose", perm=[0, 2, 1]),
        helper.make_node("MatMul", ["q", "kt"], ["s"], name="/blk/attn/MatMul"),
        helper.make_node("Div", ["s", "scale"], ["sd"], name="/blk/attn/Div"),
        helper.make_node("Softmax", ["sd"], ["a"], name="/blk/attn/Softmax", axis=-1),
        helper.make_node("MatMul", ["a", "v"], ["o"], name="/blk/attn/MatMul_1"),
        helper.make_node("MatMul", ["o", "wo"], ["y"], name="/blk/attn/o/MatMul"),
    ]
    inits = [_init("onnx::MatMul_1", (d, d)), _init("onnx::MatMul_2", (d, d)), _init("onnx::MatMul_3", (d, d)),
             _init("wo", (d, d)), numpy_helper.from_array(np.array(2.0, dtype=np.float32), "scale")]
    for node, w in zip(nodes[:3], ("onnx::MatMul_1", "onnx::MatMul_2", "onnx::MatMul_3")):
        node.input[1] = w
    model = _model(nodes, [_vi("x", [1, t, d]), _vi("past_k", [1, past, d]), _vi("past_v", [1, past, d])],
                   [_vi("y", None)], inits)
    wl = load_onnx(_save(model, tmp_path / "cache.onnx"))
    assert [(L.name, L.kind, L.operand, L.K, L.C, L.H) for L in wl.layers] == [
        ("blk.attn.q", "fc", "weights", d, d, t), ("blk.attn.k", "fc", "weights", d, d, t),
        ("blk.attn.v", "fc", "weights", d, d, t),
        ("blk.attn.qk", "matmul", "K-cache", past + t, d, t), ("blk.attn.av", "matmul", "V-cache", d, past + t, t),
        ("wo", "fc", "weights", d, d, t)]
    # the same graph with the caches computed inside it: keys and values
    model.graph.input.pop()
    model.graph.input.pop()
    model.graph.node.insert(0, helper.make_node("Identity", ["x"], ["past_k"]))
    model.graph.node.insert(0, helper.make_node("Identity", ["x"], ["past_v"]))
    wl = load_onnx(_save(model, tmp_path / "nocache.onnx"))
    assert [L.operand for L in wl.layers if L.kind == "matmul"] == ["keys", "values"]


def test_conv_attributes_auto_pad_strides_dilations_transposed(tmp_path):
    """auto_pad SAME_UPPER at stride 2, a 1-D conv, a dilated conv, a ConvTranspose with
    output_padding, a Gemm with transA and weights first (turned around), names used twice."""
    nodes = [
        helper.make_node("Conv", ["x", "a.weight"], ["y1"], auto_pad="SAME_UPPER", strides=[2, 2]),
        helper.make_node("Conv", ["y1", "b.weight"], ["y2"], pads=[2, 2, 2, 2], dilations=[2, 2]),
        helper.make_node("Conv", ["y2", "b.weight"], ["y3"], pads=[2, 2, 2, 2], dilations=[2, 2]),
        helper.make_node("ConvTranspose", ["y3", "up.weight"], ["y4"], strides=[2, 2], pads=[1, 1, 1, 1],
                         output_padding=[1, 1]),
        helper.make_node("Conv", ["line", "l.weight"], ["y5"], pads=[1, 1]),
        helper.make_node("Gemm", ["w", "act"], ["y6"], transA=1),
    ]
    inits = [_init("a.weight", (8, 3, 3, 3)), _init("b.weight", (8, 8, 3, 3)), _init("up.weight", (8, 4, 3, 3)),
             _init("l.weight", (6, 5, 3)), _init("w", (10, 7))]
    model = _model(nodes, [_vi("x", [1, 3, 9, 9]), _vi("line", [2, 5, 20]), _vi("act", [10, 3])],
                   [_vi("y4", None), _vi("y5", None), _vi("y6", None)], inits)
    wl = load_onnx(_save(model, tmp_path / "attrs.onnx"))
    rows = [(L.name, L.K, L.C, L.H, L.W, L.R, L.S, L.stride, L.padding, L.dilation, L.N) for L in wl.layers]
    assert rows[:3] == [("a", 8, 3, 5, 5, 3, 3, 2, 1, 1, 1),  # SAME_UPPER: 9 -> 5, total pad 2
                        ("b", 8, 8, 5, 5, 3, 3, 1, 2, 2, 1), ("b@2", 8, 8, 5, 5, 3, 3, 1, 2, 2, 1)]
    up = [r for r in rows if r[0].startswith("up")]  # 5x5 -> 10x10, four stride-1 phases
    from mapper.importers.ops import conv_layers
    expect = conv_layers("up", n=1, c_in=8, c_out=4, kernel=(3, 3), out_spatial=(10, 10), stride=(2, 2),
                         padding=(1, 1), dilation=(1, 1), groups=1, transposed=True)
    assert up == [(L.name, L.K, L.C, L.H, L.W, L.R, L.S, L.stride, L.padding, L.dilation, L.N) for L in expect]
    # exact MACs: per axis 10 outputs in two phases, 5 with 1 tap and 5 with 2 taps: 15
    assert sum(L.macs for L in wl.layers if L.name.startswith("up")) == 4 * 8 * 15 * 15
    assert rows[-2] == ("l", 6, 5, 20, 1, 3, 1, 1, 1, 1, 2)  # 1-D: the line on H, the batch of 2 on N
    # w^T [7x10] @ act [10x3]: turned around (act^T @ w), the weights are the reused operand
    assert rows[-1] == ("w", 7, 10, 3, 1, 1, 1, 1, 0, 1, 1) and wl.layers[-1].kind == "fc"


def test_other_mac_ops_are_unmapped_with_their_macs(tmp_path):
    """Integer conv and matmul, Einsum, LSTM, a bidirectional GRU, ONNX's Attention op and a
    product summed by hand: listed with hand-counted MACs, merged by op; the Conv is a layer."""
    u8 = TensorProto.UINT8
    nodes = [
        helper.make_node("Conv", ["x", "c.weight"], ["y"]),
        helper.make_node("MatMulInteger", ["qa", "qb"], ["qm"]),
        helper.make_node("MatMulInteger", ["qa", "qb"], ["qm2"]),
        helper.make_node("ConvInteger", ["qx", "qw"], ["qc"]),
        helper.make_node("Einsum", ["e1", "e2"], ["eo"], equation="bij,bjk->bik"),
        helper.make_node("LSTM", ["seq", "lw", "lr"], ["ly"], hidden_size=4),
        helper.make_node("GRU", ["seq", "gw", "gr"], ["gy"], hidden_size=4, direction="bidirectional"),
        helper.make_node("Attention", ["aq", "ak", "av"], ["ao"]),
        helper.make_node("Mul", ["m1", "m2"], ["mm"]),
        helper.make_node("ReduceSum", ["mm"], ["ms"], keepdims=0),
    ]
    inits = [_init("c.weight", (2, 2, 1, 1)), _init("lw", (1, 16, 3)), _init("lr", (1, 16, 4)),
             _init("gw", (2, 12, 3)), _init("gr", (2, 12, 4))]
    inputs = [_vi("x", [1, 2, 4, 4]), helper.make_tensor_value_info("qa", u8, [2, 5, 6]),
              helper.make_tensor_value_info("qb", u8, [6, 4]), helper.make_tensor_value_info("qx", u8, [1, 2, 5, 5]),
              helper.make_tensor_value_info("qw", u8, [3, 2, 3, 3]), _vi("e1", [2, 3, 4]), _vi("e2", [2, 4, 5]),
              _vi("seq", [5, 2, 3]), _vi("aq", [1, 2, 4, 8]), _vi("ak", [1, 2, 6, 8]), _vi("av", [1, 2, 6, 8]),
              _vi("m1", [4, 6]), _vi("m2", [4, 6])]
    outputs = [helper.make_tensor_value_info(n, TensorProto.INT32 if n.startswith("q") else TensorProto.FLOAT, None)
               for n in ("y", "qm", "qm2", "qc", "eo", "ly", "gy", "ao", "ms")]
    wl = load_onnx(_save(_model(nodes, inputs, outputs, inits, opset=23), tmp_path / "ops.onnx"))
    assert [(L.name, L.macs) for L in wl.layers] == [("c", 2 * 2 * 16)]
    assert {u.op: (u.count, u.macs) for u in wl.unmapped} == {
        "MatMulInteger": (2, 2 * 2 * 5 * 4 * 6),  # twice [2x5x6] @ [6x4]
        "ConvInteger": (1, 3 * 2 * 9 * 3 * 3),  # K C R S x 3x3 outputs
        "Einsum": (1, 2 * 3 * 4 * 5),  # b i j k
        "LSTM": (1, 5 * 2 * (16 * 3 + 16 * 4)),  # steps x batch x (4 gates x hidden) x (input + hidden)
        "GRU": (1, 5 * 2 * 2 * (12 * 3 + 12 * 4)),  # both directions
        "Attention": (1, 2 * 4 * 6 * 8 * 2),  # heads x queries x keys x head size, Q.K^T and A.V
        "mul+sum": (1, 4 * 6),
    }
    assert wl.skipped == {"Mul": 1}


# ------------------------------------------------------------------ bad files
def _relu_only():
    return _model([helper.make_node("Relu", ["x"], ["y"])], [_vi("x", [1, 4])], [_vi("y", None)])


def _conv3d_only():
    return _model([helper.make_node("Conv", ["v", "c3.weight"], ["z"], name="c3")], [_vi("v", [1, 2, 4, 4, 4])],
                  [_vi("z", None)], [_init("c3.weight", (3, 2, 3, 3, 3))])


def _behind(op, domain=""):
    """A Conv whose input comes from an op that shape inference cannot see through."""
    model = _model([helper.make_node(op, ["x"], ["h"], name="odd", domain=domain),
                    helper.make_node("Conv", ["h", "w"], ["y"], name="conv")],
                   [_vi("x", [1, 3, 8, 8])], [_vi("y", None)], [_init("w", (4, 3, 3, 3))])
    if domain:
        model.opset_import.append(helper.make_opsetid(domain, 1))
    return model


def _undefined_value():
    model = _hand_model()
    model.graph.node[1].input[0] = "nowhere"
    return model


def _serialized(model):
    return model.SerializeToString()


BAD = {  # file name: (contents: bytes, a model, a folder (None) or missing (...)), message
    "missing.onnx": (..., r"file not found"),
    "folder.onnx": (None, r"is a folder"),
    "empty.onnx": (b"", r"the file is empty"),
    "random.onnx": (np.random.default_rng(0).bytes(3000), r"is not an ONNX model"),
    "text.onnx": (b"name,K,C\nconv1,64,3\n", r"is a text file, not an ONNX model"),
    "lfs.onnx": (b"version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 9\n",
                 r"Git LFS pointer.*git lfs pull"),
    "truncated.onnx": (lambda: _serialized(_hand_model())[:400], r"truncated or corrupted"),
    "opset.onnx": (lambda: _model([helper.make_node("Relu", ["x"], ["y"])], [_vi("x", [1, 4])], [_vi("y", None)],
                                  opset=99), r"opset 99, newer than"),
    "custom.onnx": (lambda: _behind("Mystery", "my.ops"),
                    r"shape of 'h' \(input of Conv node 'conv'\) is unknown.*Mystery node 'odd' \(domain my.ops\): "
                    r"an op onnx's shape inference does not know. Write the shapes of its outputs into the "
                    r"file's value_info"),
    "typo.onnx": (lambda: _behind("Convolution"), r"Convolution node 'odd' \(domain ai.onnx\): an op onnx's shape"),
    "undefined.onnx": (_undefined_value, r"reads 'nowhere', which no earlier node, input or initializer defines"),
    "nodes.onnx": (lambda: _model([], [], []), r"has no nodes"),
    "relu.onnx": (_relu_only, r"no convolution or matrix product.*unmapped MAC ops: none; ops without MACs: Relu"),
    "conv3d.onnx": (_conv3d_only, r"no convolution or matrix product.*Conv x1: 1,296 MACs, 3-D convolution"),
    "symbolic.onnx": (lambda: _model([helper.make_node("Relu", ["x"], ["y"])], [_vi("x", ["batch", 3, 8, 8])],
                                     [_vi("y", ["batch", 3, 8, 8])]),
                      r"input 'x' has symbolic dims \(batch, 3, 8, 8\).*fixed shapes.*update_inputs_outputs_dims"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_file_is_a_workload_error_naming_the_file(name, tmp_path):
    contents, message = BAD[name]
    path = tmp_path / name
    if contents is None:
        path.mkdir()
    elif contents is not ...:
        contents = contents() if callable(contents) else contents
        if isinstance(contents, onnx.ModelProto):
            onnx.save(contents, str(path))
        else:
            path.write_bytes(contents)
    with pytest.raises(WorkloadError) as err:
        load_onnx(path)
    text = str(err.value)
    assert text.startswith(str(path)) and "Traceback" not in text
    assert re.search(message, text, re.S), text


def test_unknown_op_with_shapes_written_in_value_info_loads(tmp_path):
    """What the message for an op unknown to shape inference says to do works."""
    model = _behind("Mystery", "my.ops")
    model.graph.value_info.append(_vi("h", [1, 3, 8, 8]))
    wl = load_onnx(_save(model, tmp_path / "custom.onnx"))
    assert [(L.name, L.K, L.C, L.H, L.W) for L in wl.layers] == [("w", 4, 3, 6, 6)]
    assert wl.skipped == {"Mystery": 1}


def test_symbolic_dims_fixed_as_the_message_says(tmp_path):
    """The message's recipe (onnx's update_inputs_outputs_dims) gives a file that loads, also
    for a TorchScript export whose Reshape targets are computed from Shape (folded here)."""
    path = tmp_path / "dyn.onnx"
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(Attention().eval(), (torch.randn(2, 16, 64),), str(path), dynamo=False,
                          input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    with pytest.raises(WorkloadError, match=r"input 'x' has symbolic dims \(batch, 16, 64\)") as err:
        load_onnx(path)
    recipe = re.search(r"fix the dims in the file: (.*\)), with numbers for batch", str(err.value)).group(1)
    assert "{'x': [batch, 16, 64]}, {'y': [-1, 16, 64]}" in recipe
    exec(recipe.replace("[batch,", "[1,"), {"onnx": onnx})
    wl = load_onnx(tmp_path / "dyn_fixed.onnx")
    assert _rows(wl) == _rows(mapper.load_workload(Attention().eval(), input_shape=(1, 16, 64)))


def test_layers_command_reads_an_onnx_file(tmp_path, capsys):
    from mapper.cli import main
    path = _save(_hand_model(), tmp_path / "hand.onnx")
    assert main(["layers", str(path), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert [L["name"] for L in d["layers"]] == ["conv1", "fc", "scores"]
    assert d["model_macs"] == 6912 + 4096 + 64 + 1296 and [u["op"] for u in d["unmapped"]] == ["Conv"]
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model\n")
    assert main(["layers", str(bad)]) == 2
    assert str(bad) in capsys.readouterr().err
