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

import contextlib
import importlib.util
import inspect
import io
import math
import os
import re
import reprlib
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from mapper.coverage import Coverage, UnmappedOp
from mapper.errors import MapperError
from mapper.layer import KINDS, WEIGHTS, Layer


class WorkloadError(MapperError):
    """A problem with a workload the user supplied; the message says what to fix."""


@dataclass
class Workload:
    """The layers of one network (or layer file), in execution order.

    `skipped` counts the graph ops that carry no MACs (activations, norms, softmax,
    pooling, elementwise, reshapes, ...) by op name and `skipped_elements` their output
    elements, so a report can show what was left out. `unmapped` lists the ops that do
    carry MACs but are not layers: the totals leave them out and every report prints the
    MAC coverage (mapped / all).
    """

    model: str
    resolution: int | None
    layers: list[Layer]
    skipped: dict[str, int] = field(default_factory=dict)
    batch: int = 1  # images (or concurrent sequences) per inference
    unmapped: tuple[UnmappedOp, ...] = ()
    skipped_elements: dict[str, int] = field(default_factory=dict)
    inputs: tuple[tuple[int, ...], ...] = ()  # the traced input shapes, when traced
    seq_len: int | None = None  # token models: context length (keys attended to)
    phase: str | None = None  # token models: "prefill" or "decode"

    @property
    def total_macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def unmapped_macs(self) -> int:
        return sum(u.macs for u in self.unmapped)

    @property
    def model_macs(self) -> int:
        """Every MAC of the model: its layers' and the unmapped ops'."""
        return self.total_macs + self.unmapped_macs

    @property
    def coverage(self) -> Coverage:
        return Coverage(self.model_macs, self.total_macs, self.unmapped)

    @property
    def tag(self) -> str:
        """What the model was loaded at, for file names and headings: the resolution
        ("224"), or a token model's phase and context ("prefill1024")."""
        return f"{self.phase}{self.seq_len}" if self.phase else str(self.resolution)

    @property
    def mac_coverage(self) -> float:
        return self.coverage.fraction

    def to_dict(self) -> dict:
        """What `mapper layers --json` prints: every layer with its sizes, and the totals."""
        d = {"model": self.model, "resolution": self.resolution, "batch": self.batch}
        if self.phase is not None:
            d |= {"seq_len": self.seq_len, "phase": self.phase}
        if self.inputs:
            d["inputs"] = [list(s) for s in self.inputs]
        return d | {
            "layers": [dict(L.to_dict(), weights=L.weights, inputs=L.inputs, outputs=L.outputs)
                       for L in self.layers],
            "total_macs": self.total_macs, **self.coverage.to_dict(),
            "distinct_shapes": len(unique_layers(self.layers)),
            "skipped_ops": dict(self.skipped), "skipped_elements": dict(self.skipped_elements)}


def imported(model: str, layers: list[Layer], unmapped: tuple[UnmappedOp, ...], skipped: dict[str, int],
             elements: dict[str, int], *, where: str, fix: str, resolution: int | None = None,
             inputs: tuple = ()) -> Workload:
    """An importer's result (torch or ONNX); a model without a single layer is refused,
    naming what was found in it (`where`: the model or file; `fix`: what to do)."""
    if not layers:
        listed = "; ".join(f"{u.op} x{u.count}: {u.macs:,} MACs, {u.reason}" for u in unmapped) or "none"
        free = ", ".join(sorted(skipped)) or "none"
        raise WorkloadError(f"{where}: no convolution or matrix product that the layer model can hold (unmapped "
                            f"MAC ops: {listed}; ops without MACs: {free}). {fix}")
    return Workload(model=model, resolution=resolution, layers=layers, skipped=skipped, unmapped=unmapped,
                    skipped_elements=elements, inputs=inputs)


# --------------------------------------------------------------------------------------
# Layer construction and validation (shared by the spec string and the YAML loader)
# --------------------------------------------------------------------------------------

INT_FIELDS = ("K", "C", "H", "W", "R", "S", "stride", "padding", "dilation", "groups", "N")
REQUIRED = ("K", "C", "H", "W")
DENSITY_FIELDS = ("in_density", "out_density")  # optional, for the RLC estimate
FIELDS = ("name",) + INT_FIELDS + ("kind", "operand") + DENSITY_FIELDS


# Energies are exact 64-bit integers of femtojoules; C³P charges at most a few pJ of
# data movement per MAC, so 10^12 MACs per layer keeps every sum far below 2^63.
MAX_MACS = 10**12


def _check_size(lay: Layer, where: str) -> Layer:
    zero = [f for f in ("N", "K", "C", "H", "W", "R", "S") if getattr(lay, f) == 0]
    if zero:
        raise WorkloadError(
            f"{where}: dimension {zero[0]} is 0, so the layer has no work. Check the input "
            f"shape and the layer's channel counts.")
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
        low, high = FIELD_RANGES[key]
        if isinstance(v, bool) or not isinstance(v, int):
            raise WorkloadError(
                f"{where}: field {key!r} must be a whole number from {low} to {high}, got "
                f"{_brief(v)}. Write it as a decimal integer, e.g. {key}={_int_hint(v, key)}.")
        if v < low:
            raise WorkloadError(
                f"{where}: field {key!r} is {_brief(v)}, but it must be at least {low}"
                + (" (zero-sized layers have no work; remove the layer instead)." if low else "."))
        if v > high:
            raise WorkloadError(
                f"{where}: field {key!r} is {_brief(v)}, beyond the allowed range {low} to {high} "
                f"({_RANGE_WHY[key]}). Use a value from {low} to {high}"
                + (", or split the layer." if high == _EXTENT else "."))
        values[key] = v
    densities = {}
    for key in DENSITY_FIELDS:
        if raw.get(key) is None:
            continue
        v = raw[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 1:
            raise WorkloadError(
                f"{where}: field {key!r} must be the fraction of non-zero activations, a number "
                f"in (0, 1], got {_brief(v)}. E.g. {key}: 0.4 (60 % zeros), or leave it out (stored raw).")
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

    operand = raw.get("operand", WEIGHTS)
    if not isinstance(operand, str) or not re.fullmatch(r"[A-Za-z][\w.:-]{0,39}", operand):
        raise WorkloadError(
            f"{where}: field 'operand' is {_brief(operand)}; it names where the second operand "
            f"comes from, e.g. operand: weights (the default), keys, values, K-cache or V-cache.")
    kind = raw.get("kind")
    auto = "depthwise" if lay.depthwise else "conv"
    if kind is None:
        kind = "matmul" if operand != WEIGHTS else auto
    if kind not in KINDS:
        raise WorkloadError(
            f"{where}: field 'kind' is {_brief(kind)}; valid kinds are {', '.join(KINDS)} "
            f"(or leave it out: it is inferred from groups, C and K).")
    if kind in ("fc", "matmul") and (lay.W, lay.R, lay.S, lay.groups) != (1, 1, 1, 1):
        raise WorkloadError(
            f"{where}: kind {kind!r} needs W=R=S=groups=1 (a matrix product is a 1x1 conv whose "
            f"rows, e.g. batch x tokens, are H so the second operand is reused across them), got "
            f"W={lay.W} R={lay.R} S={lay.S} groups={lay.groups}. Drop kind or fix the shape.")
    if kind not in ("fc", "matmul") and kind != auto:
        raise WorkloadError(
            f"{where}: kind {kind!r} does not match the shape (groups={lay.groups}, "
            f"C={lay.C}, K={lay.K} make it {auto!r}; depthwise means groups == C == K > 1). "
            f"Drop the kind field or fix groups.")
    if (kind == "matmul") != (operand != WEIGHTS):
        raise WorkloadError(
            f"{where}: kind {kind!r} with operand {operand!r}: a 'matmul' layer multiplies by an "
            f"activation (operand: keys, values, K-cache, ...), every other kind by weights. "
            f"Give kind: matmul with a non-weights operand, or drop both.")
    return _check_size(replace(lay, kind=kind, operand=operand), where)


def _int_hint(v: Any, key: str | None = None) -> int:
    """A decimal whole number close to what `v` seems to mean ("0x40" -> 64, "1e3" -> 1000,
    5.5 -> 5), within the field's allowed range, for the "e.g." of a message."""
    low, high = FIELD_RANGES.get(key, (1, 1 << 20)) if key else (1, 1 << 20)
    guess = None
    if isinstance(v, str) and len(v) <= 60:
        t = v.strip().replace("_", "")
        if re.fullmatch(r"[+-]?0([xX][0-9a-fA-F]+|[oO][0-7]+|[bB][01]+)", t):
            guess = int(t, 0)
    if guess is None and isinstance(v, (int, float, str)) and not isinstance(v, bool):
        try:
            f = float(v) if not isinstance(v, str) or len(v) <= 60 else math.nan
        except (ValueError, OverflowError):
            f = math.nan
        guess = int(f) if math.isfinite(f) else None
    return min(high, max(low, 1, guess if guess is not None else 1))


# Allowed range of every integer field, inclusive, and why. Outside it a value is a typo
# or a unit slip, and the full mapping space enumerates every tile size of an extent.
_EXTENT = 1 << 20
FIELD_RANGES: dict[str, tuple[int, int]] = {
    **dict.fromkeys(("K", "C", "H", "W", "N", "groups"), (1, _EXTENT)),
    **dict.fromkeys(("R", "S", "stride", "dilation"), (1, 1024)),
    "padding": (0, _EXTENT),
}
_RANGE_WHY = {
    **dict.fromkeys(("K", "C", "H", "W", "N", "groups"),
                    "2^20 is above the channels, rows, columns or batch of any real layer; "
                    "the largest vocabularies have 256k outputs"),
    **dict.fromkeys(("R", "S", "stride", "dilation"),
                    "kernels, strides and dilations above 1024 do not occur in DNNs"),
    "padding": "2^20, the largest extent",
}

_BRIEF = reprlib.Repr()
_BRIEF.maxstring = _BRIEF.maxother = 60
_BRIEF.maxlist = _BRIEF.maxdict = 4
_BRIEF.maxlevel = 2


def _brief(v: Any) -> str:
    """repr(v) for a message, short whatever v is (a huge number, a deep nest, long text)."""
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 10**18:
        return f"{'-' if v < 0 else ''}about 10^{math.log10(abs(v)):.0f}"
    return _BRIEF.repr(v)


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
_INT_RE = re.compile(r"[+-]?[0-9]+")  # ASCII decimal digits only
_RADIX_RE = re.compile(r"[+-]?0[xXoObB][0-9a-fA-F_]*")


def parse_layer_spec(text: str, name: str = "layer") -> Layer:
    """A Layer from ``"K=64 C=64 H=56 W=56 R=3 S=3 stride=1"`` (commas or spaces).

    K, C, H, W are required; R, S and the rest default as in `Layer`; keys are
    case-insensitive. A grouped conv is returned as one Layer: use `expand_groups`
    before mapping it.
    """
    if not isinstance(text, str):
        raise WorkloadError(f"layer spec {_brief(text)}: must be text such as "
                            f"\"K=64 C=64 H=56 W=56 R=3 S=3\", got a {type(text).__name__}.")
    where = f"layer spec {_brief(text)}"
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
            low, high = FIELD_RANGES[canon]
            if not _INT_RE.fullmatch(val):
                radix = " in decimal digits (hex, octal and binary are not read)" if _RADIX_RE.fullmatch(val) else ""
                raise WorkloadError(
                    f"{where}: {canon}={_brief(val)} is not a whole number{radix}. {canon} must be "
                    f"a decimal whole number from {low} to {high}, e.g. {canon}={_int_hint(val, canon)}.")
            digits = val.lstrip("+-").lstrip("0") or "0"
            if len(digits) > 30:  # far out of range; int() of thousands of digits is refused
                raise WorkloadError(
                    f"{where}: field {canon!r} is {_brief(val)}, "
                    f"{'below' if val.startswith('-') else 'beyond'} the allowed range {low} to {high} "
                    f"({_RANGE_WHY[canon]}). Use a value from {low} to {high}.")
            raw[canon] = int(("-" if val.startswith("-") else "") + digits)
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
        data = path.read_bytes()
    except (OSError, ValueError) as e:  # ValueError: a NUL byte in the path
        raise WorkloadError(f"{path}: cannot read the layer file ({getattr(e, 'strerror', None) or e}). "
                            f"Check the path.") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise WorkloadError(f"{path}: the layer file is not UTF-8 text ({e.reason} at byte {e.start}). "
                            f"Save it as UTF-8 text.") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        tag = re.search(r"constructor for the tag '([^']*)'", str(e))
        if tag:
            name = tag.group(1).replace("tag:yaml.org,2002:", "!!")
            mark = getattr(e, "problem_mark", None)
            at = f" at line {mark.line + 1}" if mark is not None else ""
            what = ("the Python-object tag", "which is not allowed: layer files are read with YAML's "
                    "safe loader (plain numbers, text, lists and mappings only)") \
                if name.startswith("!!python/") else ("the tag", "which the safe YAML loader does not know")
            raise WorkloadError(f"{path}: uses {what[0]} {name!r}{at}, {what[1]}. Remove the tag and "
                                f"write the plain value.") from None
        raise WorkloadError(f"{path}: not valid YAML ({_brief(' '.join(str(e).split()))[1:-1]}). "
                            f"Fix the syntax at the position shown.") from None
    except RecursionError:
        raise WorkloadError(f"{path}: the YAML is nested too deeply to be a layer list. "
                            f"Write a flat `layers:` list.") from None
    except ValueError as e:  # an integer of more digits than Python converts (4300)
        raise WorkloadError(f"{path}: has a number too long to read ({str(e).split(':')[0]}). "
                            f"Every field has an allowed range, e.g. K from 1 to {_EXTENT}.") from None
    example = "layers:\n  - {name: conv1, K: 64, C: 3, H: 112, W: 112, R: 7, S: 7, stride: 2, padding: 3}"
    if not isinstance(doc, dict) or "layers" not in doc:
        raise WorkloadError(f"{path}: missing the top-level 'layers' list. "
                            f"The file should look like:\n{example}")
    unknown = [k for k in doc if k not in _TOP_KEYS]
    if unknown:
        raise WorkloadError(f"{path}: unknown top-level key {_brief(unknown[0])}. "
                            f"Valid keys: {', '.join(_TOP_KEYS)}.")
    items = doc["layers"]
    if not isinstance(items, list) or not items:
        raise WorkloadError(f"{path}: 'layers' must be a non-empty list of layers, e.g.\n{example}")
    layers: list[Layer] = []
    names: set[str] = set()
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise WorkloadError(f"{path}: layers[{i}] is {_brief(item)}, not a mapping of fields. "
                                f"Write it as {{name: conv{i}, K: 64, C: 64, H: 56, W: 56}}.")
        name = item.get("name", f"layer{i}")
        if isinstance(name, bool) or not isinstance(name, (str, int, float)):
            raise WorkloadError(f"{path}: layers[{i}]: field 'name' must be text, got {_brief(name)}. "
                                f"Write e.g. name: conv{i}.")
        name = str(name)
        where = f"{path}: layers[{i}] ({_brief(name)})"
        for key in item:
            if key not in FIELDS:
                raise WorkloadError(f"{where}: unknown field {_brief(key)}. "
                                    f"Valid fields: {', '.join(FIELDS)}.")
        if name in names:
            raise WorkloadError(f"{where}: the name {name!r} is used twice; layer names "
                                f"must be unique. Rename one of them.")
        names.add(name)
        layers += expand_groups(_layer_from_fields({**item, "name": name}, where))
    model = doc.get("model") or path.stem
    if isinstance(model, bool) or not isinstance(model, (str, int, float)):
        raise WorkloadError(f"{path}: 'model' must be text, got {_brief(model)}. Write e.g. model: my-net.")
    return Workload(model=str(model), resolution=None, layers=layers, skipped={})


# --------------------------------------------------------------------------------------
# PyTorch modules
# --------------------------------------------------------------------------------------

def extract(module: Any, inputs: Any, model_name: str = "model",
            resolution: int | None = None, **meta: Any) -> Workload:
    """Every MAC of the torch `module` run on `inputs` (a shape, or example arguments).

    See `mapper.importers.torch_fx.extract`, imported here on first use so that importing
    this module does not load torch.
    """
    from mapper.importers.torch_fx import extract as _extract

    return _extract(module, inputs, model_name, resolution, **meta)


# --------------------------------------------------------------------------------------
# The one entry point for the CLI
# --------------------------------------------------------------------------------------

@contextlib.contextmanager
def _no_stdin():
    """Standard input is empty while a user's model file runs: `input()` then raises
    EOFError and a read returns nothing, instead of waiting for a terminal. Both
    sys.stdin and file descriptor 0 are swapped (for code that reads fd 0 directly)."""
    saved_stdin, saved_fd = sys.stdin, None
    try:
        saved_fd = os.dup(0)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
    except OSError:  # no fd 0 to swap (a closed stdin): nothing can block on it either
        saved_fd = None
    sys.stdin = io.StringIO("")
    try:
        yield
    finally:
        sys.stdin = saved_stdin
        if saved_fd is not None:
            os.dup2(saved_fd, 0)
            os.close(saved_fd)


def _user_failure(spec: str, doing: str, e: BaseException, fix: str) -> WorkloadError:
    """The message for a model file that raised, exited or read stdin while `doing`."""
    if isinstance(e, SystemExit):
        return WorkloadError(
            f"workload {spec!r}: {doing} called sys.exit({_brief(e.code)}) (or exit()/quit()), "
            f"which a model file must not do when the mapper imports it. Fix: put script code "
            f"under `if __name__ == \"__main__\":`.")
    if isinstance(e, EOFError):
        return WorkloadError(
            f"workload {spec!r}: {doing} read from standard input (input() or sys.stdin), which "
            f"is empty while the mapper runs a model file. Fix: build the model without asking "
            f"for input (take settings as arguments with defaults).")
    return WorkloadError(f"workload {spec!r}: {doing} failed ({type(e).__name__}: "
                         f"{_brief(str(e))[1:-1]}). {fix}")


def _load_python(file: Path, attr: str, resolution: int, spec: str, batch: int = 1,
                 input_shapes: list[tuple[int, ...]] | None = None) -> Workload:
    """Import `file`, take `attr` (class, factory or module instance) and extract it.

    The user's code runs with an empty standard input (`_no_stdin`); anything it raises
    or does to end the process (sys.exit) becomes a WorkloadError, except Ctrl-C."""
    from mapper.importers import load_torch  # here, not at the top: `import mapper` must not load torch
    nn = load_torch().nn

    try:
        is_file = file.is_file()
    except (OSError, ValueError):
        is_file = False
    if not is_file:
        raise WorkloadError(f"workload {spec!r}: file {str(file)!r} does not exist. Check the path.")
    mod_name = f"_workload_{abs(hash(str(file.resolve())))}"
    try:
        loader_spec = importlib.util.spec_from_file_location(mod_name, file)
        assert loader_spec is not None and loader_spec.loader is not None
        pymod = importlib.util.module_from_spec(loader_spec)
        sys.modules[mod_name] = pymod  # dataclasses and pickling look modules up here
        with _no_stdin():
            loader_spec.loader.exec_module(pymod)
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # noqa: BLE001 -- SystemExit too: the user's file must not end us
        sys.modules.pop(mod_name, None)
        raise _user_failure(spec, f"importing {str(file)!r}", e,
                            "Fix the file so it imports.") from None
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
            with _no_stdin():
                obj = obj(resolution=resolution) if takes_res else obj()
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # noqa: BLE001
            raise _user_failure(spec, f"calling {attr}()", e, "It must build the model with no "
                                "arguments (or only resolution=...).") from None
    if not isinstance(obj, nn.Module):
        raise WorkloadError(f"workload {spec!r}: {attr} gave a {type(obj).__name__}, not a "
                            f"torch.nn.Module. Point at an nn.Module class or a function returning one.")
    try:
        with _no_stdin():  # tracing runs the model's forward()
            shapes = ([(s[0] * batch, *s[1:]) for s in input_shapes] if input_shapes
                      else [(batch, 3, resolution, resolution)])
            return extract(obj, shapes, f"{file.stem}:{attr}", None if input_shapes else resolution,
                           batch=batch)
    except (SystemExit, EOFError) as e:
        raise _user_failure(spec, f"tracing {attr}'s forward()", e, "") from None


def _forms() -> str:
    """The accepted kinds of workload, for messages (imports the zoo, hence torch)."""
    from mapper.importers import load_torch
    load_torch()  # before the zoo imports it
    from mapper import models

    names = [*models.MODELS, *getattr(models, "TOKEN_MODELS", {})]
    return (f"a zoo model ({', '.join(names)}), a YAML layer list (layers.yaml), an ONNX file "
            f"(model.onnx), or a Python file and the name of a model class or factory in it (net.py:MyNet)")


def load_workload(spec: str, resolution: int = 224, batch: int = 1, *, seq_len: int | None = None,
                  phase: str | None = None, input_shapes: list[tuple[int, ...]] | None = None) -> Workload:
    """A zoo model name, a .yaml/.yml layer list, an .onnx file, or ``path/to/file.py:FactoryOrClass``.

    `batch` images (or concurrent sequences) per inference: a PyTorch model is traced at
    that batch, so sequences share weights but not activations (each has its own keys and
    KV cache); in a layer list or ONNX file every conv layer's N, an FC layer's rows, is
    multiplied by it and a matmul layer is repeated. `seq_len` and `phase` are for the
    token zoo; `input_shapes` for a Python model (default: one (batch, 3, R, R) image).
    Only zoo models and Python files import torch."""
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 1:
        raise WorkloadError(f"resolution must be a positive whole number of pixels, got {resolution!r}.")
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise WorkloadError(f"batch must be a positive whole number of images, got {batch!r}.")
    token_args = {k: v for k, v in (("seq_len", seq_len), ("phase", phase)) if v is not None}
    lower = spec.lower()
    if lower.endswith((".yaml", ".yml", ".onnx")):  # never a zoo name: no torch needed
        _refuse(spec, token_args, input_shapes)
        if not Path(spec).is_file():
            raise WorkloadError(f"workload {spec!r}: file not found. Check the path; accepted "
                                f"workloads are {_forms()}.")
        if lower.endswith(".onnx"):
            from mapper.importers.onnx_graph import load_onnx
            wl = load_onnx(spec)
        else:
            wl = load_layers_yaml(spec)
        return batched_workload(wl, batch)
    from mapper.importers import load_torch
    load_torch()  # before the zoo imports it
    from mapper import models  # the zoo (imports torch); here so YAML layer lists do without

    if spec in models.MODELS or spec in models.TOKEN_MODELS:
        from mapper.importers.torch_fx import zoo_workload

        if input_shapes:
            raise WorkloadError(f"model {spec!r}: --input-shape is for a Python model file; a zoo model "
                                f"takes --resolution{' or --seq-len/--phase' if spec in models.TOKEN_MODELS else ''}.")
        return zoo_workload(spec, resolution, batch=batch, **token_args)
    file, sep, attr = spec.rpartition(":")
    if sep and file.endswith(".py") and attr:
        _refuse(spec, token_args, None)
        return _load_python(Path(file), attr, resolution, spec, batch, input_shapes)
    hint = (" (a .py file needs ':ClassOrFactory' after it)" if spec.endswith(".py") else "")
    raise WorkloadError(f"unknown workload {spec!r}{hint}. Give {_forms()}.")


def _refuse(spec: str, token_args: dict, input_shapes: Any) -> None:
    """--seq-len/--phase belong to the token zoo, --input-shape to a Python model."""
    if token_args:
        raise WorkloadError(f"workload {spec!r}: --{'/--'.join(k.replace('_', '-') for k in token_args)} "
                            f"apply to the token zoo models only; a Python model takes --input-shape "
                            f"with its token count in the shape (e.g. 1,128,768).")
    if input_shapes:
        raise WorkloadError(f"workload {spec!r}: --input-shape applies to a Python model file "
                            f"(net.py:Class); a layer list or ONNX file has its shapes already.")


def batched(lay: Layer, batch: int) -> list[Layer]:
    """The layer for `batch` times as many images or sequences: a conv layer's N, an FC
    layer's rows (on H) multiplied; a matmul layer repeated, once per sequence (its
    second operand is that sequence's own activation)."""
    where = f"layer {lay.name!r} at batch {batch}"
    if lay.kind == "matmul":
        return [replace(lay, name=f"{lay.name}.b{i}") for i in range(batch)]
    if lay.kind == "fc":
        return [_check_size(replace(lay, H=lay.H * batch), where)]
    return [_check_size(replace(lay, N=lay.N * batch), where)]


def batched_workload(wl: Workload, batch: int) -> Workload:
    if batch == 1:
        return wl
    return replace(wl, layers=[b for lay in wl.layers for b in batched(lay, batch)], batch=wl.batch * batch,
                   unmapped=tuple(replace(u, count=u.count * batch, macs=u.macs * batch) for u in wl.unmapped))


def unique_layers(layers: list[Layer]) -> list[tuple[Layer, list[str]]]:
    """Layers with distinct cost shapes (`Layer.shape_key`), first-seen order, with the
    names of every layer sharing each shape: map each shape once, report it for all."""
    groups: dict[tuple, tuple[Layer, list[str]]] = {}
    for lay in layers:
        groups.setdefault(lay.shape_key(), (lay, []))[1].append(lay.name)
    return list(groups.values())
