"""Workloads from PyTorch at the operator level: torch.export to core ATen ops.

Whatever a module is built from — nn.Conv2d or F.conv2d, nn.Linear or `x @ w`, einsum,
scaled_dot_product_attention, nn.MultiheadAttention, nn.TransformerEncoderLayer — torch
lowers it to a handful of core ATen ops, and only these carry MACs: `convolution`,
`mm`, `addmm`, `bmm`, `baddbmm` (and `mv`, `dot`, `addmv`, kept from decomposition so
their MACs are seen). Each becomes layers by the rules of `mapper.importers.ops`, or an
`UnmappedOp` with its MACs; every other op is counted with its output elements. A
product whose sum is taken by hand (`(a * b).sum(-1)`) is reported as unmapped MACs too.

The second operand's origin is found by walking back through shape-only ops: trained
weights (parameters, buffers, constants), or an activation; an activation matmul whose
output feeds a softmax multiplies by the *keys*, one whose first operand is a softmax by
the *values*, and when those come (through a concatenation) from a forward argument they
are a *K-cache* / *V-cache*.
"""
from __future__ import annotations

import contextlib
import logging
import math
import operator
import re
import traceback
import warnings
from pathlib import Path
from typing import Any

from mapper.importers import load_torch
from mapper.importers.ops import (
    Found, Unmappable, broadcast_matmul, conv_layers, conv_macs, matmul_layers, operand_label, transposed_macs,
)
from mapper.layer import WEIGHTS
from mapper.workload import UnmappedOp, Workload, WorkloadError, imported

torch = load_torch()
nn = torch.nn
aten = torch.ops.aten

# Ops that only move, view or re-type data: the origin of an operand is looked for through them.
_SHAPE_ONLY = {
    "view", "_unsafe_view", "reshape", "permute", "transpose", "t", "expand", "clone", "contiguous",
    "unsqueeze", "squeeze", "select", "slice", "alias", "cat", "_to_copy", "to", "detach",
    "lift_fresh_copy", "split", "split_with_sizes", "unbind", "chunk", "repeat", "flatten",
    "unflatten", "narrow", "as_strided", "index_select", "getitem", "mul", "div",
}
# Elementwise ops between a score matmul and its softmax (scale, mask, bias, cast).
_TO_SOFTMAX = _SHAPE_ONLY | {"add", "sub", "where", "masked_fill", "neg", "_to_copy", "type_as"}
_SOFTMAX = {"_softmax", "softmax", "_safe_softmax", "log_softmax", "_log_softmax"}
_MATMUL = {"mm", "addmm", "bmm", "baddbmm", "mv", "addmv", "dot", "vdot"}
_KEEP = ("mv", "addmv", "dot", "vdot")  # decomposed they would be mul + sum: MACs unseen
_REDUCE = {"sum", "mean"}
_LAYER_MODULES = ("Linear", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
                  "ConvTranspose3d", "Bilinear")
_PARAM_SUFFIX = re.compile(r"(\.weight|_weight|\.bias)$")


def _opname(node: Any) -> str:
    if node.target is operator.getitem:
        return "getitem"
    return getattr(node.target, "_opname", None) or getattr(node.target, "__name__", str(node.target))


def _shape(node: Any) -> tuple[int, ...]:
    val = node.meta.get("val")
    return tuple(int(d) for d in val.shape) if isinstance(val, torch.Tensor) else ()


def _numel(node: Any) -> int:
    val = node.meta.get("val")
    if isinstance(val, torch.Tensor):
        return int(val.numel())
    if isinstance(val, (tuple, list)):
        return sum(int(v.numel()) for v in val if isinstance(v, torch.Tensor))
    return 0


# ------------------------------------------------------------------ capture
def _to_meta(x: Any) -> Any:
    return torch.empty_like(x, device="meta") if isinstance(x, torch.Tensor) else x


def _to_cpu(x: Any) -> Any:
    return torch.zeros(x.shape, dtype=x.dtype) if isinstance(x, torch.Tensor) else x


def _user_frame(exc: BaseException) -> str:
    """Where in the user's code (not torch's) a tracing failure happened, for the message."""
    torch_dir = str(Path(torch.__file__).parent)
    here = str(Path(__file__).parent.parent)
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not f.filename.startswith((torch_dir, here)) and "site-packages" not in f.filename]
    if not frames:
        return ""
    f = frames[-1]
    return f" at {Path(f.filename).name}:{f.lineno} in {f.name}() ({(f.line or '').strip()[:80]})"


@contextlib.contextmanager
def _quiet():
    """torch.export logs every failed attempt (and warns of its own deprecations) on
    stderr; a failure here is retried or becomes one message, so neither is shown."""
    logging.disable(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(logging.NOTSET)


def capture(module: nn.Module, args: tuple, model_name: str) -> Any:
    """The module's forward on `args` as core ATen ops (an ExportedProgram): on meta
    tensors first (no weights, no arithmetic), on zero CPU tensors if that fails."""
    table = torch.export.default_decompositions()
    for name in _KEEP:
        table.pop(getattr(aten, name).default, None)

    def run(mod: nn.Module, a: tuple) -> Any:
        ep = torch.export.export(mod.eval(), a, strict=False)
        return ep.run_decompositions(table)

    with _quiet():
        return _capture(module, args, model_name, run)


def _capture(module: nn.Module, args: tuple, model_name: str, run: Any) -> Any:
    """`run` (export and lower) on meta copies, else on CPU zeros; a failure is a WorkloadError."""
    from mapper.importers.torch_fx import _cpu_copy, _meta_copy

    try:
        with torch.no_grad():
            return run(_meta_copy(module), torch.utils._pytree.tree_map(_to_meta, args))
    except Exception:  # noqa: BLE001 - any failure: retry the slow, real way below
        pass
    try:
        with torch.no_grad():
            return run(_cpu_copy(module), torch.utils._pytree.tree_map(_to_cpu, args))
    except Exception as e:  # noqa: BLE001
        shapes = ", ".join(str(tuple(t.shape)) for t in torch.utils._pytree.tree_leaves(args)
                           if isinstance(t, torch.Tensor))
        msg = " ".join(str(e).split("While executing")[0].split())[:300]
        raise WorkloadError(
            f"model {model_name!r}: tracing its forward with torch.export on inputs of shape "
            f"{shapes} failed{_user_frame(e)} ({type(e).__name__}: {msg}). The model was traced, "
            f"not run: make forward free of data-dependent Python control flow and check the input "
            f"shapes (--input-shape; an image smaller than the network's down-sampling needs a larger "
            f"--resolution), or describe the layers in a YAML layer list.") from None


# ------------------------------------------------------------------ operand origins
class _Graph:
    """The exported graph with what a node's operands are made of."""

    def __init__(self, ep: Any) -> None:
        sig = ep.graph_signature
        self.params = {**sig.inputs_to_parameters, **sig.inputs_to_buffers,
                       **getattr(sig, "inputs_to_lifted_tensor_constants", {})}
        self.user_inputs = set(sig.user_inputs)
        self.first_input = sig.user_inputs[0] if sig.user_inputs else None
        self.nodes = list(ep.graph.nodes)

    def leaves(self, node: Any, depth: int = 64) -> set[str]:
        """Where a value comes from: parameter names, "input:<name>", "const" or "computed"."""
        if node.op == "placeholder":
            if node.name in self.params:
                return {"param:" + self.params[node.name]}
            return {"input:" + node.name}
        if node.op == "get_attr":
            return {"const"}
        if node.op != "call_function" or depth == 0:
            return {"computed"}
        name = _opname(node)
        if name not in _SHAPE_ONLY:
            return {"const"} if not _tensor_args(node) else {"computed"}
        ins = _tensor_args(node)
        if name in ("mul", "div") and len(ins) > 1:  # a product of two tensors computes
            return {"computed"}
        out: set[str] = set()
        for a in ins:
            out |= self.leaves(a, depth - 1)
        return out or {"const"}

    def from_softmax(self, node: Any, depth: int = 8) -> bool:
        if node.op != "call_function" or depth == 0:
            return False
        name = _opname(node)
        if name in _SOFTMAX:
            return True
        return name in _TO_SOFTMAX and any(self.from_softmax(a, depth - 1) for a in _tensor_args(node))

    def to_softmax(self, node: Any, depth: int = 8) -> bool:
        for user in node.users:
            name = _opname(user) if user.op == "call_function" else ""
            if name in _SOFTMAX or (depth > 1 and name in _TO_SOFTMAX and self.to_softmax(user, depth - 1)):
                return True
        return False

    def operand(self, node: Any, a: Any, b: Any) -> str:
        """The label of `b`, the operand that plays the weights' part in out = a @ b."""
        return operand_label(self.leaves(b), "param", self.first_input,
                             lambda: self.from_softmax(a), lambda: self.to_softmax(node))

    def param_numel(self, node: Any, depth: int = 64) -> int | None:
        """The largest trained tensor (elements) `node` is a view of, if it is made of
        parameters only: a weight expanded over a batch is one group's worth."""
        if node.op == "placeholder":
            return math.prod(_shape(node)) if node.name in self.params else None
        if node.op != "call_function" or depth == 0 or _opname(node) not in _SHAPE_ONLY:
            return None
        sizes = [self.param_numel(a, depth - 1) for a in _tensor_args(node)]
        return None if not sizes or None in sizes else max(sizes)

    def weight_name(self, b: Any) -> str | None:
        """The module-path name of a single trained weight ("blocks.0.attn.c_attn")."""
        params = [s[6:] for s in self.leaves(b) if s.startswith("param:")]
        return _PARAM_SUFFIX.sub("", params[0]) if len(params) == 1 else None


def _tensor_args(node: Any) -> list[Any]:
    flat = torch.utils._pytree.tree_leaves((node.args, node.kwargs))
    return [a for a in flat if isinstance(a, torch.fx.Node) and _holds_tensor(a.meta.get("val"))]


def _holds_tensor(val: Any) -> bool:
    """A tensor, or the tuple of tensors of a split or unbind."""
    if isinstance(val, (tuple, list)):
        return any(isinstance(v, torch.Tensor) for v in val)
    return isinstance(val, torch.Tensor)


def _module(node: Any) -> tuple[str, str]:
    """(module path, module type name) of the innermost module the op ran in."""
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return "", ""
    path, typ = list(stack.values())[-1]
    typ = typ if isinstance(typ, str) else getattr(typ, "__name__", str(typ))
    return re.sub(r"@\d+", "", str(path)), typ.rsplit(".", 1)[-1]


# ------------------------------------------------------------------ ops -> layers
class _Extractor(Found):
    """Walks the graph once: layers, unmapped MAC ops, and counted non-MAC ops."""

    def __init__(self, ep: Any, model_name: str) -> None:
        super().__init__(model_name, f"model {model_name!r}")
        self.g = _Graph(ep)

    def base_name(self, node: Any, b: Any, label: str) -> str:
        path, typ = _module(node)
        if typ in _LAYER_MODULES and path:
            return path
        weight = self.g.weight_name(b) if b is not None else None
        if weight:
            return weight
        return f"{path}.{label}" if path else label

    def unmap(self, op: str, macs: int, reason: str, node: Any) -> None:
        path, _ = _module(node)
        entry = self.unmapped.setdefault((op, reason), [0, 0, path])
        entry[0] += 1
        entry[1] += macs

    def run(self) -> None:
        for node in self.g.nodes:
            if node.op != "call_function":
                continue
            name = _opname(node)
            if name == "convolution":
                self.conv(node)
            elif name in _MATMUL:
                self.matmul(node, name)
            elif name in _REDUCE and self.hand_dot(node):
                pass
            elif name != "getitem" and not name.startswith("sym_"):
                self.skipped[name] = self.skipped.get(name, 0) + 1
                self.elements[name] = self.elements.get(name, 0) + _numel(node)

    def conv(self, node: Any) -> None:
        x, w, _bias, stride, padding, dilation, transposed, output_padding, groups = node.args[:9]
        xs, ws, out = _shape(x), _shape(w), _shape(node)
        dims = len(ws) - 2
        n, c_in = (xs[0], xs[1]) if len(xs) == dims + 2 else (1, xs[0])
        c_out = out[-dims - 1]
        kernel, out_sp = tuple(ws[2:]), tuple(out[-dims:])
        kind = f"conv_transpose{dims}d" if transposed else f"conv{dims}d"
        stride, padding, dilation = (tuple(v) * (dims if len(v) == 1 else 1) for v in (stride, padding, dilation))
        operand = self.g.operand(node, x, w)
        try:
            layers = conv_layers(self.name(self.base_name(node, w, kind)), n=n, c_in=c_in, c_out=c_out,
                                 kernel=kernel, out_spatial=out_sp, stride=stride, padding=padding,
                                 dilation=dilation, groups=groups, transposed=bool(transposed), operand=operand)
        except Unmappable as e:
            macs = (transposed_macs(n, c_in, c_out, groups, kernel, out_sp, stride, padding, dilation)
                    if transposed else conv_macs(n, c_in, c_out, groups, kernel, out_sp))
            self.unmap(kind, macs, str(e), node)
            return
        self.add(layers)

    def matmul(self, node: Any, name: str) -> None:
        args = node.args[1:3] if name in ("addmm", "baddbmm", "addmv") else node.args[:2]
        a, b = args
        sa, sb = _shape(a), _shape(b)
        if name == "bmm" or name == "baddbmm":
            groups, rows, inner, cols = sa[0], sa[1], sa[2], sb[2]
        else:
            groups, rows, inner, cols = broadcast_matmul(sa, sb)
        operand = self.g.operand(node, a, b)
        if operand != WEIGHTS and self.g.operand(node, b, a) == WEIGHTS:
            # weights @ activation: transposed, the weights are the reused operand
            a, b, rows, cols, operand = b, a, cols, rows, WEIGHTS
        if groups > 1 and operand == WEIGHTS and (self.g.param_numel(b) or 0) <= inner * cols:
            rows, groups = rows * groups, 1  # one weight expanded over a batch: its rows, not groups
        label = {"keys": "qk", "K-cache": "qk", "values": "av", "V-cache": "av"}.get(operand, "matmul")
        base = self.base_name(node, b, label if operand != WEIGHTS else "linear")
        self.add(matmul_layers(self.name(base), groups=groups, rows=rows, inner=inner, cols=cols,
                               operand=operand))

    def hand_dot(self, node: Any) -> bool:
        """A sum of a product of two tensors: MACs written by hand, reported unmapped."""
        src = node.args[0] if node.args else None
        if not isinstance(src, torch.fx.Node) or src.op != "call_function" or _opname(src) != "mul":
            return False
        ins = _tensor_args(src)
        if len(ins) != 2 or any(math.prod(_shape(i)) <= 1 for i in ins):
            return False
        self.unmap("mul+sum", _numel(src),
                   "a product summed by hand ((a * b).sum()): write it as a matmul (a @ b) to map it", node)
        return True

    def workload(self, resolution: int | None, inputs: tuple) -> Workload:
        unmapped = tuple(UnmappedOp(op=op, count=c, macs=m, reason=f"{reason} (first at {path or 'top level'})")
                         for (op, reason), (c, m, path) in self.unmapped.items())
        return imported(self.model, self.layers, unmapped, self.skipped, self.elements,
                        where=f"model {self.model!r}", resolution=resolution, inputs=inputs,
                        fix="Use 1-D/2-D convolutions or matmuls, or a YAML layer list.")


def extract(module: nn.Module, args: tuple, model_name: str = "model", resolution: int | None = None,
            **meta: Any) -> Workload:
    """Every MAC of `module` run on `args` (example inputs; only their shapes and dtypes
    matter), as layers in execution order or as unmapped ops. `meta` (batch, seq_len,
    phase) is recorded on the Workload."""
    ep = capture(module, args, model_name)
    ex = _Extractor(ep, model_name)
    ex.run()
    shapes = tuple(tuple(int(d) for d in t.shape) for t in torch.utils._pytree.tree_leaves(args)
                   if isinstance(t, torch.Tensor))
    wl = ex.workload(resolution, shapes)
    for key, value in meta.items():
        setattr(wl, key, value)
    return wl
