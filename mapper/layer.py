"""The Layer: one convolution (or FC as a 1x1 convolution) in output-centric terms.

H and W are the *output* plane. The input plane is described by the window a tile
of outputs needs (see `Layer.window`), so ragged tiles stay exact.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

KINDS = ("conv", "depthwise", "fc")


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

    def window(self, n_out: int, axis: str) -> int:
        """Input rows (axis 'h') or columns ('w') needed by n_out *contiguous* outputs.

        Each output needs the window [o*stride, o*stride + R_eff) of the padded input.
        The union over n contiguous outputs is step*n + halo with step = min(stride,
        R_eff) and halo = R_eff - step, so summed over any contiguous partition of
        D outputs into m pieces it is step*D + m*halo: exact for ragged tiles.
        """
        if n_out <= 0:
            return 0
        step, halo = self.step_halo(axis)
        return step * n_out + halo

    def step_halo(self, axis: str) -> tuple[int, int]:
        r_eff = self.R_eff if axis == "h" else self.S_eff
        step = min(self.stride, r_eff)
        return step, r_eff - step

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
        d["macs"] = self.macs
        return d

    def shape_key(self) -> tuple:
        """Everything that affects cost (the name does not)."""
        return (self.K, self.C, self.H, self.W, self.R, self.S, self.stride,
                self.padding, self.dilation, self.groups, self.N)
