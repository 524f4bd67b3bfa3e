"""Named fixed dataflows: partition types, loop orders or tiles pinned, the rest searched.

The vocabulary is Venkatesan's tutorial's ("Basic design approaches to accelerating DNNs", 2020, "Dataflows:
Temporal Data Reuse"): which operand stays put while the others stream. Inside a core
NN-Baton is always weight-stationary over the pixels of a core tile and
output-stationary over the reduction; these names pin the choices *above* the core.
"""
from __future__ import annotations

import numpy as np

from mapper.hwspec import Hardware
from mapper.layer import Layer
from mapper.solvers.enumerate import EnumResult, enumerate_layer

NAMED: dict[str, tuple[str, dict[str, str]]] = {
    "ws": ("weight-stationary: weights stay while the plane sweeps (plane-priority at both "
           "levels), plane split across chiplets and cores so weights are shared",
           {"package": "P", "chiplet": "P", "chip_order": "plane", "core_order": "plane"}),
    "is": ("input-stationary: a plane tile's inputs stay while output channels sweep "
           "(channel-priority at both levels), channels split so inputs are shared",
           {"package": "C", "chiplet": "C", "chip_order": "channel", "core_order": "channel"}),
    "os": ("output-stationary: each core keeps all its outputs of a chiplet tile in its "
           "registers (one core tile per chiplet tile: the core loop runs once), so partial "
           "sums never leave O-L1 while inputs and weights stream; splits and orders free",
           {}),
}


def fixed_choices(name: str, hw: Hardware) -> dict[str, str]:
    """The pinned choices of a named dataflow (a trivial split has only one type)."""
    fixed = dict(NAMED[name][1])
    if hw.n_chiplets == 1:
        fixed.pop("package", None)
    if hw.n_cores == 1:
        fixed.pop("chiplet", None)
    return fixed


def cut_filter(name: str, hw: Hardware):
    """The tile restriction of a named dataflow for `enumerate_layer`, or None."""
    if name != "os":
        return None

    def one_core_tile(dim: str, parts: int, core_parts: int, cuts) -> np.ndarray:
        per_core = -(-cuts.tile // core_parts)  # a core's part of a chiplet tile
        return per_core <= (hw.lanes if dim == "k" else cuts.core)

    return one_core_tile


def best_of(name: str, layer: Layer, hw: Hardware) -> EnumResult:
    """The named dataflow with its best template tiles (exhaustive over what it allows)."""
    return enumerate_layer(layer, hw, "template", fixed=fixed_choices(name, hw),
                           cut_filter=cut_filter(name, hw))
