"""The Layer: one convolution (or FC or matmul as a 1x1 convolution) in output-centric terms.

H and W are the *output* plane. A matrix product out[M, N] = a[M, D] @ b[D, N] is a 1x1
layer with the M rows on the plane (H=M, W=1), C=D and K=N: its second operand `b` plays
the weights' part (read once per row tile, reused across the rows), whatever it is —
trained weights (kind "fc") or an activation such as an attention's keys (kind "matmul",
`operand` says which). The input plane is described by the rows a set of
outputs needs (`window_union`), so ragged tiles and dilation stay exact.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

KINDS = ("conv", "depthwise", "fc", "matmul")
# Where a layer's second operand (the part the cost model calls weights) comes from.
WEIGHTS = "weights"


def window_union(segments: list[tuple[int, int]], stride: int, taps: int, dilation: int) -> int:
    """Distinct padded-input rows that a set of output rows needs, exactly.

    Output row o reads rows o*stride + dilation*i for i < taps. `segments` are
    (first output, count) runs. Without dilation each run needs one contiguous span
    (stride <= taps) or `taps` rows per output (stride > taps: windows never touch),
    so the union is interval arithmetic; dilated kernels skip rows and are counted
    as an explicit set. Summed over a contiguous partition of D outputs into m runs,
    the undilated count is min(stride, taps)*D + m*(taps - min(stride, taps)).
    """
    if dilation == 1 and stride > taps:
        outputs = _interval_union([(o, o + n) for o, n in segments])
        return outputs * taps
    if dilation == 1:
        return _interval_union([(o * stride, (o + n - 1) * stride + taps) for o, n in segments])
    return len({o * stride + dilation * i for o0, n in segments
                for o in range(o0, o0 + n) for i in range(taps)})


def _interval_union(intervals: list[tuple[int, int]]) -> int:
    """Length of the union of half-open intervals."""
    total, end = 0, None
    for lo, hi in sorted(intervals):
        if end is None or lo > end:
            total, end = total + hi - lo, hi
        elif hi > end:
            total, end = total + hi - end, hi
    return total


@dataclass(frozen=True)
class Layer:
    """A convolution layer. K/C are output/input channels, H/W the output plane."""

    name: str
    K: int
    C: int
    H: int
    W: int
    R: int = 1
    S: int = 1
    stride: int = 1
    padding: int = 0
    dilation: int = 1
    groups: int = 1
    N: int = 1
    kind: str = "conv"
    # Fraction of non-zero input / output activations, when they are stored run-length
    # coded in DRAM (Eyeriss); None: stored raw. Only for the RLC estimate
    # (cost.rlc_dram_bits): the mapping is optimised for the raw traffic.
    in_density: float | None = None
    out_density: float | None = None
    # The origin of the second operand: "weights" (trained), or an activation ("keys",
    # "values", "K-cache", "V-cache", "activation", ...): priced the same, named in reports.
    operand: str = WEIGHTS

    # --- derived shape facts -------------------------------------------------
    @property
    def depthwise(self) -> bool:
        """One input channel per output channel (groups == C == K)."""
        return self.groups > 1 and self.groups == self.C == self.K

    @property
    def Cr(self) -> int:
        """Input channels reduced into one output (C / groups)."""
        return self.C // self.groups

    @property
    def R_eff(self) -> int:
        return self.dilation * (self.R - 1) + 1

    @property
    def S_eff(self) -> int:
        return self.dilation * (self.S - 1) + 1

    def reach(self, axis: str) -> tuple[int, int, int]:
        """(stride, kernel taps, dilation) along axis 'h' (R) or 'w' (S)."""
        return self.stride, (self.R if axis == "h" else self.S), self.dilation

    def window(self, n_out: int, axis: str) -> int:
        """Input rows (axis 'h') or columns ('w') that n_out contiguous outputs need."""
        return window_union([(0, n_out)], *self.reach(axis)) if n_out > 0 else 0

    @property
    def macs(self) -> int:
        return self.N * self.K * self.Cr * self.H * self.W * self.R * self.S

    @property
    def weights(self) -> int:
        return self.K * self.Cr * self.R * self.S

    @property
    def outputs(self) -> int:
        return self.N * self.K * self.H * self.W

    @property
    def inputs(self) -> int:
        """Input elements the whole layer reads (padded window, once each)."""
        return self.N * self.C * self.window(self.H, "h") * self.window(self.W, "w")

    def to_dict(self) -> dict:
        d = asdict(self)
        for key in ("in_density", "out_density"):  # absent unless given: files stay as they were
            if d[key] is None:
                del d[key]
        if d["operand"] == WEIGHTS:
            del d["operand"]
        d["macs"] = self.macs
        return d

    def shape_key(self) -> tuple:
        """Everything that affects cost (the name does not)."""
        return (self.K, self.C, self.H, self.W, self.R, self.S, self.stride,
                self.padding, self.dilation, self.groups, self.N)
