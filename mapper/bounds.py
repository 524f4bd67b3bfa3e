"""Lower bounds on a layer's DRAM traffic that hold for every mapping, not only ours.

Two bounds, the larger of which `mapper gap` reports the optimum against
(derivation and worked example: docs/cost-model.md, "Lower bounds on DRAM traffic"):

- compulsory: every weight and every (padded) input read once, every output written once;
- capacity: the red-blue pebble argument of Hong & Kung (STOC 1981) with the
  Loomis-Whitney counting of Irony, Toledo & Tiskin (JPDC 2004), applied tap by tap to a
  convolution in the spirit of Demmel & Dinh (arXiv:1802.06905). It charges the traffic
  that a package of limited on-chip storage cannot avoid: with S words on chip, a run of
  M DRAM transfers touches at most 2S + M distinct elements, and at most
  sqrt(T) * ((2S + M) / 3) ** 1.5 MACs can use them (T = filter taps).
"""
from __future__ import annotations

from dataclasses import dataclass
from math import floor, sqrt

from mapper.hwspec import Hardware
from mapper.layer import Layer

# Segment lengths tried, as multiples of the on-chip words S. Any M > 0 gives a valid
# bound; the supremum over M lies below 4S (docs/cost-model.md), so 1/16 .. 4 in
# steps of 1/16 comes within a fraction of a percent of it.
SEGMENT_MULTIPLES = tuple(j / 16 for j in range(1, 65))


def word_bits(hw: Hardware) -> int:
    """The narrowest datum DRAM moves: counting every transfer at this width keeps the
    bound valid whatever mix of weights, inputs and outputs a mapping moves."""
    return min(hw.act_bits, hw.weight_bits)


def onchip_words(hw: Hardware) -> int:
    """Words the whole package can hold at once: every L1 of every core, every L2 of
    every chiplet, plus one weight and one input register per multiplier. Counting
    24-bit partial sums as narrow words over-counts what fits, which only weakens
    (never invalidates) the bound."""
    per_core = hw.o_l1 + hw.a_l1 + hw.w_l1
    per_chiplet = hw.n_cores * per_core + hw.a_l2 + hw.o_l2
    return hw.n_chiplets * per_chiplet * 8 // word_bits(hw) + 2 * hw.macs


def compulsory_dram_bits(layer: Layer, hw: Hardware) -> int:
    """The DRAM traffic no mapping avoids: every weight and every (padded) input read
    once, every output written once. Data shared between chiplets travels the ring
    (rotation) instead of coming from DRAM again, so sharing adds die-to-die traffic,
    never DRAM traffic below this."""
    return layer.weights * hw.weight_bits + (layer.inputs + layer.outputs) * hw.act_bits


def capacity_dram_words(layer: Layer, hw: Hardware) -> int:
    """Red-blue pebble bound on DRAM transfers (words); 0 when the on-chip storage is
    large enough for the bound to say nothing."""
    s, taps = onchip_words(hw), layer.R * layer.S
    best = 0.0
    for a in SEGMENT_MULTIPLES:
        m = a * s
        macs_per_segment = sqrt(taps) * ((2 * s + m) / 3) ** 1.5
        best = max(best, m * (layer.macs / macs_per_segment - 1))
    return max(0, floor(best))


@dataclass(frozen=True)
class DramBound:
    compulsory_bits: int
    capacity_bits: int

    @property
    def bits(self) -> int:
        return max(self.compulsory_bits, self.capacity_bits)

    @property
    def binding(self) -> str:
        """Which bound is the larger: 'compulsory' or 'capacity'."""
        return "capacity" if self.capacity_bits > self.compulsory_bits else "compulsory"


def dram_lower_bound(layer: Layer, hw: Hardware) -> DramBound:
    return DramBound(compulsory_dram_bits(layer, hw), capacity_dram_words(layer, hw) * word_bits(hw))
