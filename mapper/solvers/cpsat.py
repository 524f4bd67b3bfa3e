"""The exact CP-SAT mapper: the C³P energy of `cost.py`, minimised with a proof.

Encoding (one model per layer and hardware):

* one-hot choices: the (package split, chiplet split) pair, the pair of loop orders,
  and for each dimension K, H, W its cut (chiplet tile, core tile) among every cut of
  the space; a cut's per-dimension table (`cost.dim_tables`) becomes linear expressions;
* every count of `cost.combine` is a product of three per-dimension values (one per
  dimension), written with `AddMultiplicationEquality`;
* retention: for each buffer the solver picks a loop position whose footprint fits and
  pays that position's fills. Energy never increases as the position moves outward
  (fills shrink and DRAM costs more per bit than a die-to-die hop), so at the optimum
  the pick is `cost.py`'s rule (the outermost position that fits) or ties with it.

The objective is the exact integer energy in femtojoules. The returned mapping is
re-priced with `cost.evaluate`; the test suite checks the two agree to the unit.

Before the model is built, exact preprocessing shrinks the cuts (docs/solver.md):
dominated cuts go (`pareto`); a good incumbent (the template optimum, improved by a
coordinate descent, `_warm_start`) bounds the objective, and cuts or pairs of cuts whose
lower bound exceeds it go (`_Model.prune`). CP-SAT then proves the optimum on what is
left, and the tie-break among equal optima (`_canonical`) prices the few survivors.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from math import ceil

import numpy as np

from mapper.cost import (KEY_INDEX, KEYS, Columns, CostContext, Evaluation, a_l1_positions, a_l2_positions,
                         bandwidths, combine, energy_breakdown, evaluate, mapping_counts, pool_capacity_bits,
                         w_l1_positions, windows)
from mapper.hwspec import Hardware
from mapper.interrupts import import_whole
from mapper.layer import Layer
from mapper.pareto import front as front_2d
from mapper.solvers.enumerate import INF, Cuts, batch_tiles, cut_tables, dim_choices, dim_size, enumerate_layer
from mapper.space import ORDERS, Mapping, core_splits, package_splits, partition_type
from mapper.workers import default_workers

cp_model = import_whole("ortools.sat.python.cp_model")  # a Ctrl-C must not land in its C++ start-up

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
SLACK = 1 + 1e-9  # float bounds are compared to integer incumbents with this tolerance
# Effort knobs of the exact preprocessing; none changes the optimum, only the time to it.
PAIR_PRUNE_MIN = 1000  # bound pairs of dimensions only when they have more combinations
PAIR_BLOCK = 32_768  # pair bounds are computed on blocks of about this many pairs
PREFILTER_MIN = 2000  # bound a group's cuts before the dominance filter when it has more
JOINT_POINTS = 2_000  # the descent moves H and W together on grids up to this size
START_WITHIN, MAX_STARTS = 1.01, 8  # descents start from split pairs this close to the best
GRID_POINTS = 2_000_000  # canonical tie-break by pricing every remaining point, up to this many


def pareto(values: np.ndarray) -> np.ndarray:
    """Indices (ascending) of the rows not dominated by another row (lowest index kept
    among equal rows).

    Every count, footprint and cycle figure grows with every table value, so a cut
    that is >= another in every value the model reads can never be strictly better.
    Rows are visited by increasing sum (then index); a row goes iff an earlier row is
    <= it everywhere. By transitivity it suffices to compare a block of rows with the
    rows kept from earlier blocks and with the earlier rows of the block, key by key.

    Only keys that tell rows apart are compared (a constant key, or a repeat of another
    key, never decides), and of the kept rows only those <= the block's largest value
    in every key can dominate a row of the block. Neither changes the rows kept."""
    n = len(values)
    if n <= 1:
        return np.arange(n)
    order = np.lexsort((np.arange(n), values.sum(axis=1)))
    a = np.ascontiguousarray(_deciding_keys(values)[order].T)  # keys x rows, in visiting order
    kept: list[np.ndarray] = []
    front = a[:, :0]
    for start in range(0, n, 256):
        idx = np.arange(start, min(n, start + 256))
        if front.shape[1]:
            block = a[:, idx]
            near = front[:, (front <= block.max(axis=1)[:, None]).all(axis=0)]
            dom = np.ones((near.shape[1], len(idx)), dtype=bool)
            for key_f, key_b in zip(near, block):
                dom &= key_f[:, None] <= key_b[None, :]
            idx = idx[~dom.any(axis=0)]
        dom = np.triu(np.ones((len(idx), len(idx)), dtype=bool), 1)  # row i before row j
        for key in a[:, idx]:
            dom &= key[:, None] <= key[None, :]
        idx = idx[~dom.any(axis=0)]
        kept.append(idx)
        front = np.concatenate([front, a[:, idx]], axis=1)
    return np.sort(order[np.concatenate(kept)])


def _deciding_keys(values: np.ndarray) -> np.ndarray:
    """The columns of `values` that can decide a dominance: not constant, not a repeat
    of an earlier column (rows equal on these are equal on all)."""
    seen, keep = set(), []
    for j in range(values.shape[1]):
        col = values[:, j]
        if col.min() != col.max() and (b := col.tobytes()) not in seen:
            seen.add(b)
            keep.append(j)
    return values[:, keep]


def field_coefficients(hw: Hardware) -> dict[str, int]:
    """fJ per counted element of each field, read off `cost.energy_breakdown` (linear)."""
    zero = dict.fromkeys(ENERGY_FIELDS, 0)
    return {f: int(sum(energy_breakdown(zero | {f: 1}, hw).values())) for f in ENERGY_FIELDS}


@dataclass
class _Cuts:
    """One dimension's candidate cuts: chiplet tile, core tile, split group (index into
    `_Model.groups[d]`) and dim-table row of each."""

    tile: np.ndarray
    core: np.ndarray
    group: np.ndarray
    table: np.ndarray

    def __len__(self) -> int:
        return len(self.tile)

    def take(self, idx) -> "_Cuts":
        return _Cuts(self.tile[idx], self.core[idx], self.group[idx], self.table[idx])

    def col(self, key: tuple) -> np.ndarray:
        return self.table[:, KEY_INDEX[key]]

    @staticmethod
    def concat(parts: list["_Cuts"]) -> "_Cuts":
        return _Cuts(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("tile", "core", "group", "table")))


class _Symbolic:
    """`cost.py`'s rules read once with symbolic tables (every value a Mono)."""

    def __init__(self, layer: Layer, hw: Hardware, orders: list[tuple[str, str]], batch_tile: int):
        sym = CostContext(layer, hw, {d: _SymTable(d) for d in "hwk"}, batch_tile)
        self.counts = mapping_counts(sym)
        self.pos = {(buf, co, qo): self._positions(sym, buf, co, qo) for co, qo in orders for buf in BUFFERS}
        monos = list(self.counts.values())
        for p in self.pos.values():
            monos += p.fill + p.shared + p.foot + p.writes
        used: dict[str, set] = {d: set() for d in "khw"}
        for mono in monos:
            for d, k in mono.factors:
                used[d].add(k)
        self.used = {d: [KEY_INDEX[k] for k in sorted(v)] for d, v in used.items()}  # read columns

    @staticmethod
    def _positions(sym: CostContext, buf: str, chip_order: str, core_order: str):
        if buf == "a_l1":
            return a_l1_positions(sym, chip_order, core_order)
        if buf == "w_l1":
            return w_l1_positions(sym, chip_order, core_order)
        return a_l2_positions(sym, chip_order)


class _Model:
    """Builds the CP-SAT model of one layer on one hardware."""

    def __init__(self, layer: Layer, hw: Hardware, template: bool, fixed: dict | None,
                 base: "_Model | None" = None, max_cycles: int | None = None,
                 upper: int | None = None, objective: str = "energy"):
        self.layer, self.hw, self.fixed = layer, hw, fixed or {}
        # one model per batch tile (`solve_layer` takes the best): N/b is a constant here
        self.batch_tile = self.fixed.get("batch_tile", 1)
        self.max_cycles = base.max_cycles if base is not None else max_cycles  # a latency cap
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
        # per dimension: the (parts, core parts) groups of the split pairs, and the cuts
        self.groups = {d: sorted({(p[i], c[i]) for p, c in self.pairs}) for i, d in enumerate("khw")}
        self.coef = field_coefficients(hw)
        self.bandwidths = bandwidths(hw)  # modelled resources: {name: (num, den) bits per cycle}
        if base is not None:  # start from another model's (already pruned) cuts
            self.sym, self.cuts = base.sym, dict(base.cuts)
        else:
            self.sym, seen = _Symbolic(layer, hw, self.orders, self.batch_tile), {}
            fitting = {d: self._fitting(d, template) for d in "khw"}
            # the dimension with the most cuts last: with a known objective value `upper`,
            # its cuts are bounded (the other two at their minima) before the dominance
            # filter, which then has far fewer rows (H = 4,096 tokens: ~500,000 cuts)
            last = max("khw", key=lambda d: sum(len(c) for c in fitting[d]))
            self.cuts = {}
            for d in sorted("khw", key=lambda d: d == last):
                self.cuts[d] = self._candidates(d, fitting[d], seen, upper if d == last else None, objective)
            self.cuts = {d: self.cuts[d] for d in "khw"}
        self.x: dict[str, list] = {}
        self._vals: dict = {}
        self._prods: dict = {}
        self._hi: dict[int, int] = {}  # bounds of every value/product variable
        self._lo: dict[int, int] = {}
        self.traffic: dict[str, tuple] = {}  # buffer -> (fill var, shared var, their upper bounds)

    @property
    def candidates(self) -> dict[str, int]:
        return {d: len(self.cuts[d]) for d in "khw"}

    def _fitting(self, d: str, template: bool) -> list[Cuts]:
        """Per split group, the cuts of the space that may fit their buffers (`_may_fit`)."""
        out = []
        for p, c in self.groups[d]:
            cuts = dim_choices(self.layer, self.hw, d, p, c, template, *self._fit_limits(d))
            ok = self._may_fit(d, cuts)
            out.append(Cuts(cuts.tile[ok], cuts.core[ok]))
        return out

    def _candidates(self, d: str, fitting: list[Cuts], seen: dict, upper: int | None,
                    objective: str) -> _Cuts:
        """Per split group, the fitting cuts that no other cut of the group dominates
        (`pareto`). `seen` shares the dominance results between H and W: on square layers
        their groups hold the very same cuts. With `upper` (an objective value some
        mapping reaches), a large group's cuts whose lower bound exceeds it go first —
        `prune` would drop them anyway, and dominance is decided the same on the rest
        (a cut dominated by a dropped one has no smaller bound: it goes too)."""
        parts = []
        for gi, ((p, c), cuts) in enumerate(zip(self.groups[d], fitting)):
            table, used = cut_tables(self.layer, d, p, c, cuts), self.sym.used[d]
            if upper is not None and len(cuts) > PREFILTER_MIN:
                self.cuts[d] = _Cuts(cuts.tile, cuts.core, np.full(len(cuts), gi), table)
                keep = self._lower_bounds(d, objective) <= upper * SLACK
                cuts, table = Cuts(cuts.tile[keep], cuts.core[keep]), table[keep]
            links = "d2d" in self.bandwidths
            key = (dim_size(self.layer, d), None if d == "k" else self.layer.reach(d), p, c, tuple(used),
                   cuts.tile.tobytes(), cuts.core.tobytes(), links)
            if key not in seen:
                seen[key] = pareto(self._dominance_values(table, used, links))
            rows = seen[key]
            parts.append(_Cuts(cuts.tile[rows], cuts.core[rows], np.full(len(rows), gi), table[rows]))
        return _Cuts.concat(parts)

    @staticmethod
    def _dominance_values(table: np.ndarray, used: list[int], links: bool) -> np.ndarray:
        """The values a cut must not exceed another's in to be dominated. Every count grows
        with every table value, but die-to-die traffic is a difference (a chunk's fills
        over all chiplets minus the first chiplet's): when link time is modelled, each
        all-chiplets value minus its first-chiplet twin is compared too. With those too
        no smaller, a product of such factors has a no smaller difference as well (all
        values >= 0, sums >= firsts), so a dominated cut is never faster either."""
        cols = [table[:, used]]
        if links:
            for i in used:
                k = KEYS[i]
                mode = 3 if k[0] == "chip" else 2 if len(k) == 4 else None
                if mode is not None and k[mode] == "sum":
                    twin = KEY_INDEX[k[:mode] + ("first",) + k[mode + 1:]]
                    cols.append((table[:, i] - table[:, twin])[:, None])
        return np.concatenate(cols, axis=1)

    def _may_fit(self, d: str, cuts: Cuts) -> np.ndarray:
        """False where a cut overflows a buffer even with every other dimension at its
        smallest tile (1): checked before its table is built, since long dimensions
        have ~D^2/2 cuts. The innermost needs of docs/cost-model.md §3.1."""
        if d == "k":
            return np.ones(len(cuts), dtype=bool)
        u, t = np.minimum(cuts.core, cuts.tile), np.minimum(cuts.tile, dim_size(self.layer, d))
        core_ok, tile_ok = self._fit_tests(d)
        return core_ok[u] & tile_ok[t]

    def _fit_tests(self, d: str) -> tuple[np.ndarray, np.ndarray]:
        """`_may_fit`'s two tests for every size n = 0..D of a plane dimension: whether a
        core tile of n fits (O-L1, one c-block in A-L1) and whether a chiplet tile of n
        fits (A-L2, O-L2), every other dimension at tile 1."""
        L, hw = self.layer, self.hw
        size = dim_size(L, d)
        win = windows(size, L.reach(d))
        one = L.window(1, "w" if d == "h" else "h")
        n = np.arange(size + 1)
        chan1 = 1 if L.depthwise else min(hw.vector, L.C)  # one c-block (depthwise: >= 1 lane)
        chan2 = 1 if L.depthwise else L.C
        core_ok = ((n * hw.lanes * hw.psum_bits <= hw.capacity_bits("o_l1"))
                   & (chan1 * win * one * hw.act_bits <= hw.capacity_bits("a_l1")))
        tile_ok = ((chan2 * win * one * hw.act_bits <= hw.capacity_bits("a_l2"))
                   & (n * hw.act_bits <= hw.capacity_bits("o_l2")))
        return core_ok, tile_ok

    def _fit_limits(self, d: str) -> tuple[int | None, int | None]:
        """The largest chiplet tile and core tile that pass `_may_fit`'s tests: the cuts
        are generated up to them only (then tested), not the ~D^2/2 of a long dimension."""
        if d == "k":
            return None, None
        core_ok, tile_ok = self._fit_tests(d)
        return int(np.flatnonzero(tile_ok).max(initial=0)), int(np.flatnonzero(core_ok).max(initial=0))

    # -- exact preprocessing -----------------------------------------------------------
    def prune(self, upper: float, objective: str, quick: bool = False) -> None:
        """Drop cuts that cannot be optimal: cuts whose lower bound exceeds `upper` (the
        objective of a known feasible mapping), then cuts of no pair of dimensions whose
        joint bound is within `upper`; until nothing changes. Bounds take the remaining
        dimension(s) at their smallest value of each key, the best orders and the best
        fitting retention positions: energy and compute cycles grow with every table value
        (the latency bound is the compute cycles: link and DRAM time only add to them).
        `quick`: the single-cut bounds only (cheap on many cuts)."""
        for _ in range(6):
            before = self.candidates
            for d in "khw":
                self._keep(d, self._lower_bounds(d, objective) <= upper * SLACK)
            if not quick:
                for d1, d2 in (("h", "k"), ("w", "k"), ("h", "w")):  # K has few cuts: cheap first
                    if len(self.cuts[d1]) * len(self.cuts[d2]) > PAIR_PRUNE_MIN:
                        self._prune_pairs(d1, d2, upper, objective)
            if self.candidates == before:
                break

    def _keep(self, d: str, mask_or_idx) -> None:
        self.cuts[d] = self.cuts[d].take(mask_or_idx)

    def _lower_bounds(self, d: str, objective: str) -> np.ndarray:
        """Bound of each cut of dimension d, the others at their per-key minimum."""
        n = len(self.cuts[d])
        if n == 0 or any(not len(self.cuts[e]) for e in "khw"):
            return np.full(n, np.inf)
        value = self._valuer({e: slice(None) for e in "khw"}, {d: (-1,)})
        return self._bound(value, (n,), objective, max(self._buffer_terms()[2]["w_l1"]))

    def _valuer(self, rows: dict, shape_of: dict):
        """Mono -> array of its values: the dimensions in `shape_of` vary along their own
        axis; every other one sits at its minimum over `rows` (a lower bound, since every
        count grows with every table value)."""
        cache: dict = {}
        done: dict[Mono, np.ndarray] = {}  # the same counts recur across orders and positions

        def value(mono: Mono) -> np.ndarray:
            if mono in done:
                return done[mono]
            out = float(mono.coef)
            for e, k in sorted(mono.factors, key=lambda f: f[0] in shape_of):  # scalars first
                if (e, k) not in cache:
                    col = self.cuts[e].col(k)[rows[e]].astype(np.float64)
                    cache[(e, k)] = col.reshape(shape_of[e]) if e in shape_of else col.min()
                out = out * cache[(e, k)]
            done[mono] = out
            return out

        return value

    def _prune_pairs(self, d1: str, d2: str, upper: float, objective: str) -> None:
        """Bound every compatible (d1 cut, d2 cut) pair, the third dimension at its
        per-key minimum; keep the cuts of some pair whose bound does not exceed `upper`.
        Pairs catch what single cuts cannot: O-L1 holds u_h x u_w, windows multiply."""
        i1, i2 = "khw".index(d1), "khw".index(d2)
        d3 = next(d for d in "khw" if d not in (d1, d2))
        i3 = "khw".index(d3)
        gi = {d: {g: j for j, g in enumerate(self.groups[d])} for d in "khw"}
        combos: dict[tuple, list[int]] = {}
        for pi, (p, c) in enumerate(self.pairs):
            combos.setdefault((gi[d1][(p[i1], c[i1])], gi[d2][(p[i2], c[i2])]), []).append(pi)
        keep = {d: np.zeros(len(self.cuts[d]), dtype=bool) for d in (d1, d2)}
        pool_caps = self._buffer_terms()[2]["w_l1"]
        for (g1, g2), pis in combos.items():
            g3 = [gi[d3][(self.pairs[pi][0][i3], self.pairs[pi][1][i3])] for pi in pis]
            rows = {d1: np.flatnonzero(self.cuts[d1].group == g1),
                    d2: np.flatnonzero(self.cuts[d2].group == g2),
                    d3: np.flatnonzero(np.isin(self.cuts[d3].group, g3))}
            if not all(len(r) for r in rows.values()):
                continue
            step = max(1, PAIR_BLOCK // len(rows[d2]))  # blocks of d1 rows: arrays that stay in cache
            for start in range(0, len(rows[d1]), step):
                block = dict(rows, **{d1: rows[d1][start:start + step]})
                value = self._valuer(block, {d1: (-1, 1), d2: (1, -1)})
                ok = self._bound(value, (len(block[d1]), len(rows[d2])), objective,
                                 max(pool_caps[pi] for pi in pis)) <= upper * SLACK
                keep[d1][block[d1]] |= ok.any(axis=1)
                keep[d2][rows[d2]] |= ok.any(axis=0)
        for d in (d1, d2):
            self._keep(d, keep[d])

    def _bound(self, value, shape: tuple, objective: str, pool_cap: int) -> np.ndarray:
        """Lower bound of the objective given `value` (Mono -> array of bounds): best
        orders, cheapest fitting retention position per buffer, hard needs checked."""
        hw, fixed = self.hw, self.sym.counts
        ok = ((value(fixed["o_l1_need"]) <= hw.capacity_bits("o_l1"))
              & (value(fixed["o_l2_need"]) <= hw.capacity_bits("o_l2")))
        weights, bits, caps = self._buffer_terms()
        caps = {"a_l1": caps["a_l1"][0], "a_l2": caps["a_l2"][0], "w_l1": pool_cap}
        best = np.full(shape, np.inf)
        per_buffer: dict[tuple, np.ndarray] = {}  # orders often share a buffer's positions
        for co, qo in self.orders:
            total = np.zeros(shape)
            for buf in BUFFERS:
                cf, cs, cw = weights[buf]
                pos = self.sym.pos[(buf, co, qo)]
                options = tuple(dict.fromkeys(list(zip(pos.fill, pos.shared, pos.written,
                                                       pos.foot))[:self.positions(buf)]))
                if (buf, options) not in per_buffer:
                    cheapest = np.full(shape, np.inf)
                    for fill, shared, written, foot in options:
                        fits = value(foot) * bits[buf] <= caps[buf]
                        cost = (cf * value(fill) + cs * value(shared) + cw * value(written)
                                if objective == "energy" else 0.0)
                        cheapest = np.where(fits, np.minimum(cheapest, cost), cheapest)
                    per_buffer[(buf, options)] = cheapest
                total = total + per_buffer[(buf, options)]
            best = np.minimum(best, total)
        if objective == "energy":
            best = best + self.coef["a_l1_read"] * value(fixed["a_l1_read"]) \
                + self.coef["w_l1_read"] * value(fixed["w_l1_read"]) + self.constant_energy()
        else:
            best = best + value(fixed["compute_cycles"])  # a lower bound of the latency
        return np.where(ok, best, np.inf)

    # -- a better incumbent --------------------------------------------------------------
    def improve(self, mp: Mapping, objective: str, rounds: int = 8,
                known: tuple[int, int] | None = None) -> tuple[tuple[int, int], Mapping]:
        """Coordinate descent from a feasible mapping over the remaining cuts: with its
        split pair fixed, re-choose the H x W cuts jointly (one at a time when that grid
        is large), then K, under every order, priced by `cost.combine` on a grid; repeat
        while it improves (at most `rounds` times). A tighter incumbent makes the bound
        pruning (and so CP-SAT's proof) much cheaper. Returns the key (objective,
        secondary objective) and the mapping reached; `known`: the start's (energy,
        cycles), when already priced."""
        if known is None:
            e = evaluate(self.layer, self.hw, mp)
            known = (e.energy_fj, e.cycles)
        key = self._key(*known, objective)
        pair = (mp.pkg_split, mp.core_split)
        if pair not in self.pairs or mp.batch_tile != self.batch_tile:
            return key, mp
        rows = self._pair_rows(pair)
        joint = len(rows["h"]) * len(rows["w"]) <= JOINT_POINTS
        steps = ((("h", "w"),) if joint else (("h",), ("w",))) + (("k",),)
        for _ in range(rounds):
            start = key
            for free in steps:
                sel = {d: rows[d] if d in free else self._rows_of(mp, d, rows[d]) for d in "khw"}
                if not all(len(r) for r in sel.values()):
                    continue
                found = self._grid_best(pair, sel, objective)
                if found is not None and found[0][:2] < key:
                    key, mp = found[0][:2], found[1]
            if key == start:
                break
        return key, mp

    def _rows_of(self, mp: Mapping, d: str, rows: np.ndarray) -> np.ndarray:
        """The row (among `rows`) of the cut a mapping makes of dimension d."""
        i = "khw".index(d)
        core = self.hw.lanes if d == "k" else mp.core_tile[i - 1]
        c = self.cuts[d]
        return rows[(c.tile[rows] == mp.chip_tile[i]) & (c.core[rows] == core)][:1]

    @staticmethod
    def _key(energy, cycles, objective: str):
        return (energy, cycles) if objective == "energy" else (cycles, energy)

    def _grid_best(self, pair, sel: dict, objective: str):
        """The best (key, mapping) over the grid sel['h'] x sel['w'] x sel['k'] (rows of
        `self.cuts`) under every order, priced by `cost.combine`. key = (objective,
        secondary objective, order index, k row, h row, w row): ties go to the smallest
        code, so the answer does not depend on how it was found."""
        T = {d: Columns(self.cuts[d].table[sel[d]], axis="hwk".index(d)) for d in "khw"}
        found = None
        for qi, (co, qo) in enumerate(self.orders):
            comb = combine(self.layer, self.hw, co, qo, pair[1], T, self.batch_tile)
            energy = np.broadcast_to(sum(energy_breakdown(comb.counts, self.hw).values()), comb.feasible.shape)
            cycles = np.broadcast_to(comb.counts["cycles"], comb.feasible.shape)
            primary, secondary = (energy, cycles) if objective == "energy" else (cycles, energy)
            ok = comb.feasible if self.max_cycles is None else comb.feasible & (cycles <= self.max_cycles)
            if not ok.any():
                continue
            p = np.where(ok, primary, INF)
            cand = np.flatnonzero(p == p.min())
            cand = cand[secondary.ravel()[cand] == secondary.ravel()[cand].min()]
            ih, iw, ik = np.unravel_index(cand, p.shape)
            rows = {"k": sel["k"][ik], "h": sel["h"][ih], "w": sel["w"][iw]}
            j = np.lexsort((rows["w"], rows["h"], rows["k"]))[0]
            key = (int(p.ravel()[cand[j]]), int(secondary.ravel()[cand[j]]), qi,
                   int(rows["k"][j]), int(rows["h"][j]), int(rows["w"][j]))
            if found is None or key < found[0]:
                found = (key, self._mapping_at(pair, (co, qo), key[3], key[4], key[5]))
        return found

    def _mapping_at(self, pair, order, k: int, h: int, w: int) -> Mapping:
        c = self.cuts
        return Mapping(pair[0], (int(c["k"].tile[k]), int(c["h"].tile[h]), int(c["w"].tile[w])),
                       order[0], pair[1], (int(c["h"].core[h]), int(c["w"].core[w])), order[1],
                       self.batch_tile)

    def _pair_rows(self, pair) -> dict[str, np.ndarray]:
        """Per dimension, the rows of the cuts that belong to a split pair."""
        return {d: np.flatnonzero(self.cuts[d].group == self.groups[d].index((pair[0][i], pair[1][i])))
                for i, d in enumerate("khw")}

    def grid_optimum(self, objective: str, max_points: int) -> Mapping | None:
        """The canonical optimum of the remaining cuts by pricing all of them, or None if
        there are more than `max_points`: the smallest (objective, secondary objective,
        split pair, orders, cut rows)."""
        rows = [self._pair_rows(pair) for pair in self.pairs]
        if sum(len(r["k"]) * len(r["h"]) * len(r["w"]) for r in rows) * len(self.orders) > max_points:
            return None
        best = None
        for pi, (pair, sel) in enumerate(zip(self.pairs, rows)):
            if not all(len(r) for r in sel.values()):
                continue
            found = self._grid_best(pair, sel, objective)
            if found is not None and (best is None or found[0][:2] < best[0][:2]):
                best = found
        return None if best is None else best[1]

    # -- the CP-SAT model --------------------------------------------------------------
    def variables(self) -> None:
        """One-hot cut choices, tied to the (package, chiplet) split choice."""
        m = self.m
        for i, d in enumerate("khw"):
            self.x[d] = [m.NewBoolVar(f"{d}{j}") for j in range(len(self.cuts[d]))]
            group = self.cuts[d].group.tolist()
            for gi, pc in enumerate(self.groups[d]):
                m.Add(sum(x for x, g in zip(self.x[d], group) if g == gi)
                      == sum(s for s, (p, c) in zip(self.s, self.pairs) if (p[i], c[i]) == pc))

    def _buffer_terms(self):
        """Per buffer: (fill, shared fill, write) energy coefficients, data width, capacity options."""
        hw, co = self.hw, self.coef
        weights = {  # fJ per (fill, shared fill, write); writes are the fills but in-memory W-L1
            "a_l1": (0, co["a_l2_read"], co["a_l1_write"]),
            "w_l1": (co["d2d_w"], co["dram_read_w"] - co["d2d_w"], co["w_l1_write"]),
            "a_l2": (co["d2d_a"], co["dram_read_a"] - co["d2d_a"], co["a_l2_write"]),
        }
        bits = {"a_l1": hw.act_bits, "w_l1": hw.weight_bits, "a_l2": hw.act_bits}
        caps = {"a_l1": [hw.capacity_bits("a_l1")], "a_l2": [hw.capacity_bits("a_l2")],
                "w_l1": [pool_capacity_bits(hw, c) for _, c in self.pairs]}
        return weights, bits, caps

    def positions(self, buf: str) -> int:
        """How many retention positions (outermost first) a buffer may take: an in-memory
        array keeps its weights resident (position 0 only)."""
        return 1 if buf == "w_l1" and self.hw.in_memory else 9

    def constant_energy(self) -> int:
        """Energy no mapping changes: outputs to O-L2 and DRAM, O-L1 RMWs, MACs."""
        L, co = self.layer, self.coef
        return (L.outputs * (co["dram_write_o"] + co["o_l2_write"] + co["o_l2_read"])
                + L.outputs * ceil(L.Cr / self.hw.vector) * L.R * L.S * co["o_l1_rmw"]
                + int(self.hw.mac_fj(L.macs)))

    def val(self, d: str, key) -> cp_model.IntVar:
        """The chosen cut's table value for `key` (an IntVar equal to a linear sum)."""
        if (d, key) not in self._vals:
            vals = self.cuts[d].col(key).tolist()
            v = self.m.NewIntVar(min(vals), max(vals), f"{d}{key}")
            self.m.Add(v == cp_model.LinearExpr.WeightedSum(self.x[d], vals))
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

    def var(self, mono: Mono):
        """A linear expression equal to the Mono (coef x product IntVar)."""
        if not mono.factors:
            return mono.coef
        return mono.coef * self.prod(*(self.val(d, k) for d, k in mono.factors))

    def upper(self, mono: Mono) -> int:
        hi = mono.coef
        for d, k in mono.factors:
            hi *= int(self.cuts[d].col(k).max())
        return hi

    def build(self, objective: str = "energy") -> None:
        hw, m, co = self.hw, self.m, self.coef
        for f in ("dram_read_w", "dram_read_a"):
            if co[f] < co[f.replace("dram_read", "d2d")]:
                raise ValueError("die-to-die energy per bit exceeds DRAM's: the retention "
                                 "choice of the CP-SAT model would not be exact")
        self.variables()
        fixed = self.sym.counts
        for need, buf in (("o_l1_need", "o_l1"), ("o_l2_need", "o_l2")):
            m.Add(self.var(fixed[need]) <= hw.capacity_bits(buf))
        weights, bits, caps = self._buffer_terms()
        cap_expr = {"a_l1": caps["a_l1"][0], "a_l2": caps["a_l2"][0],
                    "w_l1": sum(s * cap for s, cap in zip(self.s, caps["w_l1"]))}
        self.buffer_cost = {}
        for buf in BUFFERS:
            cf, cs, cw = weights[buf]
            options = []  # (order index, position, fill, shared, footprint)
            written = {}  # (order index, position) -> the buffer's writes
            for qi, (c_o, q_o) in enumerate(self.orders):
                pos = self.sym.pos[(buf, c_o, q_o)]
                options += [(qi, r, pos.fill[r], pos.shared[r], pos.foot[r])
                            for r in range(min(len(pos.foot), self.positions(buf)))]
                written |= {(qi, r): w for r, w in enumerate(pos.written)}
            hi = max(cf * self.upper(f) + cs * self.upper(sh) + cw * self.upper(written[(qi, r)])
                     for qi, r, f, sh, _ in options)
            cost = m.NewIntVar(0, hi, f"cost_{buf}")
            ys = {qi: [] for qi in range(len(self.orders))}
            exact = self.traffic_vars(buf, options) if self.bandwidths else None
            for qi, r, fill, shared, foot in options:
                y = m.NewBoolVar(f"{buf}_q{qi}_r{r}")
                ys[qi].append(y)
                m.Add(self.var(foot * bits[buf]) <= cap_expr[buf]).OnlyEnforceIf(y)
                m.Add(cost >= cf * self.var(fill) + cs * self.var(shared)
                      + cw * self.var(written[(qi, r)])).OnlyEnforceIf(y)
                if exact:
                    self.pin_traffic(exact, y, qi, r, options, bits[buf], cap_expr[buf])
            for qi, q in enumerate(self.q):
                m.Add(sum(ys[qi]) == q)
            self.buffer_cost[buf] = cost
        self.energy = (sum(self.buffer_cost.values()) + co["a_l1_read"] * self.var(fixed["a_l1_read"])
                       + co["w_l1_read"] * self.var(fixed["w_l1_read"]) + self.constant_energy())
        self.cycles = self.latency_var(self.var(fixed["compute_cycles"]), self.upper(fixed["compute_cycles"]))
        if self.max_cycles is not None:
            m.Add(self.cycles <= self.max_cycles)
        m.Minimize(self.energy if objective == "energy" else self.cycles)

    # -- bandwidth-aware latency (cost.latency) -------------------------------------------
    def traffic_vars(self, buf: str, options: list) -> tuple | None:
        """Exact fills and shared fills of a buffer whose traffic reaches DRAM or the links
        (W-L1 pools, A-L2); None for A-L1. Energy alone needs only `cost >=` (energy never
        grows outward), but die-to-die traffic (fill - shared) need not shrink outward, so
        with bandwidths modelled the pick is pinned to cost.py's rule: the outermost
        position that fits, and the traffic equals that position's."""
        if buf == "a_l1":
            return None
        hi_f = max(self.upper(f) for _, _, f, _, _ in options)
        hi_s = max(self.upper(sh) for _, _, _, sh, _ in options)
        fill, shared = self.m.NewIntVar(0, hi_f, f"fill_{buf}"), self.m.NewIntVar(0, hi_s, f"shared_{buf}")
        self.traffic[buf] = (fill, shared, hi_f, hi_s)
        return fill, shared

    def pin_traffic(self, exact: tuple, y, qi: int, r: int, options: list, bits: int, cap) -> None:
        fill_v, shared_v = exact
        same = [o for o in options if o[0] == qi]
        _, _, fill, shared, _ = same[r]
        self.m.Add(fill_v == self.var(fill)).OnlyEnforceIf(y)
        self.m.Add(shared_v == self.var(shared)).OnlyEnforceIf(y)
        for _, _, _, _, foot in same[:r]:  # every outer position overflows
            self.m.Add(self.var(foot * bits) > cap).OnlyEnforceIf(y)

    def latency_var(self, compute, compute_hi: int):
        """cost.latency: cycles >= each resource's time, num x cycles >= den x bits."""
        if not self.bandwidths:
            return compute
        hw, L = self.hw, self.layer
        fw, sw, hi_fw, hi_sw = self.traffic["w_l1"]
        fa, sa, hi_fa, hi_sa = self.traffic["a_l2"]
        out_bits = L.outputs * hw.act_bits
        bits = {"dram": hw.weight_bits * sw + hw.act_bits * sa + out_bits,
                "d2d": hw.weight_bits * (fw - sw) + hw.act_bits * (fa - sa)}
        his = {"dram": hw.weight_bits * hi_sw + hw.act_bits * hi_sa + out_bits,
               "d2d": hw.weight_bits * hi_fw + hw.act_bits * hi_fa}
        hi = max([compute_hi] + [-(-his[k] * den // num) for k, (num, den) in self.bandwidths.items()])
        cycles = self.m.NewIntVar(0, hi, "cycles")
        self.m.Add(cycles >= compute)
        for name, (num, den) in self.bandwidths.items():
            self.m.Add(num * cycles >= den * bits[name])
        return cycles

    def mapping(self, solver: cp_model.CpSolver) -> Mapping:
        pkg, cs = next(p for p, s in zip(self.pairs, self.s) if solver.Value(s))
        co, qo = next(o for o, q in zip(self.orders, self.q) if solver.Value(q))
        j = {d: next(j for j, x in enumerate(self.x[d]) if solver.Value(x)) for d in "khw"}
        return self._mapping_at((pkg, cs), (co, qo), j["k"], j["h"], j["w"])

    def hint(self, mp: Mapping) -> bool:
        """Give CP-SAT a known mapping as a hint; False if it is not in the model."""
        pair = (mp.pkg_split, mp.core_split)
        order = (mp.chip_order, mp.core_order)
        if pair not in self.pairs or order not in self.orders or mp.batch_tile != self.batch_tile:
            return False
        want = {"k": (mp.chip_tile[0], self.hw.lanes), "h": (mp.chip_tile[1], mp.core_tile[0]),
                "w": (mp.chip_tile[2], mp.core_tile[1])}
        idx = {}
        for i, d in enumerate("khw"):
            c, g = self.cuts[d], self.groups[d].index((pair[0][i], pair[1][i]))
            hit = np.flatnonzero((c.group == g) & (c.tile == want[d][0]) & (c.core == want[d][1]))
            if not len(hit):
                return False
            idx[d] = int(hit[0])
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
    solver.parameters.cp_model_probing_level = 0  # pruned models are small: probing costs more than it saves
    # Ctrl-C is Python's: CP-SAT's own handler ends the whole process, so a caller
    # could not keep what it solved (mapper codesign reports the best design so far)
    solver.parameters.catch_sigint_signal = False
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
    tiles = batch_tiles(layer, space == "template", fixed)
    if len(tiles) > 1:
        return _over_batch_tiles(layer, hw, space, time_limit, workers, fixed, objective, warm_start, tiles)
    if objective == "edp":
        return _solve_edp(layer, hw, space, time_limit, workers, fixed, warm_start)
    return _solve(layer, hw, space, time_limit, workers, fixed, objective, warm_start)


def _per_batch_tile(tiles: list[int], time_limit: float, fixed: dict | None, solve):
    """Run `solve(fixed with batch_tile b, seconds)` for every batch tile, the time left
    shared evenly among the tiles still to run."""
    t0, out = time.perf_counter(), []
    for i, b in enumerate(tiles):
        share = (time_limit - (time.perf_counter() - t0)) / (len(tiles) - i)
        out.append(solve((fixed or {}) | {"batch_tile": b}, share))
        if i == 0 and out[0].status == "INFEASIBLE":  # needs only grow with b: none fits
            break
    return out, time.perf_counter() - t0


def _over_batch_tiles(layer: Layer, hw: Hardware, space: str, time_limit: float, workers: int | None,
                      fixed: dict | None, objective: str, warm_start: bool, tiles: list[int]) -> SolveResult:
    """The batch tile multiplies constants of the model (N / b), so each tile gets its own
    model and the best of them is the optimum: OPTIMAL when every tile's solve is proven
    (or infeasible), the bound the least of theirs. Ties: the secondary objective, then
    the smaller tile."""
    results, wall = _per_batch_tile(tiles, time_limit, fixed, lambda f, sec: solve_layer(
        layer, hw, space, sec, workers, f, objective, warm_start))
    found = [(r, b) for r, b in zip(results, tiles) if r.best is not None]
    if not found:
        infeasible = results[0].status == "INFEASIBLE"  # b = 1 first: then no tile fits
        return SolveResult(layer, "INFEASIBLE" if infeasible else "UNKNOWN", None, None, None, wall,
                           reason=results[0].reason, objective=objective)
    second = (lambda e: e.energy_fj) if objective == "latency" else (lambda e: e.cycles)
    best, _ = min(found, key=lambda rb: (rb[0].value, second(rb[0].best), rb[1]))
    proven = all(r.status in ("OPTIMAL", "INFEASIBLE") for r in results)
    bounds = [r.bound for r in results if r.status != "INFEASIBLE"]
    bound = None if any(b is None for b in bounds) else min(bounds)
    return SolveResult(layer, "OPTIMAL" if proven else "FEASIBLE", best.best, best.value,
                       best.value if proven else bound, wall,
                       stats={"batch_tiles": {b: r.status for r, b in zip(results, tiles)},
                              "candidates": best.stats.get("candidates")}, objective=objective)


def _solve(layer: Layer, hw: Hardware, space: str, time_limit: float, workers: int | None,
           fixed: dict | None, objective: str, warm_start: bool, max_cycles: int | None = None,
           upper: int | None = None) -> SolveResult:
    t0 = time.perf_counter()
    found = None
    if warm_start and max_cycles is None:
        found = enumerate_layer(layer, hw, "template", fixed=fixed)
        if found.best is not None:
            upper = _value(found.best, objective)
    model = _Model(layer, hw, space == "template", fixed, max_cycles=max_cycles, upper=upper, objective=objective)
    incumbent = None
    if found is not None:
        incumbent = _warm_start(model, found, objective, space == "template")
    if incumbent is None and upper is not None:
        model.prune(upper, objective)
    if not all(model.candidates.values()):
        return SolveResult(layer, "INFEASIBLE", None, None, None, time.perf_counter() - t0,
                           reason=_why_infeasible(layer, hw, fixed), objective=objective)
    model.build(objective)
    if incumbent is not None:
        model.hint(incumbent.mapping)
    solver = _solver(time_limit, workers)
    status = solver.Solve(model.m)
    stats = {"branches": solver.NumBranches(), "conflicts": solver.NumConflicts(),
             "candidates": model.candidates}
    if status == cp_model.UNKNOWN and incumbent is not None:
        # out of time before CP-SAT found anything: the warm start's mapping is still a
        # feasible answer (no proven bound: energies are >= 0, so 0 is the only one)
        return SolveResult(layer, "FEASIBLE", incumbent, _value(incumbent, objective), 0,
                           time.perf_counter() - t0, stats=stats, objective=objective)
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


def _warm_start(model: _Model, found, objective: str, template: bool) -> Evaluation | None:
    """A good feasible mapping, and the model pruned against it (exact: `_Model.prune`).

    `found` is the template space's enumeration (vectorised, ~0.1 s); its optimum bounds
    the objective. In the full space, `_Model.improve` then screens every split pair by
    one round of descent from the pair's best template mapping: the optimum often uses
    another pair than the template optimum, and the template ranks pairs badly when a
    dimension has few divisors (GPT-2's 50,257-word head: 29 x 1733). Full descents
    follow from the best screened mappings (within 1 % of the best, at most 8); each
    better incumbent prunes more, and on fewer cuts the descent can move H and W
    jointly, so prune and descend alternate until stable."""
    best = found.best
    if best is None:
        return None
    upper = _value(best, objective)
    if template:
        model.prune(upper, objective)
        return best
    model.prune(upper, objective, quick=True)
    if not all(model.candidates.values()):
        return best
    point = (model._key(best.energy_fj, best.cycles, objective), best.mapping)
    screened = sorted((model.improve(mp, objective, rounds=1, known=known) for known, mp in found.per_split.values()),
                      key=lambda km: km[0])  # stable: ties keep the template's split order
    point = min([point] + screened[:1], key=lambda km: km[0])
    starts = [mp for key, mp in screened if key[0] <= screened[0][0][0] * START_WITHIN][:MAX_STARTS]
    for _ in range(4):
        for mp in dict.fromkeys([point[1]] + starts):  # each start once
            if all(model.candidates.values()):
                point = min(point, model.improve(mp, objective), key=lambda km: km[0])
        model.prune(point[0][0], objective)
        if point[0][0] == upper:
            break
        upper, starts = point[0][0], []
    return best if point[1] == best.mapping else evaluate(model.layer, model.hw, point[1])


def _value(e: Evaluation, objective: str) -> int:
    return e.energy_fj if objective == "energy" else e.cycles


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


@dataclass(frozen=True)
class LayerFront:
    """A layer's energy-latency Pareto front. `points`: (fJ, cycles) of mappings found;
    `floor`: points below every mapping (each mapping has a floor point <= it in both
    energy and cycles). Complete (OPTIMAL): the two are the same exact front."""

    status: str
    points: tuple[tuple[int, int], ...]
    floor: tuple[tuple[int, int], ...]
    reason: str | None = None


def layer_front(layer: Layer, hw: Hardware, space: str = "full", time_limit: float = 60.0,
                workers: int | None = None, fixed: dict | None = None) -> LayerFront:
    """The whole front, walked as `_solve_edp` walks it but to its end: from the
    minimum-energy mapping, repeatedly the least energy among mappings strictly faster
    than the last point, until none is faster. Point j is then below every mapping
    faster than point j-1 but not faster than point j, so the points found are a floor.

    Each step's energy is bounded by the best template mapping (enumerated once) faster
    than the last point, which prunes the step's model; the walk ends without another
    solve once a point reaches ceil(MACs / MAC units), which no mapping can beat. At the
    time limit the unexplored faster mappings are covered by one more floor point: (the
    unfinished step's energy bound, that least number of cycles)."""
    tiles = batch_tiles(layer, space == "template", fixed)
    if len(tiles) > 1:  # a front per batch tile; the layer's is the front of their union
        fronts, _ = _per_batch_tile(tiles, time_limit, fixed, lambda f, sec: layer_front(
            layer, hw, space, sec, workers, f))
        return _union(fronts)
    t0 = time.perf_counter()

    def left() -> float:
        return time_limit - (time.perf_counter() - t0)

    least_cycles = ceil(layer.macs / hw.macs)  # every cycle does at most hw.macs MACs
    template = enumerate_layer(layer, hw, "template", fixed=fixed, front=True).front
    step: SolveResult | None = _solve(layer, hw, space, left(), workers, fixed, "energy", True)
    proven: list[tuple[int, int]] = []
    while step.status == "OPTIMAL":
        proven.append((step.best.energy_fj, step.best.cycles))
        if proven[-1][1] <= least_cycles:  # nothing is faster
            return LayerFront("OPTIMAL", tuple(proven), tuple(proven))
        if left() <= 0:
            step = None
            break
        faster = template[0][template[1] < proven[-1][1]]
        upper = int(faster.min()) if faster.size else None
        step = _solve(layer, hw, space, left(), workers, fixed, "energy", False, max_cycles=proven[-1][1] - 1,
                      upper=upper)
    if step is not None and step.status == "INFEASIBLE":
        if not proven:
            return LayerFront("INFEASIBLE", (), (), step.reason)
        return LayerFront("OPTIMAL", tuple(proven), tuple(proven))
    points, least_energy = list(proven), proven[-1][0] if proven else 0
    if step is not None:
        if step.best is not None:
            points.append((step.best.energy_fj, step.best.cycles))
        least_energy = max(least_energy, step.bound or 0)
    floor = tuple(proven) + ((least_energy, least_cycles),)
    return LayerFront("FEASIBLE" if points else "UNKNOWN", tuple(points), floor,
                      None if points else "no mapping found within the time limit")


def _union(fronts: list[LayerFront]) -> LayerFront:
    """The front of the union of several sets of mappings: the non-dominated points of
    their points; likewise of their floors (a point dominated by another floor point is
    not needed below any mapping)."""
    def nd(pts) -> tuple:
        e, c = front_2d([p[0] for p in pts], [p[1] for p in pts])
        return tuple(zip(e.tolist(), c.tolist()))

    statuses = {f.status for f in fronts}
    if statuses == {"INFEASIBLE"}:
        return fronts[0]
    points = nd([p for f in fronts for p in f.points])
    if statuses <= {"OPTIMAL", "INFEASIBLE"}:
        return LayerFront("OPTIMAL", points, points)
    floor = nd([p for f in fronts for p in f.floor])
    return LayerFront("FEASIBLE" if points else "UNKNOWN", points, floor,
                      None if points else "no mapping found within the time limit")


def _canonical(base: _Model, objective: str, optimum: int, seconds: float,
               workers: int | None) -> Mapping | None:
    """Among all optimal mappings, the one with the fewest cycles (energy, for the latency
    objective), then the smallest canonical code (split pair, orders, cuts in their
    generation order): a unique answer, whatever the search found first. The cuts left
    by pruning at the optimum are usually few enough to price them all
    (`_Model.grid_optimum`); otherwise two more CP-SAT solves pick the same answer."""
    model = _Model(base.layer, base.hw, False, base.fixed, base=base)
    model.prune(optimum, objective)
    found = model.grid_optimum(objective, GRID_POINTS)
    if found is not None:
        return found
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
