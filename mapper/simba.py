"""Simba's weight-centric dataflow on NN-Baton's hardware model (docs/simba.md).

NN-Baton (Tan et al., ISCA 2021) Sec. III-B: "Simba splits input
channels (CI) along rows and splits output channels (CO) along columns ... partial sums
are accumulated from the top to the bottom row across cores and chips". The chiplets
form a rows_p x cols_p grid and the cores of a chiplet a rows_c x cols_c grid (the most
square factorisations); PE (row r, column c) of the whole package holds the weights of
its input-channel part (rows) and output-channel part (columns). The loop nest:

    for plane tile (th x tw outputs, ragged at the edges):      # all PEs in lock step
      parallel_for row r, column c:
        for k-block of L lanes in the column's K part:
          for c-block of P channels in the row's C part: for r, s: for pixel: MAC
        add the partial sums from the row above; pass them down (24 bit)

Counts use the fields of `cost.py` (priced by `cost.energy_breakdown`), plus `d2d_p`:
partial sums crossing a chiplet boundary on their way down a column.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import ceil, isqrt

import numpy as np

from mapper.cost import Evaluation, energy_breakdown, infeasibility, latency, windows
from mapper.hwspec import Hardware
from mapper.layer import Layer
from mapper.space import split


def grid(n: int) -> tuple[int, int]:
    """rows x columns: the most square factorisation of n units (rows <= columns)."""
    rows = max(d for d in range(1, isqrt(n) + 1) if n % d == 0)
    return rows, n // rows


def chiplet_grid(hw: Hardware) -> tuple[int, int]:
    """The package's rows x columns of chiplets: the mesh itself, or on a ring the most
    square arrangement (NN-Baton's 4-chiplet Simba: 2 x 2)."""
    return hw.mesh if hw.topology == "mesh" and hw.mesh else grid(hw.n_chiplets)


def links(hw: Hardware) -> int | None:
    """Die-to-die links the dataflow drives at once: on a mesh, every link east along the
    rows (inputs) and south down the columns (partial sums); on NN-Baton's ring, None:
    the ring's own N_P (`cost.bandwidths`)."""
    if hw.topology != "mesh" or not hw.mesh:
        return None
    rows, cols = hw.mesh
    return rows * (cols - 1) + cols * (rows - 1)


@dataclass(frozen=True)
class SimbaMapping:
    """The only free choice of the dataflow: the plane tile (outputs, H x W)."""

    th: int
    tw: int

    def short(self) -> str:
        return f"Simba WC tile {self.th}x{self.tw}"

    def describe(self) -> str:
        return (f"Simba weight-centric: input channels on PE rows, output channels on PE "
                f"columns, plane tile {self.th}x{self.tw}, partial sums down the columns")

    def to_dict(self) -> dict:
        return {"dataflow": "simba", "plane_tile": [self.th, self.tw]}


def applicable(layer: Layer) -> str | None:
    """Why the dataflow does not apply to a layer, or None."""
    if layer.depthwise:
        return ("the weight-centric dataflow splits input channels across PE rows; a depthwise "
                "layer has one input channel per output channel")
    return None


def counts(layer: Layer, hw: Hardware, th, tw) -> tuple[dict, dict]:
    """Counted fields and hard needs ({buffer: (need bits, capacity bits)}) for plane tiles
    th x tw (ints, or numpy arrays for many tiles at once)."""
    rows_p, cols_p = chiplet_grid(hw)
    rows_c, cols_c = grid(hw.n_cores)
    L, P, N, RS = hw.lanes, hw.vector, layer.N, layer.R * layer.S
    ab, wb, pb = hw.act_bits, hw.weight_bits, hw.psum_bits
    cr = split(layer.Cr, rows_p * rows_c)  # input channels of each active PE row
    ck = split(layer.K, cols_p * cols_c)  # output channels of each active PE column
    chip_rows, chip_cols = ceil(len(cr) / rows_c), ceil(len(ck) / cols_c)  # active chiplets
    chan_chip = max(sum(cr[i:i + rows_c]) for i in range(0, len(cr), rows_c))
    k_chip = max(sum(ck[i:i + cols_c]) for i in range(0, len(ck), cols_c))
    th, tw = np.asarray(th), np.asarray(tw)
    win_h, win_w = windows(layer.H, layer.reach("h")), windows(layer.W, layer.reach("w"))
    n_h, n_w = -(-layer.H // th), -(-layer.W // tw)
    # sum over the plane tiles of each tile's input window (full tiles, then the remainder)
    sum_win = ((layer.H // th) * win_h[th] + win_h[layer.H % th]) \
        * ((layer.W // tw) * win_w[tw] + win_w[layer.W % tw])
    tiles = n_h * n_w
    pe_weights = max(ck) * max(cr) * RS  # the largest PE's weights
    weight_loads = np.where(pe_weights * wb <= hw.capacity_bits("w_l1"), 1, N * tiles)  # per tile of every image
    dram_a = N * layer.C * sum_win  # each chiplet row reads its channels once per tile
    # A-L1 keeps a PE row's whole window if it fits; else it is streamed a c-block at a
    # time and sent again for every k-block of the PE
    a_fits = max(cr) * win_h[th] * win_w[tw] * ab <= hw.capacity_bits("a_l1")
    kblocks = [ceil(k / L) for k in ck]
    outputs, pixels = layer.outputs, N * layer.H * layer.W
    c = {
        "dram_read_w": layer.weights * weight_loads,
        "dram_read_a": dram_a,
        "dram_write_o": outputs,
        "d2d_w": 0,
        "d2d_a": dram_a * (chip_cols - 1),  # to the other chiplets of the row
        "d2d_p": outputs * (chip_rows - 1),  # partial sums down across chiplet rows
        "a_l2_write": dram_a * chip_cols,
        "a_l2_read": dram_a * chip_cols * np.where(a_fits, 1, max(kblocks)),  # multicast to a PE row
        "a_l1_write": dram_a * np.where(a_fits, len(ck), sum(kblocks)),  # every PE of the row
        "a_l1_read": pixels * RS * layer.C * sum(ceil(k / L) for k in ck),
        "w_l1_write": layer.weights * weight_loads,
        "w_l1_read": N * layer.weights * tiles,  # weight-stationary over a tile's pixels
        "o_l1_rmw": pixels * RS * layer.K * sum(ceil(r / P) for r in cr) + outputs * (len(cr) - 1),
        "o_l2_write": outputs,
        "o_l2_read": outputs,
        "macs": layer.macs,
        "compute_cycles": pixels * RS * ceil(max(cr) / P) * ceil(max(ck) / L),
    }
    c["cycles"] = latency(c, hw, links(hw))["cycles"]
    needs = {
        "o_l1": (th * tw * L * pb, hw.capacity_bits("o_l1")),
        "a_l1": (min(P, max(cr)) * win_h[th] * win_w[tw] * ab, hw.capacity_bits("a_l1")),  # a c-block
        "w_l1": (L * min(P, max(cr)) * RS * wb, hw.capacity_bits("w_l1")),
        "a_l2": (chan_chip * win_h[th] * win_w[tw] * ab, hw.capacity_bits("a_l2")),
        "o_l2": (th * tw * k_chip * ab, hw.capacity_bits("o_l2")),
    }
    return c, needs


def evaluate_simba(layer: Layer, hw: Hardware, m: SimbaMapping) -> Evaluation:
    c, needs = counts(layer, hw, m.th, m.tw)
    c = {k: int(v) for k, v in c.items()}
    breakdown = {k: int(v) for k, v in energy_breakdown(c, hw).items()}
    reason = infeasibility({k: (int(n), cap) for k, (n, cap) in needs.items()})
    times = {k: int(v) for k, v in latency(c, hw, links(hw)).items() if k != "cycles"}
    return Evaluation(layer=layer, mapping=m, feasible=reason is None, reason=reason, counts=c,
                      breakdown_fj=breakdown, energy_fj=sum(breakdown.values()), cycles=c["cycles"],
                      utilization=layer.macs / (c["cycles"] * hw.macs),
                      latency_s=c["cycles"] / (hw.frequency_mhz * 1e6), retention={}, times=times)


def best_simba(layer: Layer, hw: Hardware) -> tuple[Evaluation | None, int, int, str]:
    """The Simba dataflow with its best plane tile (every th x tw tried; ties: the first
    in (th, tw) order). Returns (evaluation or None, points, feasible points, note)."""
    why = applicable(layer)
    if why:
        return None, 0, 0, why
    th, tw = np.meshgrid(np.arange(1, layer.H + 1), np.arange(1, layer.W + 1), indexing="ij")
    th, tw = th.ravel(), tw.ravel()
    c, needs = counts(layer, hw, th, tw)
    ok = np.ones(len(th), dtype=bool)
    for need, cap in needs.values():
        ok &= need <= cap
    if not ok.any():
        return None, len(th), 0, "no plane tile fits: " + (infeasibility(
            {k: (int(np.min(n)), cap) for k, (n, cap) in needs.items()}) or "the buffers conflict")
    energy = np.broadcast_to(sum(energy_breakdown(c, hw).values()), th.shape)
    j = int(np.argmin(np.where(ok, energy, np.iinfo(np.int64).max)))
    return evaluate_simba(layer, hw, SimbaMapping(int(th[j]), int(tw[j]))), len(th), int(ok.sum()), ""
