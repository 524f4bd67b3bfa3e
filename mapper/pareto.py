"""Energy-latency Pareto fronts: of one layer's mappings, and of a whole workload.

A workload's energy and cycles are sums over its layers, so the workload's front is the
Minkowski sum of the layers' fronts (each repeated as often as the layer shape occurs),
kept to its non-dominated points. Every objective the tool offers (energy, latency,
energy x delay) grows with both energy and cycles, and every limit is an upper bound,
so its optimum under limits lies on that front: the front makes EDP and constrained
objectives exact at workload level, where summing per-layer optima would not.

A front is a pair of integer arrays (energy fJ ascending, cycles descending).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np



@dataclass(frozen=True)
class Limits:
    """Upper limits on a workload's totals (None: no limit)."""

    energy_fj: int | None = None
    cycles: int | None = None
    edp: int | None = None  # fJ x cycles

    def any(self) -> bool:
        return any(v is not None for v in (self.energy_fj, self.cycles, self.edp))


def front(energy, cycles) -> tuple[np.ndarray, np.ndarray]:
    """The non-dominated (energy, cycles) value pairs, energy ascending: sorted by energy
    (then cycles), a point stays iff it has fewer cycles than every point before it.
    (`cpsat.pareto` does n keys blockwise; two keys need only this O(n log n) sweep.)"""
    e, c = np.asarray(energy, dtype=np.int64).ravel(), np.asarray(cycles, dtype=np.int64).ravel()
    order = np.lexsort((c, e))
    e, c = e[order], c[order]
    earlier_min = np.minimum.accumulate(np.concatenate(([np.iinfo(np.int64).max], c[:-1])))
    keep = c < earlier_min
    return e[keep], c[keep]


def add(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray],
        times: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The front of a + (b taken `times` times): the same layer shape `times` times may
    use different mappings, so b is first added to itself (doubling, exact)."""
    acc, power, n = None, b, times
    while n:
        if n & 1:
            acc = power if acc is None else _sum(acc, power)
        n >>= 1
        if n:
            power = _sum(power, power)
    return acc if a is None else _sum(a, acc)


def _sum(a, b):
    return front((a[0][:, None] + b[0][None, :]), (a[1][:, None] + b[1][None, :]))


def values(energy: np.ndarray, cycles: np.ndarray, objective: str) -> np.ndarray:
    """The objective at each point (Python integers: fJ x cycles can exceed int64)."""
    if objective == "energy":
        return np.asarray(energy, dtype=object)
    if objective == "latency":
        return np.asarray(cycles, dtype=object)
    return np.asarray(energy, dtype=object) * np.asarray(cycles, dtype=object)


def within(energy: np.ndarray, cycles: np.ndarray, limits: Limits) -> np.ndarray:
    """Which points meet every limit."""
    ok = np.ones(len(energy), dtype=bool)
    if limits.energy_fj is not None:
        ok &= energy <= limits.energy_fj
    if limits.cycles is not None:
        ok &= cycles <= limits.cycles
    if limits.edp is not None:
        ok &= np.asarray(values(energy, cycles, "edp") <= limits.edp, dtype=bool)
    return ok


def best(energy: np.ndarray, cycles: np.ndarray, objective: str, limits: Limits) -> int | None:
    """Index of the point with the least objective within the limits (ties: the fewer
    cycles for energy, the less energy otherwise), or None if no point is within them."""
    idx = np.flatnonzero(within(energy, cycles, limits))
    if idx.size == 0:
        return None
    v = values(energy, cycles, objective)
    second = cycles if objective == "energy" else energy
    return int(min(idx, key=lambda i: (v[i], int(second[i]))))


def dominated(energy: np.ndarray, cycles: np.ndarray, area: float, others: list[tuple[int, int, float]]) -> bool:
    """Whether every (energy, cycles) point with this area is matched or beaten in all three
    by one of `others` (energy, cycles, area)."""
    if not others:
        return False
    o = np.array([(e, c) for e, c, _ in others], dtype=np.int64)
    oa = np.array([a for _, _, a in others])
    hit = (o[None, :, 0] <= energy[:, None]) & (o[None, :, 1] <= cycles[:, None]) & (oa[None, :] <= area)
    return bool(hit.any(axis=1).all())
