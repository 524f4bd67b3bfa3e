"""Workloads from PyTorch modules: torch.fx tracing with shape propagation on meta tensors.

The torch-only half of `mapper.workload`: this module imports torch at its top, and
`mapper.workload` imports it only when a model is to be traced (`extract`, zoo names,
``file.py:Factory``), so `import mapper` stays free of torch.
"""
from __future__ import annotations

import copy
import itertools
import math
from dataclasses import replace
from typing import Any

from mapper.importers import load_torch
from mapper.layer import Layer
from mapper.workload import Workload, WorkloadError, _check_size, expand_groups

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
        cpu = copy.deepcopy(module)
        if any(t.is_meta for t in itertools.chain(cpu.parameters(), cpu.buffers())):
            cpu = cpu.to_empty(device="cpu")
        return run(cpu, torch.zeros(input_shape))
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


def _symmetric(value: Any, what: str, name: str) -> int:
    """(a, a) -> a; anything else names the layer and refuses."""
    vals = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if len(set(vals)) != 1:
        raise WorkloadError(
            f"layer {name!r}: asymmetric {what} {tuple(vals)} is not supported; the cost "
            f"model has one {what} for both axes. Use the same {what} on H and W, or "
            f"describe an equivalent layer in a YAML layer list.")
    return int(vals[0])


def _conv_layers(name: str, conv: nn.Conv2d, out_shape: tuple[int, ...]) -> list[Layer]:
    stride = _symmetric(conv.stride, "stride", name)
    dilation = _symmetric(conv.dilation, "dilation", name)
    padding = conv.padding
    if isinstance(padding, str):  # "valid" or "same" (torch allows "same" only at stride 1)
        totals = [0 if padding == "valid" else d * (k - 1) for d, k in zip(conv.dilation, conv.kernel_size)]
        if any(t % 2 for t in totals):
            raise WorkloadError(
                f"layer {name!r}: padding='same' with an even kernel {tuple(conv.kernel_size)} "
                f"pads one side more than the other (asymmetric padding is not supported). "
                f"Use an odd kernel or explicit symmetric padding.")
        padding = tuple(t // 2 for t in totals)
    padding = _symmetric(padding, "padding", name)
    n = out_shape[0] if len(out_shape) == 4 else 1
    layer = Layer(name=name, K=conv.out_channels, C=conv.in_channels, H=out_shape[-2],
                  W=out_shape[-1], R=conv.kernel_size[0], S=conv.kernel_size[1], stride=stride,
                  padding=padding, dilation=dilation, groups=conv.groups, N=n)
    if layer.depthwise:
        layer = replace(layer, kind="depthwise")
    return expand_groups(layer)


def extract(module: nn.Module, input_shape: tuple[int, ...], model_name: str = "model",
            resolution: int | None = None) -> Workload:
    """The conv and FC layers of `module` run on an input of `input_shape`, in order.

    nn.Conv2d -> a conv/depthwise Layer named by its module path ("layer1.0.conv1");
    grouped convs that are neither dense nor depthwise become `groups` dense layers
    "<name>.g0", "<name>.g1", ...; nn.Linear -> an fc Layer (1x1 conv on a 1x1 plane,
    N = all leading dims of its input). A module called twice yields "<name>@2", ...
    Every other op is counted in `skipped` by type name. The module is not modified.
    """
    gm, shapes = _traced(module, tuple(input_shape), model_name)
    mods = dict(gm.named_modules())
    layers: list[Layer] = []
    skipped: dict[str, int] = {}
    calls: dict[str, int] = {}
    for node in gm.graph.nodes:
        if node.op in ("placeholder", "output", "get_attr"):
            continue
        mod = mods.get(node.target) if node.op == "call_module" else None
        if not isinstance(mod, (nn.Conv2d, nn.Linear)):
            if node.op == "call_module":
                kind = type(mod).__name__
            elif node.op == "call_function":
                kind = getattr(node.target, "__name__", str(node.target))
            else:
                kind = str(node.target)
            skipped[kind] = skipped.get(kind, 0) + 1
            continue
        calls[node.target] = calls.get(node.target, 0) + 1
        name = node.target if calls[node.target] == 1 else f"{node.target}@{calls[node.target]}"
        shape = shapes[node]
        if isinstance(mod, nn.Conv2d):
            new = _conv_layers(name, mod, shape)
        else:
            # the rows (batch x tokens) go on the plane, where the weights are reused
            new = [Layer(name=name, K=mod.out_features, C=mod.in_features,
                         H=math.prod(shape[:-1]), W=1, N=1, kind="fc")]
        for lay in new:
            _check_size(lay, f"model {model_name!r}, layer {lay.name!r}")
            zero = [f for f in ("N", "K", "C", "H", "W", "R", "S") if getattr(lay, f) == 0]
            if zero:
                raise WorkloadError(
                    f"model {model_name!r}, layer {lay.name!r}: dimension {zero[0]} is 0, so "
                    f"the layer has no work. Check the input shape {tuple(input_shape)} and "
                    f"the layer's channel counts.")
        layers += new
    if not layers:
        raise WorkloadError(
            f"model {model_name!r}: no nn.Conv2d or nn.Linear layer found (skipped ops: "
            f"{dict(skipped) or 'none'}). Only these module types are mapped; functional "
            f"calls such as F.conv2d are not. Use nn.Conv2d/nn.Linear modules or a YAML layer list.")
    return Workload(model=model_name, resolution=resolution, layers=layers, skipped=skipped)


def zoo_workload(name: str, resolution: int) -> Workload:
    """The zoo model `name` (`mapper.models`) at `resolution`, built on meta tensors and traced."""
    from mapper import models

    with torch.device("meta"):  # build without allocating weights
        module, shape = models.build(name, resolution)
    return extract(module, shape, name, shape[-1])  # a fixed-input model keeps its own size
