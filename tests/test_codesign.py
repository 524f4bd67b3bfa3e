"""Co-design: the branch and bound over buffer sizes equals brute force over every
design (and every mapping, by full enumeration) on small budgets.

The brute-force oracles are computed once per module (`functools.cache`): several tests
compare against the same grid, and a design's hardware is a frozen, hashable value."""
import functools
import itertools
import random

import numpy as np
import pytest

from mapper import design_search as CD
from mapper.hardware import load_design_space
from mapper.layer import Layer
from mapper.pareto import Limits
from mapper.solvers.enumerate import enumerate_layer
from tests.test_cost import TECH

BITS = {"act_bits": 8, "weight_bits": 8, "psum_bits": 24}
LAYERS = [Layer("c3", K=8, C=8, H=6, W=6, R=3, S=3, padding=1), Layer("pw", K=16, C=8, H=4, W=4)]
# 64 MACs: (chiplets, cores, lanes, vector) with product 64 from these options
COMPUTE = {"chiplets": [1, 2], "cores": [1, 2, 4], "lanes": [2, 4], "vector": [4, 8]}
STEPS = {"o_l1": (24, 96), "a_l1": (64, 256), "w_l1": (128, 512), "a_l2": (256, 1024), "o_l2": (128, 512)}


def test_allocations_of_table2():
    """2,048 = 2^11 MACs with P, L in 2^1..2^4 and N_C in 2^0..2^4: exponents c + l + v =
    11 - log2(N_P). One chiplet: (4,3,4), (4,4,3), (3,4,4) = 3 (NN-Baton Sec. VI-B-1 also
    counts three); two: 6; four: 10; eight: 13."""
    compute = load_design_space("table2")["compute"]
    allocs = CD.allocations(compute, 2048)
    assert [sum(a.chiplets == n for a in allocs) for n in (1, 2, 4, 8)] == [3, 6, 10, 13]
    assert all(a.chiplets * a.cores * a.lanes * a.vector == 2048 for a in allocs)
    assert "4-4-16-8" in {a.label for a in allocs}
    assert "2-8-16-16" in {a.label for a in CD.allocations(compute, 4096)}


def test_area_over_arrays_equals_the_hardware_method():
    rng = random.Random(3)
    alloc = CD.Allocation(2, 4, 4, 8)
    masks = CD.grid_masks(alloc, STEPS, TECH, BITS, None)
    for _ in range(10):
        idx = tuple(rng.randrange(len(STEPS[b])) for b in CD.BUFFERS)
        sizes = {b: STEPS[b][i] for b, i in zip(CD.BUFFERS, idx)}
        hw = CD.make_hardware(alloc, sizes, TECH, BITS)
        assert masks["area_mm2"][idx] == pytest.approx(hw.chiplet_area_mm2(), rel=1e-12)


def test_validity_rules():
    """A-L1 above A-L2 is skipped (NN-Baton Sec. VI-B-2), as is an O-L1 below one output
    pixel's partial sums (4 lanes x 3 B = 12 B <= 24 B here: all O-L1 steps pass)."""
    steps = dict(STEPS, a_l1=(64, 2048))
    m = CD.grid_masks(CD.Allocation(1, 2, 4, 8), steps, TECH, BITS, None)
    a_l1 = np.array(steps["a_l1"])[None, :, None, None, None]
    a_l2 = np.array(steps["a_l2"])[None, None, None, :, None]
    assert (m["rules"] == np.broadcast_to(a_l1 <= a_l2, m["rules"].shape)).all()
    wide = CD.grid_masks(CD.Allocation(1, 1, 16, 4), dict(STEPS, o_l1=(24, 48)), TECH, BITS, None)
    assert not wide["rules"][0].any() and wide["rules"][1].any()  # 16 lanes x 3 B = 48 B


def test_priced_hardware_charges_the_smaller_sizes():
    alloc, big = CD.Allocation(1, 1, 4, 8), {"o_l1": 96, "a_l1": 256, "w_l1": 512, "a_l2": 1024, "o_l2": 512}
    small = {"o_l1": 24, "a_l1": 64, "w_l1": 128, "a_l2": 256, "o_l2": 128}
    relaxed = CD.make_hardware(alloc, big, TECH, BITS, priced=small)
    assert relaxed.capacity_bits("a_l2") == 8 * 1024
    e, e_small = relaxed.energy_fj_per_bit(), CD.make_hardware(alloc, small, TECH, BITS).energy_fj_per_bit()
    assert all(e[b] == e_small[b] for b in CD.SRAM)
    assert e["dram"] == e_small["dram"] and e["o_l1"] == e_small["o_l1"]


@functools.cache
def enumerated(layer, hw):
    """Full enumeration of one layer on one design, with its energy-latency front (each
    pair enumerated once per module; every oracle below reads it)."""
    return enumerate_layer(layer, hw, "full", front=True)


@functools.cache
def exhaustive_energy(hw):
    """Every mapping of every layer (full enumeration): the model's least energy."""
    total = 0
    for layer in LAYERS:
        best = enumerated(layer, hw).best
        if best is None:
            return None
        total += best.energy_fj
    return total


@functools.cache
def brute(layers: tuple, compute_items: tuple, area, evaluate_design):
    """`CD.brute_force` over every design, once per module for each oracle."""
    return CD.brute_force(list(layers), 64, dict(compute_items), STEPS, TECH, area, evaluate_design)


def frozen(compute: dict) -> tuple:
    return tuple((k, tuple(v)) for k, v in compute.items())


@functools.cache
def energy_codesign(area, workers: int = 2):
    return CD.codesign(LAYERS, 64, COMPUTE, STEPS, TECH, area_mm2=area, objective="energy", workers=workers)


@pytest.mark.parametrize("area", [None, 0.087], ids=["no-area-limit", "0.087mm2"])
def test_energy_codesign_equals_brute_force(area):
    res = energy_codesign(area)
    ref = brute(tuple(LAYERS), frozen(COMPUTE), area, exhaustive_energy)
    assert res.status == "OPTIMAL"
    assert {n: d.value for n, d in res.per_chiplet_count.items()} == {n: v for n, (v, _, _) in ref.items()}
    assert res.best.value == min(v for v, _, _ in ref.values()) == res.bound
    assert set(res.count_status.values()) == {"OPTIMAL"}
    p = res.points
    assert p["evaluated"] + p["pruned"] + p["infeasible"] == p["valid"]
    assert p["valid"] + p["invalid_rules"] + p["over_area"] == p["considered"]
    assert p["evaluated"] < p["valid"]  # the bounds pruned something
    if area is not None:
        assert p["over_area"] > 0 and all(d.area_mm2 <= area for d in res.designs)
        assert set(res.per_chiplet_count) == {1}  # every two-chiplet design is above 0.41 mm2


@functools.cache
def least_total_cycles(hw):
    """The least cycles of the workload on one design: each layer's fewest cycles over
    every mapping (the fastest point of its front, by full enumeration)."""
    cycles = 0
    for layer in LAYERS:
        r = enumerated(layer, hw)
        if r.best is None:
            return None
        cycles += int(min(r.front[1]))
    return cycles


def test_latency_codesign_equals_brute_force():
    compute = dict(COMPUTE, cores=[2])  # 1-2-4-8, 2-2-2-8, 2-2-4-4: 96 designs
    res = CD.codesign(LAYERS, 64, compute, STEPS, TECH, objective="latency", workers=2)
    ref = brute(tuple(LAYERS), frozen(compute), None, least_total_cycles)
    assert {n: d.value for n, d in res.per_chiplet_count.items()} == {n: v for n, (v, _, _) in ref.items()}
    assert res.status == "OPTIMAL" and res.bound == res.best.value


# a third layer whose mappings trade energy for cycles, so limits and EDP choose differently
TRADE = LAYERS + [Layer("a", K=5, C=3, H=5, W=3, R=3, S=3, padding=1)]
TRADE_COMPUTE = {"chiplets": [1, 2], "cores": [2, 4], "lanes": [4], "vector": [4, 8]}  # 1-2-4-8, 1-4-4-4, 2-2-4-4


@functools.cache
def every_total(hw) -> list[tuple[int, int]] | None:
    """(energy, cycles) of every combination of the layers' front mappings (full
    enumeration; the front is checked against every mapping in test_pareto). A
    mapping off a layer's front can only add energy or cycles, so the workload's
    optimum under any upper limits is among these combinations."""
    fronts = []
    for layer in TRADE:
        r = enumerated(layer, hw)
        fronts.append(list(zip(*(a.tolist() for a in r.front))))
    return None if not all(fronts) else [
        (sum(p[0] for p in combo), sum(p[1] for p in combo)) for combo in itertools.product(*fronts)]


VALUE = {"energy": lambda p: p[0], "latency": lambda p: p[1], "edp": lambda p: p[0] * p[1]}


@functools.cache
def best_total(objective: str, limits: Limits):
    """The design's best value within the limits over every combination (one function
    object per (objective, limits), so `brute` caches its grid)."""
    def best(hw):
        ok = [VALUE[objective](p) for p in every_total(hw) or []
              if (limits.cycles is None or p[1] <= limits.cycles)
              and (limits.energy_fj is None or p[0] <= limits.energy_fj)]
        return min(ok, default=None)
    return best


CASES = [("energy", Limits(cycles=450)), ("latency", Limits(energy_fj=196_000_000)), ("edp", Limits())]


@pytest.mark.parametrize("objective,limits", CASES, ids=["energy-max-cycles", "latency-max-energy", "edp"])
def test_limits_and_edp_equal_brute_force(objective, limits):
    """Exact at workload level (the workload's energy-latency front), over every design."""
    res = CD.codesign(TRADE, 64, TRADE_COMPUTE, STEPS, TECH, objective=objective, workers=2, limits=limits)
    ref = brute(tuple(TRADE), frozen(TRADE_COMPUTE), None, best_total(objective, limits))
    free = brute(tuple(TRADE), frozen(TRADE_COMPUTE), None, best_total(objective, Limits()))
    assert {n: d.value for n, d in res.per_chiplet_count.items()} == {n: v for n, (v, _, _) in ref.items()}
    assert res.status == "OPTIMAL" and res.bound == res.best.value
    # every priced design: its (energy, cycles) is a combination of the layers' mappings
    # that meets the limits, and its value is that design's best by brute force
    assert res.designs
    for d in res.designs:
        hw = CD.make_hardware(d.alloc, d.sizes, TECH, BITS)
        assert (d.energy_fj, d.cycles) in every_total(hw)
        assert limits.cycles is None or d.cycles <= limits.cycles
        assert limits.energy_fj is None or d.energy_fj <= limits.energy_fj
        assert d.value == VALUE[objective]((d.energy_fj, d.cycles)) == best_total(objective, limits)(hw)
    if limits.any():  # the limit binds: without it the best is better
        assert min(v for v, _, _ in free.values()) < res.best.value
        assert res.points["over_limits"] > 0
    else:  # EDP differs from the EDP of the energy-optimal mappings here
        energy_first = brute(tuple(TRADE), frozen(TRADE_COMPUTE), None, energy_optimal_edp)
        assert res.best.value < min(v for v, _, _ in energy_first.values())


@functools.cache
def energy_optimal_edp(hw):
    best = [enumerated(layer, hw).best for layer in TRADE]
    return None if None in best else sum(b.energy_fj for b in best) * sum(b.cycles for b in best)


def test_limits_no_design_meets():
    res = CD.codesign(TRADE, 64, TRADE_COMPUTE, STEPS, TECH, objective="energy", space="template",
                      limits=Limits(cycles=300))
    assert res.status == "INFEASIBLE" and res.best is None and "within the limits" in res.note
    assert res.points["over_limits"] == res.points["valid"]


def test_no_valid_design():
    res = CD.codesign(LAYERS, 64, COMPUTE, STEPS, TECH, area_mm2=0.01)
    assert res.status == "INFEASIBLE" and res.best is None and res.points["valid"] == 0


def test_proportional_sizes_give_back_the_case_study():
    """The case study (4-8-8-8) is where the per-MAC ratios come from (NN-Baton Sec. VI-A-1)."""
    sizes = CD.proportional_sizes(CD.Allocation(4, 8, 8, 8))
    assert sizes == {"o_l1": (1536,), "a_l1": (800,), "w_l1": (18432,), "a_l2": (65536,), "o_l2": (32768,)}
    # 2-8-16-8: per-core buffers double (128 MACs a core), per-chiplet ones double again (1,024 a chiplet)
    assert CD.proportional_sizes(CD.Allocation(2, 8, 16, 8))["a_l2"] == (131072,)


def test_ctrl_c_keeps_what_was_solved():
    """SIGINT mid-search returns the designs priced so far, never a traceback (CP-SAT's
    own SIGINT handler is off, so the interrupt reaches Python)."""
    import os
    import signal
    import threading
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        res = CD.codesign(LAYERS, 64, COMPUTE, STEPS, TECH, objective="edp", workers=2)
    finally:
        timer.cancel()
    assert res.note.startswith("interrupted") and res.status != "INFEASIBLE"
    assert res.points["evaluated"] == len(res.designs)


def test_same_answer_for_any_number_of_workers():
    """Layer solves run side by side; the search order and every solve are deterministic."""
    one, two = energy_codesign(None, workers=1), energy_codesign(None, workers=2)
    assert [d.to_dict() for d in one.designs] == [d.to_dict() for d in two.designs]
    assert one.points == two.points and one.solves == two.solves


def test_pareto_front_equals_brute_force():
    """The (energy, cycles, area) front over every design and every combination of the
    layers' mappings, with a latency limit that removes part of it."""
    limits = Limits(cycles=500)
    res = CD.codesign(TRADE, 64, TRADE_COMPUTE, STEPS, TECH, objective="pareto", workers=2, limits=limits)
    every = []
    for a in CD.allocations(TRADE_COMPUTE, 64):
        st = CD.steps_for(STEPS, a)
        for idx in zip(*np.nonzero(CD.grid_masks(a, st, TECH, BITS, None)["valid"])):
            sizes = {b: st[b][i] for b, i in zip(CD.BUFFERS, idx)}
            area = float(CD.design_area(a, sizes, TECH))
            every += [(e, c, area) for e, c in every_total(CD.make_hardware(a, sizes, TECH, BITS)) or []
                      if c <= limits.cycles]
    truth = sorted({p for p in every if not any(q != p and all(x <= y for x, y in zip(q, p)) for q in every)})
    assert res.status == "OPTIMAL"
    assert [(d.energy_fj, d.cycles, d.area_mm2) for d in res.front] == truth
    assert len(truth) >= 3 and res.points["pruned"] > 0
