"""Workloads: the list of conv/FC layers the mapper schedules, from a model or a file.

Three sources, one result (`Workload`):

* a PyTorch module, traced with torch.fx and shape-propagated on *meta* tensors (no
  weights, no arithmetic: VGG-16 at 512x512 takes milliseconds), see `extract`;
* a YAML layer list, see `load_layers_yaml`;
* a one-line layer spec such as ``"K=64 C=64 H=56 W=56 R=3 S=3"``, see
  `parse_layer_spec`.

Every error a user can cause is a `WorkloadError` whose message names the file, layer
and field at fault and says how to fix it; the CLI prints it without a traceback.
"""
from __future__ import annotations

import copy
import importlib.util
import inspect
import itertools
import math
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import nn

from mapper.layer import KINDS, Layer


class WorkloadError(Exception):
    """A problem with a workload the user supplied; the message says what to fix."""


@dataclass
class Workload:
    """The layers of one network (or layer file), in execution order.

    `skipped` counts the graph ops that carry no MACs for this mapper (activations,
    pooling, additions, reshapes, ...) by type name, so a report can show what was left out.
    """

    model: str
    resolution: int | None
    layers: list[Layer]
    skipped: dict[str, int] = field(default_factory=dict)
    batch: int = 1  # images per inference asked for (`load_workload(batch=...)`)

    @property
    def total_macs(self) -> int:
        return sum(layer.macs for layer in self.layers)


# --------------------------------------------------------------------------------------
# Layer construction and validation (shared by the spec string and the YAML loader)
# --------------------------------------------------------------------------------------

INT_FIELDS = ("K", "C", "H", "W", "R", "S", "stride", "padding", "dilation", "groups", "N")
REQUIRED = ("K", "C", "H", "W")
DENSITY_FIELDS = ("in_density", "out_density")  # optional, for the RLC estimate
FIELDS = ("name",) + INT_FIELDS + ("kind",) + DENSITY_FIELDS


# Energies are exact 64-bit integers of femtojoules; C³P charges at most a few pJ of
# data movement per MAC, so 10^12 MACs per layer keeps every sum far below 2^63.
MAX_MACS = 10**12


def _check_size(lay: Layer, where: str) -> Layer:
    if lay.macs > MAX_MACS:
        raise WorkloadError(
            f"{where}: the layer has {lay.macs:.3g} MACs (N*K*C/groups*H*W*R*S), more than the "
            f"{MAX_MACS:.0e} the exact 64-bit energy arithmetic supports. Split it (e.g. a "
            f"smaller batch N or fewer rows) into several layers.")
    return lay


def _layer_from_fields(raw: dict[str, Any], where: str) -> Layer:
    """Validate user-given fields (already keyed by canonical name) and build a Layer.

    `where` locates the layer for messages, e.g. "net.yaml, layers[3] ('conv1')".
    """
    for key in REQUIRED:
        if key not in raw:
            raise WorkloadError(
                f"{where}: missing field {key!r}. Every layer needs K (output channels), "
                f"C (input channels), H and W (output plane); add e.g. {key}=64.")
    values: dict[str, int] = {}
    for key in INT_FIELDS:
        if key not in raw:
            continue
        v = raw[key]
        if isinstance(v, bool) or not isinstance(v, int):
            raise WorkloadError(
                f"{where}: field {key!r} must be a whole number, got {v!r}. "
                f"Write it as an integer, e.g. {key}={max(1, _int_hint(v))}.")
        low = 0 if key == "padding" else 1
        if v < low:
            raise WorkloadError(
                f"{where}: field {key!r} is {v}, but it must be at least {low}"
                + (" (zero-sized layers have no work; remove the layer instead)." if low else "."))
        values[key] = v
    densities = {}
    for key in DENSITY_FIELDS:
        if raw.get(key) is None:
            continue
        v = raw[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 1:
            raise WorkloadError(
                f"{where}: field {key!r} must be the fraction of non-zero activations, a number "
                f"in (0, 1], got {v!r}. E.g. {key}: 0.4 (60 % zeros), or leave it out (stored raw).")
        densities[key] = float(v)
    lay = Layer(name=str(raw.get("name", "layer")), **values, **densities)

    if lay.C % lay.groups or lay.K % lay.groups:
        raise WorkloadError(
            f"{where}: groups={lay.groups} must divide both C={lay.C} and K={lay.K}. "
            f"Use groups=1 (dense), groups=C=K (depthwise), or a common divisor of C and K.")
    reach = max(lay.R_eff, lay.S_eff) - 1
    if lay.padding > reach:
        raise WorkloadError(
            f"{where}: padding={lay.padding} is more than the kernel reaches "
            f"(dilation*(kernel-1) = {reach}), so some outputs would see only padding; "
            f"this is almost certainly a typo. Use padding <= {reach} "
            f"(\"same\" padding for this kernel is {reach // 2}).")

    kind = raw.get("kind")
    auto = "depthwise" if lay.depthwise else "conv"
    if kind is None:
        kind = auto
    elif kind not in KINDS:
        raise WorkloadError(
            f"{where}: field 'kind' is {kind!r}; valid kinds are {', '.join(KINDS)} "
            f"(or leave it out: it is inferred from groups, C and K).")
    elif kind == "fc" and (lay.W, lay.R, lay.S, lay.groups) != (1, 1, 1, 1):
        raise WorkloadError(
            f"{where}: kind 'fc' needs W=R=S=groups=1 (an FC layer is a 1x1 conv whose "
            f"rows, e.g. batch x tokens, are H so the weights are reused across them), got "
            f"W={lay.W} R={lay.R} S={lay.S} groups={lay.groups}. Drop kind or fix the shape.")
    elif kind != "fc" and kind != auto:
        raise WorkloadError(
            f"{where}: kind {kind!r} does not match the shape (groups={lay.groups}, "
            f"C={lay.C}, K={lay.K} make it {auto!r}; depthwise means groups == C == K > 1). "
            f"Drop the kind field or fix groups.")
    return _check_size(replace(lay, kind=kind), where)


def _int_hint(v: Any) -> int:
    try:
        return int(float(v))
    except (TypeError, ValueError):
        return 1


def expand_groups(layer: Layer) -> list[Layer]:
    """A grouped conv that is neither dense nor depthwise, as `groups` dense layers.

    The cost model supports dense and depthwise layers only (docs/cost-model.md sec. 1);
    group g becomes "<name>.g<g>" with K/groups outputs and C/groups inputs. Other
    layers are returned unchanged (as a one-element list).
    """
    if layer.groups == 1 or layer.depthwise:
        return [layer]
    g = layer.groups
    return [replace(layer, name=f"{layer.name}.g{i}", K=layer.K // g, C=layer.C // g,
                    groups=1, kind="conv") for i in range(g)]


# --------------------------------------------------------------------------------------
# One-line specs
# --------------------------------------------------------------------------------------

_CANONICAL = {k.lower(): k for k in FIELDS}
_INT_RE = re.compile(r"[+-]?\d+")


def parse_layer_spec(text: str, name: str = "layer") -> Layer:
    """A Layer from ``"K=64 C=64 H=56 W=56 R=3 S=3 stride=1"`` (commas or spaces).

    K, C, H, W are required; R, S and the rest default as in `Layer`; keys are
    case-insensitive. A grouped conv is returned as one Layer: use `expand_groups`
    before mapping it.
    """
    where = f"layer spec {text!r}"
    body = re.sub(r"\s*=\s*", "=", text.strip())
    tokens = [t for t in re.split(r"[,\s]+", body) if t]
    if not tokens:
        raise WorkloadError(
            f"{where}: empty layer spec. Write key=value pairs, e.g. "
            f"\"K=64 C=64 H=56 W=56 R=3 S=3 stride=1\".")
    raw: dict[str, Any] = {"name": name}
    seen: set[str] = set()
    for tok in tokens:
        key, eq, val = tok.partition("=")
        if not eq or not key or not val:
            raise WorkloadError(
                f"{where}: cannot read {tok!r}; every item must be key=value, e.g. "
                f"\"K=64 C=64 H=56 W=56 R=3 S=3\".")
        canon = _CANONICAL.get(key.lower())
        if canon is None:
            raise WorkloadError(
                f"{where}: unknown key {key!r}. Valid keys: {', '.join(FIELDS)}.")
        if canon in seen:
            raise WorkloadError(f"{where}: key {canon!r} is given twice; keep one.")
        seen.add(canon)
        if canon in INT_FIELDS:
            if not _INT_RE.fullmatch(val):
                raise WorkloadError(
                    f"{where}: {canon}={val!r} is not a whole number. "
                    f"Write it as an integer, e.g. {canon}={max(1, _int_hint(val))}.")
            raw[canon] = int(val)
        elif canon in DENSITY_FIELDS:
            try:
                raw[canon] = float(val)
            except ValueError:
                raw[canon] = val  # _layer_from_fields names the field and the fix
        else:
            raw[canon] = val
    return _layer_from_fields(raw, where)


# --------------------------------------------------------------------------------------
# YAML layer lists
# --------------------------------------------------------------------------------------

_TOP_KEYS = ("model", "layers", "source")


def load_layers_yaml(path: str | Path) -> Workload:
    """A Workload from a YAML file with a `layers:` list of {name, K, C, H, W, ...}.

    Optional top-level keys: `model` (defaults to the file stem) and `source` (free
    text, e.g. where the shapes come from). Grouped layers are expanded (`expand_groups`).
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise WorkloadError(f"{path}: cannot read the layer file ({e.strerror}). "
                            f"Check the path.") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise WorkloadError(f"{path}: not valid YAML ({' '.join(str(e).split())}). "
                            f"Fix the syntax at the position shown.") from None
    example = "layers:\n  - {name: conv1, K: 64, C: 3, H: 112, W: 112, R: 7, S: 7, stride: 2, padding: 3}"
    if not isinstance(doc, dict) or "layers" not in doc:
        raise WorkloadError(f"{path}: missing the top-level 'layers' list. "
                            f"The file should look like:\n{example}")
    unknown = [k for k in doc if k not in _TOP_KEYS]
    if unknown:
        raise WorkloadError(f"{path}: unknown top-level key {unknown[0]!r}. "
                            f"Valid keys: {', '.join(_TOP_KEYS)}.")
    items = doc["layers"]
    if not isinstance(items, list) or not items:
        raise WorkloadError(f"{path}: 'layers' must be a non-empty list of layers, e.g.\n{example}")
    layers: list[Layer] = []
    names: set[str] = set()
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise WorkloadError(f"{path}: layers[{i}] is {item!r}, not a mapping of fields. "
                                f"Write it as {{name: conv{i}, K: 64, C: 64, H: 56, W: 56}}.")
        name = str(item.get("name", f"layer{i}"))
        where = f"{path}: layers[{i}] ({name!r})"
        for key in item:
            if key not in FIELDS:
                raise WorkloadError(f"{where}: unknown field {key!r}. "
                                    f"Valid fields: {', '.join(FIELDS)}.")
        if name in names:
            raise WorkloadError(f"{where}: the name {name!r} is used twice; layer names "
                                f"must be unique. Rename one of them.")
        names.add(name)
        layers += expand_groups(_layer_from_fields({**item, "name": name}, where))
    model = doc.get("model") or path.stem
    return Workload(model=str(model), resolution=None, layers=layers, skipped={})


# --------------------------------------------------------------------------------------
# PyTorch modules
# --------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------
# The one entry point for the CLI
# --------------------------------------------------------------------------------------

def _load_python(file: Path, attr: str, resolution: int, spec: str) -> Workload:
    """Import `file`, take `attr` (class, factory or module instance) and extract it."""
    if not file.is_file():
        raise WorkloadError(f"workload {spec!r}: file {str(file)!r} does not exist. Check the path.")
    mod_name = f"_workload_{abs(hash(str(file.resolve())))}"
    try:
        loader_spec = importlib.util.spec_from_file_location(mod_name, file)
        assert loader_spec is not None and loader_spec.loader is not None
        pymod = importlib.util.module_from_spec(loader_spec)
        sys.modules[mod_name] = pymod  # dataclasses and pickling look modules up here
        loader_spec.loader.exec_module(pymod)
    except Exception as e:  # noqa: BLE001
        raise WorkloadError(f"workload {spec!r}: importing {str(file)!r} failed "
                            f"({type(e).__name__}: {e}). Fix the file so it imports.") from None
    if not hasattr(pymod, attr):
        found = [k for k, v in vars(pymod).items() if not k.startswith("_") and
                 ((inspect.isclass(v) and issubclass(v, nn.Module) and v.__module__ == mod_name)
                  or inspect.isfunction(v) and v.__module__ == mod_name)]
        raise WorkloadError(f"workload {spec!r}: {str(file)!r} has no {attr!r}. "
                            f"Candidates defined there: {', '.join(found) or 'none'}.")
    obj = getattr(pymod, attr)
    if inspect.isclass(obj) or inspect.isfunction(obj):
        try:
            takes_res = "resolution" in inspect.signature(obj).parameters
        except (TypeError, ValueError):
            takes_res = False
        try:
            obj = obj(resolution=resolution) if takes_res else obj()
        except Exception as e:  # noqa: BLE001
            raise WorkloadError(f"workload {spec!r}: calling {attr}() failed ({type(e).__name__}: "
                                f"{e}). It must build the model with no arguments (or only "
                                f"resolution=...).") from None
    if not isinstance(obj, nn.Module):
        raise WorkloadError(f"workload {spec!r}: {attr} gave a {type(obj).__name__}, not a "
                            f"torch.nn.Module. Point at an nn.Module class or a function returning one.")
    return extract(obj, (1, 3, resolution, resolution), f"{file.stem}:{attr}", resolution)


def load_workload(spec: str, resolution: int = 224, batch: int = 1) -> Workload:
    """A zoo model name, a .yaml/.yml layer list, or ``path/to/file.py:FactoryOrClass``.
    `batch` images per inference: every conv layer's N is multiplied by it, an FC
    layer's rows (on H) too."""
    import models  # the zoo; imported here so mapper does not need it for YAML files

    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 1:
        raise WorkloadError(f"resolution must be a positive whole number of pixels, got {resolution!r}.")
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise WorkloadError(f"batch must be a positive whole number of images, got {batch!r}.")
    if batch > 1:
        wl = load_workload(spec, resolution)
        return replace(wl, layers=[batched(lay, batch) for lay in wl.layers], batch=batch)
    forms = (f"a zoo model ({', '.join(models.MODELS)}), a YAML layer list (layers.yaml), "
             f"or a Python file and the name of a model class or factory in it (net.py:MyNet)")
    if spec in models.MODELS:
        with torch.device("meta"):  # build without allocating weights
            module, shape = models.build(spec, resolution)
        return extract(module, shape, spec, shape[-1])  # a fixed-input model keeps its own size
    if spec.lower().endswith((".yaml", ".yml")):
        if not Path(spec).is_file():
            raise WorkloadError(f"workload {spec!r}: file not found. Check the path; accepted "
                                f"workloads are {forms}.")
        return load_layers_yaml(spec)
    file, sep, attr = spec.rpartition(":")
    if sep and file.endswith(".py") and attr:
        return _load_python(Path(file), attr, resolution, spec)
    hint = (" (a .py file needs ':ClassOrFactory' after it)" if spec.endswith(".py") else "")
    raise WorkloadError(f"unknown workload {spec!r}{hint}. Give {forms}.")


def batched(lay: Layer, batch: int) -> Layer:
    """The layer for `batch` times as many images (an FC layer's rows are on H)."""
    if lay.kind == "fc":
        return _check_size(replace(lay, H=lay.H * batch), f"layer {lay.name!r} at batch {batch}")
    return _check_size(replace(lay, N=lay.N * batch), f"layer {lay.name!r} at batch {batch}")


def unique_layers(layers: list[Layer]) -> list[tuple[Layer, list[str]]]:
    """Layers with distinct cost shapes (`Layer.shape_key`), first-seen order, with the
    names of every layer sharing each shape: map each shape once, report it for all."""
    groups: dict[tuple, tuple[Layer, list[str]]] = {}
    for lay in layers:
        groups.setdefault(lay.shape_key(), (lay, []))[1].append(lay.name)
    return list(groups.values())
