"""The CP-SAT mapper against ground truth: exhaustive enumeration (full space on small
layers, template space on zoo layers), brute-force minimum latency, and the referee."""

import numpy as np
import pytest

from mapper.cost import evaluate
from mapper.hardware import load_hardware
from mapper.simulate import simulate
from mapper.solvers import cpsat
from mapper.solvers.cpsat import pareto, solve_layer
from mapper.solvers.enumerate import enumerate_layer, space_size
from mapper.workload import load_workload
from tests.cases import nth_case
from tests.test_cost import all_mappings, tiny_hw

from mapper.layer import Layer

CASE = load_hardware("hardware/nnbaton-case-study.yaml")


def _enumerated(layer, hw):
    """The full enumeration of a case that has a mapping and a space small enough to enumerate quickly."""
    if space_size(layer, hw, "full") > 200_000:
        return None
    truth = enumerate_layer(layer, hw, "full")
    return truth if truth.best is not None else None


def small_feasible_case(i: int):
    """The i-th random case of stream 7 with a mapping, and its full enumeration."""
    return nth_case(7, i, _enumerated)


@pytest.mark.seeds(range(12))
def test_full_space_optimum_equals_full_enumeration(sweep_seed):
    layer, hw, truth = small_feasible_case(sweep_seed)
    for warm in (True, False):
        res = solve_layer(layer, hw, "full", time_limit=60, workers=2, warm_start=warm)
        assert res.status == "OPTIMAL"
        assert res.value == res.best.energy_fj == truth.best.energy_fj
    # the returned mapping passes the referee field by field
    sim = simulate(layer, hw, res.best.mapping)
    assert sim.feasible and sim.counts == res.best.counts


ZOO_SAMPLE = [("resnet50", 224, "layer3.1.conv2"), ("resnet50", 224, "layer4.0.downsample.0"),
              ("resnet50", 224, "fc"), ("vgg16", 224, "features.28"), ("alexnet", 224, "features.10"),
              ("mobilenetv2", 224, "features.16.conv.1.0"), ("darknet19", 512, "features.53")]


@pytest.mark.parametrize("model,res,name", ZOO_SAMPLE)
def test_template_optimum_equals_enumeration_on_zoo_layers(model, res, name):
    layer = {L.name: L for L in load_workload(model, res).layers}[name]
    truth = enumerate_layer(layer, CASE, "template")
    got = solve_layer(layer, CASE, "template", time_limit=60, workers=2)
    assert got.status == "OPTIMAL"
    assert got.value == got.best.energy_fj == truth.best.energy_fj
    full = solve_layer(layer, CASE, "full", time_limit=60, workers=2)
    assert full.status == "OPTIMAL"
    assert full.value == full.best.energy_fj <= truth.best.energy_fj


def test_latency_objective_equals_brute_force():
    layer = Layer("a", K=5, C=3, H=5, W=3, R=3, S=3, padding=1)
    hw = tiny_hw(n_chiplets=2, n_cores=2, a_l1=40, w_l1=30, a_l2=200)
    cycles = [e.cycles for e in (evaluate(layer, hw, m) for m in all_mappings(layer, hw)) if e.feasible]
    res = solve_layer(layer, hw, "full", workers=2, objective="latency")
    assert res.status == "OPTIMAL" and res.best.cycles == min(cycles) == res.value


def test_fixed_choices_are_respected():
    layer = {L.name: L for L in load_workload("resnet50", 224).layers}["layer3.1.conv2"]
    fixed = {"package": "C", "chiplet": "P", "chip_order": "plane", "core_order": "channel"}
    res = solve_layer(layer, CASE, "full", workers=2, fixed=fixed)
    m = res.best.mapping
    assert (m.package_type, m.chiplet_type, m.chip_order, m.core_order) == ("C", "P", "plane", "channel")
    assert res.best.energy_fj == enumerate_layer(layer, CASE, "template", fixed=fixed).best.energy_fj \
        or res.best.energy_fj < enumerate_layer(layer, CASE, "template", fixed=fixed).best.energy_fj


def test_infeasible_hardware():
    layer = Layer("big", K=64, C=256, H=14, W=14, R=3, S=3, padding=1)
    hw = tiny_hw(n_chiplets=4, n_cores=8, lanes=8, vector=8, a_l2=2048, o_l1=1536)
    res = solve_layer(layer, hw, "full", workers=2)
    assert res.status == "INFEASIBLE" and res.best is None


def test_edp_objective_equals_brute_force():
    """EDP by the Pareto walk of `_solve_edp` equals min(energy x cycles) over every mapping."""
    layer = Layer("a", K=5, C=3, H=5, W=3, R=3, S=3, padding=1)
    hw = tiny_hw(n_chiplets=2, n_cores=2, a_l1=40, w_l1=30, a_l2=200)
    edps = [e.energy_fj * e.cycles for e in (evaluate(layer, hw, m) for m in all_mappings(layer, hw))
            if e.feasible]
    res = solve_layer(layer, hw, "full", workers=2, objective="edp")
    assert res.status == "OPTIMAL"
    assert res.value == res.best.energy_fj * res.best.cycles == min(edps) == res.bound


def test_infeasible_hardware_names_the_buffer():
    layer = Layer("big", K=64, C=256, H=14, W=14, R=3, S=3, padding=1)
    hw = tiny_hw(n_chiplets=4, n_cores=8, lanes=8, vector=8, a_l2=2048, o_l1=1536)
    res = solve_layer(layer, hw, "full", workers=2)
    # the smallest chiplet tile still needs all 256 channels x a 3x3 window = 2,304 B
    assert "a_l2" in res.reason and "2304 B" in res.reason and "short by 256 B" in res.reason


def naive_pareto(rows: list[tuple]) -> list[int]:
    """Keep row j unless an earlier row in (sum, index) order is <= it everywhere."""
    order = sorted(range(len(rows)), key=lambda j: (sum(rows[j]), j))
    kept = []
    for j in order:
        if not any(all(a <= b for a, b in zip(rows[i], rows[j])) for i in kept):
            kept.append(j)
    return sorted(kept)


@pytest.mark.seeds(range(6))
def test_pareto_equals_pairwise_definition(sweep_seed):
    rng = np.random.default_rng(sweep_seed)
    n, keys = int(rng.integers(1, 700)), int(rng.integers(1, 6))
    values = rng.integers(0, int(rng.integers(2, 8)), size=(n, keys))  # many ties and equal rows
    assert pareto(values).tolist() == naive_pareto([tuple(r) for r in values.tolist()])


TIE_LAYERS = [("resnet50", 224, "layer3.1.conv2"), ("mobilenetv2", 224, "features.16.conv.1.0"),
              ("alexnet", 224, "features.10")]


@pytest.mark.parametrize("model,res,name", TIE_LAYERS)
def test_same_mapping_for_any_worker_count(model, res, name):
    layer = {L.name: L for L in load_workload(model, res).layers}[name]
    got = {w: solve_layer(layer, CASE, "full", workers=w) for w in (1, 2, 4)}
    assert len({r.best.mapping for r in got.values()}) == 1
    assert len({r.value for r in got.values()}) == 1


@pytest.mark.parametrize("model,res,name", TIE_LAYERS[:2])
def test_both_tie_breaks_pick_the_same_mapping(model, res, name, monkeypatch):
    """The canonical optimum by pricing the survivors equals the one CP-SAT picks."""
    layer = {L.name: L for L in load_workload(model, res).layers}[name]
    by_grid = solve_layer(layer, CASE, "full", workers=2)
    monkeypatch.setattr(cpsat, "GRID_POINTS", 0)  # force the two-solve CP-SAT tie-break
    by_solver = solve_layer(layer, CASE, "full", workers=2)
    assert by_grid.best.mapping == by_solver.best.mapping
