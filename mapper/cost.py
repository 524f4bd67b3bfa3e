"""The C³P cost model (docs/cost-model.md), defined once.

Every count the model needs is a product over the dimensions K, H, W of a
per-dimension quantity (tiles in different dimensions form a Cartesian grid), times
scalar factors for the batch and the reduction. So the model has two parts:

* `dim_table` walks one dimension's hierarchical cut (1-D, exact, ragged pieces
  included) and returns every per-dimension sum and maximum the formulas use;
* `combine` applies the C³P rules to three tables. It uses only arithmetic, `min`
  and `where`, so the same code evaluates one mapping (Python ints) or a whole grid of
  tile choices at once (numpy arrays; `solvers/enumerate.py`).

`evaluate` is the scalar entry point. The referee `simulate.py` counts the same
fields independently, element by element.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from math import ceil
from typing import Any, Mapping as TMapping

import numpy as np

from mapper.hwspec import Hardware
from mapper.layer import Layer, window_union
from mapper.space import DimSplit, Mapping, check_structure, pieces, split

# Value kinds: 'count' = number of outer iterations (a dimension irrelevant to the
# data), 'plain' = elements (relevant, no halo), 'window' = halo-inclusive input rows.
VALUE_KINDS = ("count", "plain", "window")
# Cuts for core-level buffers: which of the dimension's two loops (chiplet tile loop,
# core tile loop) lie inside the retention position.
CORE_CUTS = ("core", "tile", "part")  # neither / only the core loop / both inside
CHIP_CUTS = ("tile", "part")  # chiplet-level buffers see only the chiplet loop
MODES = ("sum", "first")  # over units: all of them, or the first (largest) one

LEVELS = ("dram", "d2d", "a_l2", "o_l2", "w_l1", "a_l1", "o_l1", "mac")


# --------------------------------------------------------------------------------
# One dimension
# --------------------------------------------------------------------------------
def _offsets(sizes: list[int], start: int = 0) -> list[tuple[int, int]]:
    """(offset, size) of consecutive pieces starting at `start`."""
    out, pos = [], start
    for s in sizes:
        out.append((pos, s))
        pos += s
    return out


def _keys() -> list[tuple]:
    keys: list[tuple] = []
    for kind in VALUE_KINDS:
        keys += [(kind, cut, cm, km) for cut in CORE_CUTS for cm in MODES for km in MODES]
        keys += [("max", kind, cut) for cut in CORE_CUTS]
        keys += [("chip", kind, cut, cm) for cut in CHIP_CUTS for cm in MODES]
        keys += [("cmax", kind, cut) for cut in CHIP_CUTS]
    return keys


# The keys of a dim table, in column order of `dim_tables`:
# (kind, cut, chip_mode, core_mode) for core-level sums, ('chip', kind, cut, chip_mode)
# for chiplet-level sums, ('max', kind, cut) and ('cmax', kind, cut) for the largest footprint.
KEYS = _keys()
KEY_INDEX = {k: i for i, k in enumerate(KEYS)}


@lru_cache(maxsize=1024)
def windows(size: int, reach: tuple[int, int, int] | None) -> np.ndarray:
    """win[n]: input rows of n contiguous outputs (translation-invariant), n = 0..size."""
    return np.array([0] + [window_union([(0, n)], *reach) if reach else n for n in range(1, size + 1)],
                    dtype=np.int64)


def _share(z: np.ndarray, units: int, i: int) -> tuple[np.ndarray, np.ndarray]:
    """(size, offset) of unit i's part when each z is split over `units` (`space.split`):
    min(units, z) parts differing by at most one, larger first; size 0 past the last part."""
    n = np.minimum(units, np.maximum(z, 1))
    base, extra = np.divmod(z, n)
    size = np.where(i < n, base + (i < extra), 0)
    return size, i * base + np.minimum(i, extra)


def dim_tables(size: int, parts: int, core_parts: int, tiles, core_tiles,
               reach: tuple[int, int, int] | None) -> np.ndarray:
    """Every per-dimension sum and maximum of the cost formulas, for many cuts at once.

    Row j is the cut DimSplit(size, parts, tiles[j], core_parts, core_tiles[j]); columns
    follow `KEYS`. `reach` = (stride, taps, dilation) of the input window along this
    dimension (None for K, which has no window).

    Every level of a cut has at most two piece sizes (full pieces and one remainder),
    so sums are taken over distinct sizes times their multiplicity; the window of a
    core's scattered parts (cut 'part', several cores) is closed-form interval
    arithmetic (dilated kernels: counted explicitly, `_scattered_window`).
    """
    t = np.asarray(tiles, dtype=np.int64)
    u = np.asarray(core_tiles, dtype=np.int64)
    out = np.zeros((len(t), len(KEYS)), dtype=np.int64)
    win = windows(max(size, int(u.max(initial=0))), reach)  # K's core tile (lanes) may exceed K

    def add(key: tuple, v) -> None:
        out[:, KEY_INDEX[key]] += v

    def up(key: tuple, v) -> None:  # running maximum
        c = KEY_INDEX[key]
        out[:, c] = np.maximum(out[:, c], v)

    def f(kind: str, n):  # the value of n contiguous elements (0 for none)
        return (n > 0).astype(np.int64) if kind == "count" else n if kind == "plain" else win[n]

    def core_tiles_sum(kind: str, q):  # sum of f over the core tiles of a core part q
        return (q // u) * f(kind, u) + f(kind, q % u)

    part_sizes = split(size, parts)
    for a in sorted(set(part_sizes), reverse=True):
        mult = part_sizes.count(a)
        chip_modes = (("sum", mult), ("first", 1)) if a == part_sizes[0] else (("sum", mult),)
        tt = np.minimum(t, a)
        n_full, rem = a // t, a % t  # n_full full tiles of t, then one of rem (if any)
        for kind in VALUE_KINDS:  # chiplet-level buffers
            v_tile = n_full * f(kind, t) + f(kind, rem)
            for cm, m in chip_modes:
                add(("chip", kind, "part", cm), m * f(kind, np.int64(a)))
                add(("chip", kind, "tile", cm), m * v_tile)
            up(("cmax", kind, "part"), f(kind, np.full(len(t), a)))
            up(("cmax", kind, "tile"), f(kind, tt))
        # core-level buffers: core ci gets part ci of every chiplet tile. Per kind and
        # cut: the sum over the cores and the first core's value, added once per mode.
        total = {(kind, cut): 0 for kind in VALUE_KINDS for cut in CORE_CUTS}
        first_core: dict[tuple, np.ndarray] = {}
        first = np.where(n_full > 0, t, rem)  # the largest chiplet tile of the part
        for ci in range(min(core_parts, a)):
            exists = ci < np.minimum(core_parts, first)
            q_full, off_full = _share(t, core_parts, ci)
            q_full = np.where(n_full > 0, q_full, 0)
            q_rem, off_rem = _share(rem, core_parts, ci)
            q_rem = np.where(rem > 0, q_rem, 0)
            q0 = np.where(n_full > 0, q_full, q_rem)  # a full tile's part: the largest
            for kind in VALUE_KINDS:
                if kind == "count":
                    v_part = exists.astype(np.int64)
                elif kind == "plain" or not reach:
                    v_part = n_full * q_full + q_rem
                elif core_parts == 1:
                    v_part = np.full(len(t), win[a])  # the core's tiles are contiguous
                else:
                    v_part = _scattered_window(a, t, core_parts, ci, reach, n_full, q_full, off_full,
                                               q_rem, off_rem)
                values = {"core": n_full * core_tiles_sum(kind, q_full) + core_tiles_sum(kind, q_rem),
                          "tile": n_full * f(kind, q_full) + f(kind, q_rem), "part": v_part}
                for cut, v in values.items():
                    total[(kind, cut)] = total[(kind, cut)] + v
                    if ci == 0:
                        first_core[(kind, cut)] = v
                up(("max", kind, "core"), f(kind, np.minimum(u, q0)))
                up(("max", kind, "tile"), f(kind, q0))
                up(("max", kind, "part"), v_part)
        for (kind, cut), v in total.items():
            for cm, m in chip_modes:
                add((kind, cut, cm, "sum"), m * v)
                add((kind, cut, cm, "first"), m * first_core[(kind, cut)])
    return out


def _scattered_window(a: int, t, core_parts: int, ci: int, reach: tuple[int, int, int],
                      n_full, q_full, off_full, q_rem, off_rem) -> np.ndarray:
    """Input rows of core ci's pieces of every chiplet tile of a part of a outputs.

    The pieces sit at j*t + off_full (j < n_full, q_full outputs each) and at
    n_full*t + off_rem (q_rem outputs). Undilated: windows never touch when stride >
    taps (taps rows per output); otherwise piece j spans [o*s, (o+q-1)*s + taps), equal
    spans t*s apart, so they overlap by a fixed amount; the last piece adds what sticks
    out past the previous spans' end."""
    stride, taps, dil = reach
    if dil != 1:
        return np.array([window_union(_core_segments(a, int(tj), core_parts, ci), *reach)
                         for tj in t], dtype=np.int64)
    if stride > taps:
        return taps * (n_full * q_full + q_rem)
    span = (q_full - 1) * stride + taps
    full = np.where((n_full > 0) & (q_full > 0), span + (n_full - 1) * np.minimum(span, t * stride), 0)
    end = ((n_full - 1) * t + off_full + q_full - 1) * stride + taps
    lo = (n_full * t + off_rem) * stride
    hi = lo + (q_rem - 1) * stride + taps
    extra = np.where(full > 0, np.maximum(0, hi - np.maximum(lo, end)), hi - lo)
    return full + np.where(q_rem > 0, extra, 0)


class Columns:
    """Dim-table rows seen as {key: column}, the column laid along `axis` of a 3-D grid
    (H x W x K), so `combine` prices every combination of rows at once."""

    def __init__(self, table: np.ndarray, axis: int = 0, ndim: int = 3):
        shape = tuple(-1 if i == axis else 1 for i in range(ndim))
        self.cols = table.T.reshape((len(KEYS),) + shape)  # views, no copies

    def __getitem__(self, key: tuple) -> np.ndarray:
        return self.cols[KEY_INDEX[key]]


@lru_cache(maxsize=200_000)
def dim_table(s: DimSplit, reach: tuple[int, int, int] | None) -> dict[tuple, int]:
    """The dim table of one cut as {key: int} (`dim_tables` for a single row)."""
    row = dim_tables(s.size, s.parts, s.core_parts, [s.tile], [s.core_tile], reach)[0]
    return dict(zip(KEYS, row.tolist()))


def _core_segments(part: int, tile: int, core_parts: int, ci: int) -> list[tuple[int, int]]:
    """(offset, size) of core ci's piece in every chiplet tile of a part."""
    segs = []
    for off, size in _offsets(pieces(part, tile)):
        sp = split(size, core_parts)
        if ci < len(sp):
            segs.append((off + sum(sp[:ci]), sp[ci]))
    return segs


# --------------------------------------------------------------------------------
# The C³P rules over three dimensions
# --------------------------------------------------------------------------------
def chip_loops(order: str) -> list[str]:
    return ["h", "w", "k"] if order == "channel" else ["k", "h", "w"]


def core_cut(d: str, r: int, chip_order: str, core_order: str) -> str:
    """Cut of dimension d for an L1 retention position r (positions: 0 = n,
    1..3 chiplet loops, 4..6 core loops, 7 = cb; r = 8 is one c-block)."""
    pos_t = 1 + chip_loops(chip_order).index(d)
    pos_c = 4 + chip_loops(core_order).index(d)
    return "part" if pos_t >= r else "tile" if pos_c >= r else "core"


def chip_cut(d: str, r: int, chip_order: str) -> str:
    """Cut of dimension d for an A-L2 retention position r (0 = n, 1..3 chiplet loops,
    r = 4 is one chiplet tile)."""
    return "part" if 1 + chip_loops(chip_order).index(d) >= r else "tile"


@dataclass
class Combined:
    """Counts (elements), hard-constraint needs/capacities (bits), retention positions.

    Values are ints for one mapping or numpy arrays for a grid of mappings."""

    counts: dict[str, Any]
    needs: dict[str, tuple[Any, int]]  # buffer -> (largest innermost need, capacity) in bits
    retention: dict[str, Any]
    feasible: Any = field(default=True)


def _select(fits: list, values: list, fallback):
    """The value at the smallest (outermost) position r whose footprint fits.

    Scans from the innermost position outward, letting every fitting position
    override; `fallback` is used when nothing fits (the mapping is then infeasible).
    Works elementwise on numpy arrays."""
    out = fallback
    for ok, v in zip(reversed(fits), reversed(values)):
        out = np.where(ok, v, out) if isinstance(ok, np.ndarray) else (v if ok else out)
    return out


@dataclass
class Positions:
    """Per retention position r of one buffer: total fills, the fills that reach the
    level above once shared chunks are merged, and the largest footprint (elements)."""

    fill: list
    shared: list
    foot: list
    writes: list = field(default_factory=list)  # buffer writes, when not the fills (in-memory copies)

    @property
    def written(self) -> list:
        return self.writes or self.fill

    def fits(self, capacity_bits: int, bits: int) -> list:
        return [f * bits <= capacity_bits for f in self.foot]


class CostContext:
    """The layer/hardware constants and dim tables that every buffer's rule reads."""

    def __init__(self, layer: Layer, hw: Hardware, T: TMapping[str, TMapping], batch_tile: int = 1):
        self.layer, self.hw = layer, hw
        self.b = batch_tile  # images per step (a batch tile); the n loop runs ceil(N / b) times
        self.nb = ceil(layer.N / batch_tile)
        self.h, self.w, self.k = T["h"], T["w"], T["k"]
        self.dw = layer.depthwise
        self.in_k = "plain" if self.dw else "count"  # K is relevant to inputs only for depthwise
        self.chan_in = 1 if self.dw else layer.C  # channels of an input window (dw: via K)

    def plane(self, kind: str, cut_h: str, cut_w: str, cm: str, km: str):
        return self.h[(kind, cut_h, cm, km)] * self.w[(kind, cut_w, cm, km)]


def a_l1_positions(c: CostContext, chip_order: str, core_order: str) -> Positions:
    """A-L1 (per core, inputs): positions 0..8 over the whole nest."""
    L, k, N, P = c.layer, c.k, c.layer.N, c.hw.vector
    out = Positions([], [], [])
    for r in range(9):
        ch, cw, ck = (core_cut(d, r, chip_order, core_order) for d in "hwk")
        windows = N * c.chan_in * c.plane("window", ch, cw, "sum", "sum")
        out.fill.append(windows * k[(c.in_k, ck, "sum", "sum")])
        # multicast: cores that differ only in K (dense) get one A-L2 read per chunk
        out.shared.append(windows * k[(c.in_k, ck, "sum", "sum" if c.dw else "first")])
        chan = 1 if c.dw else (L.C if r <= 7 else min(P, L.C))  # r = 8: one c-block
        out.foot.append((N if r == 0 else c.b) * chan * c.h[("max", "window", ch)]
                        * c.w[("max", "window", cw)] * (k[("max", "plain", ck)] if c.dw else 1))
    return out


def w_l1_positions(c: CostContext, chip_order: str, core_order: str) -> Positions:
    """W-L1 pools (cores with the same K part, plane in lock step): positions 0..8."""
    L, k, P = c.layer, c.k, c.hw.vector
    RS, Cr = L.R * L.S, L.Cr
    out = Positions([], [], [])
    for r in range(9):
        ch, cw, ck = (core_cut(d, r, chip_order, core_order) for d in "hwk")
        per = (c.nb if r >= 1 else 1) * Cr * RS * k[("plain", ck, "sum", "sum")]  # reused by a batch tile
        out.fill.append(per * c.plane("count", ch, cw, "sum", "first"))
        if c.hw.in_memory:  # an array computes only with the weights it holds: each core of
            out.writes.append(per * c.plane("count", ch, cw, "sum", "sum"))  # the pool gets a copy
        out.shared.append(per * c.plane("count", ch, cw, "first", "first"))  # rotation
        out.foot.append(k[("max", "plain", ck)] * (Cr if r <= 7 else min(P, Cr)) * RS)
    return out


def a_l2_positions(c: CostContext, chip_order: str) -> Positions:
    """A-L2 (per chiplet, inputs): positions 0..4; r = 4 is one chiplet tile."""
    k, N = c.k, c.layer.N
    out = Positions([], [], [])
    for r in range(5):
        ch, cw, ck = (chip_cut(d, r, chip_order) for d in "hwk")
        pl = N * c.chan_in * c.h[("chip", "window", ch, "sum")] * c.w[("chip", "window", cw, "sum")]
        out.fill.append(pl * k[("chip", c.in_k, ck, "sum")])
        out.shared.append(pl * k[("chip", c.in_k, ck, "sum" if c.dw else "first")])  # rotation
        out.foot.append((N if r == 0 else c.b) * c.chan_in * c.h[("cmax", "window", ch)]
                        * c.w[("cmax", "window", cw)] * (k[("cmax", "plain", ck)] if c.dw else 1))
    return out


def mapping_counts(c: CostContext) -> dict:
    """Counts that depend on the mapping but not on any retention position, and the
    two hard register/output-buffer needs (bits). Products only, so `cpsat.py` can
    evaluate them symbolically."""
    L, h, w, k = c.layer, c.h, c.w, c.k
    RS, cblocks = L.R * L.S, ceil(L.Cr / c.hw.vector)
    return {
        # dense: one read feeds all lanes; depthwise: one read per active lane
        "a_l1_read": L.N * RS * c.plane("plain", "core", "core", "sum", "sum")
                     * (k[("plain", "core", "sum", "sum")] if c.dw
                        else L.C * k[("count", "core", "sum", "sum")]),
        # one broadcast read per pool per step (plane steps of the largest member)
        "w_l1_read": c.nb * L.Cr * RS * k[("plain", "core", "sum", "sum")]
                     * c.plane("count", "core", "core", "sum", "first"),
        "compute_cycles": L.N * RS * cblocks * c.plane("plain", "core", "core", "first", "first")
                  * k[("count", "core", "first", "first")],
        "o_l1_need": c.b * c.hw.lanes * c.hw.psum_bits * h[("max", "plain", "core")] * w[("max", "plain", "core")],
        "o_l2_need": c.b * c.hw.act_bits * h[("cmax", "plain", "tile")] * w[("cmax", "plain", "tile")]
                     * k[("cmax", "plain", "tile")],
    }


def pool_capacity_bits(hw: Hardware, core_split: tuple[int, int, int]) -> int:
    """W-L1 capacity of a pool (the cores with the same K part share their buffers), or of
    one core for in-memory arrays (each holds its own copy)."""
    return hw.capacity_bits("w_l1") * (1 if hw.in_memory else core_split[1] * core_split[2])


def combine(layer: Layer, hw: Hardware, chip_order: str, core_order: str,
            core_split: tuple[int, int, int], T: TMapping[str, TMapping], batch_tile: int = 1) -> Combined:
    """Apply the C³P rules. `T` maps 'k', 'h', 'w' to dim tables (values may be arrays)."""
    RS, cblocks = layer.R * layer.S, ceil(layer.Cr / hw.vector)
    ab, wb = hw.act_bits, hw.weight_bits
    c = CostContext(layer, hw, T, batch_tile)
    a1 = a_l1_positions(c, chip_order, core_order)
    w1 = w_l1_positions(c, chip_order, core_order)
    a2 = a_l2_positions(c, chip_order)
    pool_cap = pool_capacity_bits(hw, core_split)
    a_fits = a1.fits(hw.capacity_bits("a_l1"), ab)
    w_fits = w1.fits(pool_cap, wb)
    l2_fits = a2.fits(hw.capacity_bits("a_l2"), ab)

    a_l1_write = _select(a_fits, a1.fill, a1.fill[-1])
    a_l2_read = _select(a_fits, a1.shared, a1.shared[-1])
    w_l1_fill = _select(w_fits, w1.fill, w1.fill[-1])  # per pool: what DRAM and the ring deliver
    w_l1_write = _select(w_fits, w1.written, w1.written[-1])
    dram_read_w = _select(w_fits, w1.shared, w1.shared[-1])
    a_l2_write = _select(l2_fits, a2.fill, a2.fill[-1])
    dram_read_a = _select(l2_fits, a2.shared, a2.shared[-1])

    outputs = layer.outputs
    per_mapping = mapping_counts(c)
    counts = {
        "dram_read_w": dram_read_w,
        "dram_read_a": dram_read_a,
        "dram_write_o": outputs,
        "d2d_w": w_l1_fill - dram_read_w,
        "d2d_a": a_l2_write - dram_read_a,
        "a_l2_write": a_l2_write,
        "a_l2_read": a_l2_read,
        "a_l1_write": a_l1_write,
        "a_l1_read": per_mapping["a_l1_read"],
        "w_l1_write": w_l1_write,
        "w_l1_read": per_mapping["w_l1_read"],
        "o_l1_rmw": outputs * cblocks * RS,
        "o_l2_write": outputs,
        "o_l2_read": outputs,
        "macs": layer.macs,
        "compute_cycles": per_mapping["compute_cycles"],
    }
    counts["cycles"] = latency(counts, hw)["cycles"]
    needs = {
        "o_l1": (per_mapping["o_l1_need"], hw.capacity_bits("o_l1")),
        "a_l1": (a1.foot[-1] * ab, hw.capacity_bits("a_l1")),  # innermost footprints
        # in-memory computing: the array must hold the pool's whole share (written once)
        "w_l1": (w1.foot[0 if hw.in_memory else -1] * wb, pool_cap),
        "a_l2": (a2.foot[-1] * ab, hw.capacity_bits("a_l2")),
        "o_l2": (per_mapping["o_l2_need"], hw.capacity_bits("o_l2")),
    }
    feasible = True
    for need, cap in needs.values():
        feasible = feasible & (need <= cap)
    retention = {
        "a_l1": _select(a_fits, list(range(9)), 8),
        "w_l1": _select(w_fits, list(range(9)), 8),
        "a_l2": _select(l2_fits, list(range(5)), 4),
    }
    return Combined(counts, needs, retention, feasible)


def d2d_bits(counts: TMapping[str, Any], hw: Hardware):
    """Die-to-die traffic in bits (each transfer crosses one link: docs/cost-model.md §4, Mesh)."""
    return (counts["d2d_w"] * hw.weight_bits + counts["d2d_a"] * hw.act_bits
            + counts.get("d2d_p", 0) * hw.psum_bits)


def bandwidths(hw: Hardware, links: int | None = None) -> dict[str, tuple[int, int]]:
    """The whole package's bits per cycle of each modelled resource, as an exact fraction
    (numerator, denominator): DRAM has one channel per chiplet (NN-Baton Sec. IV-C), the
    die-to-die network `links` links working at once — by default N_P, the ring's (on a
    mesh, those of the ring embedded in it). A resource without a bandwidth is not modelled."""
    links = (hw.n_chiplets if hw.n_chiplets > 1 else 0) if links is None else links
    out = {}
    for name, gb_s, units in (("dram", hw.dram_gb_s, hw.n_chiplets), ("d2d", hw.d2d_gb_s, links)):
        if gb_s and units:
            rate = hw.bits_per_cycle(gb_s) * units
            out[name] = (rate.numerator, rate.denominator)
    return out


def latency(counts: TMapping[str, Any], hw: Hardware, links: int | None = None) -> dict[str, Any]:
    """Cycles of a layer: the slowest of the MACs, the DRAM channels and the die-to-die
    links bounds it (Timeloop-style roofline with perfect double-buffering: each
    resource's time over the whole layer, traffic spread evenly over the channels and
    `links` links, `bandwidths`). Ints or numpy arrays. Also each resource's own time."""
    times = {"compute": counts["compute_cycles"]}
    bits = {"dram": lambda: dram_bits(counts, hw), "d2d": lambda: d2d_bits(counts, hw)}
    for name, (num, den) in bandwidths(hw, links).items():
        times[name] = -(-(bits[name]() * den) // num)  # ceil
    cycles = times["compute"]
    for name in ("dram", "d2d"):
        if name in times:
            cycles = np.maximum(cycles, times[name])
    return times | {"cycles": cycles}


def energy_breakdown(counts: TMapping[str, Any], hw: Hardware) -> dict[str, Any]:
    """Energy per level in integer femtojoules (bits x fJ/bit; MACs x fJ/op)."""
    e = hw.energy_fj_per_bit()
    ab, wb, pb = hw.act_bits, hw.weight_bits, hw.psum_bits
    c = counts
    return {
        "dram": e["dram"] * (c["dram_read_w"] * wb + (c["dram_read_a"] + c["dram_write_o"]) * ab),
        # d2d_p: 24-bit partial sums between chiplets (Simba's dataflow, mapper/simba.py)
        "d2d": e["d2d"] * (c["d2d_w"] * wb + c["d2d_a"] * ab + c.get("d2d_p", 0) * pb),
        "a_l2": e["a_l2"] * (c["a_l2_write"] + c["a_l2_read"]) * ab,
        "o_l2": e["o_l2"] * (c["o_l2_write"] + c["o_l2_read"]) * ab,
        # in-memory computing reads no weights out: the MAC energy covers the array op
        "w_l1": e["w_l1"] * (c["w_l1_write"] + (0 if hw.in_memory else c["w_l1_read"])) * wb,
        "a_l1": e["a_l1"] * (c["a_l1_write"] + c["a_l1_read"]) * ab,
        "o_l1": e["o_l1"] * c["o_l1_rmw"] * pb,
        "mac": hw.mac_fj(c["macs"]),
    }


# --------------------------------------------------------------------------------
# One mapping
# --------------------------------------------------------------------------------
@dataclass
class Evaluation:
    """The cost of one mapping of one layer on one hardware."""

    layer: Layer
    mapping: Mapping
    feasible: bool
    reason: str | None
    counts: dict[str, int]
    breakdown_fj: dict[str, int]
    energy_fj: int
    cycles: int
    utilization: float
    latency_s: float
    retention: dict[str, int]
    times: dict[str, int] = field(default_factory=dict)  # cycles each resource alone needs

    @property
    def bound_by(self) -> str:
        """The resource whose time is the layer's latency (compute on ties)."""
        return max(self.times, key=lambda k: (self.times[k], k == "compute")) if self.times else "compute"

    def to_dict(self) -> dict:
        return {
            "name": self.layer.name,
            "feasible": self.feasible,
            "reason": self.reason,
            "energy_pj": self.energy_fj / 1000,
            "breakdown_pj": {k: v / 1000 for k, v in self.breakdown_fj.items()},
            "cycles": self.cycles,
            "latency_s": self.latency_s,
            "utilization": self.utilization,
            "cycles_by_resource": dict(self.times),
            "bound_by": self.bound_by,
            "mapping": self.mapping.to_dict(),
            "mapping_text": self.mapping.describe(),
            "mapping_short": self.mapping.short(),
            "counts": dict(self.counts),
            "retention": dict(self.retention),
        }


def tables_for(layer: Layer, hw: Hardware, m: Mapping) -> dict[str, dict]:
    out = {}
    for d in ("k", "h", "w"):
        out[d] = dim_table(m.dim_split(layer, hw, d), None if d == "k" else layer.reach(d))
    return out


def dram_bits(counts: TMapping[str, int], hw: Hardware) -> int:
    """DRAM traffic of a priced mapping, in bits."""
    return (counts["dram_read_w"] * hw.weight_bits
            + (counts["dram_read_a"] + counts["dram_write_o"]) * hw.act_bits)


RLC_RUN_BITS, RLC_WORD_BITS, RLC_MAX_RUN = 5, 64, 31  # Eyeriss (seed 002) Sec. IV-C, Fig. 8


def rlc_bits_per_element(density: float, act_bits: int) -> float:
    """An ESTIMATE of the bits per activation of Eyeriss's run-length code at a given
    fraction of non-zeros: each non-zero is a (5-bit run, value) pair; a run of more than
    31 zeros needs a further pair per 32 zeros (counted as if zeros came in such runs: an
    upper estimate); pairs are packed whole into 64-bit words with one flag bit (three
    16-bit pairs per word). Dense data costs more than raw (21.3 vs 16 bits at 16 bit)."""
    pairs_per_word = (RLC_WORD_BITS - 1) // (RLC_RUN_BITS + act_bits)
    pairs = density + (1 - density) / (RLC_MAX_RUN + 1)
    return RLC_WORD_BITS / pairs_per_word * pairs


def rlc_dram_bits(counts: TMapping[str, int], hw: Hardware, layer: Layer) -> float:
    """DRAM bits with the layer's coded activations (in_density / out_density) counted at
    the run-length code's size; weights and raw activations as `dram_bits`. An estimate,
    reported beside the exact figure; never optimised."""
    def per_element(density: float | None) -> float:
        return hw.act_bits if density is None else rlc_bits_per_element(density, hw.act_bits)

    return (counts["dram_read_w"] * hw.weight_bits + counts["dram_read_a"] * per_element(layer.in_density)
            + counts["dram_write_o"] * per_element(layer.out_density))


def infeasibility(needs: TMapping[str, tuple[int, int]]) -> str | None:
    """Name the first buffer that is too small and by how much."""
    for buf, (need, cap) in needs.items():
        if need > cap:
            return (f"{buf} too small: the mapping needs {ceil(need / 8)} B "
                    f"but {buf} holds {cap // 8} B (short by {ceil((need - cap) / 8)} B)")
    return None


def evaluate(layer: Layer, hw: Hardware, m: Mapping) -> Evaluation:
    """Cost of one mapping. Structurally invalid mappings raise ValueError."""
    why = check_structure(m, layer, hw)
    if why:
        raise ValueError(f"invalid mapping for {layer.name}: {why}")
    comb = combine(layer, hw, m.chip_order, m.core_order, m.core_split, tables_for(layer, hw, m), m.batch_tile)
    counts = {k: int(v) for k, v in comb.counts.items()}
    breakdown = {k: int(v) for k, v in energy_breakdown(counts, hw).items()}
    cycles = counts["cycles"]
    times = {k: int(v) for k, v in latency(counts, hw).items() if k != "cycles"}
    return Evaluation(
        layer=layer, mapping=m, feasible=bool(comb.feasible), reason=infeasibility(comb.needs),
        counts=counts, breakdown_fj=breakdown, energy_fj=sum(breakdown.values()), cycles=cycles,
        utilization=layer.macs / (cycles * hw.macs),
        latency_s=cycles / (hw.frequency_mhz * 1e6),
        retention={k: int(v) for k, v in comb.retention.items()},
        times=times,
    )
