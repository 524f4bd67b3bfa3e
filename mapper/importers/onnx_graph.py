"""Workloads from ONNX files: every MAC of the graph as layers, or reported with its MACs.

The file is read without its external weight data and with its large weights dropped (only
shapes matter), local functions are inlined and `onnx.shape_inference` gives every value's
shape; the graph inputs must have fixed sizes. Size arithmetic that onnx's inference does not
follow (a TorchScript export computes Reshape targets with Shape -> Gather -> Div -> Cast ->
Concat) is evaluated on small constants until every shape is known (`_fold_shapes`). Then,
node by node in graph order, by the rules of `mapper.importers.ops` (the same as the torch
importer's, so one model gives one list of layers whichever way it arrives):

* `Conv` (1-D and 2-D; groups, dilations, strides, pads or auto_pad) and `ConvTranspose`
  (strides, pads, output_padding or output_shape, dilations, groups) -> conv layers;
* `Gemm` (transA/transB) and `MatMul` -> "fc" layers when the second operand is trained
  weights, "matmul" layers with an operand label when it is an activation (the keys, the
  values, a K-/V-cache); a product weights @ activation is turned around so the weights are
  the reused operand;
* every other op that carries MACs (3-D convolutions, integer and quantized convs and
  matmuls, Einsum, LSTM/GRU/RNN, attention ops, MAC ops inside Loop/If bodies, ...) -> an
  `UnmappedOp` with its MACs from the shapes, merged by op and reason; a product summed by
  hand (ReduceSum of a Mul) too;
* every op without MACs -> counted by op type with its output elements (`Constant` nodes
  are data, not ops, and are not counted).

The origin of a second operand is found by walking back through ops that only move or
re-type data (Reshape, Transpose, Unsqueeze, Squeeze, Expand, Concat, Slice, Gather, Cast,
DequantizeLinear, a Mul/Div by a scalar constant, ...): initializers and constants are
weights. An activation matmul whose first operand comes from a Softmax multiplies by the
*values*; one whose output flows through elementwise ops into a Softmax by the *keys*; when
those come from a graph input other than the first one they are the *K-cache* / *V-cache*.

Names: a layer whose weight is one initializer is named by it without ".weight"
("layer1.0.conv1.weight" -> "layer1.0.conv1"); a weight the exporter renamed ("val_0",
"onnx::MatMul_57") by its bias ("self_attn.in_proj_bias" -> "self_attn.in_proj"), else by
the module path the exporter recorded (torch.onnx's dynamo exporter: node metadata; the
TorchScript exporter: node names such as "/layer1/layer1.0/conv1/Conv") or the node's own
name; attention products are "<module>.qk" / "<module>.av". A name used twice gets "@2", ...
"""
from __future__ import annotations

import ast
import math
import re
from pathlib import Path
from typing import Any, Iterable

import onnx
import onnx.inliner
from onnx import shape_inference

from mapper.importers.ops import (
    Found, Unmappable, broadcast_matmul, conv_layers, conv_macs, matmul_layers, operand_label, transposed_macs,
)
from mapper.layer import WEIGHTS
from mapper.workload import UnmappedOp, Workload, WorkloadError, imported

# Ops that only move, view or re-type data: an operand's origin is looked for through them
# (through their first input only, except Concat and Mul/Div).
_SHAPE_ONLY = {
    "Reshape", "Transpose", "Unsqueeze", "Squeeze", "Expand", "Identity", "Cast", "CastLike", "Concat",
    "Flatten", "Slice", "Gather", "GatherElements", "Split", "Tile", "Dropout", "DequantizeLinear",
    "QuantizeLinear", "Mul", "Div",
}
# Elementwise ops between a score matmul and its softmax (scale, mask, bias, cast).
_TO_SOFTMAX = _SHAPE_ONLY | {"Add", "Sub", "Where", "Neg"}
_SOFTMAX = {"Softmax", "LogSoftmax"}
_CONSTANT = {"Constant", "Shape", "Size"}  # static values (every shape is fixed)
_REDUCE = {"ReduceSum", "ReduceMean"}
_PARAM_SUFFIX = re.compile(r"(\.weight|_weight|\.bias)$")
# Initializer names an exporter makes up ("onnx::MatMul_57", "val_0"): not a module path.
_GENERATED = re.compile(r".*::.*|_*(val|v|const|constant|initializer|ortshared|tensor|arg)?_*\d+(_\d+)*", re.I)
_LABEL = {"keys": "qk", "K-cache": "qk", "values": "av", "V-cache": "av"}

# MAC ops that are not layers: where their operands are ((x, w) input positions).
_CONV_LIKE = {"ConvInteger": (0, 1), "QLinearConv": (0, 3), "DeformConv": (0, 1), "NhwcConv": (0, 1)}
_MATMUL_LIKE = {"MatMulInteger": 0, "QLinearMatMul": 0, "MatMulIntegerToFloat": 0, "DynamicQuantizeMatMul": 0,
                "MatMulNBits": 0, "MatMulBnb4": 0, "QGemm": 0, "QOrderedMatMul": 0, "GemmFloat8": 0,
                "GemmFastGelu": 0, "FusedMatMulActivation": 0}
_RECURRENT = {"LSTM": 4, "GRU": 3, "RNN": 1}
_ATTENTION = {"Attention", "MultiHeadAttention", "GroupQueryAttention", "PackedAttention",
              "PackedMultiHeadAttention", "DecoderMaskedMultiHeadAttention", "DecoderMaskedSelfAttention",
              "SparseAttention", "QAttention", "QOrderedAttention", "LongformerAttention", "RotaryAttention",
              "PagedAttention"}
_MAC_WORDS = re.compile(r"conv|matmul|gemm|attention|einsum|lstm|gru", re.I)


def _attrs(node: onnx.NodeProto) -> dict[str, Any]:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _text(v: Any) -> Any:
    return v.decode() if isinstance(v, bytes) else v


class _Graph:
    """The inferred graph: shapes, producers, consumers, constants, and operand origins."""

    def __init__(self, model: onnx.ModelProto, shaped: onnx.ModelProto) -> None:
        g = model.graph
        self.inits = {t.name for t in g.initializer} | {t.values.name for t in g.sparse_initializer}
        self.shapes: dict[str, tuple | None] = {}
        for t in g.initializer:
            self.shapes[t.name] = tuple(int(d) for d in t.dims)
        for t in g.sparse_initializer:
            self.shapes[t.values.name] = tuple(int(d) for d in t.dims)
        for vi in _value_infos(shaped.graph):
            if _static(_vi_shape(vi)) or vi.name not in self.shapes:
                self.shapes[vi.name] = _vi_shape(vi)
        self.inputs = [vi.name for vi in g.input if vi.name not in self.inits]
        self.first_input = self.inputs[0] if self.inputs else None
        self.producer: dict[str, onnx.NodeProto] = {}
        self.consumers: dict[str, list[onnx.NodeProto]] = {}
        for node in _all_nodes(g):
            for out in node.output:
                if out:
                    self.producer[out] = node
            for inp in node.input:
                if inp:
                    self.consumers.setdefault(inp, []).append(node)
        self._leaves: dict[str, frozenset] = {}

    def shape(self, name: str) -> tuple | None:
        s = self.shapes.get(name)
        return s if s is not None and all(isinstance(d, int) for d in s) else None

    def numel(self, name: str) -> int:
        s = self.shape(name)
        return math.prod(s) if s is not None else 0

    # -------------------------------------------------------------- operand origins
    def leaves(self, value: str, depth: int = 64) -> frozenset:
        """Where a value comes from: "init:<name>", "input:<name>", "const" or "computed"."""
        if value in self._leaves:
            return self._leaves[value]
        out = self._find_leaves(value, depth)
        self._leaves[value] = out
        return out

    def _find_leaves(self, value: str, depth: int) -> frozenset:
        if value in self.inits:
            return frozenset({"init:" + value})
        node = self.producer.get(value)
        if node is None:
            return frozenset({"input:" + value})
        ins = [i for i in node.input if i]
        if node.op_type in _CONSTANT or not ins:
            return frozenset({"const"})
        if depth == 0 or node.op_type not in _SHAPE_ONLY:
            return frozenset({"computed"})
        if node.op_type in ("Mul", "Div"):
            found = [self.leaves(i, depth - 1) for i in ins]
            fixed = [all(s == "const" or s.startswith("init:") for s in f) for f in found]
            if len(ins) == 2 and fixed[1] and self.numel(ins[1]) <= 1:
                return found[0]  # x * scale, x / scale
            if len(ins) == 2 and fixed[0] and self.numel(ins[0]) <= 1 and node.op_type == "Mul":
                return found[1]
            return frozenset().union(*found) if all(fixed) else frozenset({"computed"})
        data = ins if node.op_type == "Concat" else ins[:1]
        return frozenset().union(*(self.leaves(i, depth - 1) for i in data))

    def from_softmax(self, value: str, depth: int = 8) -> bool:
        node = self.producer.get(value)
        if node is None or depth == 0:
            return False
        if node.op_type in _SOFTMAX:
            return True
        return node.op_type in _TO_SOFTMAX and any(self.from_softmax(i, depth - 1) for i in node.input if i)

    def to_softmax(self, value: str, depth: int = 8) -> bool:
        for user in self.consumers.get(value, ()):
            if user.op_type in _SOFTMAX:
                return True
            if depth > 1 and user.op_type in _TO_SOFTMAX and any(self.to_softmax(o, depth - 1)
                                                                 for o in user.output if o):
                return True
        return False

    def operand(self, out: str, a: str, b: str) -> str:
        """The label of `b`, the operand that plays the weights' part in out = a @ b."""
        return operand_label(set(self.leaves(b)), "init", self.first_input,
                             lambda: self.from_softmax(a), lambda: self.to_softmax(out))

    def weight_name(self, b: str) -> str | None:
        """The module-path name of a single, named initializer ("layer1.0.conv1")."""
        inits = [s[5:] for s in self.leaves(b) if s.startswith("init:")]
        if len(inits) != 1 or _GENERATED.fullmatch(inits[0]):
            return None
        return _PARAM_SUFFIX.sub("", inits[0])

    # -------------------------------------------------------------- unknown shapes
    def first_unknown(self, value: str) -> onnx.NodeProto | None:
        """The first node upstream of `value` whose output shape is unknown while all its
        inputs' are known: where shape inference lost track."""
        seen: set[str] = set()
        stack = [value]
        culprit = None
        while stack:
            v = stack.pop()
            if v in seen:
                continue
            seen.add(v)
            node = self.producer.get(v)
            if node is None:
                continue
            unknown = [i for i in node.input if i and self.shape(i) is None]
            if self.shape(v) is None and not unknown:
                culprit = node
            stack += unknown
        return culprit


def _value_infos(g: onnx.GraphProto) -> Iterable[onnx.ValueInfoProto]:
    yield from g.input
    yield from g.output
    yield from g.value_info
    for node in g.node:
        for sub in _subgraphs(node):
            yield from _value_infos(sub)


def _subgraphs(node: onnx.NodeProto) -> list[onnx.GraphProto]:
    subs = []
    for a in node.attribute:
        if a.type == onnx.AttributeProto.GRAPH:
            subs.append(a.g)
        elif a.type == onnx.AttributeProto.GRAPHS:
            subs += list(a.graphs)
    return subs


def _all_nodes(g: onnx.GraphProto) -> Iterable[onnx.NodeProto]:
    for node in g.node:
        yield node
        for sub in _subgraphs(node):
            yield from _all_nodes(sub)


def _vi_shape(vi: onnx.ValueInfoProto) -> tuple | None:
    """The dims of a value: ints, the dim_param text of a symbolic dim, or None if unknown."""
    t = vi.type
    if not t.HasField("tensor_type") or not t.tensor_type.HasField("shape"):
        return None
    return tuple(int(d.dim_value) if d.HasField("dim_value") else (d.dim_param or "?")
                 for d in t.tensor_type.shape.dim)


# ------------------------------------------------------------------ names
def _scope(node: onnx.NodeProto) -> str | None:
    """The module path an exporter recorded for the node ("" at the top level), or None."""
    meta = {p.key: p.value for p in node.metadata_props}
    scopes = meta.get("pkg.torch.onnx.name_scopes")
    if scopes:
        try:
            parts = [str(s) for s in ast.literal_eval(scopes)]
        except (ValueError, SyntaxError):
            parts = []
        if parts:
            mods = [p for p in parts[:-1] if p]
            return mods[-1] if mods else ""
    if node.name.startswith("/"):
        # TorchScript exporter: "/layer1/layer1.0/downsample/downsample.0/Conv" -> one segment
        # per module, a child of a container repeating its parent's name, the op last
        path: list[str] = []
        for seg in node.name.strip("/").split("/")[:-1]:
            if path and seg.startswith(path[-1] + "."):
                path[-1] = seg
            elif seg:
                path.append(seg)
        return ".".join(path)
    return None


def _clean(name: str) -> str:
    return name.lstrip("/").replace("/", ".")


# ------------------------------------------------------------------ reading the file
def _read(path: Path) -> onnx.ModelProto:
    try:
        if path.is_dir():
            raise WorkloadError(f"{path}: is a folder, not an ONNX file. Give the path of the .onnx file.")
        data = path.read_bytes()
    except WorkloadError:
        raise
    except (OSError, ValueError) as e:
        reason = getattr(e, "strerror", None) or str(e)
        raise WorkloadError(f"{path}: cannot read the ONNX file ({reason}). Check the path"
                            f"{' and its permissions' if isinstance(e, PermissionError) else ''}.") from None
    if not data:
        raise WorkloadError(f"{path}: the file is empty, not an ONNX model. Export the model again "
                            f"(torch.onnx.export(model, args, {path.name!r})).")
    try:
        model = onnx.load_model_from_string(data)
    except Exception:  # noqa: BLE001 - protobuf's DecodeError and friends: say what the file is
        raise WorkloadError(f"{path}: {_what_it_is(data)}") from None
    if not model.HasField("graph") or model.ir_version <= 0:
        raise WorkloadError(f"{path}: {_what_it_is(data, parsed=True)}")
    return model


def _what_it_is(data: bytes, parsed: bool = False) -> str:
    """Why these bytes are not a readable ONNX model, and what to do."""
    head = data[:200]
    if head.startswith(b"version https://git-lfs"):
        return ("is a Git LFS pointer, not the model itself. Fetch the file (git lfs pull) and try again.")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as e:  # a character cut at the end of the 200 bytes still counts
        text = head[:e.start].decode("utf-8") if e.start >= len(head) - 3 and len(data) > len(head) else ""
    is_text = bool(text) and all(c.isprintable() or c in "\r\n\t" for c in text)
    if is_text:
        return ("is a text file, not an ONNX model (a binary protobuf file, as torch.onnx.export or "
                "onnx.save write it). Give the exported .onnx file.")
    if not parsed and len(data) >= 2 and data[0] == 0x08 and 1 <= data[1] <= 30:
        return (f"starts like an ONNX model but cannot be read to the end ({len(data):,} bytes): the file is "
                f"truncated or corrupted (an interrupted download or copy?). Copy or export it again.")
    return ("is not an ONNX model (it does not parse as an ONNX ModelProto). Give a file written by "
            "torch.onnx.export or onnx.save.")


def _check_inputs(path: Path, model: onnx.ModelProto) -> None:
    """Every graph input has fixed sizes; otherwise say how to fix them."""
    g = model.graph
    inits = {t.name for t in g.initializer} | {t.values.name for t in g.sparse_initializer}
    bad, names = [], []
    for vi in g.input:
        if vi.name in inits:
            continue
        shape = _vi_shape(vi)
        if shape is None:
            bad.append(f"input {vi.name!r} has no shape")
        elif not _static(shape):
            bad.append(f"input {vi.name!r} has symbolic dims {_dims(shape)}")
            names += [d for d in shape if isinstance(d, str) and d not in names]
    if not bad:
        return

    def entries(vis: Iterable[onnx.ValueInfoProto], unknown: str) -> str:
        items = [f"{vi.name!r}: {_dims(_vi_shape(vi) or ('?',), unknown, list)}" for vi in vis if vi.name not in inits]
        return "{" + ", ".join(items[:3]) + (", ...}" if len(items) > 3 else "}")

    fixed = path.with_name(path.stem + "_fixed.onnx")
    raise WorkloadError(
        f"{path}: {'; '.join(bad)}; the mapper needs every size fixed. Export the model with fixed shapes "
        f"(torch.onnx.export without dynamic_axes or dynamic_shapes), or fix the dims in the file: "
        f"from onnx.tools.update_model_dims import update_inputs_outputs_dims; m = onnx.load({str(path)!r}); "
        f"onnx.save(update_inputs_outputs_dims(m, {entries(g.input, '')}, {entries(g.output, '-1')}), "
        f"{str(fixed)!r})"
        + (f", with numbers for {', '.join(names)}" if names else "")
        + " (every input and output needs an entry; -1 for an output size you do not know).")


def _dims(shape: tuple, unknown: str | None = None, kind: type = tuple) -> str:
    """(batch, 3, 224, 224) as text; with `unknown`, symbolic dims become that text ('-1')."""
    parts = [str(d) if isinstance(d, int) or not unknown else unknown for d in shape]
    return ("[" + ", ".join(parts) + "]") if kind is list else ("(" + ", ".join(parts) + ")")


def _infer(path: Path, model: onnx.ModelProto) -> tuple[onnx.ModelProto, onnx.ModelProto]:
    """The model with inferred shapes, and a copy whose size arithmetic is folded to know
    more of them (the same model when every shape is known already)."""
    known = onnx.defs.onnx_opset_version()
    for op in model.opset_import:
        if op.domain in ("", "ai.onnx") and op.version > known:
            raise WorkloadError(
                f"{path}: uses ONNX opset {op.version}, newer than the {known} this onnx package "
                f"({onnx.__version__}) knows. Upgrade onnx (pip install -U onnx), or export with "
                f"opset_version={known} or lower.")
    _drop_weight_data(model)
    if model.functions:
        try:
            model = onnx.inliner.inline_local_functions(model)
        except Exception as e:  # noqa: BLE001
            raise WorkloadError(f"{path}: cannot inline the model's local functions ({_short(e)}). "
                                f"Export without functions (torch.onnx.export inlines by default).") from None
    try:
        try:
            inferred = shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
        except Exception:  # noqa: BLE001 - data propagation is the less trodden path: without it
            inferred = shape_inference.infer_shapes(model, strict_mode=False)
    except Exception as e:  # noqa: BLE001 - onnx raises its own errors for broken models
        raise WorkloadError(
            f"{path}: ONNX shape inference failed ({_short(e)}). The model is malformed or uses an op "
            f"or opset that the installed onnx {onnx.__version__} does not know; check it with "
            f"onnx.checker.check_model, or export it again.") from None
    return inferred, _fold_shapes(inferred)


def _unknown_shapes(model: onnx.ModelProto) -> bool:
    known = {vi.name for vi in _value_infos(model.graph) if _static(_vi_shape(vi))}
    known |= {t.name for t in model.graph.initializer}
    return any(o and o not in known for node in model.graph.node for o in node.output)


def _static(shape: tuple | None) -> bool:
    return shape is not None and all(isinstance(d, int) for d in shape)


_RANDOM = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli"}
_SMALL = 1 << 16  # elements: shape arithmetic, not activations


def _fold_shapes(model: onnx.ModelProto, rounds: int = 100) -> onnx.ModelProto:
    """A copy of the inferred model in which the size arithmetic a TorchScript export leaves
    (Shape -> Gather -> Div -> Cast -> Concat -> Reshape: onnx's data propagation stops at
    Div and Cast) is evaluated, so that every shape is known: nodes whose inputs are all
    small constants become Constant nodes and inference runs again, until nothing changes.
    Only the shapes of the copy are used; the walk reads the original graph."""
    if not _unknown_shapes(model):
        return model
    from onnx import numpy_helper
    from onnx.reference import ReferenceEvaluator

    m = onnx.ModelProto()
    m.CopyFrom(model)
    values: dict[str, Any] = {}
    for t in m.graph.initializer:
        if t.data_location != onnx.TensorProto.EXTERNAL and math.prod(t.dims) <= _SMALL and t.ByteSize() <= 4096:
            try:
                values[t.name] = numpy_helper.to_array(t)
            except Exception:  # noqa: BLE001 - a tensor without data: not a constant here
                pass
    for _ in range(rounds):
        shapes = {vi.name: _vi_shape(vi) for vi in _value_infos(m.graph)}
        shapes.update({t.name: tuple(t.dims) for t in m.graph.initializer})
        changed = False
        nodes = []
        for node in m.graph.node:
            if node.op_type == "Constant" and node.output[0] not in values and node.domain in ("", "ai.onnx"):
                try:
                    values[node.output[0]] = ReferenceEvaluator(node).run(None, {})[0]
                except Exception:  # noqa: BLE001 - a sparse or odd constant: not folded through
                    pass
            out = _evaluate(node, values, shapes, m.opset_import, ReferenceEvaluator)
            if out is None:
                nodes.append(node)
                continue
            changed = True
            for name, arr in zip(node.output, out):
                if name:
                    values[name] = arr
                    nodes.append(onnx.helper.make_node(
                        "Constant", [], [name], value=numpy_helper.from_array(arr, name)))
        if not changed:
            break
        del m.graph.node[:]
        m.graph.node.extend(nodes)
        try:
            m = shape_inference.infer_shapes(m, strict_mode=False, data_prop=True)
        except Exception:  # noqa: BLE001 - keep what the previous round knew
            break
        if not _unknown_shapes(m):
            break
    return m


def _evaluate(node: onnx.NodeProto, values: dict, shapes: dict, opsets: Any, evaluator: Any) -> list | None:
    """The outputs of a node whose inputs are small known constants (or a Shape of a known
    shape), or None."""
    import numpy as np

    if node.op_type == "Constant" or node.domain not in ("", "ai.onnx") or _subgraphs(node) \
            or node.op_type in _RANDOM or not node.output or all(o in values for o in node.output if o):
        return None
    if node.op_type in ("Shape", "Size"):
        shape = shapes.get(node.input[0])
        if not _static(shape):
            return None
        if node.op_type == "Size":
            return [np.array(math.prod(shape), dtype=np.int64)]
        a = _attrs(node)
        return [np.array(shape[a.get("start", 0):a.get("end", len(shape))], dtype=np.int64)]
    ins = [i for i in node.input if i]
    if not ins or any(i not in values or values[i].size > _SMALL for i in ins):
        return None
    try:
        fn = onnx.helper.make_function("mapper.fold", "f", ins, list(node.output), [node], list(opsets))
        out = evaluator(fn).run(None, {i: values[i] for i in ins}, attributes={})
    except Exception:  # noqa: BLE001 - not evaluable here: left to shape inference
        return None
    if any(not isinstance(o, np.ndarray) or o.size > _SMALL for o in out):
        return None
    return out


def _drop_weight_data(model: onnx.ModelProto) -> None:
    """Forget the values of large initializers: only their dims matter here, and shape
    inference copies the whole model (a weight-laden file would cost seconds). Small ones
    stay: shape inference reads Reshape targets, axes and the like from them."""
    for t in model.graph.initializer:
        if t.ByteSize() > 4096:
            for f in ("raw_data", "float_data", "int32_data", "int64_data", "double_data", "uint64_data",
                      "string_data"):
                t.ClearField(f)


def _short(e: BaseException) -> str:
    msg = " ".join(str(e).split())
    return f"{type(e).__name__}: {msg[:300]}"


def _check_defined(path: Path, model: onnx.ModelProto) -> None:
    """Every value a top-level node reads exists: a truncated file can parse but not this."""
    g = model.graph
    known = {t.name for t in g.initializer} | {vi.name for vi in g.input}
    known |= {t.values.name for t in g.sparse_initializer}
    for node in g.node:
        for inp in node.input:
            if inp and inp not in known:
                raise WorkloadError(
                    f"{path}: node {node.name or node.op_type!r} ({node.op_type}) reads {inp!r}, which no "
                    f"earlier node, input or initializer defines: the graph is incomplete, out of order or "
                    f"corrupted. Export the model again.")
        known.update(o for o in node.output if o)


# ------------------------------------------------------------------ the walk
class _Extractor(Found):
    def __init__(self, path: Path, model: onnx.ModelProto, shaped: onnx.ModelProto, model_name: str,
                 raw: onnx.ModelProto) -> None:
        super().__init__(model_name, str(path))
        self.path = path
        self.raw = raw  # as read (weights dropped), for onnx's own diagnosis
        self.g = _Graph(model, shaped)
        self.graph = model.graph

    # ---------------------------------------------------------------- helpers
    def need(self, node: onnx.NodeProto, value: str, what: str) -> tuple[int, ...]:
        """The static shape of `value`, or a WorkloadError saying where inference lost it."""
        s = self.g.shape(value)
        if s is not None:
            return s
        culprit = self.g.first_unknown(value)
        where, fix = "", ("Export the model with fixed shapes, or write the missing shapes into the file's "
                          "value_info (onnx.helper.make_tensor_value_info).")
        if culprit is not None:
            dom = culprit.domain or "ai.onnx"
            at = f"{culprit.op_type} node {culprit.name or culprit.output[0]!r} (domain {dom})"
            if not onnx.defs.has(culprit.op_type, culprit.domain):
                where = f" Shape inference lost track at {at}: an op onnx's shape inference does not know."
                fix = ("Write the shapes of its outputs into the file's value_info (onnx.helper."
                       "make_tensor_value_info), or replace it with standard ONNX ops.")
            else:
                says = self.strict_error()
                where = (f" Shape inference lost track at {at}: " + (f"onnx says: {says}." if says else
                         "its output size depends on the data or on a value computed at run time."))
                if says:
                    fix = "Fix the node (onnx.checker.check_model(model, full_check=True) lists the problems)."
        raise WorkloadError(
            f"{self.path}: the shape of {value!r} ({what} of {node.op_type} node {node.name or node.output[0]!r}) "
            f"is unknown after ONNX shape inference, so its MACs cannot be counted.{where} {fix}")

    def strict_error(self) -> str:
        """What onnx's strict shape inference says about the model, or ""."""
        try:
            shape_inference.infer_shapes(self.raw, strict_mode=True)
        except Exception as e:  # noqa: BLE001
            msg = " ".join(str(e).split())
            return re.sub(r"^\[ShapeInferenceError\] Inference error\(s\): ", "", msg)[:300]
        return ""

    def base_name(self, node: onnx.NodeProto, b: str | None, operand: str, label: str) -> str:
        if operand == WEIGHTS and b is not None:
            weight = self.g.weight_name(b) or self.bias_name(node)
            if weight:
                return weight
        scope = _scope(node)
        if scope is not None:
            if operand == WEIGHTS:
                return scope or label
            return f"{scope}.{label}" if scope else label
        return _clean(node.name) or label

    def bias_name(self, node: onnx.NodeProto) -> str | None:
        """The name of a product's bias when its weight lost its name at export (a weight
        transposed and folded into "val_0"): MatMul -> Add of one named 1-D initializer."""
        bias = node.input[2] if node.op_type == "Gemm" and len(node.input) > 2 else None
        users = self.g.consumers.get(node.output[0], [])
        if bias is None and len(users) == 1 and users[0].op_type == "Add":
            other = [i for i in users[0].input if i != node.output[0]]
            bias = other[0] if len(other) == 1 else None
        if bias not in self.g.inits or len(self.g.shapes.get(bias) or ()) != 1 or _GENERATED.fullmatch(bias):
            return None
        return re.sub(r"[._]bias$", "", bias) if re.search(r"[._]bias$", bias) else None

    def unmap(self, node: onnx.NodeProto, macs: int, reason: str, op: str | None = None) -> None:
        entry = self.unmapped.setdefault((op or node.op_type, reason), [0, 0, node.name or node.output[0]])
        entry[0] += 1
        entry[1] += macs

    def skip(self, node: onnx.NodeProto) -> None:
        op = node.op_type
        self.skipped[op] = self.skipped.get(op, 0) + 1
        self.elements[op] = self.elements.get(op, 0) + sum(self.g.numel(o) for o in node.output if o)

    # ---------------------------------------------------------------- dispatch
    def run(self) -> None:
        for node in self.graph.node:
            self.visit(node)

    def visit(self, node: onnx.NodeProto) -> None:
        op, dom = node.op_type, node.domain
        std = dom in ("", "ai.onnx", "com.microsoft")
        if op == "Constant":
            return
        if op in ("Conv", "FusedConv") and std:
            self.conv(node, transposed=False)
        elif op == "ConvTranspose" and std:
            self.conv(node, transposed=True)
        elif op in ("Gemm", "FusedGemm") and std:
            self.gemm(node)
        elif op in ("MatMul", "FusedMatMul") and std:
            self.matmul(node)
        elif op in _CONV_LIKE and std:
            x, w = (node.input[i] for i in _CONV_LIKE[op])
            macs = self.conv_like_macs(node, x, w)
            self.unmap(node, macs, f"{op} (integer or quantized convolution) is not a layer: export the float "
                       f"model, or a QDQ model (DequantizeLinear -> Conv), whose Conv is mapped")
        elif op in _MATMUL_LIKE and std:
            a = node.input[_MATMUL_LIKE[op]]
            self.unmap(node, self.matmul_like_macs(node, a),
                       f"{op} (integer, quantized or fused matrix product) is not a layer: export the float "
                       f"model, or a QDQ model (DequantizeLinear -> MatMul), whose MatMul is mapped")
        elif op == "Einsum" and std and len([i for i in node.input if i]) >= 2:
            self.einsum(node)
        elif op in _RECURRENT and std:
            self.recurrent(node)
        elif op in _ATTENTION and std:
            self.attention(node)
        elif op in _REDUCE and self.hand_dot(node):
            pass  # counted with its MACs
        elif _MAC_WORDS.search(op):
            self.guess(node)
        else:
            self.skip(node)
            for sub in _subgraphs(node):
                self.body(node, sub)

    # ---------------------------------------------------------------- convolutions
    def conv(self, node: onnx.NodeProto, transposed: bool) -> None:
        x, w = node.input[0], node.input[1]
        xs, ws = self.need(node, x, "input"), self.need(node, w, "weight")
        out = self.need(node, node.output[0], "output")
        a = _attrs(node)
        dims = len(ws) - 2
        kernel = tuple(a.get("kernel_shape") or ws[2:])
        stride = tuple(a.get("strides") or (1,) * dims)
        dilation = tuple(a.get("dilations") or (1,) * dims)
        groups = int(a.get("group", 1))
        n, c_in, out_sp = xs[0], xs[1], tuple(out[2:])
        c_out = out[1]
        begin, end = self.pads(a, dims, xs[2:], out_sp, kernel, stride, dilation, transposed)
        kind = f"conv_transpose{dims}d" if transposed else f"conv{dims}d"
        operand = self.g.operand(node.output[0], x, w)
        # padding: the begin side for a transposed conv (where its phases start); the
        # larger side for an ordinary one (descriptive: the cost model reads the window)
        padding = begin if transposed else tuple(max(p, q) for p, q in zip(begin, end))
        name = self.name(self.base_name(node, w, operand, kind))
        try:
            layers = conv_layers(name, n=n, c_in=c_in, c_out=c_out, kernel=kernel, out_spatial=out_sp,
                                 stride=stride, padding=padding, dilation=dilation, groups=groups,
                                 transposed=transposed, operand=operand)
        except Unmappable as e:
            macs = (transposed_macs(n, c_in, c_out, groups, kernel, out_sp, stride, begin, dilation)
                    if transposed else conv_macs(n, c_in, c_out, groups, kernel, out_sp))
            self.unmap(node, macs, str(e))
            return
        self.add(layers)

    @staticmethod
    def pads(a: dict, dims: int, in_sp: tuple, out_sp: tuple, kernel: tuple, stride: tuple,
             dilation: tuple, transposed: bool) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(begin, end) padding per spatial axis, from pads or auto_pad (ONNX's formulas)."""
        auto = _text(a.get("auto_pad", "NOTSET"))
        if auto == "VALID":
            return (0,) * dims, (0,) * dims
        explicit_shape = transposed and a.get("output_shape")
        if auto in ("SAME_UPPER", "SAME_LOWER") or explicit_shape:
            begin, end = [], []
            for i in range(dims):
                reach = (kernel[i] - 1) * dilation[i] + 1
                if transposed:
                    op = (a.get("output_padding") or (0,) * dims)[i]
                    total = max(stride[i] * (in_sp[i] - 1) + op + reach - out_sp[i], 0)
                    b = total // 2 if auto == "SAME_UPPER" else total - total // 2
                else:
                    total = max((out_sp[i] - 1) * stride[i] + reach - in_sp[i], 0)
                    b = total // 2 if auto == "SAME_UPPER" else total - total // 2
                begin.append(b)
                end.append(total - b)
            return tuple(begin), tuple(end)
        pads = tuple(a.get("pads") or (0,) * (2 * dims))
        return pads[:dims], pads[dims:]

    def conv_like_macs(self, node: onnx.NodeProto, x: str, w: str) -> int:
        xs, ws = self.need(node, x, "input"), self.need(node, w, "weight")
        out = self.need(node, node.output[0], "output")
        if node.op_type == "NhwcConv":  # channels last: output elements x (C/groups x taps)
            return math.prod(out) * math.prod(ws[1:])
        groups = int(_attrs(node).get("group", 1))
        return conv_macs(xs[0], xs[1], out[1], groups, tuple(ws[2:]), tuple(out[2:]))

    # ---------------------------------------------------------------- matrix products
    def gemm(self, node: onnx.NodeProto) -> None:
        a, b = node.input[0], node.input[1]
        sa, sb = self.need(node, a, "input A"), self.need(node, b, "input B")
        at = _attrs(node)
        rows, inner = (sa[1], sa[0]) if at.get("transA", 0) else (sa[0], sa[1])
        cols = sb[0] if at.get("transB", 0) else sb[1]
        self.product(node, a, b, 1, rows, inner, cols)

    def matmul(self, node: onnx.NodeProto) -> None:
        a, b = node.input[0], node.input[1]
        sa, sb = self.need(node, a, "input A"), self.need(node, b, "input B")
        at = _attrs(node)
        if node.op_type == "FusedMatMul":
            if at.get("transBatchA") or at.get("transBatchB"):
                self.unmap(node, self.g.numel(node.output[0]) * (sa[-2] if at.get("transA") else sa[-1]),
                           "FusedMatMul with transposed batch dimensions is not a layer")
                return
            if at.get("transA") and len(sa) > 1:
                sa = sa[:-2] + (sa[-1], sa[-2])
            if at.get("transB") and len(sb) > 1:
                sb = sb[:-2] + (sb[-1], sb[-2])
        try:
            groups, rows, inner, cols = broadcast_matmul(sa, sb)
        except Unmappable as e:
            self.unmap(node, self.g.numel(node.output[0]) * sa[-1], str(e))
            return
        self.product(node, a, b, groups, rows, inner, cols)

    def product(self, node: onnx.NodeProto, a: str, b: str, groups: int, rows: int, inner: int,
                cols: int) -> None:
        out = node.output[0]
        operand = self.g.operand(out, a, b)
        if operand != WEIGHTS and self.g.operand(out, b, a) == WEIGHTS:
            # weights @ activation: turned around, the weights are the reused operand
            a, b, rows, cols, operand = b, a, cols, rows, WEIGHTS
        label = "linear" if operand == WEIGHTS else _LABEL.get(operand, "matmul")
        base = self.base_name(node, b, operand, label)
        name = self.name(base)
        self.add(matmul_layers(name, groups=groups, rows=rows, inner=inner, cols=cols, operand=operand))

    def matmul_like_macs(self, node: onnx.NodeProto, a: str) -> int:
        sa = self.need(node, a, "input A")
        out = self.need(node, node.output[0], "output")
        inner = sa[0] if _attrs(node).get("transA", 0) and len(sa) == 2 else sa[-1]
        return math.prod(out) * inner

    def einsum(self, node: onnx.NodeProto) -> None:
        ins = [i for i in node.input if i]
        shapes = [self.need(node, i, f"operand {k}") for k, i in enumerate(ins)]
        eq = _text(_attrs(node).get("equation", "")).replace(" ", "")
        macs = _einsum_macs(eq, shapes)
        if macs is None:
            macs = self.g.numel(node.output[0])
            note = f"MACs not computed from the equation {eq!r}: counted as one per output element"
        elif len(ins) > 2:
            note = "MACs of one loop nest over every index (an upper bound for a chain of products)"
        else:
            note = "MACs: the product of every index's size"
        self.unmap(node, macs, f"Einsum {eq!r} is not a layer ({note}): write it as MatMul, or describe "
                   f"it as layers in a YAML layer list")

    def recurrent(self, node: onnx.NodeProto) -> None:
        x, w, r = node.input[0], node.input[1], node.input[2]
        xs = self.need(node, x, "input X")
        ws, rs = self.need(node, w, "weight W"), self.need(node, r, "weight R")
        layout = int(_attrs(node).get("layout", 0))
        seq, batch = (xs[1], xs[0]) if layout else (xs[0], xs[1])
        macs = seq * batch * (math.prod(ws) + math.prod(rs))
        gates = _RECURRENT[node.op_type]
        self.unmap(node, macs, f"{node.op_type} (its {gates} gate matmuls per step, input and recurrent: "
                   f"sequence x batch x (W + R elements) MACs) is not a layer: describe the gate matmuls as "
                   f"fc layers in a YAML layer list")

    def attention(self, node: onnx.NodeProto) -> None:
        ins = list(node.input)
        q = ins[0]
        qs = self.need(node, q, "query")
        out = self.need(node, node.output[0], "output")
        kv_len = None
        present = node.output[1] if len(node.output) > 1 and node.output[1] else None
        if present and self.g.shape(present) is not None and len(self.g.shape(present)) >= 3:
            kv_len = self.g.shape(present)[-2]
        dom = node.domain or "ai.onnx"
        proj = 0
        if node.op_type == "Attention" and dom == "com.microsoft":
            ws = self.need(node, ins[1], "weights")
            proj = math.prod(qs[:-1]) * ws[0] * ws[1]
            if kv_len is None:
                kv_len = qs[1]
        elif kv_len is None and len(ins) > 1 and ins[1] and self.g.shape(ins[1]) is not None:
            ks = self.g.shape(ins[1])
            kv_len = ks[2] if len(ks) == 4 else ks[1] if len(ks) == 3 else None
            past = ins[4] if node.op_type == "Attention" and len(ins) > 4 and ins[4] else None
            if kv_len is not None and past and self.g.shape(past) is not None:
                kv_len += self.g.shape(past)[-2]
        assumed = kv_len is None
        if assumed:
            kv_len = qs[-2] if len(qs) == 4 else qs[1] if len(qs) >= 2 else 1
        macs = proj + 2 * math.prod(out) * kv_len
        self.unmap(node, macs, f"{node.op_type} ({dom}) is an attention op, not a layer: export attention as "
                   f"MatMul and Softmax (the default torch.onnx export does) to map Q·Kᵀ and A·V. MACs "
                   f"estimated as {'the input projection + ' if proj else ''}2 x output elements x "
                   f"{'the query length (keys unknown)' if assumed else 'keys attended to'}, "
                   f"assuming equal head sizes for keys and values")

    def hand_dot(self, node: onnx.NodeProto) -> bool:
        """A ReduceSum/ReduceMean of a product of two tensors: MACs by hand, reported unmapped."""
        src = self.g.producer.get(node.input[0]) if node.input else None
        if src is None or src.op_type != "Mul":
            return False
        ins = [i for i in src.input if i]
        if len(ins) != 2 or any(self.g.numel(i) <= 1 for i in ins):
            return False
        self.unmap(node, self.g.numel(src.output[0]),
                   "a product summed by hand (ReduceSum of a Mul): write it as a MatMul to map it", op="mul+sum")
        return True

    def guess(self, node: onnx.NodeProto) -> None:
        """An op of a custom domain whose name says it carries MACs: listed, MACs estimated."""
        op = f"{node.domain}.{node.op_type}" if node.domain else node.op_type
        out = self.g.shape(node.output[0]) if node.output else None
        ins = [self.g.shape(i) if i else None for i in node.input]
        macs, how = 0, "MACs unknown (no shapes): counted as 0"
        if out is not None and len(ins) > 1 and ins[0] is not None and ins[1] is not None:
            if re.search("conv", node.op_type, re.I) and len(ins[1]) >= 3:
                macs, how = math.prod(out) * math.prod(ins[1][1:]), "MACs estimated as output elements x weight taps"
            elif ins[0]:
                macs, how = math.prod(out) * ins[0][-1], "MACs estimated as output elements x the inner size"
        self.unmap(node, macs, f"{op} is an op the mapper does not know ({how}); replace it with standard "
                   f"ONNX ops to map it", op=op)

    def body(self, owner: onnx.NodeProto, graph: onnx.GraphProto) -> None:
        """MAC ops inside a Loop/If/Scan body: listed as unmapped (control flow is not unrolled)."""
        for node in _all_nodes(graph):
            if node.op_type not in ("Conv", "ConvTranspose", "Gemm", "MatMul", "Einsum") \
                    and node.op_type not in _CONV_LIKE and node.op_type not in _MATMUL_LIKE \
                    and node.op_type not in _RECURRENT and node.op_type not in _ATTENTION:
                continue
            out = self.g.shape(node.output[0]) if node.output else None
            a = self.g.shape(node.input[0]) if node.input else None
            macs = math.prod(out) * a[-1] if out is not None and a else 0
            how = ("MACs of one run, estimated as output elements x the inner size" if macs
                   else "MACs unknown: counted as 0")
            self.unmap(node, macs, f"inside the body of the {owner.op_type} node {owner.name or owner.output[0]!r}, "
                       f"which the mapper does not unroll ({how}); export the model with the loop unrolled "
                       f"(a fixed trip count) to map it")

    # ---------------------------------------------------------------- result
    def workload(self) -> Workload:
        unmapped = tuple(UnmappedOp(op=op, count=c, macs=m, reason=f"{reason} (first at node {where!r})")
                         for (op, reason), (c, m, where) in self.unmapped.items())
        inputs = tuple(self.g.shape(i) or () for i in self.g.inputs)
        return imported(self.model, self.layers, unmapped, self.skipped, self.elements, where=str(self.path),
                        inputs=inputs, fix="Use 1-D/2-D Conv, ConvTranspose, Gemm or MatMul, or describe the "
                        "layers in a YAML layer list.")


def _einsum_macs(eq: str, shapes: list[tuple[int, ...]]) -> int | None:
    """Product of the sizes of every index of an einsum equation (None if it cannot be read)."""
    lhs = eq.split("->")[0]
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        return None
    sizes: dict[str, int] = {}
    for term, shape in zip(terms, shapes):
        if "..." in term:
            pre, post = term.split("...", 1)
            n_ell = len(shape) - len(pre) - len(post)
            if n_ell < 0:
                return None
            letters = list(pre) + [f"...{len(shape) - len(pre) - k}" for k in range(n_ell)] + list(post)
        else:
            letters = list(term)
        if len(letters) != len(shape) or not all(c.isalpha() or c.startswith("...") for c in letters):
            return None
        for c, d in zip(letters, shape):
            sizes[c] = max(sizes.get(c, 1), int(d))
    return math.prod(sizes.values())


def load_onnx(path: str | Path, model_name: str | None = None) -> Workload:
    """The layers of the ONNX model in `path` (see the module docstring), named `model_name`
    (default: the file's stem). Bad files raise a WorkloadError that names the file."""
    path = Path(path)
    if not path.exists():
        raise WorkloadError(f"{path}: file not found. Check the path.")
    model = _read(path)
    if not model.graph.node:
        raise WorkloadError(f"{path}: the ONNX graph has no nodes, so no layers. Export the model again.")
    _check_inputs(path, model)
    _check_defined(path, model)
    raw = model
    model, shaped = _infer(path, model)
    ex = _Extractor(path, model, shaped, model_name or path.stem, raw)
    ex.run()
    return ex.workload()
