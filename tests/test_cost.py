"""cost.py against hand derivations (the worked example of docs/cost-model.md) and
enumeration against brute-force evaluation of every mapping."""
import itertools
import random

import pytest

from mapper.cost import KEY_INDEX, _core_segments, dim_tables, evaluate
from mapper.hwspec import Hardware, Tech
from mapper.layer import Layer, window_union
from mapper.solvers.enumerate import enumerate_layer
from mapper.space import (ORDERS, Mapping, check_structure, core_splits, package_splits, split,
                          tile_choices)

# NN-Baton Table I / Sec. V-A numbers (a Hardware built here so this test does not
# depend on the YAML loader).
TECH = Tech(dram_pj_per_bit=8.75, d2d_pj_per_bit=1.17, sram_pj_per_bit_at_1kb=0.30,
            sram_pj_per_bit_at_32kb=0.81, reg_rmw_pj_per_bit=0.104, mac_pj=0.024,
            frequency_mhz=500, mac_area_um2=135.1, sram_area_um2_per_kb=518.4,
            sram_macro_area_um2=5440, d2d_phy_area_mm2=0.38)
CASE_STUDY = Hardware("case-study", n_chiplets=4, n_cores=8, lanes=8, vector=8, o_l1=1536,
                      a_l1=800, w_l1=18 * 1024, a_l2=64 * 1024, o_l2=32 * 1024, tech=TECH)
RES2A_2B = Layer("res2a_branch2b", K=64, C=64, H=56, W=56, R=3, S=3, stride=1, padding=1)
WORKED = Mapping(pkg_split=(1, 2, 2), chip_tile=(16, 14, 14), chip_order="channel",
                 core_split=(2, 2, 2), core_tile=(7, 7), core_order="channel")


def test_worked_example_counts():
    """docs/cost-model.md §5: every number derived by hand there."""
    e = evaluate(RES2A_2B, CASE_STUDY, WORKED)
    c = e.counts
    assert e.feasible
    # P(2x2): each chiplet owns a 28x28 plane and all 64 output channels.
    # Pool = 2x2 = 4 cores sharing a K half: 4 * 18 KB = 72 KB holds the group's
    # 32 channels x 64 x 3 x 3 = 18,432 weights -> retention 0, one fill per chiplet.
    assert c["dram_read_w"] == 64 * 64 * 9  # read once, rotated to the other 3 chiplets
    assert c["d2d_w"] == 3 * 64 * 64 * 9
    assert c["w_l1_write"] == 4 * 64 * 64 * 9
    # A-L2: one chiplet's input window 64 x 30 x 30 = 57,600 B <= 64 KB -> read once.
    assert c["dram_read_a"] == 4 * 64 * 30 * 30
    assert c["d2d_a"] == 0  # P-type: inputs are private (halos read twice)
    assert c["a_l2_write"] == 4 * 64 * 30 * 30
    # A-L1 (800 B) holds one c-block window 8 x 9 x 9 = 648 B but not the tile's
    # 64 x 9 x 9: every core tile refetches its full window. Core tiles: 4 chiplets x
    # 16 chiplet tiles (2x2 plane x 4 K) x 8 cores = 512, each 64 x 9 x 9 = 5,184.
    assert e.retention["a_l1"] == 8
    assert c["a_l1_write"] == 512 * 5184
    assert c["a_l2_read"] == 512 * 5184 // 2  # multicast to the 2 cores of each plane part
    # A-L1 reads: per core tile 49 px x 9 x 64 channels (one read feeds the 8 lanes).
    assert c["a_l1_read"] == 512 * 49 * 9 * 64
    # W-L1 reads: 2 pools x 16 chiplet tiles x 4 chiplets steps, 8 x 64 x 9 weights each.
    assert c["w_l1_read"] == 2 * 16 * 4 * 8 * 64 * 9
    outputs = 64 * 56 * 56
    assert c["o_l1_rmw"] == outputs * 8 * 9  # 8 c-blocks x 9 kernel positions
    assert c["dram_write_o"] == c["o_l2_write"] == c["o_l2_read"] == outputs
    # cycles: 16 chiplet tiles x (49 px x 9 x 8 c-blocks); all 2048 MACs busy.
    assert c["cycles"] == 16 * 49 * 9 * 8
    assert e.utilization == 1.0


def test_worked_example_energy():
    e = evaluate(RES2A_2B, CASE_STUDY, WORKED)
    c = e.counts
    # DRAM: (weights + inputs + outputs) x 8 bit x 8,750 fJ/bit.
    bits = 8 * (64 * 64 * 9 + 4 * 64 * 30 * 30 + 64 * 56 * 56)
    assert e.breakdown_fj["dram"] == bits * 8750
    assert e.breakdown_fj["d2d"] == 8 * 3 * 64 * 64 * 9 * 1170
    # A-L1 800 B: 0.30 + (800/1024 - 1) * 0.51/31 pJ/bit = 0.29640 -> 296 fJ/bit.
    assert e.breakdown_fj["a_l1"] == 296 * 8 * (c["a_l1_write"] + c["a_l1_read"])
    # O-L1: 24-bit read-modify-write at 0.104 pJ/bit.
    assert e.breakdown_fj["o_l1"] == 104 * 24 * c["o_l1_rmw"]
    assert e.breakdown_fj["mac"] == 24 * RES2A_2B.macs
    assert e.energy_fj == sum(e.breakdown_fj.values())


def tiny_hw(**kw) -> Hardware:
    base = dict(name="tiny", n_chiplets=1, n_cores=1, lanes=2, vector=2, o_l1=1000, a_l1=1000,
                w_l1=1000, a_l2=1000, o_l2=1000, tech=TECH)
    return Hardware(**(base | kw))


def test_wl1_penalty_by_hand():
    """A W-L1 that holds one core tile's weights but not the core's K range pays the
    plane loop count (Eq. 2): 1x1 conv K=4 C=2 on a 4x4 plane, L=P=2."""
    layer = Layer("pw", K=4, C=2, H=4, W=4)
    m = Mapping((1, 1, 1), (4, 2, 4), "channel", (1, 1, 1), (2, 4), "channel")
    # Loops: n | h_t(2) w_t(1) k_t(1) | h_c(1) w_c(1) k_c(2) | cb(1).
    # Footprint with k_c inside = 4 channels x 2 = 8 weights; with only cb inside = 2 x 2 = 4.
    small = evaluate(layer, tiny_hw(w_l1=4), m)
    assert small.retention["w_l1"] == 7
    assert small.counts["dram_read_w"] == 8 * 2  # all 8 weights, once per h_t iteration
    big = evaluate(layer, tiny_hw(w_l1=8), m)
    assert big.retention["w_l1"] == 0
    assert big.counts["dram_read_w"] == 8
    assert evaluate(layer, tiny_hw(w_l1=3), m).reason.startswith("w_l1 too small")


def test_c_type_rotation_by_hand():
    """C-type package split of a dense layer: inputs read once from DRAM and passed
    around the ring to the other chiplets."""
    layer = Layer("c", K=8, C=3, H=4, W=4, R=3, S=3, padding=1)
    hw = tiny_hw(n_chiplets=4)
    m = Mapping((4, 1, 1), (2, 4, 4), "channel", (1, 1, 1), (4, 4), "channel")
    e = evaluate(layer, hw, m)
    window = 3 * 6 * 6  # all 3 channels of the 6x6 padded input
    assert e.counts["dram_read_a"] == window
    assert e.counts["d2d_a"] == 3 * window
    assert e.counts["a_l2_write"] == 4 * window
    assert e.counts["d2d_w"] == 0 and e.counts["dram_read_w"] == layer.weights


def test_o_l1_capacity_is_hard():
    layer = Layer("x", K=4, C=4, H=4, W=4)
    m = Mapping((1, 1, 1), (4, 4, 4), "plane", (1, 1, 1), (4, 4), "plane")
    e = evaluate(layer, tiny_hw(o_l1=2 * 3 * 15), m)  # needs 16 px x 2 lanes x 3 B = 96 B
    assert not e.feasible and e.reason.startswith("o_l1 too small")
    assert evaluate(layer, tiny_hw(o_l1=96), m).feasible


def all_mappings(layer, hw):
    """Every mapping of the full space, by plain loops (independent of enumerate.py)."""
    for pkg in package_splits(hw.n_chiplets):
        for cs in core_splits(hw.n_cores):
            for tk in tile_choices(layer.K, pkg[0], False):
                for th in tile_choices(layer.H, pkg[1], False):
                    for tw in tile_choices(layer.W, pkg[2], False):
                        for uh in tile_choices(th, cs[1], False):
                            for uw in tile_choices(tw, cs[2], False):
                                for co, qo in itertools.product(ORDERS, ORDERS):
                                    for b in range(1, layer.N + 1):
                                        yield Mapping(pkg, (tk, th, tw), co, cs, (uh, uw), qo, b)


@pytest.mark.parametrize("layer,hw", [
    (Layer("a", K=5, C=3, H=5, W=3, R=3, S=3, padding=1), tiny_hw(n_chiplets=2, n_cores=2, a_l1=40, w_l1=30, a_l2=200)),
    (Layer("b", K=6, C=6, H=4, W=4, R=3, S=3, groups=6), tiny_hw(n_chiplets=2, n_cores=3, a_l1=60, w_l1=20)),
    (Layer("c", K=7, C=4, H=3, W=6, R=1, S=1, stride=2), tiny_hw(n_chiplets=3, n_cores=2, a_l1=12, w_l1=12, a_l2=60)),
    (Layer("d", K=4, C=3, H=3, W=3, R=3, S=3, padding=1, N=3), tiny_hw(n_chiplets=2, n_cores=2, w_l1=40, a_l2=200)),
])
def test_enumeration_equals_brute_force(layer, hw):
    best = None
    n = 0
    for m in all_mappings(layer, hw):
        assert check_structure(m, layer, hw) is None
        e = evaluate(layer, hw, m)
        n += 1
        if e.feasible and (best is None or e.energy_fj < best):
            best = e.energy_fj
    res = enumerate_layer(layer, hw, "full")
    assert res.points == n
    assert res.best.energy_fj == best
    template = enumerate_layer(layer, hw, "template")
    assert template.best.energy_fj >= best  # the template is a subset of the full space


def test_worked_example_total_from_hand_counts():
    """The 135.8 µJ of docs/cost-model.md §5, from the hand-derived counts above and
    the per-bit energies of NN-Baton Table I (SRAM line, rounded to integer fJ)."""
    e = evaluate(RES2A_2B, CASE_STUDY, WORKED)
    outputs = 64 * 56 * 56
    core_tiles, window = 512, 64 * 9 * 9
    a_l1_bits = 8 * (core_tiles * window + core_tiles * 49 * 9 * 64)
    a_l2_bits = 8 * (4 * 64 * 30 * 30 + core_tiles * window // 2)
    w_l1_bits = 8 * (4 * 64 * 64 * 9 + 2 * 16 * 4 * 8 * 64 * 9)
    # fJ/bit: A-L1 800 B -> 296, W-L1 18 KB -> 580, A-L2 64 KB -> 1336, O-L2 32 KB -> 810
    expected = (8750 * 8 * (64 * 64 * 9 + 4 * 64 * 30 * 30 + outputs)
                + 1170 * 8 * 3 * 64 * 64 * 9
                + 1336 * a_l2_bits + 810 * 8 * 2 * outputs + 580 * w_l1_bits + 296 * a_l1_bits
                + 104 * 24 * outputs * 8 * 9 + 24 * RES2A_2B.macs)
    assert e.energy_fj == expected
    assert round(expected / 1e9, 1) == 135.8  # the figure quoted in the docs, in µJ


def test_dilated_window_counts_only_the_taps():
    """3x3 kernel, dilation 2, stride 2, 4x4 outputs: output rows 0..3 start at input
    rows 0, 2, 4, 6 and read taps +0, +2, +4 -> rows {0, 2, ..., 10}: 6 rows, 6 x 6 inputs."""
    layer = Layer("d", K=1, C=1, H=4, W=4, R=3, S=3, stride=2, dilation=2)
    m = Mapping((1, 1, 1), (1, 4, 4), "channel", (1, 1, 1), (4, 4), "channel")
    e = evaluate(layer, tiny_hw(lanes=1, vector=1), m)
    assert e.counts["dram_read_a"] == 36
    assert layer.inputs == 36


def test_stride_larger_than_kernel_skips_rows():
    """1x1 kernel, stride 2, 3x3 outputs read input rows/cols {0, 2, 4}: 9 inputs per channel."""
    layer = Layer("s", K=2, C=2, H=3, W=3, stride=2)
    m = Mapping((1, 1, 1), (2, 3, 3), "channel", (1, 1, 1), (2, 3), "channel")
    e = evaluate(layer, tiny_hw(), m)
    assert e.counts["dram_read_a"] == 2 * 9


def test_bit_widths_apply_per_data_type():
    """16-bit activations, 4-bit weights, 32-bit partial sums: each level's energy uses
    the width of the data it moves (everything fits, one chiplet, one core)."""
    layer = Layer("b", K=2, C=2, H=2, W=2)
    hw = tiny_hw(o_l1=2000)
    hw = Hardware(**{**hw.__dict__, "act_bits": 16, "weight_bits": 4, "psum_bits": 32})
    m = Mapping((1, 1, 1), (2, 2, 2), "channel", (1, 1, 1), (2, 2), "channel")
    e = evaluate(layer, hw, m)
    c = e.counts
    assert (c["dram_read_w"], c["dram_read_a"], c["dram_write_o"]) == (4, 8, 8)
    assert e.breakdown_fj["dram"] == 8750 * (4 * 4 + 16 * (8 + 8))
    assert e.breakdown_fj["o_l1"] == 104 * 32 * c["o_l1_rmw"]
    w_fj = round(TECH.sram_pj_per_bit(1000) * 1000)
    assert e.breakdown_fj["w_l1"] == w_fj * 4 * (c["w_l1_write"] + c["w_l1_read"])


def explicit_part_windows(size: int, parts: int, tile: int, core_parts: int, reach) -> list[int]:
    """Input rows each core reads over a whole part, its pieces of every chiplet tile
    listed one by one and their windows united (no closed form)."""
    out = []
    for a in split(size, parts):
        for ci in range(min(core_parts, min(tile, a))):
            out.append(window_union(_core_segments(a, tile, core_parts, ci), *reach))
    return out


@pytest.mark.seeds(range(4))
def test_scattered_core_windows_match_explicit_union(sweep_seed):
    """The closed-form window of a core's scattered pieces (cut 'part', several cores)
    against the explicit union of every piece's window, on random cuts."""
    rng = random.Random(sweep_seed)
    for _ in range(300):
        size, parts, core_parts = rng.randint(1, 70), rng.randint(1, 4), rng.randint(2, 8)
        reach = rng.choice([(1, 3, 1), (2, 3, 1), (1, 1, 1), (3, 2, 1), (2, 7, 1), (4, 4, 1), (1, 3, 2)])
        tile = rng.randint(1, -(-size // parts))
        row = dim_tables(size, parts, core_parts, [tile], [1], reach)[0]
        wins = explicit_part_windows(size, parts, tile, core_parts, reach)
        assert row[KEY_INDEX[("window", "part", "sum", "sum")]] == sum(wins)
        assert row[KEY_INDEX[("max", "window", "part")]] == max(wins)


def test_dim_tables_rows_do_not_depend_on_their_neighbours():
    """Pricing many cuts at once gives each the row it gets alone."""
    rng = random.Random(3)
    size, parts, core_parts, reach = 37, 3, 4, (2, 3, 1)
    tiles = [rng.randint(1, 13) for _ in range(60)]
    cores = [rng.randint(1, -(-t // core_parts)) for t in tiles]
    batch = dim_tables(size, parts, core_parts, tiles, cores, reach)
    for row, t, u in zip(batch, tiles, cores):
        assert (row == dim_tables(size, parts, core_parts, [t], [u], reach)[0]).all()
