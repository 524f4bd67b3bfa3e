"""MAC-carrying operators as layers of the layer model, for every importer (torch, ONNX).

Framework-free: an importer reads an op's shapes and attributes and calls `conv_layers` or
`matmul_layers`; an op the layer model cannot hold raises `Unmappable`, and the importer
reports it with its MACs (`conv_macs`) instead of dropping it. The rules, once:

* A matrix product out[g, M, N] = a[g, M, D] @ b[g, D, N] over G independent groups is G
  1x1 layers with the M rows on the plane (H=M, W=1), C=D, K=N; the second operand plays
  the weights' part. Trained weights make an "fc" layer; an activation (keys, values, a
  KV cache) a "matmul" layer whose `operand` names it. Batch dimensions over which `b` is
  shared fold into the rows (one weight, more rows), the others are groups.
* A 1-D convolution runs on a line: H = output length, W = 1, R = kernel, S = 1.
* A transposed convolution is its sub-pixel decomposition: output position o gets the
  taps t with (o + padding - t*dilation) divisible by the stride, so the outputs split
  into stride^2 phases, each an ordinary stride-1 convolution of the input with the taps
  of its phase. MACs are exact: no inserted zeros are multiplied, and outputs cropped by
  the padding are not computed. (torch's flop counter counts every input x tap product,
  cropped ones too, so it can count more at the border.)
* 3-D convolutions, asymmetric strides or dilations are not layers: `Unmappable`.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Callable

from mapper.layer import WEIGHTS, Layer


class Found:
    """What an importer collects while it walks a graph once: the layers in order (a name
    used again gets "@2", "@3", ...), the unmapped MAC ops by (op, reason) as
    [count, MACs, first place], and the ops without MACs with their output elements."""

    def __init__(self, model: str, where: str) -> None:
        self.model = model
        self.where = where  # the model or file, for messages
        self.layers: list[Layer] = []
        self.unmapped: dict[tuple[str, str], list] = {}
        self.skipped: dict[str, int] = {}
        self.elements: dict[str, int] = {}
        self.calls: dict[str, int] = {}

    def name(self, base: str) -> str:
        self.calls[base] = self.calls.get(base, 0) + 1
        return base if self.calls[base] == 1 else f"{base}@{self.calls[base]}"

    def add(self, layers: list[Layer]) -> None:
        from mapper.workload import _check_size
        for lay in layers:
            _check_size(lay, f"{self.where}, layer {lay.name!r}")
        self.layers += layers


class Unmappable(Exception):
    """The op carries MACs the layer model cannot hold; the message says why."""


def _pair(values: tuple[int, ...] | list[int], what: str) -> int:
    if len(set(values)) != 1:
        raise Unmappable(f"asymmetric {what} {tuple(values)}: the layer model has one {what} for both axes")
    return int(values[0])


def conv_macs(n: int, c_in: int, c_out: int, groups: int, kernel: tuple[int, ...],
              out_spatial: tuple[int, ...]) -> int:
    """MACs of an ordinary (not transposed) convolution, padding taps included."""
    return n * c_out * (c_in // groups) * math.prod(kernel) * math.prod(out_spatial)


def conv_layers(name: str, *, n: int, c_in: int, c_out: int, kernel: tuple[int, ...],
                out_spatial: tuple[int, ...], stride: tuple[int, ...], padding: tuple[int, ...],
                dilation: tuple[int, ...], groups: int, transposed: bool = False,
                operand: str = WEIGHTS) -> list[Layer]:
    """The layers of a 1-D or 2-D convolution (grouped ones split into dense groups).

    `padding` is per side, one value per spatial axis (the cost model reads the padded
    window, so padding is descriptive: the larger of the axes' is kept).
    """
    dims = len(kernel)
    if dims not in (1, 2):
        raise Unmappable(f"{dims}-D convolution: the layer model has a 2-D plane; "
                         f"describe it as 2-D layers in a YAML layer list")
    if dims == 1:  # a line: on H, with a 1-wide W
        kernel, out_spatial = (kernel[0], 1), (out_spatial[0], 1)
        stride, padding, dilation = (stride[0],) * 2, (padding[0], 0), (dilation[0],) * 2
    if transposed:
        return _transposed(name, n=n, c_in=c_in, c_out=c_out, kernel=kernel, out_spatial=out_spatial,
                           stride=stride, padding=padding, dilation=dilation, groups=groups, operand=operand)
    s, d = _pair(stride, "stride"), _pair(dilation, "dilation")
    lay = Layer(name=name, K=c_out, C=c_in, H=out_spatial[0], W=out_spatial[1], R=kernel[0], S=kernel[1],
                stride=s, padding=_padding(padding, kernel, d), dilation=d, groups=groups, N=n,
                kind="conv", operand=operand)
    return _split_groups(lay)


def _padding(padding: tuple[int, ...], kernel: tuple[int, ...], dilation: int) -> int:
    reach = dilation * (max(kernel) - 1)
    return min(max(max(padding), 0), reach)


def _split_groups(lay: Layer) -> list[Layer]:
    """Dense and depthwise layers as they are; other grouped ones as `groups` dense layers."""
    if lay.groups > 1 and lay.groups == lay.C == lay.K:
        return [replace(lay, kind="depthwise")]
    if lay.groups == 1:
        return [lay]
    g = lay.groups
    return [replace(lay, name=f"{lay.name}.g{i}", K=lay.K // g, C=lay.C // g, groups=1)
            for i in range(g)]


def subpixel_phases(out_len: int, kernel: int, stride: int, padding: int,
                    dilation: int) -> list[tuple[int, int, int, int]]:
    """The phases of one axis of a transposed convolution: (first output, outputs, taps, tap
    spacing on the input) for every phase that has outputs and taps."""
    phases = []
    for first in range(min(stride, out_len)):
        r = (first + padding) % stride
        taps = [t for t in range(kernel) if (t * dilation) % stride == r]
        outputs = len(range(first, out_len, stride))
        if taps and outputs:
            spacing = (taps[1] - taps[0]) * dilation // stride if len(taps) > 1 else 1
            phases.append((first, outputs, len(taps), spacing))
    return phases


def _transposed(name: str, *, n: int, c_in: int, c_out: int, kernel: tuple[int, ...],
                out_spatial: tuple[int, ...], stride: tuple[int, ...], padding: tuple[int, ...],
                dilation: tuple[int, ...], groups: int, operand: str) -> list[Layer]:
    """Sub-pixel decomposition: one stride-1 convolution per (row phase, column phase)."""
    rows = subpixel_phases(out_spatial[0], kernel[0], stride[0], padding[0], dilation[0])
    cols = subpixel_phases(out_spatial[1], kernel[1], stride[1], padding[1], dilation[1])
    layers: list[Layer] = []
    for fh, oh, th, dh in rows:
        for fw, ow, tw, dw in cols:
            if th > 1 and tw > 1 and dh != dw:
                raise Unmappable(f"transposed convolution whose phase ({fh}, {fw}) has taps spaced "
                                 f"{dh} and {dw} apart: the layer model has one dilation")
            d = dh if th > 1 else dw
            lay = Layer(name=f"{name}.p{fh}{fw}" if len(rows) * len(cols) > 1 else name,
                        K=c_out, C=c_in, H=oh, W=ow, R=th, S=tw, stride=1,
                        padding=d * (max(th, tw) - 1) // 2,  # descriptive (see conv_layers)
                        dilation=d, groups=groups, N=n, kind="conv", operand=operand)
            layers += _split_groups(lay)
    if not layers:
        raise Unmappable("transposed convolution with no output that any tap reaches")
    return layers


def transposed_macs(n: int, c_in: int, c_out: int, groups: int, kernel: tuple[int, ...],
                    out_spatial: tuple[int, ...], stride: tuple[int, ...], padding: tuple[int, ...],
                    dilation: tuple[int, ...]) -> int:
    """Exact MACs of a transposed convolution: every (needed output, tap) pair."""
    per_axis = [sum(o * t for _, o, t, _ in subpixel_phases(out, k, s, p, d))
                for out, k, s, p, d in zip(out_spatial, kernel, stride, padding, dilation)]
    return n * c_out * (c_in // groups) * math.prod(per_axis)


def matmul_layers(name: str, *, groups: int, rows: int, inner: int, cols: int,
                  operand: str = WEIGHTS) -> list[Layer]:
    """`groups` independent products [rows x inner] @ [inner x cols] as layers."""
    kind = "fc" if operand == WEIGHTS else "matmul"
    lay = Layer(name=name, K=cols, C=inner, H=rows, W=1, kind=kind, operand=operand)
    if groups == 1:
        return [lay]
    return [replace(lay, name=f"{name}.g{i}") for i in range(groups)]


def broadcast_matmul(a_shape: tuple[int, ...], b_shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """(groups, rows, inner, cols) of torch/numpy matmul semantics on these shapes: batch
    dimensions along which `b` is shared (size 1 or absent) fold into the rows."""
    if len(a_shape) == 1:
        a_shape = (1,) + tuple(a_shape)
    if len(b_shape) == 1:
        b_shape = tuple(b_shape) + (1,)
    *a_batch, m, inner = a_shape
    *b_batch, inner_b, cols = b_shape
    if inner != inner_b:
        raise Unmappable(f"matmul of shapes {tuple(a_shape)} and {tuple(b_shape)}: inner sizes differ")
    width = max(len(a_batch), len(b_batch))
    a_batch = [1] * (width - len(a_batch)) + list(a_batch)
    b_batch = [1] * (width - len(b_batch)) + list(b_batch)
    groups, rows = 1, m
    for a, b in zip(a_batch, b_batch):
        if b == 1:
            rows *= a
        else:
            groups *= max(a, b)
    return groups, rows, inner, cols


def operand_label(sources: set[str], trained: str, first_input: str | None,
                  from_softmax: Callable[[], bool], to_softmax: Callable[[], bool]) -> str:
    """What the second operand `b` of out = a @ b is, from what it is made of: `sources`
    are "<trained>:<name>" (a parameter or initializer), "const", "input:<name>" (a graph
    input) or "computed". Trained and constant only: "weights". Otherwise an activation:
    "values" if `a` comes from a softmax, "keys" if `out` flows into one, else
    "activation"; keys or values fed by a graph input other than the first are the
    "K-cache" / "V-cache"."""
    if all(s.startswith(trained + ":") or s == "const" for s in sources):
        return WEIGHTS
    role = "values" if from_softmax() else "keys" if to_softmax() else "activation"
    fed = any(s.startswith("input:") and s[6:] != first_input for s in sources)
    if fed and role != "activation":
        return {"keys": "K-cache", "values": "V-cache"}[role]
    return role
