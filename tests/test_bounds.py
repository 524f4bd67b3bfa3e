"""The DRAM lower bounds of mapper/bounds.py: by hand, and against the DRAM-minimal
mapping of the whole space (an optimum under a technology where only DRAM costs energy)."""
import dataclasses

import pytest

from mapper.bounds import capacity_dram_words, compulsory_dram_bits, dram_lower_bound, onchip_words
from mapper.cost import dram_bits
from mapper.hwspec import Hardware
from mapper.layer import Layer
from mapper.solvers.cpsat import solve_layer
from mapper.solvers.enumerate import enumerate_layer
from tests.test_cost import CASE_STUDY, TECH

# Only DRAM costs energy (1 pJ/bit): the energy optimum is the mapping that moves the
# fewest DRAM bits in the whole space, so no bound may exceed its traffic.
DRAM_ONLY = dataclasses.replace(TECH, d2d_pj_per_bit=0.0, sram_pj_per_bit_at_1kb=0.0, dram_pj_per_bit=1.0,
                                sram_pj_per_bit_at_32kb=0.0, reg_rmw_pj_per_bit=0.0, mac_pj=0.0)
# 48 + 32 + 64 + 64 + 40 = 248 B of buffers, plus 2 x 4 multiplier registers: 256 words
TINY = Hardware("tiny-256-words", n_chiplets=1, n_cores=1, lanes=2, vector=2, o_l1=48, a_l1=32, w_l1=64,
                a_l2=64, o_l2=40, tech=DRAM_ONLY)
PW = Layer("pw", K=64, C=64, H=16, W=16)  # 1x1: T = 1 tap, G = 2**20 MACs


def test_onchip_words_by_hand():
    assert onchip_words(TINY) == 256
    # case study: 4 x (8 x (1536 + 800 + 18432) + 65536 + 32768) B + 2 x 2048 registers
    assert onchip_words(CASE_STUDY) == 4 * (8 * 20768 + 98304) + 4096
    # 4-bit weights: every byte holds two words
    assert onchip_words(dataclasses.replace(TINY, weight_bits=4)) == 2 * 248 + 8


def test_capacity_bound_by_hand():
    """S = 256 words, G = 2**20, T = 1 (docs/cost-model.md works the same case).
    Segments of M = 4S transfers touch <= 2S + M = 1536 elements, so <= 512**1.5 =
    11,585.2 MACs each: Q >= 4S (G / 11,585.2 - 1) = 91,658. No M does better than
    sqrt(2) G / sqrt(S) = 92,682."""
    q = capacity_dram_words(PW, TINY)
    assert 91_658 <= q <= 92_682
    b = dram_lower_bound(PW, TINY)
    assert b.compulsory_bits == compulsory_dram_bits(PW, TINY) == (4096 + 2 * 16384) * 8
    assert (b.capacity_bits, b.bits, b.binding) == (8 * q, 8 * q, "capacity")


def test_taps_reuse_inputs():
    """A 3x3 layer reuses each input 9 times, so the bound depends on G / sqrt(T) only:
    K=64 with 9 taps equals K=192 with one tap (both 3 x 2**20 after the division)."""
    conv = Layer("c3", K=64, C=64, H=16, W=16, R=3, S=3, padding=1)
    wide = Layer("pw3", K=192, C=64, H=16, W=16)
    assert capacity_dram_words(conv, TINY) == capacity_dram_words(wide, TINY) > 0


def test_large_buffers_leave_only_the_compulsory_bound():
    b = dram_lower_bound(PW, CASE_STUDY)
    assert b.capacity_bits == 0 and b.binding == "compulsory" and b.bits == b.compulsory_bits


# A-L2 must hold every input channel of a plane tile's window, hence 128-160 B here
CASES = [
    (PW, TINY),
    (Layer("c3", K=32, C=16, H=16, W=16, R=3, S=3, padding=1), dataclasses.replace(TINY, a_l2=160)),
    (Layer("fc4", K=256, C=128, H=1, W=1, N=4, kind="fc"), dataclasses.replace(TINY, a_l2=128)),
    (Layer("dw", K=32, C=32, H=16, W=16, R=3, S=3, padding=1, groups=32, kind="depthwise"),
     dataclasses.replace(TINY, a_l2=160)),
    (Layer("s2", K=64, C=16, H=12, W=12, R=3, S=3, stride=2, padding=1),
     dataclasses.replace(TINY, name="tiny-2x2", n_chiplets=2, n_cores=2, a_l2=160)),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_dram_minimal_mapping_respects_the_bound(case):
    layer, hw = CASES[case]
    opt = solve_layer(layer, hw, "full", workers=2)
    assert opt.status == "OPTIMAL"
    least = dram_bits(opt.best.counts, hw)
    assert opt.best.energy_fj == 1000 * least  # only DRAM costs: the optimum moves the fewest bits
    assert least >= dram_lower_bound(layer, hw).bits


def test_the_capacity_bound_is_exercised():
    """Some cases above are ones where the capacity bound, not the compulsory one, binds."""
    assert [layer.name for layer, hw in CASES if dram_lower_bound(layer, hw).binding == "capacity"] == ["pw", "c3"]


def test_full_enumeration_agrees_on_a_small_case():
    layer = Layer("small", K=8, C=8, H=6, W=6, R=3, S=3, padding=1)
    hw = dataclasses.replace(TINY, o_l2=16, a_l2=80, w_l1=24)
    enum = enumerate_layer(layer, hw, "full")
    assert enum.best is not None
    least = dram_bits(enum.best.counts, hw)
    assert least >= dram_lower_bound(layer, hw).bits
    assert solve_layer(layer, hw, "full", workers=2).best.energy_fj == enum.best.energy_fj
