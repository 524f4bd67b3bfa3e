"""Hand-derived checks of the referee simulator (mapper/simulate.py).

Every expected number below is worked out by hand in the comments, from
docs/cost-model.md, not by running the simulator.
"""
from __future__ import annotations

import dataclasses
import random

import pytest

from mapper.hwspec import Hardware
from mapper.layer import Layer
from mapper.simulate import COUNT_KEYS, NNBATON_TECH, random_case, simulate
from mapper.space import Mapping


def make_hw(**kw) -> Hardware:
    """1 chiplet, 1 core, L=2, P=4, buffers large enough for everything below."""
    d = dict(name="t", n_chiplets=1, n_cores=1, lanes=2, vector=4, o_l1=1000, a_l1=1000,
             w_l1=1000, a_l2=4000, o_l2=1000, tech=NNBATON_TECH)
    d.update(kw)
    return Hardware(**d)


def test_one_chiplet_one_core_everything_fits():
    # K=2, C=3, 4x4 output, 3x3 kernel, stride 1, pad 1; L=2, P=4 -> one c-block of 3 channels.
    # Chiplet tile = the whole layer; core tile 2x2 -> 4 core steps (k_c 1 x h_c 2 x w_c 2 x cb 1).
    layer = Layer("t", K=2, C=3, H=4, W=4, R=3, S=3, padding=1)
    m = Mapping((1, 1, 1), (2, 4, 4), "channel", (1, 1, 1), (2, 2), "plane")
    res = simulate(layer, make_hw(), m)
    assert res.feasible and res.reason is None
    # Everything fits at r = 0: every buffer keeps everything it ever saw.
    assert res.retention == {"a_l1": 0, "w_l1": 0, "a_l2": 0}
    c = res.counts
    assert set(c) == {*COUNT_KEYS, "cycles"}
    # padded input: 3 channels x (3*1+3 = 6) rows x 6 cols = 108, read once from DRAM
    assert c["dram_read_a"] == c["a_l2_write"] == 108
    # weights: 2 x 3 x 3 x 3 = 54, once
    assert c["dram_read_w"] == c["w_l1_write"] == 54
    assert c["d2d_a"] == c["d2d_w"] == 0
    # A-L1 fills: tile (0,0) 3x4x4=48; (0,1) new cols 4,5: 3x4x2=24; (1,0) new rows 4,5: 24;
    # (1,1) new rows 4,5 x cols 4,5: 3x2x2=12 -> 108; one core so A-L2 reads = A-L1 writes.
    assert c["a_l1_write"] == c["a_l2_read"] == 108
    # W-L1 broadcast read of the c-block weights (54) at each of the 4 steps
    assert c["w_l1_read"] == 4 * 54
    # a_l1_read: 4 steps x 4 pixels x 9 x 3 channels = 432
    assert c["a_l1_read"] == 432
    # o_l1_rmw: 4 steps x 4 pixels x 2 lanes x 9 = 288
    assert c["o_l1_rmw"] == 288
    # macs = N K Cr H W R S = 2*3*16*9 = 864; cycles = 4 steps x 4 px x 9 = 144
    assert c["macs"] == 864 == layer.macs
    assert c["cycles"] == 144
    # 2 x 4 x 4 = 32 outputs, each written once
    assert c["dram_write_o"] == c["o_l2_write"] == c["o_l2_read"] == 32


def test_two_chiplets_c_type_inputs_rotate():
    # K=4 split over 2 chiplets (K 0-1 and K 2-3), C=2, 3x3 plane, 1x1 kernel, L=2, P=2.
    layer = Layer("t", K=4, C=2, H=3, W=3)
    hw = make_hw(n_chiplets=2, vector=2)
    m = Mapping((2, 1, 1), (2, 3, 3), "channel", (1, 1, 1), (3, 3), "plane")
    res = simulate(layer, hw, m)
    assert res.feasible
    c = res.counts
    # Both chiplets need the same A-L2 chunk (all 2x3x3 = 18 inputs) at the same step:
    # one DRAM read, the ring moves it to the (2-1) other chiplet.
    assert c["dram_read_a"] == 18
    assert c["d2d_a"] == 18 * (2 - 1)
    assert c["a_l2_write"] == 2 * 18
    # each core (one per chiplet) fills its A-L1 with 18 from its own A-L2
    assert c["a_l1_write"] == c["a_l2_read"] == 36
    # weights differ (K parts): 2 chunks of 2x2 = 4, no sharing
    assert c["dram_read_w"] == 8 and c["d2d_w"] == 0 and c["w_l1_write"] == 8
    # one global step, 9 pixels x 1x1 kernel
    assert c["cycles"] == 9
    assert c["macs"] == 4 * 2 * 9


def test_two_chiplets_p_type_weights_rotate_and_halo_read_twice():
    # K=2, C=1, 2x4 output, 3x3 kernel pad 1; W split over 2 chiplets: cols 0-1 and 2-3.
    layer = Layer("t", K=2, C=1, H=2, W=4, R=3, S=3, padding=1)
    hw = make_hw(n_chiplets=2, vector=1)
    m = Mapping((1, 1, 2), (2, 2, 2), "channel", (1, 1, 1), (2, 2), "plane")
    res = simulate(layer, hw, m)
    assert res.feasible
    c = res.counts
    # weights (2x1x3x3 = 18) are the same chunk for both chiplets: 1 DRAM read + 18 on the ring
    assert c["dram_read_w"] == 18 and c["d2d_w"] == 18 and c["w_l1_write"] == 36
    # inputs: rows 0-3 for both; chiplet 0 padded cols 0-3, chiplet 1 cols 2-5:
    # 4x4 = 16 each, different chunks -> 32 DRAM reads (the halo cols 2-3 read twice), no ring
    assert c["dram_read_a"] == 32 and c["d2d_a"] == 0 and c["a_l2_write"] == 32


def test_a_l1_refilled_once_per_k_core_tile():
    # K=4, C=2, 2x2 plane, 1x1 kernel; L=2 -> 2 K core tiles; P=2 -> one c-block.
    # Core tile 1x2 -> 2 h core tiles. One step needs 2 ch x 1 row x 2 cols = 4 inputs = 32 bit.
    layer = Layer("t", K=4, C=2, H=2, W=2)
    m_plane = Mapping((1, 1, 1), (4, 2, 2), "channel", (1, 1, 1), (1, 2), "plane")
    res = simulate(layer, make_hw(vector=2, a_l1=4), m_plane)
    assert res.feasible
    # Core loops (plane priority): pos 4 = k_c, 5 = h_c, 6 = w_c, 7 = cb.
    # r=6: footprint = one step's 4 inputs = 32 bit fits; r=5 adds both h_c tiles:
    # 8 inputs = 64 bit > 32 -> retention 6: flush when k_c or h_c changes.
    assert res.retention["a_l1"] == 6
    # 4 steps (k0,h0) (k0,h1) (k1,h0) (k1,h1) each flush and fetch 4: 16 = 8 inputs x 2 K tiles
    assert res.counts["a_l1_write"] == 16
    assert res.counts["a_l2_read"] == 16
    assert res.counts["dram_read_a"] == 8  # A-L2 keeps everything

    # Channel priority (h_c, w_c, k_c): r=5 holds one h row across both K tiles (4 inputs)
    m_channel = dataclasses.replace(m_plane, core_order="channel")
    res = simulate(layer, make_hw(vector=2, a_l1=4), m_channel)
    assert res.retention["a_l1"] == 5
    assert res.counts["a_l1_write"] == 8

    # With 8 bytes A-L1 holds all 8 inputs: r = 0, no refill
    res = simulate(layer, make_hw(vector=2, a_l1=8), m_plane)
    assert res.retention["a_l1"] == 0
    assert res.counts["a_l1_write"] == 8


def test_multicast_from_a_l2_to_cores_with_the_same_plane_part():
    # 1 chiplet, 2 cores C-type: core 0 gets K 0-1, core 1 K 2-3, same 2x2 plane.
    layer = Layer("t", K=4, C=2, H=2, W=2)
    hw = make_hw(n_cores=2, vector=2)
    m = Mapping((1, 1, 1), (4, 2, 2), "channel", (2, 1, 1), (2, 2), "plane")
    c = simulate(layer, hw, m).counts
    # both cores fill the same 2x2x2 = 8 inputs at the one step: 16 A-L1 writes, 8 A-L2 reads
    assert c["a_l1_write"] == 16 and c["a_l2_read"] == 8
    # two pools (one per K part), 4 weights each, each read once
    assert c["w_l1_write"] == 8 and c["w_l1_read"] == 8
    assert c["cycles"] == 4  # one step, 4 pixels, in parallel


def test_w_l1_pooling_capacity():
    # Innermost W-L1 footprint = L x min(P, Cr) x R x S = 2 x 2 x 1 x 1 = 4 weights = 32 bit.
    layer = Layer("t", K=4, C=2, H=2, W=2)
    # P-type chiplet split over 2 cores: both have the same K part -> one pool of 2 x 2 B = 32 bit
    m_pool = Mapping((1, 1, 1), (4, 2, 2), "channel", (1, 1, 2), (2, 1), "plane")
    assert simulate(layer, make_hw(n_cores=2, vector=2, w_l1=2), m_pool).feasible
    # C-type: two pools of one core each, 16 bit < 32 bit -> infeasible
    m_c = Mapping((1, 1, 1), (4, 2, 2), "channel", (2, 1, 1), (2, 2), "plane")
    res = simulate(layer, make_hw(n_cores=2, vector=2, w_l1=2), m_c)
    assert not res.feasible and "W-L1" in res.reason and "32 bits" in res.reason


def test_depthwise_counts():
    # K = C = groups = 4, 2x2 output, 3x3 pad 1; L=2 -> 2 K core tiles of 2 channels; 1 c-block.
    layer = Layer("t", K=4, C=4, H=2, W=2, R=3, S=3, padding=1, groups=4, kind="depthwise")
    m = Mapping((1, 1, 1), (4, 2, 2), "channel", (1, 1, 1), (2, 2), "plane")
    res = simulate(layer, make_hw(), m)
    c = res.counts
    # padded input 4 ch x 4 x 4 = 64; weights 4 x 1 x 9 = 36
    assert c["dram_read_a"] == 64 and c["dram_read_w"] == 36
    # per step (2 steps): 4 px x 9 x 2 active lanes = 72 A-L1 reads, 72 RMWs, 72 MACs
    assert c["a_l1_read"] == 144 and c["o_l1_rmw"] == 144 and c["macs"] == 144 == layer.macs
    assert c["cycles"] == 2 * 4 * 9
    # A-L1 innermost: the K tile's 2 channels x 4 x 4 = 32 inputs = 256 bit = 32 bytes
    assert not simulate(layer, make_hw(a_l1=31), m).feasible
    assert simulate(layer, make_hw(a_l1=32), m).feasible


def test_infeasible_when_o_l1_too_small():
    # O-L1 must hold u_h x u_w x L psums x 24 bit = 2 x 2 x 2 x 24 = 192 bit = 24 bytes
    layer = Layer("t", K=2, C=3, H=4, W=4, R=3, S=3, padding=1)
    m = Mapping((1, 1, 1), (2, 4, 4), "channel", (1, 1, 1), (2, 2), "plane")
    res = simulate(layer, make_hw(o_l1=23), m)
    assert not res.feasible
    assert "O-L1" in res.reason and "192" in res.reason
    assert simulate(layer, make_hw(o_l1=24), m).feasible


def test_macs_and_outputs_invariant_random():
    rng = random.Random(2024)
    feasible = 0
    for _ in range(200):
        layer, hw, m = random_case(rng)
        res = simulate(layer, hw, m)
        if not res.feasible:
            assert res.reason
            continue
        feasible += 1
        c = res.counts
        assert c["macs"] == layer.macs
        assert c["dram_write_o"] == c["o_l2_write"] == c["o_l2_read"] == layer.outputs
        assert c["o_l1_rmw"] >= layer.outputs
        assert c["a_l2_read"] <= c["a_l1_write"]
        assert c["dram_read_a"] + c["d2d_a"] == c["a_l2_write"]
        assert c["dram_read_w"] + c["d2d_w"] == c["w_l1_write"]
        if hw.n_chiplets == 1:
            assert c["d2d_a"] == c["d2d_w"] == 0
    assert feasible >= 40


@pytest.mark.seeds([1, 2])
def test_everything_fits_reads_dram_once(sweep_seed):
    # With huge buffers every retention is 0: weights come from DRAM exactly once, and
    # under a C-type package split the padded input too (Layer.inputs, the closed form).
    rng = random.Random(sweep_seed)
    for _ in range(40):
        layer, hw, m = random_case(rng)
        hw = dataclasses.replace(hw, o_l1=10**6, a_l1=10**6, w_l1=10**6, a_l2=10**6, o_l2=10**6)
        res = simulate(layer, hw, m)
        assert res.feasible and res.retention == {"a_l1": 0, "w_l1": 0, "a_l2": 0}
        assert res.counts["dram_read_w"] == layer.weights
        if m.package_type == "C":
            assert res.counts["dram_read_a"] == layer.inputs
        else:
            assert res.counts["dram_read_a"] >= layer.inputs
