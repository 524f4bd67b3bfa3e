"""Heuristic mappers, each priced by `cost.py`, to measure against the proven optimum.

`mapper gap` runs them beside `solvers.cpsat.solve_layer`: the gap of a method is
(its energy - the optimum) / the optimum, never negative for a method whose mappings lie
in the optimum's (output-centric) space; Simba's dataflow lies outside it.

* `simba`: Simba's weight-centric dataflow (`simba.py`) with its best plane tile.
* `template`: NN-Baton's own method, exhaustive over divisor tiles (`enumerate_layer`).
* `random:N`: N mappings drawn uniformly from the full space, seeded, the best feasible
  one kept (Timeloop's random mapper in spirit); the best after the first 10, 100, ...
  draws is kept too, so one run gives the gap as a function of the budget.
* `greedy`: the rules an engineer would write down, no search (`greedy`).
* `ws`, `os`, `is`: the named dataflows of `dataflows.py`, best template tiles for each.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from mapper.bounds import dram_lower_bound
from mapper.choices import MAX_RANDOM_DRAWS
from mapper.cost import Columns, Evaluation, combine, dram_bits, energy_breakdown, evaluate
from mapper.dataflows import NAMED, best_of
from mapper.errors import SolverBug
from mapper.hwspec import Hardware
from mapper.layer import Layer
from mapper.simba import best_simba
from mapper.solvers.enumerate import INF, Cuts, cut_tables, dim_choices, dim_size, enumerate_layer
from mapper.space import ORDERS, Mapping, core_splits, package_splits

CHECKPOINTS = (10, 100, 1_000, 10_000, 100_000)  # random search: budgets reported
# Methods whose mappings lie outside the output-centric space the optimum is proven over:
# Simba splits the reduction (input channels) across PEs, so it may beat the optimum.
OUTSIDE_SPACE = ("simba",)


@dataclass
class BaselineResult:
    """One method on one layer: its mapping (priced by `cost.evaluate`) or None."""

    method: str
    best: Evaluation | None
    evaluated: int  # mappings priced
    feasible: int  # of which fit every buffer
    wall_s: float
    note: str = ""
    curve: dict[int, int | None] = field(default_factory=dict)  # random: budget -> best fJ so far


def methods(spec: str) -> list[str]:
    """Parse 'template,random:10000,greedy,ws' (ValueError names the bad entry)."""
    out = []
    for item in filter(None, (x.strip() for x in spec.split(","))):
        name, _, arg = item.partition(":")
        if name == "random":
            if not (arg.isascii() and arg.isdigit()) or not 1 <= int(arg) <= MAX_RANDOM_DRAWS:
                raise ValueError(f"'{item}': give the random search a budget from 1 to {MAX_RANDOM_DRAWS:,} draws, "
                                 "e.g. random:10000")
        elif arg or name not in ("simba", "template", "greedy", *NAMED):
            raise ValueError(f"unknown baseline '{item}'; known: simba, template, random:N, greedy, "
                             + ", ".join(NAMED))
        out.append(item)
    if not out:
        raise ValueError("no baseline given; e.g. --baselines simba,template,random:10000,greedy,ws,os,is")
    return out


def run(method: str, layer: Layer, hw: Hardware, seed: int = 0) -> BaselineResult:
    t0 = time.perf_counter()
    name, _, arg = method.partition(":")
    if name == "random":
        return random_search(layer, hw, int(arg), seed)
    if name == "greedy":
        best, n, ok = greedy(layer, hw)
        return BaselineResult(method, best, n, ok, time.perf_counter() - t0)
    if name == "simba":
        best, n, ok, note = best_simba(layer, hw)
        return BaselineResult(method, best, n, ok, time.perf_counter() - t0, note=note)
    res = enumerate_layer(layer, hw, "template") if name == "template" else best_of(name, layer, hw)
    return BaselineResult(method, res.best, res.points, res.feasible_points, time.perf_counter() - t0,
                          note=res.reason or "")


# ------------------------------------------------------------------ random search
def random_search(layer: Layer, hw: Hardware, budget: int, seed: int = 0) -> BaselineResult:
    """`budget` mappings drawn uniformly: split pair, orders, then for each dimension a
    chiplet tile in 1..part and a core tile in 1..its share of the chiplet tile. Draws
    are made up front from one seeded stream, so the first n draws do not depend on the
    budget; mappings are priced in batches with `cost.combine`."""
    t0 = time.perf_counter()
    pairs = [(p, c) for p in package_splits(hw.n_chiplets) for c in core_splits(hw.n_cores)]
    orders = [(co, qo) for co in ORDERS for qo in ORDERS]
    r = np.random.default_rng(seed).random((budget, 8))
    pair_i = (r[:, 0] * len(pairs)).astype(np.int64)
    order_i = (r[:, 1] * len(orders)).astype(np.int64)
    energy = np.full(budget, INF, dtype=np.int64)
    tiles = np.zeros((budget, 5), dtype=np.int64)  # k, h, w chiplet tiles; h, w core tiles
    for pi, (pkg, cs) in enumerate(pairs):
        for oi, (co, qo) in enumerate(orders):
            rows = np.flatnonzero((pair_i == pi) & (order_i == oi))
            if not len(rows):
                continue
            T = {}
            for i, d in enumerate("khw"):
                parts, cparts = pkg[i], cs[i]
                t = 1 + (r[rows, 2 + 2 * i] * -(-dim_size(layer, d) // parts)).astype(np.int64)
                u = (np.full(len(rows), hw.lanes) if d == "k"
                     else 1 + (r[rows, 3 + 2 * i] * -(-t // cparts)).astype(np.int64))
                T[d] = Columns(cut_tables(layer, d, parts, cparts, Cuts(t, u)), axis=0, ndim=1)
                tiles[rows, i] = t
                if d != "k":
                    tiles[rows, 2 + i] = u
            comb = combine(layer, hw, co, qo, cs, T)
            e = np.broadcast_to(sum(energy_breakdown(comb.counts, hw).values()), comb.feasible.shape)
            energy[rows] = np.where(comb.feasible, e, INF)
    running = np.minimum.accumulate(energy)
    curve = {n: (None if running[n - 1] == INF else int(running[n - 1])) for n in CHECKPOINTS if n <= budget}
    curve[budget] = None if running[-1] == INF else int(running[-1])
    best = None
    if running[-1] != INF:
        j = int(np.argmin(energy))  # the first draw reaching the minimum
        pkg, cs = pairs[pair_i[j]]
        co, qo = orders[order_i[j]]
        tk, th, tw, uh, uw = (int(x) for x in tiles[j])
        best = evaluate(layer, hw, Mapping(pkg, (tk, th, tw), co, cs, (uh, uw), qo))
    return BaselineResult(f"random:{budget}", best, budget, int((energy != INF).sum()),
                          time.perf_counter() - t0, note=f"seed {seed}", curve=curve)


# ------------------------------------------------------------------ greedy
def _squarest(splits: list[tuple[int, int, int]], h: int, w: int) -> tuple[int, int, int]:
    """The P-type pattern whose aspect is closest to the plane's (ties: the first)."""
    return min(splits, key=lambda s: abs(np.log(s[1] / s[2]) - np.log(max(h, 1) / max(w, 1))))


def greedy_splits(layer: Layer, hw: Hardware) -> tuple[tuple, tuple, str, str]:
    """Rule of thumb: split the plane (P-type, plane-priority) where the plane has more
    points than there are output channels, else split the channels (C-type,
    channel-priority); at the package, then again for one chiplet's share."""
    pkgs = package_splits(hw.n_chiplets)
    big_plane = layer.H * layer.W >= layer.K
    pkg = (_squarest([p for p in pkgs if p[0] == 1], layer.H, layer.W)
           if big_plane and len(pkgs) > 1 else pkgs[0])
    h, w, k = -(-layer.H // pkg[1]), -(-layer.W // pkg[2]), -(-layer.K // pkg[0])
    plane_cores = [c for c in core_splits(hw.n_cores) if c[0] == 1]
    cs = (_squarest(plane_cores, h, w) if h * w >= k and hw.n_cores > 1 else (hw.n_cores, 1, 1))
    return pkg, cs, "plane" if big_plane else "channel", "plane" if h * w >= k else "channel"


def greedy(layer: Layer, hw: Hardware) -> tuple[Evaluation | None, int, int]:
    """`greedy_splits`, then the largest tiles that fit: among the template tiles of those
    splits and orders, the feasible mapping with the largest chiplet tile (outputs), then
    the largest core tile. Energy is never consulted. Returns (mapping, points, feasible)."""
    pkg, cs, co, qo = greedy_splits(layer, hw)
    ch = {d: dim_choices(layer, hw, d, pkg[i], cs[i], True) for i, d in enumerate("khw")}
    T = {d: Columns(cut_tables(layer, d, pkg[i], cs[i], ch[d]), axis="hwk".index(d)) for i, d in enumerate("khw")}
    feasible = np.asarray(combine(layer, hw, co, qo, cs, T).feasible)
    shape = (len(ch["h"]), len(ch["w"]), len(ch["k"]))
    feasible = np.broadcast_to(feasible, shape)
    if not feasible.any():
        return None, int(np.prod(shape)), 0
    volume = (ch["h"].tile[:, None, None] * ch["w"].tile[None, :, None] * ch["k"].tile[None, None, :])
    core = ch["h"].core[:, None, None] * ch["w"].core[None, :, None] * np.ones(shape, dtype=np.int64)
    key = np.where(feasible, volume * (core.max() + 1) + core, -1)
    ih, iw, ik = np.unravel_index(int(np.argmax(key)), shape)
    m = Mapping(pkg, (int(ch["k"].tile[ik]), int(ch["h"].tile[ih]), int(ch["w"].tile[iw])), co, cs,
                (int(ch["h"].core[ih]), int(ch["w"].core[iw])), qo)
    return evaluate(layer, hw, m), int(np.prod(shape)), int(feasible.sum())


# ------------------------------------------------------------------ one layer, all methods
def _pj(breakdown_fj: dict[str, int]) -> dict[str, float]:
    return {k: v / 1000 for k, v in breakdown_fj.items()}


def gap(value: int | None, optimum: int) -> float | None:
    return None if value is None else (value - optimum) / optimum


def compare_layer(layer: Layer, hw: Hardware, method_list: list[str], optimum, seed: int = 0) -> dict:
    """The optimum (a `SolveResult`) and every method on one layer, as a JSON-ready row.
    A method of the same space cheaper than a proven optimum is a bug: SolverBug names
    it. Methods in `OUTSIDE_SPACE` may be cheaper (a negative gap), and say so."""
    row = {"name": layer.name, "status": optimum.status, "reason": optimum.reason,
           "energy_pj": None, "bound_pj": None, "energies_pj": {}, "gaps": {}, "mappings": {},
           "notes": {}, "random_curve_pj": {}, "solve_time_s": round(optimum.wall_s, 4)}
    if optimum.best is None:
        return row
    opt = optimum.best.energy_fj
    row.update(energy_pj=opt / 1000, bound_pj=optimum.bound / 1000 if optimum.bound is not None else None,
               mapping=optimum.best.mapping.short(), breakdown_pj=_pj(optimum.best.breakdown_fj),
               breakdowns_pj={})
    # the optimum's DRAM traffic against what no mapping avoids (mapper/bounds.py)
    dram, floor = dram_bits(optimum.best.counts, hw), dram_lower_bound(layer, hw)
    row.update(dram_bits=dram, dram_lower_bound_bits=floor.bits, dram_vs_bound=dram / floor.bits,
               dram_compulsory_bits=floor.compulsory_bits, dram_capacity_bits=floor.capacity_bits,
               dram_bound=floor.binding)
    for m in method_list:
        res = run(m, layer, hw, seed)
        e = res.best.energy_fj if res.best is not None else None
        row["energies_pj"][m] = None if e is None else e / 1000
        row["gaps"][m] = gap(e, opt)
        row["mappings"][m] = res.best.mapping.short() if res.best is not None else None
        row["breakdowns_pj"][m] = _pj(res.best.breakdown_fj) if res.best is not None else None
        if res.best is None:
            row["notes"][m] = res.note or "no mapping of this method fits"
        if res.curve:
            row["random_curve_pj"] = {n: (None if v is None else v / 1000) for n, v in res.curve.items()}
        if optimum.status == "OPTIMAL" and e is not None and e < opt and m not in OUTSIDE_SPACE:
            raise SolverBug(f"{layer.name}: {m} found {e} fJ below the proven optimum {opt} fJ — "
                             "a bug in the solver or the cost model; please report it")
    return row


def gap_totals(rows: list[dict], method_list: list[str]) -> dict:
    """Model totals over every layer with an optimum; a method's total counts only if it
    mapped every one of them (else it is None and `missing` says how many it could not)."""
    ok = [r for r in rows if r["energy_pj"] is not None]
    opt = float(sum(r["energy_pj"] for r in ok))
    energies, gaps, missing = {}, {}, {}
    for m in method_list:
        vals = [r["energies_pj"].get(m) for r in ok]
        missing[m] = sum(v is None for v in vals)
        energies[m] = None if missing[m] or not ok else float(sum(vals))
        gaps[m] = None if energies[m] is None else (energies[m] - opt) / opt
    dram = sum(r["dram_bits"] for r in ok)
    floor = sum(r["dram_lower_bound_bits"] for r in ok)
    return {"optimum_pj": opt, "energies_pj": energies, "gaps": gaps, "missing": missing,
            "layers_without_optimum": len(rows) - len(ok), "dram_bits": dram,
            "dram_lower_bound_bits": floor, "dram_vs_bound": dram / floor if floor else None}
