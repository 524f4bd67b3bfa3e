"""Co-design (NN-Baton Sec. IV-D, the pre-design flow): the hardware that minimises a
workload's energy, latency or EDP under a MAC budget and a chiplet-area budget, with
every layer optimally mapped on every design considered.

The outer loop runs over the compute allocations (N_P, N_C, L, P) of the design space
whose product is the MAC budget. Inside it, the buffer sizes are searched by branch and
bound over boxes of the size grid (docs/codesign.md):

- a box's lower bound solves every layer on a *relaxed* design: each buffer as large as
  the box allows (more capacity never costs a mapping energy or cycles) but charged the
  per-bit energy of its smallest size (SRAM energy grows with size, counts are >= 0);
- a box holding one design is exact: the relaxation is the design itself;
- a box whose bound is no better than the best design found with the same chiplet count
  is pruned, with every design in it. When no box is left, the best design of each
  chiplet count is proven optimal (given per-layer optima, which CP-SAT proves).

EDP, limits on the totals and the (energy, latency, area) front use each layer's whole
energy-latency front instead of its optimum (`mapper.pareto`), so they are exact too.
"""
from __future__ import annotations

import heapq
import itertools
import multiprocessing as mp
import signal
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from mapper import pareto
from mapper.choices import CODESIGN_OBJECTIVES
from mapper.hardware import least_buffer_bytes
from mapper.hwspec import Hardware, Tech, chiplet_area_mm2
from mapper.layer import Layer
from mapper.pareto import Limits
from mapper.solvers.cpsat import LayerFront, layer_front, solve_layer
from mapper.workers import default_workers
from mapper.workload import unique_layers
from mapper.solvers.enumerate import enumerate_layer

BUFFERS = ("o_l1", "a_l1", "w_l1", "a_l2", "o_l2")
SRAM = ("a_l1", "w_l1", "a_l2", "o_l2")  # buffers whose per-bit energy grows with size
DEFAULT_BITS = {"act_bits": 8, "weight_bits": 8, "psum_bits": 24}


@dataclass(frozen=True)
class Allocation:
    """A compute allocation: chiplets, cores per chiplet, lanes per core, vector width."""

    chiplets: int
    cores: int
    lanes: int
    vector: int

    @property
    def label(self) -> str:  # NN-Baton Fig. 14's (chiplet, core, lane, vector) tuple
        return f"{self.chiplets}-{self.cores}-{self.lanes}-{self.vector}"


def allocations(compute: dict[str, list[int]], macs: int) -> list[Allocation]:
    """Every (N_P, N_C, L, P) of the design space whose product is the MAC budget."""
    out = [Allocation(n, c, lanes, v) for n in compute["chiplets"] for c in compute["cores"]
           for lanes in compute["lanes"] for v in compute["vector"] if n * c * lanes * v == macs]
    return sorted(out, key=lambda a: (a.chiplets, a.cores, a.lanes, a.vector))


@dataclass(frozen=True)
class PricedHardware(Hardware):
    """A design's capacities with the SRAM energies of other (smaller) sizes: the
    relaxation whose optimum bounds every design of a box from below."""

    priced: tuple[int, ...] = ()  # sizes in bytes of SRAM buffers, in SRAM order

    def energy_fj_per_bit(self) -> dict[str, int]:
        e = super().energy_fj_per_bit()
        for buf, size in zip(SRAM, self.priced):
            e[buf] = round(self.tech.sram_pj_per_bit(size) * 1000)
        return e


def make_hardware(alloc: Allocation, sizes: dict[str, int], tech: Tech, bits: dict[str, int],
                  name: str | None = None, priced: dict[str, int] | None = None) -> Hardware:
    kw = dict(name=name or design_name(alloc, sizes), n_chiplets=alloc.chiplets, n_cores=alloc.cores,
              lanes=alloc.lanes, vector=alloc.vector, tech=tech, **sizes, **bits,
              source="mapper codesign (docs/codesign.md)")
    if priced is None:
        return Hardware(**kw)
    return PricedHardware(**kw, priced=tuple(priced[b] for b in SRAM))


def design_name(alloc: Allocation, sizes: dict[str, int]) -> str:
    def kb(n: int) -> str:
        return f"{n // 1024}K" if n % 1024 == 0 else f"{n}B"
    return f"codesign-{alloc.label}-" + "-".join(f"{b.replace('_', '')}{kb(sizes[b])}" for b in BUFFERS)


def steps_of(space: dict) -> dict[str, tuple[int, ...]]:
    """The buffer sizes to search, from a design space (`load_design_space`)."""
    missing = [b for b in BUFFERS if b not in space["memory"]]
    if missing:
        raise ValueError(f"{space['path']}: memory.{missing[0]} is missing: the co-design needs sizes for "
                         f"every buffer ({', '.join(BUFFERS)}). Add e.g. `{missing[0]}: {{min: 8KB, max: 64KB, "
                         "steps: [8KB, 16KB, 32KB, 64KB]}`, or a single size as min = max.")
    return {b: tuple(space["memory"][b]["steps"]) for b in BUFFERS}


# The case study's buffers per MAC they serve (NN-Baton Sec. VI-A-1: 8 lanes x 8-wide
# vector per core, 8 cores per chiplet: O-L1 1.5 KB, A-L1 800 B, W-L1 18 KB per core;
# A-L2 64 KB and our O-L2 assumption of 32 KB per chiplet). NN-Baton Sec. VI-B-1 sizes
# the buffers of its chiplet-granularity study "proportional to the computation
# resources" without the ratios; these are that study's assumption here.
PER_CORE_MAC = {"o_l1": 1536 / 64, "a_l1": 800 / 64, "w_l1": 18432 / 64}
PER_CHIPLET_MAC = {"a_l2": 65536 / 512, "o_l2": 32768 / 512}


def proportional_sizes(alloc: Allocation) -> dict[str, tuple[int, ...]]:
    """One size per buffer, scaled with the MACs it serves (the case study's ratios):
    every allocation of a MAC budget then has the same total on-chip memory."""
    core, chiplet = alloc.lanes * alloc.vector, alloc.cores * alloc.lanes * alloc.vector
    sizes = {b: round(r * core) for b, r in PER_CORE_MAC.items()}
    sizes |= {b: round(r * chiplet) for b, r in PER_CHIPLET_MAC.items()}
    return {b: (sizes[b],) for b in BUFFERS}


def steps_for(steps, alloc: Allocation) -> dict[str, tuple[int, ...]]:
    """`steps` is a grid shared by every allocation or a function of the allocation."""
    return steps(alloc) if callable(steps) else steps


# ------------------------------------------------------------------ which designs are valid
def grid_masks(alloc: Allocation, steps: dict[str, tuple[int, ...]], tech: Tech, bits: dict[str, int],
               area_mm2: float | None) -> dict[str, np.ndarray]:
    """Boolean arrays over the size grid (axes in BUFFERS order): 'rules' (the design
    holds the smallest unit of work and A-L1 <= A-L2, NN-Baton Sec. VI-B-2), 'area'
    (chiplet area within the budget) and 'valid' (both)."""
    axes = np.meshgrid(*[np.array(steps[b], dtype=np.int64) for b in BUFFERS], indexing="ij")
    size = dict(zip(BUFFERS, axes))
    least = least_buffer_bytes(alloc.lanes, **bits)
    rules = np.ones(axes[0].shape, dtype=bool)
    for b in BUFFERS:
        rules &= size[b] >= least[b]
    rules &= size["a_l1"] <= size["a_l2"]
    area = design_area(alloc, size, tech)
    fits = area <= area_mm2 + 1e-12 if area_mm2 is not None else np.ones_like(rules)
    return {"rules": rules, "area": fits, "valid": rules & fits, "area_mm2": area}


def design_area(alloc: Allocation, sizes: dict, tech: Tech):
    """The chiplet area of `hwspec.chiplet_area_mm2` (the one formula), sizes may be arrays."""
    return chiplet_area_mm2(tech, alloc.chiplets, alloc.cores, alloc.lanes * alloc.vector, sizes)


# ------------------------------------------------------------------ evaluating a design
@dataclass
class Evaluated:
    """A (possibly relaxed) design's workload totals: the value of the objective for
    the mappings found and the proven lower bound on it."""

    energy_fj: int | None
    cycles: int | None
    value: int | None
    bound: int | None
    optimal: bool
    infeasible: bool = False  # some layer has no mapping at all (proven)
    reason: str | None = None
    over_limits: bool = False  # mappings exist, but none within the limits (proven)
    front: tuple | None = None  # the workload's (energy, cycles) front within the limits, when computed
    floor: tuple | None = None  # ... and the floor below it (the same when complete)


@dataclass(frozen=True)
class LayerSolve:
    """What the search keeps of one layer solve (small: it crosses process boundaries)."""

    status: str
    energy_fj: int | None
    cycles: int | None
    bound: int | None  # proven lower bound on the solve's objective
    reason: str | None


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle


def solve_one(layer: Layer, hw: Hardware, space: str, objective: str,
              time_limit: float) -> LayerSolve | LayerFront:
    """One layer's optimum, or (objective 'front') its energy-latency front. The template
    space's energy optimum and front come from exhaustive enumeration (exact and faster
    than CP-SAT there); everything else from CP-SAT with one worker — the search runs
    several solves side by side instead."""
    if objective == "front":
        if space != "template":
            return layer_front(layer, hw, space, time_limit, workers=1)
        r = enumerate_layer(layer, hw, "template", front=True)
        pts = tuple(zip(r.front[0].tolist(), r.front[1].tolist()))
        return LayerFront("OPTIMAL" if pts else "INFEASIBLE", pts, pts, r.reason)
    if space == "template" and objective == "energy":
        r = enumerate_layer(layer, hw, "template")
        if r.best is None:
            return LayerSolve("INFEASIBLE", None, None, None, r.reason)
        return LayerSolve("OPTIMAL", r.best.energy_fj, r.best.cycles, r.best.energy_fj, None)
    r = solve_layer(layer, hw, space, time_limit=time_limit, workers=1, objective=objective)
    if r.best is None:
        return LayerSolve(r.status, None, None, None, r.reason)
    return LayerSolve(r.status, r.best.energy_fj, r.best.cycles, r.bound, None)


class Workbook:
    """The distinct layer shapes of the workload (with how many layers share each), a
    cache of solves (a design or relaxation met twice is solved once) and the pool of
    processes that solves a design's layers side by side."""

    def __init__(self, layers: list[Layer], space: str, time_limit: float, jobs: int):
        self.shapes = [(L, len(names)) for L, names in unique_layers(layers)]
        self.space, self.time_limit = space, time_limit
        self.cache: dict[tuple, LayerSolve] = {}
        self.solves = 0
        jobs = min(jobs, len(self.shapes))  # a design's solves: one per shape, never more processes
        self.pool = (ProcessPoolExecutor(jobs, mp_context=mp.get_context("fork"), initializer=_ignore_sigint)
                     if jobs > 1 else None)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def solve_all(self, hw: Hardware, objectives: tuple[str, ...]) -> None:
        todo = [(L, o) for L, _ in self.shapes for o in objectives if (L.shape_key(), hw, o) not in self.cache]
        args = [(L, hw, self.space, o, self.time_limit) for L, o in todo]
        done = (self.pool.map(solve_one, *zip(*args)) if self.pool is not None and len(args) > 1
                else [solve_one(*a) for a in args])
        for (L, o), r in zip(todo, done):
            self.cache[(L.shape_key(), hw, o)] = r
            self.solves += 1

    def evaluate(self, hw: Hardware, objective: str, limits: Limits = Limits()) -> Evaluated:
        """Every layer on `hw`. Energy or latency without limits: each layer's optimum
        (their sum is the workload's). EDP, or any limit: the workload's front (`pareto`)."""
        if objective in ("edp", "pareto") or limits.any():
            return self._evaluate_front(hw, objective, limits)
        self.solve_all(hw, (objective,))
        energy = cycles = bound = 0
        optimal = True
        for layer, n in self.shapes:
            r = self.cache[(layer.shape_key(), hw, objective)]
            if r.energy_fj is None:
                return Evaluated(None, None, None, None, False, infeasible=r.status == "INFEASIBLE",
                                 reason=f"{layer.name}: {r.reason or r.status}")
            energy += n * r.energy_fj
            cycles += n * r.cycles
            bound += n * r.bound
            optimal &= r.status == "OPTIMAL"
        return Evaluated(energy, cycles, energy if objective == "energy" else cycles, bound, optimal)

    def _evaluate_front(self, hw: Hardware, objective: str, limits: Limits) -> Evaluated:
        """The best point of the workload's front within the limits; the bound is the best
        point of the sum of the layers' floors (exact when every layer front is complete).
        'pareto' ranks by energy and keeps both fronts."""
        self.solve_all(hw, ("front",))
        points = floor = None
        optimal = True
        for layer, n in self.shapes:
            f = self.cache[(layer.shape_key(), hw, "front")]
            if not f.floor:
                return Evaluated(None, None, None, None, False, infeasible=f.status == "INFEASIBLE",
                                 reason=f"{layer.name}: {f.reason or f.status}")
            points = pareto.add(points, _arrays(f.points), n) if f.points else pareto.front([], [])
            floor = pareto.add(floor, _arrays(f.floor), n)
            optimal &= f.status == "OPTIMAL"
        rank = "energy" if objective == "pareto" else objective
        j = pareto.best(*floor, rank, limits)
        if j is None:  # no combination of mappings is within the limits
            return Evaluated(None, None, None, None, False, over_limits=True,
                             reason="no mappings meet the limits")
        bound = int(pareto.values(floor[0][j:j + 1], floor[1][j:j + 1], rank)[0])
        keep, low = pareto.within(*points, limits), pareto.within(*floor, limits)
        front, floor = (points[0][keep], points[1][keep]), (floor[0][low], floor[1][low])
        i = pareto.best(*front, rank, limits)
        if i is None:  # only the unexplored part of some layer's front might meet them
            return Evaluated(None, None, None, bound, False, reason="no mapping found within the limits in time",
                             floor=floor)
        e, c = int(front[0][i]), int(front[1][i])
        value = int(pareto.values(front[0][i:i + 1], front[1][i:i + 1], rank)[0])
        return Evaluated(e, c, value, bound, optimal, front=front, floor=floor)


def _arrays(points: tuple[tuple[int, int], ...]) -> tuple[np.ndarray, np.ndarray]:
    return np.array([p[0] for p in points], dtype=np.int64), np.array([p[1] for p in points], dtype=np.int64)


# ------------------------------------------------------------------ the search
@dataclass
class Design:
    """One evaluated design of the grid."""

    alloc: Allocation
    sizes: dict[str, int]
    area_mm2: float
    energy_fj: int
    cycles: int
    value: int  # fJ, cycles or fJ x cycles: integers, so comparisons are exact
    bound: int
    optimal: bool

    def to_dict(self) -> dict:
        return {"allocation": self.alloc.label, "chiplets": self.alloc.chiplets, "cores": self.alloc.cores,
                "lanes": self.alloc.lanes, "vector": self.alloc.vector, "memory_bytes": dict(self.sizes),
                "area_mm2": round(self.area_mm2, 6), "energy_pj": self.energy_fj / 1000,
                "latency_cycles": self.cycles, "edp": self.energy_fj / 1000 * self.cycles,
                "value": self.value, "bound": self.bound, "optimal": self.optimal}


@dataclass
class Result:
    best: Design | None
    per_chiplet_count: dict[int, Design]
    status: str  # OPTIMAL: nothing left can beat `best`; FEASIBLE: stopped early (see bound); INFEASIBLE
    bound: int | None  # proven lower bound on the best value over every valid design
    points: dict[str, int]
    designs: list[Design]
    solves: int
    wall_s: float
    note: str = ""
    count_status: dict[int, str] = field(default_factory=dict)  # per chiplet count, as `status`
    front: list[Design] = field(default_factory=list)  # 'pareto': (energy, cycles, area) front, by energy


@dataclass(order=True)
class _Box:
    """Taken lowest bound first; among equal bounds, the smallest possible area first, so
    the smallest of equally good designs is found before its ties (which it then prunes)."""

    bound: float
    least_area: float
    seq: int
    alloc_i: int = field(compare=False)
    ranges: tuple = field(compare=False)  # per buffer (lo, hi) step indices, inclusive
    floor: tuple | None = field(default=None, compare=False)  # 'pareto': the parent's floor front


def _shrink(valid: np.ndarray, ranges: tuple) -> tuple | None:
    """The smallest box inside `ranges` holding all its valid designs (None: no valid one)."""
    sub = valid[tuple(slice(lo, hi + 1) for lo, hi in ranges)]
    if not sub.any():
        return None
    out = []
    for axis, (lo, _) in enumerate(ranges):
        hit = np.flatnonzero(sub.any(axis=tuple(a for a in range(sub.ndim) if a != axis)))
        out.append((lo + int(hit[0]), lo + int(hit[-1])))
    return tuple(out)


def _count(valid: np.ndarray, ranges: tuple) -> int:
    return int(valid[tuple(slice(lo, hi + 1) for lo, hi in ranges)].sum())


def _split(ranges: tuple) -> list[tuple]:
    """Halve the buffer with the most sizes left."""
    axis = max(range(len(ranges)), key=lambda a: ranges[a][1] - ranges[a][0])
    lo, hi = ranges[axis]
    mid = (lo + hi) // 2
    left, right = list(ranges), list(ranges)
    left[axis], right[axis] = (lo, mid), (mid + 1, hi)
    return [tuple(left), tuple(right)]


class _Search:
    """The branch and bound's state: the open boxes, the best design per chiplet count
    and the point counts."""

    def __init__(self, allocs: list[Allocation], steps, tech: Tech, bits: dict,
                 area_mm2: float | None, book: Workbook, objective: str, limits: Limits, on_design):
        self.allocs, self.tech, self.bits = allocs, tech, bits
        self.steps = [steps_for(steps, a) for a in allocs]
        self.book, self.objective, self.limits, self.on_design = book, objective, limits, on_design
        self.points = {"allocations": len(allocs), "considered": 0, "invalid_rules": 0,
                       "over_area": 0, "valid": 0, "evaluated": 0, "pruned": 0, "infeasible": 0,
                       "over_limits": 0, "unresolved": 0}
        self.masks, self.heap, self.seq = [], [], itertools.count()
        self.incumbent: dict[int, Design] = {}
        self.front: list[Design] = []  # 'pareto': no point matches or beats another in all three
        self.designs: list[Design] = []
        self.unresolved = 0
        self.why_unmappable: str | None = None  # the first layer found to fit no design of a box
        for i, (a, st) in enumerate(zip(allocs, self.steps)):
            m = grid_masks(a, st, tech, bits, area_mm2)
            self.masks.append(m["valid"])
            self.points["considered"] += m["valid"].size
            self.points["invalid_rules"] += int((~m["rules"]).sum())
            self.points["over_area"] += int((m["rules"] & ~m["area"]).sum())
            self.points["valid"] += int(m["valid"].sum())
            root = _shrink(m["valid"], tuple((0, len(st[b]) - 1) for b in BUFFERS))
            if root is not None:
                self.push(float("-inf"), i, root)

    def push(self, bound: float, alloc_i: int, ranges: tuple, floor: tuple | None = None) -> None:
        area = design_area(self.allocs[alloc_i], self.sizes_at(alloc_i, ranges, 0), self.tech)
        heapq.heappush(self.heap, _Box(bound, float(area), next(self.seq), alloc_i, ranges, floor))

    def sizes_at(self, alloc_i: int, ranges: tuple, end: int) -> dict[str, int]:
        return {b: self.steps[alloc_i][b][r[end]] for b, r in zip(BUFFERS, ranges)}

    def beaten(self, box: _Box, bound: float, floor: tuple | None) -> bool:
        """Nothing in the box can beat the best design of its chiplet count, nor tie it
        with a smaller chiplet (ties go to the smaller area, which grows with sizes).
        'pareto': every floor point is matched by a front point no larger in area."""
        if self.objective == "pareto":
            return floor is not None and pareto.dominated(*floor, box.least_area, self.front_points())
        alloc = self.allocs[box.alloc_i]
        best = self.incumbent.get(alloc.chiplets)
        if best is None or bound < best.value:
            return False
        return bound > best.value or box.least_area >= best.area_mm2

    def step(self, box: _Box) -> None:
        """Prune, evaluate, or split one box."""
        a, valid = self.allocs[box.alloc_i], self.masks[box.alloc_i]
        if self.beaten(box, box.bound, box.floor):
            self.points["pruned"] += _count(valid, box.ranges)
            return
        hi, lo = self.sizes_at(box.alloc_i, box.ranges, 1), self.sizes_at(box.alloc_i, box.ranges, 0)
        leaf = hi == lo
        ev = self.book.evaluate(make_hardware(a, hi, self.tech, self.bits, priced=None if leaf else lo),
                                self.objective, self.limits)
        if ev.bound is None:  # proven unmappable or over the limits, or a solve ended without any mapping
            kind = "infeasible" if ev.infeasible else "over_limits" if ev.over_limits else "unresolved"
            self.unresolved += kind == "unresolved"
            if ev.infeasible:
                self.why_unmappable = self.why_unmappable or ev.reason
            self.points[kind] += _count(valid, box.ranges)
            return
        if leaf and ev.value is None:  # only unexplored mappings might meet the limits
            self.unresolved += 1
            self.points["unresolved"] += 1
        elif leaf:
            area = float(design_area(a, hi, self.tech))
            self.points["evaluated"] += 1
            fronts = zip(*ev.front) if self.objective == "pareto" else [(ev.energy_fj, ev.cycles)]
            for e, c in fronts:
                self.record(Design(a, hi, area, int(e), int(c), int(e) if self.objective == "pareto" else ev.value,
                                   ev.bound, ev.optimal))
        elif self.beaten(box, ev.bound, ev.floor):
            self.points["pruned"] += _count(valid, box.ranges)
        else:
            for child in _split(box.ranges):
                child = _shrink(valid, child)
                if child is not None:
                    self.push(ev.bound, box.alloc_i, child, ev.floor)

    def record(self, d: Design) -> None:
        """A priced design (for 'pareto', one point of its front): the incumbents and the
        front of (energy, cycles, area) points no other point matches or beats in all three."""
        self.designs.append(d)
        if self.on_design:
            self.on_design(d)
        best = self.incumbent.get(d.alloc.chiplets)
        if best is None or (d.value, d.area_mm2) < (best.value, best.area_mm2):
            self.incumbent[d.alloc.chiplets] = d
        if self.objective == "pareto":
            p = (d.energy_fj, d.cycles, d.area_mm2)
            if not pareto.dominated(np.array([p[0]]), np.array([p[1]]), p[2], self.front_points()):
                self.front = [f for f, q in zip(self.front, self.front_points())
                              if not all(x <= y for x, y in zip(p, q))] + [d]

    def front_points(self) -> list[tuple[int, int, float]]:
        return [(d.energy_fj, d.cycles, d.area_mm2) for d in self.front]

    def result(self, wall: float, note: str) -> Result:
        """The best design (overall and per chiplet count), each with its proof status:
        OPTIMAL when no open box and no priced design can beat its value."""
        best = min(self.incumbent.values(), key=lambda d: (d.value, d.area_mm2), default=None)
        per_count = dict(sorted(self.incumbent.items()))
        if self.objective == "pareto" and best is not None:
            return self._pareto_result(best, per_count, wall, note)
        if self.unresolved:  # a layer solve ended without a mapping: nothing is proven
            return Result(best, per_count, "FEASIBLE" if best else "UNKNOWN", None, self.points, self.designs,
                          self.book.solves, wall, note or "some layer solves ended without a mapping",
                          {n: "FEASIBLE" for n in per_count})
        if best is None:
            status = "UNKNOWN" if self.heap else "INFEASIBLE"
            why = f" (e.g. {self.why_unmappable})" if self.why_unmappable else ""
            within = " within the limits" if self.points["over_limits"] else ""
            return Result(None, {}, status, None, self.points, self.designs, self.book.solves, wall,
                          note or f"no valid design maps every layer{within}{why}")

        def bound_of(chiplets: int | None) -> float:
            mine = [b.bound for b in self.heap if chiplets in (None, self.allocs[b.alloc_i].chiplets)]
            mine += [d.bound for d in self.designs if chiplets in (None, d.alloc.chiplets)]
            return min(mine)

        bound = min(bound_of(None), best.value)
        status = {n: "OPTIMAL" if bound_of(n) >= d.value else "FEASIBLE" for n, d in per_count.items()}
        if self.heap and bound >= best.value:  # stopped early, but only ties are left open
            note += "; the best value is proven, designs as good with a smaller chiplet may remain"
        return Result(best, per_count, "OPTIMAL" if bound >= best.value else "FEASIBLE",
                      None if bound == float("-inf") else bound, self.points, self.designs, self.book.solves,
                      wall, note, status)

    def _pareto_result(self, best: Design, per_count: dict, wall: float, note: str) -> Result:
        """The front is complete (OPTIMAL) when no box is left and every layer front of
        every priced design was."""
        proven = not self.heap and not self.unresolved and all(d.optimal for d in self.designs)
        status = "OPTIMAL" if proven else "FEASIBLE"
        front = sorted(self.front, key=lambda d: (d.energy_fj, d.cycles, d.area_mm2))
        return Result(best, per_count, status, None, self.points, self.designs, self.book.solves, wall,
                      note, {n: status for n in per_count}, front)


def codesign(layers: list[Layer], macs: int, compute: dict[str, list[int]],
             steps: dict[str, tuple[int, ...]] | Callable[[Allocation], dict], tech: Tech,
             area_mm2: float | None = None,
             objective: str = "energy", space: str = "full", bits: dict[str, int] | None = None,
             time_limit: float | None = None, layer_time_limit: float = 60.0,
             workers: int | None = None, on_design=None, limits: Limits = Limits()) -> Result:
    """Branch and bound over buffer sizes, per compute allocation (module docstring).
    `limits` bound the workload's totals (exact: `pareto`). `workers` layer solves
    run side by side (default: the core count). Stops at
    `time_limit` (seconds) or Ctrl-C with the best design so far and a bound."""
    if objective not in CODESIGN_OBJECTIVES:
        raise ValueError(f"objective must be one of {CODESIGN_OBJECTIVES}")
    t0 = time.perf_counter()
    book = Workbook(layers, space, layer_time_limit, workers or default_workers())
    search = _Search(allocations(compute, macs), steps, tech, bits or DEFAULT_BITS, area_mm2, book,
                     objective, limits, on_design)
    note = ""
    try:
        while search.heap:
            if time_limit is not None and time.perf_counter() - t0 > time_limit:
                note = "time limit reached"
                break
            search.step(heapq.heappop(search.heap))
    except KeyboardInterrupt:  # keep what was solved: the caller reports the best so far
        note = "interrupted"
    finally:
        book.close()
    return search.result(time.perf_counter() - t0, note)


def brute_force(layers: list[Layer], macs: int, compute: dict[str, list[int]],
                steps: dict[str, tuple[int, ...]], tech: Tech, area_mm2: float | None,
                evaluate_design) -> dict[int, tuple[float, Allocation, dict]]:
    """Every valid design, each priced by `evaluate_design(hw) -> value | None`: the
    reference the tests hold the branch and bound to. Returns chiplets -> best."""
    out: dict[int, tuple[float, Allocation, dict]] = {}
    for a in allocations(compute, macs):
        st = steps_for(steps, a)
        valid = grid_masks(a, st, tech, DEFAULT_BITS, area_mm2)["valid"]
        for idx in zip(*np.nonzero(valid)):
            sizes = {b: st[b][i] for b, i in zip(BUFFERS, idx)}
            v = evaluate_design(make_hardware(a, sizes, tech, DEFAULT_BITS))
            if v is not None and (a.chiplets not in out or v < out[a.chiplets][0]):
                out[a.chiplets] = (v, a, sizes)
    return out
