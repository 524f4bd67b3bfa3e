"""Bit widths per data type (energy and capacity scale with them) and the run-length
code estimate of Eyeriss (seed 002, Sec. IV-C)."""
import dataclasses

import pytest

from mapper.cost import evaluate, rlc_bits_per_element, rlc_dram_bits
from mapper.hwspec import Tech
from mapper.layer import Layer
from mapper.workload import WorkloadError, parse_layer_spec
from tests.test_cost import CASE_STUDY, RES2A_2B, TECH, WORKED


def test_energy_and_capacity_follow_the_bit_widths():
    """16-bit activations and weights: every activation and weight bit moved doubles, a
    MAC costs (16 x 16) / (8 x 8) = 4x Table I's 8-bit MAC, and a buffer holds half as many
    values (the worked example's A-L2 window of 57,600 B no longer fits 64 KB)."""
    e8 = evaluate(RES2A_2B, CASE_STUDY, WORKED)
    hw16 = dataclasses.replace(CASE_STUDY, act_bits=16, weight_bits=16, a_l2=128 * 1024, w_l1=36 * 1024,
                               a_l1=1600, o_l1=1536)
    big8 = dataclasses.replace(CASE_STUDY, a_l2=128 * 1024, w_l1=36 * 1024, a_l1=1600)
    e16, e8b = evaluate(RES2A_2B, hw16, WORKED), evaluate(RES2A_2B, big8, WORKED)
    assert e16.counts == e8.counts  # same mapping, same retention: the same counts
    assert e16.breakdown_fj["mac"] == 4 * e8.breakdown_fj["mac"] == 4 * 24 * RES2A_2B.macs
    assert e16.breakdown_fj["dram"] == 2 * e8.breakdown_fj["dram"]
    assert e16.breakdown_fj["a_l1"] == 2 * e8b.breakdown_fj["a_l1"]  # same SRAM size, twice the bits
    small = dataclasses.replace(CASE_STUDY, act_bits=16, weight_bits=16)
    assert not evaluate(RES2A_2B, small, WORKED).feasible  # 2 x 57,600 B > 64 KB A-L2
    assert hw16.mac_scale == 4 and hw16.chiplet_area_mm2() > big8.chiplet_area_mm2()


def test_one_bit_mac_is_priced_exactly():
    """A 1-bit MAC at 700 TOPS/W is 2/700 pJ = 2.857 fJ: rounded once for the layer's MACs,
    not per MAC (3 fJ would be 5 % off)."""
    tech = dataclasses.replace(TECH, mac_pj=2 / 700, mac_bits=1)
    hw = dataclasses.replace(CASE_STUDY, tech=tech, act_bits=1, weight_bits=1)
    e = evaluate(RES2A_2B, hw, WORKED)
    assert e.breakdown_fj["mac"] == round(RES2A_2B.macs * 2000 / 700)
    assert isinstance(Tech.__dataclass_fields__["mac_bits"].default, int)


def test_rlc_size_by_hand():
    """Three (5-bit run, 16-bit value) pairs per 64-bit word: dense data costs 64/3 = 21.3
    bits per value; all zeros, one pair per 32 values: 0.67 bits; 8-bit values pack 4
    pairs (4 x 13 = 52 <= 63)."""
    assert rlc_bits_per_element(1.0, 16) == pytest.approx(64 / 3)
    assert rlc_bits_per_element(0.0, 16) == pytest.approx(64 / 3 / 32)
    assert rlc_bits_per_element(1.0, 8) == pytest.approx(16)
    # Eyeriss CONV5 (77.6 % zeros in its ifmaps): 0.224 + 0.776/32 pairs per value
    assert rlc_bits_per_element(0.224, 16) == pytest.approx(64 / 3 * (0.224 + 0.776 / 32))


def test_rlc_estimate_counts_only_coded_activations():
    e = evaluate(RES2A_2B, CASE_STUDY, WORKED)
    c = e.counts
    raw = RES2A_2B  # densities absent: the estimate is the raw traffic
    assert rlc_dram_bits(c, CASE_STUDY, raw) == 8 * (c["dram_read_w"] + c["dram_read_a"] + c["dram_write_o"])
    coded = dataclasses.replace(RES2A_2B, in_density=0.5, out_density=None)
    want = 8 * (c["dram_read_w"] + c["dram_write_o"]) + c["dram_read_a"] * rlc_bits_per_element(0.5, 8)
    assert rlc_dram_bits(c, CASE_STUDY, coded) == pytest.approx(want)
    assert evaluate(coded, CASE_STUDY, WORKED).energy_fj == e.energy_fj  # never optimised


def test_density_fields_parse_and_fail_with_a_message():
    lay = parse_layer_spec("K=8 C=8 H=4 W=4 in_density=0.4")
    assert lay.in_density == 0.4 and lay.out_density is None
    assert "in_density" not in Layer("x", 1, 1, 1, 1).to_dict()
    with pytest.raises(WorkloadError, match="fraction of non-zero"):
        parse_layer_spec("K=8 C=8 H=4 W=4 out_density=1.5")
