"""Workloads from PyTorch modules: torch.fx tracing with shape propagation on meta tensors.

The torch-only half of `mapper.workload`: this module imports torch at its top, and
`mapper.workload` imports it only when a model is to be traced (`extract`, zoo names,
``file.py:Factory``), so `import mapper` stays free of torch.
"""
from __future__ import annotations

import copy
import itertools
import math
from typing import Any

from mapper.importers import load_torch
from mapper.importers.ops import Unmappable, conv_layers
from mapper.layer import Layer
from mapper.workload import Workload, WorkloadError, _check_size

torch = load_torch()
nn = torch.nn


def _meta_copy(module: nn.Module) -> nn.Module:
    """A deep copy whose parameters and buffers are meta tensors (no weight copying).

    Pre-seeding deepcopy's memo with meta stand-ins keeps the original untouched and
    costs nothing even for VGG-16's 138M weights; tied weights stay tied.
    """
    memo: dict[int, Any] = {}
    for t in itertools.chain(module.parameters(), module.buffers()):
        if id(t) not in memo:
            m = torch.empty_like(t, device="meta")
            memo[id(t)] = nn.Parameter(m, requires_grad=t.requires_grad) if isinstance(t, nn.Parameter) else m
    return copy.deepcopy(module, memo)


def _cpu_copy(module: nn.Module) -> nn.Module:
    """A CPU copy to run for real when meta tensors cannot (uninitialised if built on meta)."""
    cpu = copy.deepcopy(module)
    if any(t.is_meta for t in itertools.chain(cpu.parameters(), cpu.buffers())):
        cpu = cpu.to_empty(device="cpu")
    return cpu


class _ShapeRecorder(torch.fx.Interpreter):
    """Runs the graph and keeps each node's output shape (quietly, unlike ShapeProp)."""

    def __init__(self, gm: torch.fx.GraphModule) -> None:
        super().__init__(gm)
        self.shapes: dict[torch.fx.Node, tuple[int, ...]] = {}
        self.current: torch.fx.Node | None = None  # the node being run, for error messages

    def run_node(self, n: torch.fx.Node) -> Any:
        self.current = n
        result = super().run_node(n)
        if isinstance(result, torch.Tensor):
            self.shapes[n] = tuple(result.shape)
        return result


Traced = tuple[torch.fx.GraphModule, dict[torch.fx.Node, tuple[int, ...]]]


def _traced(module: nn.Module, input_shape: tuple[int, ...], model_name: str) -> Traced:
    """Trace and record output shapes: on meta tensors first, on a zero CPU tensor if that fails."""

    where = ""  # the op that failed, for the message

    def run(mod: nn.Module, x: torch.Tensor) -> Traced:
        nonlocal where
        gm = torch.fx.symbolic_trace(mod.eval())
        rec = _ShapeRecorder(gm)
        try:
            with torch.no_grad():
                rec.run(x)
        finally:
            n = rec.current
            where = f" at {n.target if n.op == 'call_module' else n.name}" if n is not None else ""
        return gm, rec.shapes

    try:
        return run(_meta_copy(module), torch.empty(input_shape, device="meta"))
    except Exception:  # noqa: BLE001 - any failure: retry the slow, real way below
        pass
    try:
        return run(_cpu_copy(module), torch.zeros(input_shape))
    except torch.fx.proxy.TraceError as e:
        raise WorkloadError(
            f"model {model_name!r}: torch.fx cannot trace its forward ({e}). Make forward "
            f"free of data-dependent Python control flow, or describe the layers in a YAML "
            f"layer list instead.") from None
    except Exception as e:  # noqa: BLE001
        msg = " ".join(str(e).split("While executing")[0].split())[:300]
        raise WorkloadError(
            f"model {model_name!r}: running it on an input of shape {tuple(input_shape)} "
            f"failed{where} ({type(e).__name__}: {msg}). If the resolution is too small for the "
            f"network's down-sampling, use a larger resolution; otherwise check that the "
            f"model accepts a (N, 3, H, W) image batch, or describe the layers in a YAML "
            f"layer list.") from None


# Modules and functions that carry no MACs: a graph made only of these and of nn.Conv2d /
# nn.Linear modules is read here, by torch.fx (milliseconds); anything else — a matmul,
# F.conv2d, attention, an unknown module — goes to the operator-level importer
# (`torch_export`), which sees every MAC.
_FREE_MODULES = {
    "BatchNorm1d", "BatchNorm2d", "ReLU", "ReLU6", "LeakyReLU", "SiLU", "GELU", "Sigmoid", "Tanh",
    "Hardswish", "Hardsigmoid", "Hardtanh", "ELU", "Mish", "Softmax", "LogSoftmax", "MaxPool1d",
    "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
    "AdaptiveMaxPool2d", "Dropout", "Dropout2d", "Flatten", "Identity", "LayerNorm", "GroupNorm",
    "LocalResponseNorm", "ZeroPad2d", "ConstantPad2d", "Upsample",
}
_FREE_CALLS = {
    "add", "iadd", "sub", "mul", "truediv", "getitem", "getattr", "flatten", "cat", "relu", "relu_",
    "relu6", "adaptive_avg_pool2d", "avg_pool2d", "max_pool2d", "dropout", "sigmoid", "silu", "gelu",
    "hardswish", "tanh", "view", "reshape", "size", "mean", "contiguous", "clamp", "sign",
}


def _fast_path_ok(gm: torch.fx.GraphModule, mods: dict[str, nn.Module]) -> bool:
    """True if every op of the fx graph is a Conv2d/Linear module or carries no MACs
    (and no product is summed by hand)."""
    for node in gm.graph.nodes:
        if node.op in ("placeholder", "output", "get_attr"):
            continue
        if node.op == "call_module":
            if not isinstance(mods.get(node.target), (nn.Conv2d, nn.Linear)) and \
                    type(mods.get(node.target)).__name__ not in _FREE_MODULES:
                return False
            continue
        name = node.target if node.op == "call_method" else getattr(node.target, "__name__", "")
        if name not in _FREE_CALLS:
            return False
        if name == "mean" and any(isinstance(a, torch.fx.Node) and _call_name(a) == "mul" for a in node.args):
            return False
    return True


def _call_name(node: torch.fx.Node) -> str:
    return node.target if node.op == "call_method" else getattr(node.target, "__name__", "")


def _conv_layers(name: str, conv: nn.Conv2d, out_shape: tuple[int, ...]) -> list[Layer]:
    padding = conv.padding
    if isinstance(padding, str):  # "valid" or "same" (torch allows "same" only at stride 1)
        totals = [0 if padding == "valid" else d * (k - 1) for d, k in zip(conv.dilation, conv.kernel_size)]
        padding = tuple(t // 2 for t in totals)
    n = out_shape[0] if len(out_shape) == 4 else 1
    return conv_layers(name, n=n, c_in=conv.in_channels, c_out=conv.out_channels,
                       kernel=tuple(conv.kernel_size), out_spatial=tuple(out_shape[-2:]),
                       stride=tuple(conv.stride), padding=tuple(padding), dilation=tuple(conv.dilation),
                       groups=conv.groups)


def example_args(inputs: Any) -> tuple:
    """Forward's positional arguments: a shape (one float input), or a sequence of shapes
    and tensors (any nesting a forward takes, e.g. a tuple of KV-cache pairs)."""
    if isinstance(inputs, (tuple, list)) and all(isinstance(d, int) for d in inputs):
        return (torch.empty(tuple(inputs)),)
    return tuple(torch.empty(tuple(x)) if isinstance(x, (tuple, list)) and all(isinstance(d, int) for d in x)
                 else x for x in inputs)


def extract(module: nn.Module, inputs: Any, model_name: str = "model",
            resolution: int | None = None, **meta: Any) -> Workload:
    """Every MAC of `module` run on `inputs` (a shape, or example arguments), in order.

    A model of nn.Conv2d/nn.Linear modules and MAC-free ops is read with torch.fx:
    nn.Conv2d -> a conv/depthwise Layer named by its module path ("layer1.0.conv1");
    grouped convs that are neither dense nor depthwise become `groups` dense layers
    "<name>.g0", ...; nn.Linear -> an fc Layer (1x1 conv, the rows on the plane). A module
    called twice yields "<name>@2", ... Any other model — or one whose fx trace fails —
    is read at the operator level by `torch_export.extract`, with the same names and
    rules. `meta` (batch, seq_len, phase) is recorded on the Workload. The module is not
    modified.
    """
    args = example_args(inputs)
    single = len(args) == 1 and isinstance(args[0], torch.Tensor) and args[0].is_floating_point()
    wl = _fx_extract(module, tuple(args[0].shape), model_name, resolution) if single else None
    if wl is None:
        from mapper.importers import torch_export

        return torch_export.extract(module, args, model_name, resolution, **meta)
    for key, value in meta.items():
        setattr(wl, key, value)
    return wl


def _fx_extract(module: nn.Module, input_shape: tuple[int, ...], model_name: str,
                resolution: int | None) -> Workload | None:
    """The fx reading of a conv/linear model, or None when the operator-level importer must read it."""
    try:
        gm, shapes = _traced(module, input_shape, model_name)
    except WorkloadError:
        return None
    mods = dict(gm.named_modules())
    if not _fast_path_ok(gm, mods):
        return None
    layers: list[Layer] = []
    skipped: dict[str, int] = {}
    elements: dict[str, int] = {}
    calls: dict[str, int] = {}
    for node in gm.graph.nodes:
        if node.op in ("placeholder", "output", "get_attr"):
            continue
        mod = mods.get(node.target) if node.op == "call_module" else None
        if not isinstance(mod, (nn.Conv2d, nn.Linear)):
            kind = type(mod).__name__ if node.op == "call_module" else _call_name(node)
            skipped[kind] = skipped.get(kind, 0) + 1
            elements[kind] = elements.get(kind, 0) + math.prod(shapes.get(node, (0,)))
            continue
        calls[node.target] = calls.get(node.target, 0) + 1
        name = node.target if calls[node.target] == 1 else f"{node.target}@{calls[node.target]}"
        shape = shapes[node]
        if isinstance(mod, nn.Conv2d):
            try:
                new = _conv_layers(name, mod, shape)
            except Unmappable:
                return None  # the operator-level importer reports it with its MACs
        else:
            # the rows (batch x tokens) go on the plane, where the weights are reused
            new = [Layer(name=name, K=mod.out_features, C=mod.in_features,
                         H=math.prod(shape[:-1]), W=1, N=1, kind="fc")]
        for lay in new:
            _check_size(lay, f"model {model_name!r}, layer {lay.name!r}")
        layers += new
    if not layers:
        return None
    return Workload(model=model_name, resolution=resolution, layers=layers, skipped=skipped,
                    skipped_elements=elements, inputs=(input_shape,))


def zoo_workload(name: str, resolution: int, *, batch: int = 1, seq_len: int | None = None,
                 phase: str | None = None) -> Workload:
    """The zoo model `name` (`mapper.models`), built on meta tensors and traced at `batch`
    images or sequences: an image model at `resolution`, a token model at `seq_len` in
    `phase` (prefill: seq_len tokens; decode: one new token attending to seq_len keys)."""
    from mapper import models

    token = name in models.TOKEN_MODELS
    try:
        with torch.device("meta"):  # build without allocating weights
            module, args = models.build_inputs(name, resolution=resolution, seq_len=seq_len,
                                               phase=phase or "prefill", batch=batch)
    except ValueError as e:
        raise WorkloadError(f"model {name!r}: {e}") from None
    if not token:  # a fixed-input model keeps its own size
        return extract(module, args, name, args[0].shape[-1], batch=batch)
    return extract(module, args, name, None, batch=batch, phase=phase or "prefill",
                   seq_len=seq_len or models.DEFAULT_SEQ_LEN[name])
