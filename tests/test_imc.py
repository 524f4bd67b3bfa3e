"""In-memory-computing cores (`core.in_memory`): weights used in place and resident,
each array holding its own copy; by hand, against brute force, and the bundled system."""
import dataclasses

import pytest

from mapper.cost import evaluate
from mapper.hardware import load_hardware
from mapper.layer import Layer
from mapper.simulate import simulate
from mapper.solvers.cpsat import solve_layer
from mapper.solvers.enumerate import enumerate_layer
from mapper.space import Mapping
from mapper.workload import load_workload
from tests.test_cost import all_mappings, tiny_hw


def test_resident_copies_and_free_reads_by_hand():
    """FC K=4, C=8 on one chiplet of 2 cores split over the plane (rows of a batch of 2):
    both cores compute with all 4 x 8 = 32 8-bit weights. Pooled SRAM (2 x 32 B): written
    once, 32 writes. In memory (32 B per array): each array holds all 32 and is written its
    own copy: 64 writes; DRAM reads them once (multicast); reading them out is free."""
    layer = Layer("fc", K=4, C=8, H=2, W=1, kind="fc")
    m = Mapping((1, 1, 1), (4, 2, 1), "channel", (1, 2, 1), (1, 1), "channel")
    sram = tiny_hw(n_cores=2, lanes=4, vector=8, w_l1=32)
    imc = dataclasses.replace(sram, in_memory=True)
    a, b = evaluate(layer, sram, m), evaluate(layer, imc, m)
    assert a.feasible and b.feasible and a.retention["w_l1"] == b.retention["w_l1"] == 0
    assert (a.counts["w_l1_write"], b.counts["w_l1_write"]) == (32, 64)
    assert a.counts["dram_read_w"] == b.counts["dram_read_w"] == 32
    assert a.breakdown_fj["w_l1"] == sram.energy_fj_per_bit()["w_l1"] * 8 * (32 + a.counts["w_l1_read"])
    assert b.breakdown_fj["w_l1"] == imc.energy_fj_per_bit()["w_l1"] * 8 * 64  # no read-out energy
    assert simulate(layer, imc, m).counts == b.counts
    # 16 B arrays cannot hold their share (32 B): no streaming weights through an array;
    # a pooled SRAM of 2 x 16 B still holds them all
    e = evaluate(layer, dataclasses.replace(imc, w_l1=16), m)
    assert not e.feasible and "w_l1" in e.reason
    assert evaluate(layer, dataclasses.replace(sram, w_l1=16), m).feasible


LAYER = Layer("c", K=6, C=4, H=4, W=3, R=3, S=3, padding=1)
HW = tiny_hw(n_chiplets=2, n_cores=2, a_l1=40, w_l1=80, a_l2=200, in_memory=True)


def test_in_memory_optimum_equals_brute_force():
    evs = [evaluate(LAYER, HW, m) for m in all_mappings(LAYER, HW)]
    ok = [e for e in evs if e.feasible]
    assert ok and len(ok) < len(evs)  # residency rules some mappings out
    best = min(e.energy_fj for e in ok)
    assert enumerate_layer(LAYER, HW, "full").best.energy_fj == best
    res = solve_layer(LAYER, HW, "full", workers=2)
    assert res.status == "OPTIMAL" and res.value == res.best.energy_fj == best
    assert res.best.retention["w_l1"] == 0


@pytest.mark.parametrize("batch", [1, 64])
def test_bnn_on_the_imc_system_solves_to_optimal(batch):
    hw = load_hardware("imc-bnn")
    wl = load_workload("bnn_mnist", batch=batch)
    for layer in wl.layers:
        r = solve_layer(layer, hw, "full", time_limit=60, workers=2)
        assert r.status == "OPTIMAL", (layer.name, r.reason)
        assert r.best.retention["w_l1"] == 0 and r.best.counts["dram_read_w"] == layer.weights
