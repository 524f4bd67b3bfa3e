"""Exhaustive enumeration: NN-Baton's own method, vectorised with numpy.

For each package split, chiplet split and pair of loop orders, the per-dimension
tables of every tile choice are stacked into arrays and `cost.combine` evaluates the
whole (H choices x W choices x K choices) grid at once. The same `combine` prices a
single mapping in `cost.evaluate`, so enumeration and evaluation cannot drift apart.

Spaces: 'template' restricts chiplet and core tiles to divisors of the part they
tile (what a template tool enumerates); 'full' allows every size (small layers).
"""
from __future__ import annotations

import time
from math import prod
from dataclasses import dataclass, field

import numpy as np

from mapper.cost import Evaluation, combine, dim_table, energy_breakdown, evaluate
from mapper.hwspec import Hardware
from mapper.layer import Layer
from mapper.space import (DimSplit, Mapping, ORDERS, core_splits, package_splits,
                          partition_type, tile_choices)

INF = np.iinfo(np.int64).max


@dataclass
class EnumResult:
    """The optimum, how many points were looked at, and the best per spatial pair."""

    layer: Layer
    best: Evaluation | None
    points: int
    feasible_points: int
    wall_s: float
    space: str
    per_partition: dict[str, Evaluation] = field(default_factory=dict)
    reason: str | None = None  # why nothing fits, when best is None

    def to_dict(self) -> dict:
        d = self.best.to_dict() if self.best else {"name": self.layer.name, "feasible": False,
                                                   "reason": self.reason}
        d.update(points=self.points, feasible_points=self.feasible_points,
                 solve_time_s=self.wall_s, space=self.space,
                 per_partition={k: v.energy_fj / 1000 for k, v in self.per_partition.items()})
        return d


def dim_choices(layer: Layer, hw: Hardware, dim: str, parts: int, core_parts: int,
                template: bool) -> list[DimSplit]:
    """Every (chiplet tile, core tile) cut of one dimension for given splits."""
    size = {"k": layer.K, "h": layer.H, "w": layer.W}[dim]
    out = []
    for t in tile_choices(size, parts, template):
        cores = [hw.lanes] if dim == "k" else tile_choices(t, core_parts, template)
        out += [DimSplit(size, parts, t, core_parts, u) for u in cores]
    return out


def _stack(layer: Layer, dim: str, splits: list[DimSplit], axis: int) -> dict:
    reach = None if dim == "k" else layer.reach(dim)
    tables = [dim_table(s, reach) for s in splits]
    shape = [1, 1, 1]
    shape[axis] = len(tables)
    return {key: np.array([t[key] for t in tables], dtype=np.int64).reshape(shape)
            for key in tables[0]}


FIXABLE = ("package", "chiplet", "chip_order", "core_order")


def enumerate_layer(layer: Layer, hw: Hardware, space: str = "template",
                    max_points: int | None = None, fixed: dict | None = None) -> EnumResult:
    """Exhaustive optimum of the C³P energy (ties: fewer cycles, then first found).

    `fixed` pins parts of the mapping: 'package' ('C'/'P'), 'chiplet' ('C'/'P'/'H'),
    'chip_order', 'core_order' ('channel'/'plane'); the rest is searched.
    """
    if space not in ("template", "full"):
        raise ValueError("space must be 'template' or 'full'")
    fixed = fixed or {}
    unknown = set(fixed) - set(FIXABLE)
    if unknown:
        raise ValueError(f"cannot fix {sorted(unknown)}; fixable: {FIXABLE}")
    template = space == "template"
    t0 = time.perf_counter()
    points = feasible_points = 0
    best_key: tuple | None = None
    best_mapping: Mapping | None = None
    per_pair: dict[str, tuple[tuple, Mapping]] = {}
    least_need: dict[str, tuple[int, int]] = {}  # buffer -> (smallest need, capacity), bits

    for pkg in package_splits(hw.n_chiplets):
        if fixed.get("package", partition_type(pkg)) != partition_type(pkg):
            continue
        for cs in core_splits(hw.n_cores):
            if fixed.get("chiplet", partition_type(cs)) != partition_type(cs):
                continue
            ch = {d: dim_choices(layer, hw, d, pkg[i], cs[i], template)
                  for i, d in enumerate("khw")}
            n = len(ch["k"]) * len(ch["h"]) * len(ch["w"])
            if max_points is not None and points + 4 * n > max_points:
                raise RuntimeError(f"space larger than max_points={max_points}")
            T = {"h": _stack(layer, "h", ch["h"], 0), "w": _stack(layer, "w", ch["w"], 1),
                 "k": _stack(layer, "k", ch["k"], 2)}
            pair = f"{partition_type(pkg)},{partition_type(cs)}"
            for co in ORDERS:
                for qo in ORDERS:
                    if fixed.get("chip_order", co) != co or fixed.get("core_order", qo) != qo:
                        continue
                    comb = combine(layer, hw, co, qo, cs, T)
                    for buf, (need, cap) in comb.needs.items():
                        low = int(np.min(need))
                        if buf not in least_need or low < least_need[buf][0]:
                            least_need[buf] = (low, cap)
                    energy = sum(energy_breakdown(comb.counts, hw).values())
                    energy = np.broadcast_to(energy, comb.feasible.shape)
                    cycles = np.broadcast_to(comb.counts["cycles"], comb.feasible.shape)
                    points += energy.size
                    feasible_points += int(comb.feasible.sum())
                    if not comb.feasible.any():
                        continue
                    e = np.where(comb.feasible, energy, INF)
                    cand = np.flatnonzero(e == e.min())
                    i = int(cand[np.argmin(cycles.ravel()[cand])])
                    ih, iw, ik = np.unravel_index(i, e.shape)
                    key = (int(e.ravel()[i]), int(cycles.ravel()[i]))
                    sh, sw, sk = ch["h"][ih], ch["w"][iw], ch["k"][ik]
                    mapping = Mapping(pkg, (sk.tile, sh.tile, sw.tile), co, cs,
                                      (sh.core_tile, sw.core_tile), qo)
                    if best_key is None or key < best_key:
                        best_key, best_mapping = key, mapping
                    if pair not in per_pair or key < per_pair[pair][0]:
                        per_pair[pair] = (key, mapping)

    wall = time.perf_counter() - t0
    best = evaluate(layer, hw, best_mapping) if best_mapping else None
    if best is not None:
        assert best.energy_fj == best_key[0], "enumeration and evaluation disagree"
    per_partition = {p: evaluate(layer, hw, m) for p, (_, m) in sorted(per_pair.items())}
    reason = None if best else no_fit_reason(least_need, bool(fixed))
    return EnumResult(layer, best, points, feasible_points, wall, space, per_partition, reason)


def no_fit_reason(least_need: dict[str, tuple[int, int]], fixed: bool) -> str:
    """Which buffers are too small for even the smallest tiles of the space, by how much."""
    short = [f"{buf} needs at least {-(-need // 8)} B even with the smallest tiles but holds "
             f"{cap // 8} B (short by {-(-(need - cap) // 8)} B)"
             for buf, (need, cap) in least_need.items() if need > cap]
    if not short:  # each buffer fits some mapping, but no single mapping fits all
        short = ["no single mapping satisfies every buffer at once"]
    return "; ".join(short) + (" (with the fixed choices)" if fixed else "")


def space_size(layer: Layer, hw: Hardware, space: str = "template") -> int:
    """Number of points `enumerate_layer` would evaluate, counted without building them
    (the full space of a long dimension has ~D^2/2 cuts)."""
    template = space == "template"

    def count(dim: str, parts: int, core_parts: int) -> int:
        size = {"k": layer.K, "h": layer.H, "w": layer.W}[dim]
        tiles = tile_choices(size, parts, template)
        if dim == "k":
            return len(tiles)
        if template:
            return sum(len(tile_choices(t, core_parts, True)) for t in tiles)
        return sum(-(-t // core_parts) for t in tiles)

    total = 0
    for pkg in package_splits(hw.n_chiplets):
        for cs in core_splits(hw.n_cores):
            total += 4 * prod(count(d, pkg[i], cs[i]) for i, d in enumerate("khw"))
    return total
