"""The exact CP-SAT mapper: the C³P energy of `cost.py`, minimised with a proof.

Encoding (one model per layer and hardware):

* one-hot choices: the (package split, chiplet split) pair, the pair of loop orders,
  and for each dimension K, H, W its cut (chiplet tile, core tile) among every cut of
  the space; a cut's per-dimension table (`cost.dim_table`) becomes linear expressions;
* every count of `cost.combine` is a product of three per-dimension values (one per
  dimension), written with `AddMultiplicationEquality`;
* retention: for each buffer the solver picks a loop position whose footprint fits and
  pays that position's fills. Energy never increases as the position moves outward
  (fills shrink and DRAM costs more per bit than a die-to-die hop), so at the optimum
  the pick is `cost.py`'s rule (the outermost position that fits) or ties with it.

The objective is the exact integer energy in femtojoules. The returned mapping is
re-priced with `cost.evaluate`; the test suite checks the two agree to the unit.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from math import ceil

import numpy as np
from ortools.sat.python import cp_model

from mapper.cost import (CostContext, Evaluation, a_l1_positions, a_l2_positions, dim_table,
                         energy_breakdown, evaluate, mapping_counts, w_l1_positions)
from mapper.hwspec import Hardware
from mapper.layer import Layer
from mapper.solvers.enumerate import dim_choices, enumerate_layer
from mapper.space import ORDERS, Mapping, core_splits, package_splits, partition_type

ENERGY_FIELDS = ("dram_read_w", "dram_read_a", "dram_write_o", "d2d_w", "d2d_a", "a_l2_write",
                 "a_l2_read", "o_l2_write", "o_l2_read", "w_l1_write", "w_l1_read", "a_l1_write",
                 "a_l1_read", "o_l1_rmw", "macs")

STATUS = {cp_model.OPTIMAL: "OPTIMAL", cp_model.FEASIBLE: "FEASIBLE",
          cp_model.INFEASIBLE: "INFEASIBLE", cp_model.MODEL_INVALID: "MODEL_INVALID",
          cp_model.UNKNOWN: "UNKNOWN"}


@dataclass
class SolveResult:
    """A layer's solve: status, the mapping (re-priced by cost.py), the objective value
    of the solver's incumbent and the proven bound, in the objective's units
    (energy: fJ; latency: cycles; edp: fJ x cycles)."""

    layer: Layer
    status: str
    best: Evaluation | None
    value: int | None
    bound: int | None
    wall_s: float
    reason: str | None = None
    stats: dict = field(default_factory=dict)
    objective: str = "energy"

    def to_dict(self) -> dict:
        d = self.best.to_dict() if self.best else {"name": self.layer.name, "feasible": False}
        d.update(status=self.status, objective=self.objective, objective_value=self.value,
                 bound_value=self.bound, gap=self.gap, solve_time_s=round(self.wall_s, 4),
                 bound_pj=self.bound / 1000 if self.objective == "energy" and self.bound is not None
                 else None, candidates=self.stats.get("candidates"))
        if self.best is not None:
            d["edp_pj_cycles"] = self.best.energy_fj * self.best.cycles / 1000
        if self.reason:
            d["reason"] = self.reason
        return d

    @property
    def gap(self) -> float | None:
        if self.value is None or self.bound is None:
            return None
        return max(0.0, (self.value - self.bound) / max(1, self.value))


def default_workers() -> int:
    return int(os.environ.get("MAPPER_WORKERS", os.cpu_count() or 1))


@dataclass(frozen=True)
class Mono:
    """coef x a product of per-dimension table values. Feeding `cost.py`'s buffer rules
    tables whose entries are Monos yields every count as a Mono: the rules are written
    once, in cost.py, and read here symbolically."""

    coef: int
    factors: tuple = ()  # sorted ((dim, key), ...)

    def __mul__(self, other):
        if isinstance(other, Mono):
            return Mono(self.coef * other.coef, tuple(sorted(self.factors + other.factors)))
        return Mono(self.coef * other, self.factors)

    __rmul__ = __mul__


class _SymTable:
    def __init__(self, dim: str):
        self.dim = dim

    def __getitem__(self, key) -> Mono:
        return Mono(1, ((self.dim, key),))


BUFFERS = ("a_l1", "w_l1", "a_l2")  # buffers with a retention choice


def pareto(tables: list[dict], keys: list) -> list[int]:
    """Indices of the cuts not dominated on `keys` (lowest index kept among equals).

    Every count, footprint and cycle figure grows with every table value, so a cut
    that is >= another in every value the model reads can never be strictly better."""
    if len(tables) <= 1:
        return list(range(len(tables)))
    a = np.array([[t[k] for k in keys] for t in tables], dtype=np.float64)
    order = np.lexsort((np.arange(len(tables)), a.sum(axis=1)))
    kept: list[int] = []
    front = np.empty_like(a)  # the kept rows, filled in place (no quadratic copying)
    for i in order:
        if kept and np.any(np.all(front[:len(kept)] <= a[i], axis=1)):
            continue
        front[len(kept)] = a[i]
        kept.append(int(i))
    return sorted(kept)


def field_coefficients(hw: Hardware) -> dict[str, int]:
    """fJ per counted element of each field, read off `cost.energy_breakdown` (linear)."""
    zero = dict.fromkeys(ENERGY_FIELDS, 0)
    return {f: sum(energy_breakdown(zero | {f: 1}, hw).values()) for f in ENERGY_FIELDS}


class _Model:
    """Builds the CP-SAT model of one layer on one hardware."""

    def __init__(self, layer: Layer, hw: Hardware, template: bool, fixed: dict | None,
                 base: "_Model | None" = None):
        self.layer, self.hw, self.fixed = layer, hw, fixed or {}
        self.m = cp_model.CpModel()
        m = self.m
        # (package split, chiplet split) pairs
        self.pairs = [(p, c) for p in package_splits(hw.n_chiplets) for c in core_splits(hw.n_cores)
                      if self.fixed.get("package", partition_type(p)) == partition_type(p)
                      and self.fixed.get("chiplet", partition_type(c)) == partition_type(c)]
        self.s = [m.NewBoolVar(f"split{i}") for i in range(len(self.pairs))]
        m.AddExactlyOne(self.s)
        self.orders = [(co, qo) for co in ORDERS for qo in ORDERS
                       if self.fixed.get("chip_order", co) == co and self.fixed.get("core_order", qo) == qo]
        self.q = [m.NewBoolVar(f"order{i}") for i in range(len(self.orders))]
        m.AddExactlyOne(self.q)
        # per-dimension cuts: every cut of the space, minus dominated ones, minus those
        # whose lower bound exceeds the incumbent `upper` (both exact, see `pareto`, `_prune`)
        self.used = self._used_keys()
        if base is not None:  # start from another model's (already pruned) cuts
            self.cuts, self.tables, self.group = (
                {d: list(v[d]) for d in "khw"} for v in (base.cuts, base.tables, base.group))
        else:
            self.cuts, self.tables, self.group = self._candidates(template)
        self.candidates = {d: len(self.cuts[d]) for d in "khw"}
        self.x: dict[str, list] = {}
        self._vals: dict = {}
        self._prods: dict = {}
        self._hi: dict[int, int] = {}  # bounds of every value/product variable
        self._lo: dict[int, int] = {}

    def _candidates(self, template: bool):
        """Per dimension: the non-dominated cuts of every (parts, core parts) group."""
        cuts, tables, group = {}, {}, {}
        for i, d in enumerate("khw"):
            reach = None if d == "k" else self.layer.reach(d)
            cuts[d], tables[d], group[d] = [], [], []
            for pc in sorted({(p[i], c[i]) for p, c in self.pairs}):
                g = [c for c in dim_choices(self.layer, self.hw, d, pc[0], pc[1], template)
                     if self._may_fit(d, c)]
                gt = [dim_table(c, reach) for c in g]
                for j in pareto(gt, self.used[d]):
                    cuts[d].append(g[j])
                    tables[d].append(gt[j])
                    group[d].append(pc)
        return cuts, tables, group

    def _may_fit(self, d: str, cut) -> bool:
        """False if a cut overflows a buffer even with every other dimension at its
        smallest tile (1): checked before its table is built, since long dimensions
        have ~D^2/2 cuts. The innermost needs of docs/cost-model.md §3.1."""
        if d == "k":
            return True
        L, hw = self.layer, self.hw
        u, t = min(cut.core_tile, cut.tile), min(cut.tile, cut.size)
        other = "w" if d == "h" else "h"
        if u * hw.lanes * hw.psum_bits > hw.capacity_bits("o_l1"):
            return False
        chan = 1 if L.depthwise else min(hw.vector, L.C)  # one c-block (depthwise: >= 1 lane)
        if chan * L.window(u, d) * L.window(1, other) * hw.act_bits > hw.capacity_bits("a_l1"):
            return False
        chan = 1 if L.depthwise else L.C
        if chan * L.window(t, d) * L.window(1, other) * hw.act_bits > hw.capacity_bits("a_l2"):
            return False
        return t * hw.act_bits <= hw.capacity_bits("o_l2")

    def prune(self, upper: float, objective: str) -> None:
        """Drop cuts whose lower bound exceeds `upper` (the objective of a known feasible
        mapping), until nothing changes. The bound of a cut takes every other dimension
        at its smallest value of each key, the best orders and the best fitting
        retention positions: energy and cycles grow with every table value."""
        for _ in range(6):
            changed = False
            for d in "khw":
                lb = self._lower_bounds(d, objective)
                keep = [i for i in range(len(lb)) if lb[i] <= upper * (1 + 1e-9)]
                if len(keep) < len(lb):
                    changed = True
                    for attr in ("cuts", "tables", "group"):
                        getattr(self, attr)[d] = [getattr(self, attr)[d][i] for i in keep]
            for d1, d2 in (("h", "w"), ("h", "k"), ("w", "k")):
                changed |= self._prune_pairs(d1, d2, upper, objective)
            if not changed:
                break
        self.candidates = {d: len(self.cuts[d]) for d in "khw"}

    def _column(self, d: str, key, rows: list[int] | None = None) -> np.ndarray:
        t = self.tables[d] if rows is None else [self.tables[d][i] for i in rows]
        return np.array([x[key] for x in t], dtype=np.float64)

    def _lower_bounds(self, d: str, objective: str) -> np.ndarray:
        """Bound of each cut of dimension d, the others at their per-key minimum."""
        n = len(self.tables[d])
        if n == 0 or any(not self.tables[e] for e in "khw"):
            return np.full(n, np.inf)
        cache: dict = {}

        def value(mono: Mono) -> np.ndarray:
            out = np.full(n, float(mono.coef))
            for e, k in mono.factors:
                if (e, k) not in cache:
                    col = self._column(e, k)
                    cache[(e, k)] = col if e == d else col.min()
                out = out * cache[(e, k)]
            return out

        return self._bound(value, (n,), objective, max(self._buffer_terms()[2]["w_l1"]))

    def _prune_pairs(self, d1: str, d2: str, upper: float, objective: str) -> bool:
        """Bound every compatible (d1 cut, d2 cut) pair, the third dimension at its
        per-key minimum; keep the cuts of some pair whose bound does not exceed `upper`.
        Pairs catch what single cuts cannot: O-L1 holds u_h x u_w, windows multiply."""
        i1, i2 = "khw".index(d1), "khw".index(d2)
        d3 = next(d for d in "khw" if d not in (d1, d2))
        i3 = "khw".index(d3)
        combos: dict[tuple, list[int]] = {}
        for pi, (p, c) in enumerate(self.pairs):
            combos.setdefault(((p[i1], c[i1]), (p[i2], c[i2])), []).append(pi)
        keep = {d: np.zeros(len(self.cuts[d]), dtype=bool) for d in (d1, d2)}
        pool_caps = self._buffer_terms()[2]["w_l1"]
        for (g1, g2), pis in combos.items():
            rows = {d1: [i for i, g in enumerate(self.group[d1]) if g == g1],
                    d2: [i for i, g in enumerate(self.group[d2]) if g == g2]}
            g3 = {(self.pairs[pi][0][i3], self.pairs[pi][1][i3]) for pi in pis}
            rows[d3] = [i for i, g in enumerate(self.group[d3]) if g in g3]
            if not all(rows.values()):
                continue
            shape = (len(rows[d1]), len(rows[d2]))
            cache: dict = {}

            def value(mono: Mono) -> np.ndarray:
                out = np.full(shape, float(mono.coef))
                for e, k in mono.factors:
                    if (e, k) not in cache:
                        col = self._column(e, k, rows[e])
                        cache[(e, k)] = (col[:, None] if e == d1 else col[None, :] if e == d2
                                         else col.min())
                    out = out * cache[(e, k)]
                return out

            ok = self._bound(value, shape, objective,
                             max(pool_caps[pi] for pi in pis)) <= upper * (1 + 1e-9)
            keep[d1][rows[d1]] |= ok.any(axis=1)
            keep[d2][rows[d2]] |= ok.any(axis=0)
        changed = False
        for d in (d1, d2):
            if not keep[d].all():
                changed = True
                idx = np.flatnonzero(keep[d])
                for attr in ("cuts", "tables", "group"):
                    getattr(self, attr)[d] = [getattr(self, attr)[d][i] for i in idx]
        return changed

    def _bound(self, value, shape: tuple, objective: str, pool_cap: int) -> np.ndarray:
        """Lower bound of the objective given `value` (Mono -> array of bounds): best
        orders, cheapest fitting retention position per buffer, hard needs checked."""
        sym, hw = self._sym(), self.hw
        fixed = mapping_counts(sym)
        ok = ((value(fixed["o_l1_need"]) <= hw.capacity_bits("o_l1"))
              & (value(fixed["o_l2_need"]) <= hw.capacity_bits("o_l2")))
        weights, bits, caps = self._buffer_terms()
        caps = {"a_l1": caps["a_l1"][0], "a_l2": caps["a_l2"][0], "w_l1": pool_cap}
        best = np.full(shape, np.inf)
        for co, qo in self.orders:
            total = np.zeros(shape)
            for buf in BUFFERS:
                cf, cs = weights[buf]
                pos = self._positions(sym, buf, co, qo)
                cheapest = np.full(shape, np.inf)
                for fill, shared, foot in zip(pos.fill, pos.shared, pos.foot):
                    fits = value(foot) * bits[buf] <= caps[buf]
                    cost = cf * value(fill) + cs * value(shared) if objective == "energy" else 0.0
                    cheapest = np.where(fits, np.minimum(cheapest, cost), cheapest)
                total = total + cheapest
            best = np.minimum(best, total)
        if objective == "energy":
            co_ = field_coefficients(hw)
            best = best + co_["a_l1_read"] * value(fixed["a_l1_read"]) \
                + co_["w_l1_read"] * value(fixed["w_l1_read"]) + self.constant_energy()
        else:
            best = best + value(fixed["cycles"])
        return np.where(ok, best, np.inf)

    def variables(self) -> None:
        """One-hot cut choices, tied to the (package, chiplet) split choice."""
        m = self.m
        for i, d in enumerate("khw"):
            self.x[d] = [m.NewBoolVar(f"{d}{j}") for j in range(len(self.cuts[d]))]
            for pc in sorted({(p[i], c[i]) for p, c in self.pairs}):
                m.Add(sum(x for x, g in zip(self.x[d], self.group[d]) if g == pc)
                      == sum(s for s, (p, c) in zip(self.s, self.pairs) if (p[i], c[i]) == pc))

    def _buffer_terms(self):
        """Per buffer: (fill, shared) energy coefficients, data width, capacity options."""
        hw, co = self.hw, field_coefficients(self.hw)
        weights = {
            "a_l1": (co["a_l1_write"], co["a_l2_read"]),
            "w_l1": (co["w_l1_write"] + co["d2d_w"], co["dram_read_w"] - co["d2d_w"]),
            "a_l2": (co["a_l2_write"] + co["d2d_a"], co["dram_read_a"] - co["d2d_a"]),
        }
        bits = {"a_l1": hw.act_bits, "w_l1": hw.weight_bits, "a_l2": hw.act_bits}
        caps = {"a_l1": [hw.capacity_bits("a_l1")], "a_l2": [hw.capacity_bits("a_l2")],
                "w_l1": [c[1] * c[2] * hw.capacity_bits("w_l1") for _, c in self.pairs]}
        return weights, bits, caps

    def constant_energy(self) -> int:
        """Energy no mapping changes: outputs to O-L2 and DRAM, O-L1 RMWs, MACs."""
        L, co = self.layer, field_coefficients(self.hw)
        return (L.outputs * (co["dram_write_o"] + co["o_l2_write"] + co["o_l2_read"])
                + L.outputs * ceil(L.Cr / self.hw.vector) * L.R * L.S * co["o_l1_rmw"]
                + L.macs * co["macs"])

    def _sym(self) -> CostContext:
        return CostContext(self.layer, self.hw, {d: _SymTable(d) for d in "hwk"})

    def _positions(self, sym: CostContext, buf: str, chip_order: str, core_order: str):
        if buf == "a_l1":
            return a_l1_positions(sym, chip_order, core_order)
        if buf == "w_l1":
            return w_l1_positions(sym, chip_order, core_order)
        return a_l2_positions(sym, chip_order)

    def _used_keys(self) -> dict[str, list]:
        """Every per-dimension table key the model reads (for dominance pruning)."""
        sym, monos = self._sym(), list(mapping_counts(self._sym()).values())
        for co, qo in self.orders:
            for buf in BUFFERS:
                p = self._positions(sym, buf, co, qo)
                monos += p.fill + p.shared + p.foot
        used: dict[str, set] = {d: set() for d in "khw"}
        for mono in monos:
            for d, k in mono.factors:
                used[d].add(k)
        return {d: sorted(v) for d, v in used.items()}

    # -- building blocks -----------------------------------------------------------
    def val(self, d: str, key) -> cp_model.IntVar:
        """The chosen cut's table value for `key` (an IntVar equal to a linear sum)."""
        if (d, key) not in self._vals:
            vals = [t[key] for t in self.tables[d]]
            v = self.m.NewIntVar(min(vals), max(vals), f"{d}{key}")
            self.m.Add(v == sum(c * x for c, x in zip(vals, self.x[d]) if c))
            self._vals[(d, key)] = v
            self._hi[v.Index()] = max(vals)
            self._lo[v.Index()] = min(vals)
        return self._vals[(d, key)]

    def prod(self, *factors) -> cp_model.IntVar:
        """An IntVar equal to the product of IntVars (pairwise, cached)."""
        if len(factors) == 1:
            return factors[0]
        key = tuple(sorted(f.Index() for f in factors))
        if key in self._prods:
            return self._prods[key]
        a, b = factors[0], self.prod(*factors[1:])
        hi = self._hi[a.Index()] * self._hi[b.Index()]  # every table value is >= 0
        lo = self._lo[a.Index()] * self._lo[b.Index()]
        if hi >= 2**62:
            raise ValueError(f"layer {self.layer.name}: a count exceeds 2^62; too large to solve exactly")
        v = self.m.NewIntVar(lo, hi, "p")
        self.m.AddMultiplicationEquality(v, [a, b])
        self._prods[key] = v
        self._hi[v.Index()], self._lo[v.Index()] = hi, lo
        return v

    def triple(self, kh, kw, kk) -> cp_model.IntVar:
        return self.prod(self.val("h", kh), self.val("w", kw), self.val("k", kk))

    def var(self, mono: Mono):
        """A linear expression equal to the Mono (coef x product IntVar)."""
        if not mono.factors:
            return mono.coef
        return mono.coef * self.prod(*(self.val(d, k) for d, k in mono.factors))

    def upper(self, mono: Mono) -> int:
        hi = mono.coef
        for d, k in mono.factors:
            hi *= max(t[k] for t in self.tables[d])
        return hi

    # -- the cost model --------------------------------------------------------------
    def build(self, objective: str = "energy", max_cycles: int | None = None) -> None:
        hw, m = self.hw, self.m
        co = field_coefficients(hw)
        for f in ("dram_read_w", "dram_read_a"):
            if co[f] < co[f.replace("dram_read", "d2d")]:
                raise ValueError("die-to-die energy per bit exceeds DRAM's: the retention "
                                 "choice of the CP-SAT model would not be exact")
        self.variables()
        sym = self._sym()
        fixed = mapping_counts(sym)
        for need, buf in (("o_l1_need", "o_l1"), ("o_l2_need", "o_l2")):
            m.Add(self.var(fixed[need]) <= hw.capacity_bits(buf))
        weights, bits, caps = self._buffer_terms()
        cap_expr = {"a_l1": caps["a_l1"][0], "a_l2": caps["a_l2"][0],
                    "w_l1": sum(s * cap for s, cap in zip(self.s, caps["w_l1"]))}
        self.buffer_cost = {}
        for buf in BUFFERS:
            cf, cs = weights[buf]
            options = []  # (order index, position, Positions entry)
            for qi, (c_o, q_o) in enumerate(self.orders):
                pos = self._positions(sym, buf, c_o, q_o)
                options += [(qi, r, pos.fill[r], pos.shared[r], pos.foot[r]) for r in range(len(pos.foot))]
            hi = max(cf * self.upper(f) + cs * self.upper(sh) for _, _, f, sh, _ in options)
            cost = m.NewIntVar(0, hi, f"cost_{buf}")
            ys = {qi: [] for qi in range(len(self.orders))}
            for qi, r, fill, shared, foot in options:
                y = m.NewBoolVar(f"{buf}_q{qi}_r{r}")
                ys[qi].append(y)
                m.Add(self.var(foot * bits[buf]) <= cap_expr[buf]).OnlyEnforceIf(y)
                m.Add(cost >= cf * self.var(fill) + cs * self.var(shared)).OnlyEnforceIf(y)
            for qi, q in enumerate(self.q):
                m.Add(sum(ys[qi]) == q)
            self.buffer_cost[buf] = cost
        self.energy = (sum(self.buffer_cost.values()) + co["a_l1_read"] * self.var(fixed["a_l1_read"])
                       + co["w_l1_read"] * self.var(fixed["w_l1_read"]) + self.constant_energy())
        self.cycles = self.var(fixed["cycles"])
        if max_cycles is not None:
            m.Add(self.cycles <= max_cycles)
        m.Minimize(self.energy if objective == "energy" else self.cycles)

    def mapping(self, solver: cp_model.CpSolver) -> Mapping:
        pkg, cs = next(p for p, s in zip(self.pairs, self.s) if solver.Value(s))
        co, qo = next(o for o, q in zip(self.orders, self.q) if solver.Value(q))
        cut = {d: next(c for c, x in zip(self.cuts[d], self.x[d]) if solver.Value(x)) for d in "khw"}
        return Mapping(pkg, (cut["k"].tile, cut["h"].tile, cut["w"].tile), co, cs,
                       (cut["h"].core_tile, cut["w"].core_tile), qo)


    def hint(self, mp: Mapping) -> bool:
        """Give CP-SAT a known mapping as a hint; False if it is not in the model."""
        pair = (mp.pkg_split, mp.core_split)
        order = (mp.chip_order, mp.core_order)
        want = {"k": (mp.chip_tile[0], None), "h": (mp.chip_tile[1], mp.core_tile[0]),
                "w": (mp.chip_tile[2], mp.core_tile[1])}
        idx = {}
        for i, d in enumerate("khw"):
            pc = (pair[0][i], pair[1][i])
            idx[d] = next((j for j, (c, g) in enumerate(zip(self.cuts[d], self.group[d]))
                           if g == pc and c.tile == want[d][0]
                           and (d == "k" or c.core_tile == want[d][1])), None)
        if pair not in self.pairs or order not in self.orders or None in idx.values():
            return False
        for s, p in zip(self.s, self.pairs):
            self.m.AddHint(s, p == pair)
        for q, o in zip(self.q, self.orders):
            self.m.AddHint(q, o == order)
        for d in "khw":
            for j, x in enumerate(self.x[d]):
                self.m.AddHint(x, j == idx[d])
        return True


def _solver(seconds: float, workers: int | None) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.01, seconds)
    solver.parameters.num_workers = workers or default_workers()
    solver.parameters.linearization_level = 2
    return solver


def solve_layer(layer: Layer, hw: Hardware, space: str = "full", time_limit: float = 60.0,
                workers: int | None = None, fixed: dict | None = None,
                objective: str = "energy", warm_start: bool = True) -> SolveResult:
    """The exact optimum of one layer (or the incumbent and its bound at the time limit).

    With `warm_start`, the template space is first enumerated (vectorised, ~0.1 s): its
    optimum is a feasible mapping of the full space, so its energy is an upper bound
    that lets `_Model.prune` drop cuts that cannot be optimal, and it is CP-SAT's hint.
    A proven optimum is then made canonical (`_canonical`), so the mapping returned does
    not depend on the number of workers or on search order. EDP: `_solve_edp`.
    """
    if objective == "edp":
        return _solve_edp(layer, hw, space, time_limit, workers, fixed, warm_start)
    return _solve(layer, hw, space, time_limit, workers, fixed, objective, warm_start)


def _solve(layer: Layer, hw: Hardware, space: str, time_limit: float, workers: int | None,
           fixed: dict | None, objective: str, warm_start: bool, max_cycles: int | None = None,
           upper: int | None = None) -> SolveResult:
    t0 = time.perf_counter()
    model = _Model(layer, hw, space == "template", fixed)
    incumbent = None
    if warm_start and max_cycles is None:
        incumbent = enumerate_layer(layer, hw, "template", fixed=fixed).best
        if incumbent is not None:
            upper = incumbent.energy_fj if objective == "energy" else incumbent.cycles
    if upper is not None:
        model.prune(upper, objective)
    if any(not model.cuts[d] for d in "khw"):
        return SolveResult(layer, "INFEASIBLE", None, None, None, time.perf_counter() - t0,
                           reason=_why_infeasible(layer, hw, fixed), objective=objective)
    model.build(objective, max_cycles)
    if incumbent is not None:
        model.hint(incumbent.mapping)
    solver = _solver(time_limit, workers)
    status = solver.Solve(model.m)
    stats = {"branches": solver.NumBranches(), "conflicts": solver.NumConflicts(),
             "candidates": model.candidates}
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return SolveResult(layer, STATUS[status], None, None, None, time.perf_counter() - t0,
                           reason=_why_infeasible(layer, hw, fixed) if status == cp_model.INFEASIBLE
                           else "no mapping found within the time limit", stats=stats,
                           objective=objective)
    obj, bound = int(round(solver.ObjectiveValue())), int(round(solver.BestObjectiveBound()))
    mapping = model.mapping(solver)
    if status == cp_model.OPTIMAL:
        left = time_limit - (time.perf_counter() - t0)
        mapping = _canonical(model, objective, obj, left, workers) or mapping
    return SolveResult(layer, STATUS[status], evaluate(layer, hw, mapping), obj, bound,
                       time.perf_counter() - t0, stats=stats, objective=objective)


def _why_infeasible(layer: Layer, hw: Hardware, fixed: dict | None) -> str:
    """Which buffer is too small even for the smallest tiles, and by how much. The
    smallest tiles (1) divide everything, so the template space has them too."""
    return enumerate_layer(layer, hw, "template", fixed=fixed).reason or "no mapping fits"


def _solve_edp(layer: Layer, hw: Hardware, space: str, time_limit: float, workers: int | None,
               fixed: dict | None, warm_start: bool) -> SolveResult:
    """Exact minimum of energy x cycles by walking the energy/latency Pareto front.

    Start at the minimum-energy mapping; then repeatedly take the minimum energy among
    mappings strictly faster than the last one. Any mapping not yet seen is faster than
    the last point, so its energy is >= the last point's energy E and its cycles are >=
    the minimum cycles C_min: its EDP is >= E x C_min. The walk stops when that bound
    reaches the best EDP found (OPTIMAL), or at the time limit (FEASIBLE, with the bound).
    """
    t0 = time.perf_counter()

    def left() -> float:
        return time_limit - (time.perf_counter() - t0)

    first = _solve(layer, hw, space, left(), workers, fixed, "energy", warm_start)
    fastest = _solve(layer, hw, space, left(), workers, fixed, "latency", warm_start)
    if first.best is None or fastest.best is None:
        return SolveResult(layer, first.status, None, None, None, time.perf_counter() - t0,
                           reason=first.reason, objective="edp")
    c_min = max(1, fastest.bound or 1)  # a proven lower bound on cycles
    best = min((first.best, fastest.best), key=lambda e: (e.energy_fj * e.cycles, e.cycles))
    point, steps = first.best, 0
    proven, exhausted = first.status == "OPTIMAL", False
    while proven and point.energy_fj * c_min < best.energy_fj * best.cycles and left() > 0:
        steps += 1
        upper = best.energy_fj * best.cycles // c_min  # more energy than this cannot improve EDP
        nxt = _solve(layer, hw, space, left(), workers, fixed, "energy", False,
                     max_cycles=point.cycles - 1, upper=upper)
        if nxt.status == "INFEASIBLE":  # no faster mapping can improve the EDP
            exhausted = True
            break
        if nxt.status != "OPTIMAL":
            proven = False
            break
        point = nxt.best
        best = min((best, point), key=lambda e: (e.energy_fj * e.cycles, e.cycles))
    value = best.energy_fj * best.cycles
    if proven and (exhausted or point.energy_fj * c_min >= value):
        status, bound = "OPTIMAL", value
    else:
        status, bound = "FEASIBLE", min(value, max((first.bound or 0) * c_min, point.energy_fj * c_min))
    return SolveResult(layer, status, best, value, bound, time.perf_counter() - t0,
                       stats={"pareto_steps": steps, "min_cycles": c_min}, objective="edp")


def _canonical(base: _Model, objective: str, optimum: int, seconds: float,
               workers: int | None) -> Mapping | None:
    """Among all optimal mappings, the one with the fewest cycles (energy, for the latency
    objective), then the smallest canonical code (split pair, orders, cuts in their
    generation order): a unique answer, whatever the search found first."""
    model = _Model(base.layer, base.hw, False, base.fixed, base=base)
    model.prune(optimum, objective)
    model.build(objective)
    primary, secondary = ((model.energy, model.cycles) if objective == "energy"
                          else (model.cycles, model.energy))
    model.m.Add(primary == optimum)
    model.m.Minimize(secondary)
    solver = _solver(seconds / 2, workers)
    if solver.Solve(model.m) != cp_model.OPTIMAL:
        return None
    model.m.Add(secondary == int(round(solver.ObjectiveValue())))
    terms, weights, radix = [], [], 1
    for vars_ in reversed([model.s, model.q, model.x["k"], model.x["h"], model.x["w"]]):
        terms += vars_
        weights += [radix * i for i in range(len(vars_))]
        radix *= len(vars_)
    model.m.Minimize(cp_model.LinearExpr.WeightedSum(terms, weights))
    solver = _solver(seconds / 2, workers)
    return model.mapping(solver) if solver.Solve(model.m) == cp_model.OPTIMAL else None
