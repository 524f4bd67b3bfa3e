"""The heuristic mappers of `mapper gap`: every mapping they return is valid and priced
by cost.py, none beats the proven optimum, and each follows its own definition."""
import random
from math import ceil

import pytest

from mapper import baselines as B
from mapper.cost import compulsory_dram_bits, dram_bits, evaluate
from mapper.dataflows import NAMED
from mapper.hardware import load_hardware
from mapper.simulate import random_case
from mapper.solvers.cpsat import solve_layer
from mapper.solvers.enumerate import enumerate_layer
from mapper.space import check_structure
from mapper.workload import load_workload

CASE = load_hardware("hardware/nnbaton-case-study.yaml")
SIMBA = load_hardware("hardware/simba-4chiplet.yaml")
METHODS = ["template", "random:500", "greedy", *NAMED]


def check_valid(res: B.BaselineResult, layer, hw) -> None:
    if res.best is None:
        return
    m = res.best.mapping
    assert check_structure(m, layer, hw) is None
    again = evaluate(layer, hw, m)
    assert again.feasible and again.energy_fj == res.best.energy_fj
    # no mapping reads less than every weight and input once and writes every output once
    assert dram_bits(again.counts, hw) >= compulsory_dram_bits(layer, hw)


def small_cases(n: int, seed: int = 11):
    rng, out = random.Random(seed), []
    while len(out) < n:
        layer, hw, _ = random_case(rng)
        if enumerate_layer(layer, hw, "template").best is not None:
            out.append((layer, hw))
    return out


@pytest.mark.parametrize("case", range(6))
def test_every_method_is_valid_and_never_beats_the_optimum(case):
    layer, hw = small_cases(6)[case]
    opt = solve_layer(layer, hw, "full", workers=2)
    assert opt.status == "OPTIMAL"
    for method in METHODS:
        res = B.run(method, layer, hw)
        check_valid(res, layer, hw)
        if res.best is not None:
            assert res.best.energy_fj >= opt.best.energy_fj, method


def test_random_search_is_seeded_and_budget_prefix_consistent():
    layer = {L.name: L for L in load_workload("resnet50", 224).layers}["layer2.0.conv2"]
    big = B.random_search(layer, CASE, 1000, seed=3)
    small = B.random_search(layer, CASE, 100, seed=3)
    assert big.curve[100] == small.curve[100] == small.best.energy_fj  # the first 100 draws agree
    assert big.curve[1000] == big.best.energy_fj <= big.curve[100] <= big.curve[10]
    assert B.random_search(layer, CASE, 1000, seed=3).best.mapping == big.best.mapping
    assert big.evaluated == 1000 and 0 < big.feasible <= 1000
    check_valid(big, layer, CASE)


def test_greedy_follows_its_rules():
    layers = {L.name: L for L in load_workload("resnet50", 224).layers}
    conv1 = B.greedy(layers["conv1"], CASE)[0].mapping  # 112x112 plane, 64 channels
    assert (conv1.package_type, conv1.chip_order) == ("P", "plane")
    deep = B.greedy(layers["layer4.0.conv2"], CASE)[0].mapping  # 7x7 plane, 512 channels
    assert (deep.package_type, deep.chiplet_type, deep.chip_order) == ("C", "C", "channel")


def test_output_stationary_runs_each_core_loop_once():
    layer = {L.name: L for L in load_workload("resnet50", 224).layers}["layer1.0.conv2"]
    m = B.run("os", layer, CASE).best.mapping
    tk, th, tw = m.chip_tile
    ck, ch, cw = m.core_split
    assert ceil(th / ch) <= m.core_tile[0] and ceil(tw / cw) <= m.core_tile[1]
    assert ceil(tk / ck) <= CASE.lanes


def test_methods_parse_and_reject():
    assert B.methods("template, random:10,greedy") == ["template", "random:10", "greedy"]
    for bad in ("random", "random:0", "simulated-annealing", "ws:3", ""):
        with pytest.raises(ValueError):
            B.methods(bad)


@pytest.mark.slow
@pytest.mark.parametrize("hw", [CASE, SIMBA], ids=["case-study", "simba-4chiplet"])
@pytest.mark.parametrize("model", ["alexnet", "vgg16", "resnet50", "darknet19", "mobilenetv2"])
def test_gap_is_never_negative_on_the_zoo(model, hw):
    """Every zoo layer at 224: the optimum is at most every method's energy."""
    for layer in {L.shape_key(): L for L in load_workload(model, 224).layers}.values():
        opt = solve_layer(layer, hw, "full", workers=2)
        assert opt.status == "OPTIMAL"
        row = B.compare_layer(layer, hw, ["template", "random:300", "greedy", "ws", "os", "is"], opt)
        assert all(g is None or g >= 0 for g in row["gaps"].values()), row["gaps"]
        assert row["dram_bits"] >= row["dram_lower_bound_bits"]
        assert row["gaps"]["template"] is not None  # the template space always has tile 1
