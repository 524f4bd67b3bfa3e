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
from typing import Callable

import numpy as np

from mapper import pareto
from mapper.cost import Columns, Evaluation, combine, dim_tables, energy_breakdown, evaluate
from mapper.hwspec import Hardware
from mapper.layer import Layer
from mapper.space import (Mapping, ORDERS, core_splits, package_splits,
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
    # the best (energy fJ, cycles) and mapping of each exact (package split, chiplet split)
    per_split: dict[tuple, tuple[tuple[int, int], Mapping]] = field(default_factory=dict)
    reason: str | None = None  # why nothing fits, when best is None
    # with front=True: every non-dominated (energy fJ, cycles) pair, energy ascending
    front: tuple[np.ndarray, np.ndarray] | None = None

    def to_dict(self) -> dict:
        d = self.best.to_dict() if self.best else {"name": self.layer.name, "feasible": False,
                                                   "reason": self.reason}
        d.update(points=self.points, feasible_points=self.feasible_points,
                 solve_time_s=self.wall_s, space=self.space,
                 per_partition={k: v.energy_fj / 1000 for k, v in self.per_partition.items()})
        return d


@dataclass(frozen=True)
class Cuts:
    """The (chiplet tile, core tile) cuts of one dimension for given splits, as arrays."""

    tile: np.ndarray
    core: np.ndarray

    def __len__(self) -> int:
        return len(self.tile)


def dim_size(layer: Layer, dim: str) -> int:
    return {"k": layer.K, "h": layer.H, "w": layer.W}[dim]


def dim_choices(layer: Layer, hw: Hardware, dim: str, parts: int, core_parts: int,
                template: bool, max_tile: int | None = None, max_core: int | None = None) -> Cuts:
    """Every (chiplet tile, core tile) cut of one dimension for given splits, in
    (tile, core tile) ascending order. K's core tile is the lane count. `max_tile` and
    `max_core` leave out the cuts whose chiplet or core tile is larger (the full space of
    a long dimension has ~D^2/2 cuts, most of which overflow a buffer)."""
    tiles = np.array(tile_choices(dim_size(layer, dim), parts, template), dtype=np.int64)
    if max_tile is not None:
        tiles = tiles[tiles <= max_tile]
    if dim == "k":
        return Cuts(tiles, np.full(len(tiles), hw.lanes, dtype=np.int64))
    if template:
        pairs = [(t, u) for t in tiles.tolist() for u in tile_choices(t, core_parts, True)
                 if max_core is None or u <= max_core]
        return Cuts(*(np.array(v, dtype=np.int64).reshape(-1) for v in (zip(*pairs) if pairs else ((), ()))))
    n = -(-tiles // core_parts)  # full space: every core tile 1..ceil(t / core_parts)
    if max_core is not None:
        n = np.minimum(n, max_core)
    start = np.repeat(np.cumsum(n) - n, n)
    return Cuts(np.repeat(tiles, n), np.arange(int(n.sum()), dtype=np.int64) - start + 1)


def cut_tables(layer: Layer, dim: str, parts: int, core_parts: int, cuts: Cuts) -> np.ndarray:
    """`cost.dim_tables` of a set of cuts (rows) of one dimension."""
    reach = None if dim == "k" else layer.reach(dim)
    return dim_tables(dim_size(layer, dim), parts, core_parts, cuts.tile, cuts.core, reach)


FIXABLE = ("package", "chiplet", "chip_order", "core_order", "batch_tile")


def batch_tiles(layer: Layer, template: bool, fixed: dict | None) -> list[int]:
    """The batch tiles to search: the fixed one, else (like every tile) the divisors of N
    (template) or the sizes from 1 to N (full). A tile matters only through its number of
    steps ceil(N / b) (fills, reads, cycles), while every buffer need grows with b, so of
    the tiles with the same number of steps only the smallest is kept: exact, and
    N = 16 takes 7 solves instead of 16. One image per step at batch 1."""
    if fixed and "batch_tile" in fixed:
        b = fixed["batch_tile"]
        if isinstance(b, bool) or not isinstance(b, int) or not 1 <= b <= layer.N:
            raise ValueError(f"batch_tile must be a whole number from 1 to the batch N = {layer.N}, got {b!r}")
        return [b]
    steps: dict[int, int] = {}
    for b in tile_choices(layer.N, 1, template):
        steps.setdefault(-(-layer.N // b), b)
    return sorted(steps.values())


CutFilter = Callable[[str, int, int, Cuts], np.ndarray]  # (dim, parts, core parts, cuts) -> keep mask


def enumerate_layer(layer: Layer, hw: Hardware, space: str = "template",
                    max_points: int | None = None, fixed: dict | None = None,
                    cut_filter: CutFilter | None = None, front: bool = False) -> EnumResult:
    """Exhaustive optimum of the C³P energy (ties: fewer cycles, then first found).

    `fixed` pins parts of the mapping: 'package' ('C'/'P'), 'chiplet' ('C'/'P'/'H'),
    'chip_order', 'core_order' ('channel'/'plane'), 'batch_tile'; `cut_filter` keeps only some tiles;
    the rest is searched. `front` also collects the energy-latency Pareto front.
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
    per_split: dict[tuple, tuple[tuple, Mapping]] = {}
    least_need: dict[str, tuple[int, int]] = {}  # buffer -> (smallest need, capacity), bits
    tables: dict[tuple, np.ndarray] = {}  # (dim, parts, core parts) -> dim tables of its cuts
    fronts: list[tuple[np.ndarray, np.ndarray]] = []

    splits = [(b, pkg) for b in batch_tiles(layer, template, fixed) for pkg in package_splits(hw.n_chiplets)]
    for b, pkg in splits:
        if fixed.get("package", partition_type(pkg)) != partition_type(pkg):
            continue
        for cs in core_splits(hw.n_cores):
            if fixed.get("chiplet", partition_type(cs)) != partition_type(cs):
                continue
            ch = {d: dim_choices(layer, hw, d, pkg[i], cs[i], template)
                  for i, d in enumerate("khw")}
            if cut_filter is not None:  # e.g. a named dataflow's restriction on tiles
                for i, d in enumerate("khw"):
                    keep = cut_filter(d, pkg[i], cs[i], ch[d])
                    ch[d] = Cuts(ch[d].tile[keep], ch[d].core[keep])
                if not all(len(c) for c in ch.values()):
                    continue
            n = len(ch["k"]) * len(ch["h"]) * len(ch["w"])
            if max_points is not None and points + 4 * n > max_points:
                raise RuntimeError(f"space larger than max_points={max_points}")
            for i, d in enumerate("khw"):  # split pairs share dimensions' groups
                if (d, pkg[i], cs[i]) not in tables:
                    tables[(d, pkg[i], cs[i])] = cut_tables(layer, d, pkg[i], cs[i], ch[d])
            T = {d: Columns(tables[(d, pkg[i], cs[i])], axis="hwk".index(d)) for i, d in enumerate("khw")}
            pair = f"{partition_type(pkg)},{partition_type(cs)}"
            for co in ORDERS:
                for qo in ORDERS:
                    if fixed.get("chip_order", co) != co or fixed.get("core_order", qo) != qo:
                        continue
                    comb = combine(layer, hw, co, qo, cs, T, b)
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
                    if front:
                        ok = comb.feasible.ravel()
                        fronts.append(pareto.front(energy.ravel()[ok], cycles.ravel()[ok]))
                    e = np.where(comb.feasible, energy, INF)
                    cand = np.flatnonzero(e == e.min())
                    i = int(cand[np.argmin(cycles.ravel()[cand])])
                    ih, iw, ik = np.unravel_index(i, e.shape)
                    key = (int(e.ravel()[i]), int(cycles.ravel()[i]))
                    h, w, k = ch["h"], ch["w"], ch["k"]
                    mapping = Mapping(pkg, (int(k.tile[ik]), int(h.tile[ih]), int(w.tile[iw])), co, cs,
                                      (int(h.core[ih]), int(w.core[iw])), qo, b)
                    if best_key is None or key < best_key:
                        best_key, best_mapping = key, mapping
                    if pair not in per_pair or key < per_pair[pair][0]:
                        per_pair[pair] = (key, mapping)
                    if (pkg, cs) not in per_split or key < per_split[(pkg, cs)][0]:
                        per_split[(pkg, cs)] = (key, mapping)

    wall = time.perf_counter() - t0
    best = evaluate(layer, hw, best_mapping) if best_mapping else None
    if best is not None:
        assert best.energy_fj == best_key[0], "enumeration and evaluation disagree"
    per_partition = {p: evaluate(layer, hw, m) for p, (_, m) in sorted(per_pair.items())}
    reason = None if best else no_fit_reason(least_need, bool(fixed))
    merged = None
    if front:
        merged = pareto.front(np.concatenate([f[0] for f in fronts] or [np.zeros(0, np.int64)]),
                              np.concatenate([f[1] for f in fronts] or [np.zeros(0, np.int64)]))
    return EnumResult(layer, best, points, feasible_points, wall, space, per_partition, per_split, reason,
                      merged)


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
    return total * len(batch_tiles(layer, template, None))
