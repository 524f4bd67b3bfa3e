"""Batch size N as a workload dimension: the batch tile (images per step) in the
mapping space, by hand, against brute force, and in the solvers."""
import dataclasses

import pytest

from mapper.cost import evaluate
from mapper.layer import Layer
from mapper.pareto import front
from mapper.solvers.cpsat import layer_front, solve_layer
from mapper.solvers.enumerate import enumerate_layer
from mapper.space import Mapping, check_structure
from tests.test_cost import all_mappings, tiny_hw


def test_weights_reused_across_a_batch_tile_by_hand():
    """A 1x1 conv, K=4, C=2, 2x2 plane, N=4 on one core (L=P=2). W-L1 holds 4 weights
    (one K tile of 2 x C 2) but not the layer's 8, so weights are refetched for every
    step outside the K loop. One image per step: the n loop (4) x the K loop (2) each
    load 4 weights = 32 W-L1 writes (and DRAM reads). Two images per step: 2 x 2 x 4 = 16.
    The O-L1 then holds 2 images x 2 x 2 pixels x 2 lanes psums (24 bit = 3 B): 48 B."""
    layer = Layer("pw", K=4, C=2, H=2, W=2, N=4)
    hw = tiny_hw(w_l1=4, o_l1=48, a_l1=1000)
    m1 = Mapping((1, 1, 1), (2, 2, 2), "plane", (1, 1, 1), (2, 2), "plane")
    one, two = evaluate(layer, hw, m1), evaluate(layer, hw, dataclasses.replace(m1, batch_tile=2))
    assert one.feasible and two.feasible
    assert one.counts["w_l1_write"] == one.counts["dram_read_w"] == 32
    assert two.counts["w_l1_write"] == two.counts["dram_read_w"] == 16
    # inputs: every image's window is loaded once either way; MACs and cycles unchanged
    for key in ("dram_read_a", "a_l1_read", "macs", "compute_cycles", "o_l1_rmw"):
        assert one.counts[key] == two.counts[key], key
    # weight reads: one broadcast per step, half the steps
    assert two.counts["w_l1_read"] * 2 == one.counts["w_l1_read"]
    four = dataclasses.replace(m1, batch_tile=4)  # 4 x 2 x 2 x 2 x 3 B = 96 B > 48 B
    assert not evaluate(layer, hw, four).feasible and "o_l1" in evaluate(layer, hw, four).reason
    assert "batch_tile 5" in check_structure(dataclasses.replace(m1, batch_tile=5), layer, hw)


LAYER = Layer("b", K=4, C=3, H=3, W=3, R=3, S=3, padding=1, N=3)
HW = tiny_hw(n_chiplets=2, n_cores=2, w_l1=40, a_l2=200, o_l1=200)


@pytest.fixture(scope="module")
def every():
    evs = [e for e in (evaluate(LAYER, HW, m) for m in all_mappings(LAYER, HW)) if e.feasible]
    best = min(evs, key=lambda e: e.energy_fj)
    # the test must see a batch tile pay off: the optimum batches, and beats one image per step
    assert best.mapping.batch_tile > 1
    assert best.energy_fj < min(e.energy_fj for e in evs if e.mapping.batch_tile == 1)
    return evs


@pytest.mark.parametrize("objective", ["energy", "latency", "edp"])
def test_cpsat_with_batch_tiles_equals_brute_force(every, objective):
    value = {"energy": lambda e: e.energy_fj, "latency": lambda e: e.cycles,
             "edp": lambda e: e.energy_fj * e.cycles}[objective]
    res = solve_layer(LAYER, HW, "full", workers=2, objective=objective)
    assert res.status == "OPTIMAL" and res.value == value(res.best) == min(value(e) for e in every)
    assert res.stats["batch_tiles"] == {1: "OPTIMAL", 2: "OPTIMAL", 3: "OPTIMAL"}


def test_enumeration_and_front_with_batch_tiles(every):
    full = enumerate_layer(LAYER, HW, "full", front=True)
    assert full.best.energy_fj == min(e.energy_fj for e in every)
    e, c = front([x.energy_fj for x in every], [x.cycles for x in every])
    truth = list(zip(e.tolist(), c.tolist()))
    assert list(zip(*(a.tolist() for a in full.front))) == truth
    walked = layer_front(LAYER, HW, "full", workers=2)
    assert walked.status == "OPTIMAL" and list(walked.points) == truth
    # the template space batches by divisors of N = 3: tiles 1 and 3, never 2
    tiles = {e.mapping.batch_tile for e in enumerate_layer(LAYER, HW, "template").per_partition.values()}
    assert tiles <= {1, 3} and 3 in tiles
    fixed = solve_layer(LAYER, HW, "full", workers=2, fixed={"batch_tile": 1})
    assert fixed.best.mapping.batch_tile == 1 and fixed.value > full.best.energy_fj


def test_mapping_text_and_round_trip():
    m = Mapping((1, 2, 1), (4, 2, 3), "channel", (1, 1, 2), (2, 1), "plane", batch_tile=3)
    assert m.short().endswith("B3") and "3 images per step" in m.describe()
    assert Mapping.from_dict(m.to_dict()) == m
    assert "batch_tile" not in dataclasses.replace(m, batch_tile=1).to_dict()  # batch 1 files stay as they were
    with pytest.raises(ValueError, match="batch_tile"):
        Mapping.from_dict(m.to_dict() | {"batch_tile": 0})
