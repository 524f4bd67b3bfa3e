"""The referee: a literal, slow loop-nest walker for small layers (docs/cost-model.md).

`simulate` walks every global step of the loop nest of `docs/cost-model.md` Sec. 2,
keeps the content of every buffer instance as an explicit Python set of element
identities, and counts every transfer of Sec. 3.3. Its counting is deliberately
independent of `mapper/cost.py` (which computes the same numbers analytically; only
`cost.latency`, the roofline *defined* over the counts, is shared) and of
`Layer.window` / `layer.window_union` (the closed-form input windows): the rows and
columns an output tile needs are built here as explicit sets.

Element identities (encoded as ints by a mixed-radix bijection, see `_Ids`):
  inputs  (n, c, row, col)   row/col in padded-input coordinates
  weights (k, c, r, s)       c is the channel inside the group (0 for depthwise)
  outputs (n, k, h, w)

Loop positions. L1 buffers (A-L1, W-L1) sit under positions
  0 = n, 1..3 = the chiplet tile loops in `chip_order`, 4..6 = the core tile loops in
  `core_order`, 7 = cb;  retention r = 8 means "one innermost step only".
A-L2 sits under positions 0 = n, 1..3 = the chiplet tile loops; r = 4 means one
chiplet tile.

Lock step: the global step is the tuple of loop indices; each loop runs to the
largest extent any unit has, and a unit whose own range is exhausted at an index is
idle there (needs nothing, does nothing).

Keep this file obviously correct rather than fast: it is the referee.
"""
from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from dataclasses import dataclass, field

from mapper.cost import latency
from mapper.hwspec import Hardware, Tech
from mapper.layer import Layer
from mapper.space import (
    DIMS,
    ORDERS,
    Mapping,
    check_structure,
    core_splits,
    package_splits,
    pieces,
    split,
)

COUNT_KEYS = (
    "dram_read_w", "dram_read_a", "dram_write_o", "d2d_w", "d2d_a",
    "a_l2_write", "a_l2_read", "a_l1_write", "a_l1_read", "w_l1_write", "w_l1_read",
    "o_l1_rmw", "o_l2_write", "o_l2_read", "macs", "compute_cycles",
)

# Loop order inside one level (outer -> inner), docs/cost-model.md Sec. 2.
ORDER_DIMS = {"channel": ("h", "w", "k"), "plane": ("k", "h", "w")}

L1_POSITIONS = 8   # n, 3 chiplet loops, 3 core loops, cb
L2_POSITIONS = 4   # n, 3 chiplet loops


@dataclass
class SimResult:
    feasible: bool
    reason: str | None
    counts: dict[str, int] = field(default_factory=dict)
    retention: dict[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------------------
# 1-D cuts (the one cutting rule of docs/cost-model.md Sec. 2)
# --------------------------------------------------------------------------------------
def _ranges(start: int, sizes: list[int]) -> list[range]:
    out = []
    for size in sizes:
        out.append(range(start, start + size))
        start += size
    return out


def _cut(r: range, piece: int) -> list[range]:
    """Cut a range into contiguous pieces of `piece` (the last one possibly smaller)."""
    out = _ranges(r.start, pieces(len(r), piece))
    assert out[-1].stop == r.stop
    return out


def _split(r: range, parts: int) -> list[range]:
    """Split a range over `parts` units (balanced: sizes differ by at most one)."""
    out = _ranges(r.start, split(len(r), parts))
    assert out[-1].stop == r.stop and len(out) <= parts
    return out


class _Geometry:
    """Every tile of every unit, per dimension, explicitly."""

    def __init__(self, layer: Layer, hw: Hardware, m: Mapping):
        size = {"k": layer.K, "h": layer.H, "w": layer.W}
        self.p = dict(zip(DIMS, m.pkg_split))
        self.t = dict(zip(DIMS, m.chip_tile))
        self.c = dict(zip(DIMS, m.core_split))
        self.u = {"k": hw.lanes, "h": m.core_tile[0], "w": m.core_tile[1]}
        # package parts: parts[d][i] is chiplet part i's range of dimension d
        self.parts = {d: _split(range(size[d]), self.p[d]) for d in DIMS}
        # chip_tiles[d][i][j]: chiplet tile j of package part i
        self.chip_tiles = {d: [_cut(part, self.t[d]) for part in self.parts[d]] for d in DIMS}
        self._core_cache: dict[tuple, list[list[range]]] = {}
        # loop extents: the largest count any unit has
        self.chip_extent = {d: max(len(ts) for ts in self.chip_tiles[d]) for d in DIMS}
        self.core_extent = {
            d: max(len(ct) for ts in self.chip_tiles[d] for tile in ts
                   for ct in self._core_tiles(d, tile))
            for d in DIMS
        }

    def _core_tiles(self, d: str, tile: range) -> list[list[range]]:
        """core_tiles[i][j]: core tile j of core part i of chiplet tile `tile`."""
        key = (d, tile.start, tile.stop)
        if key not in self._core_cache:
            self._core_cache[key] = [_cut(part, self.u[d]) for part in _split(tile, self.c[d])]
        return self._core_cache[key]

    def chiplet_tile(self, d: str, part: int, j: int) -> range | None:
        if part >= len(self.parts[d]):
            return None  # the package split used fewer units: this chiplet idles
        tiles = self.chip_tiles[d][part]
        return tiles[j] if j < len(tiles) else None

    def core_tile(self, d: str, chip_tile: range, core_part: int, j: int) -> range | None:
        parts = self._core_tiles(d, chip_tile)
        if core_part >= len(parts):
            return None  # the chiplet split used fewer cores: this core idles
        tiles = parts[core_part]
        return tiles[j] if j < len(tiles) else None


# --------------------------------------------------------------------------------------
# Element identities and per-step needs
# --------------------------------------------------------------------------------------
class _Ids:
    """Explicit element sets. Ints are mixed-radix encodings of the coordinate tuples."""

    def __init__(self, layer: Layer):
        self.layer = layer
        self.R_eff = layer.dilation * (layer.R - 1) + 1
        self.S_eff = layer.dilation * (layer.S - 1) + 1
        # padded-input extent: the last output row needs rows up to (H-1)*stride+R_eff-1
        self.HP = (layer.H - 1) * layer.stride + self.R_eff
        self.WP = (layer.W - 1) * layer.stride + self.S_eff
        self._inputs: dict[tuple, frozenset] = {}
        self._weights: dict[tuple, frozenset] = {}

    def input_id(self, n: int, c: int, row: int, col: int) -> int:
        L = self.layer
        assert 0 <= n < L.N and 0 <= c < L.C and 0 <= row < self.HP and 0 <= col < self.WP
        return ((n * L.C + c) * self.HP + row) * self.WP + col

    def weight_id(self, k: int, c: int, r: int, s: int) -> int:
        L = self.layer
        assert 0 <= k < L.K and 0 <= c < L.Cr and 0 <= r < L.R and 0 <= s < L.S
        return ((k * L.Cr + c) * L.R + r) * L.S + s

    def rows(self, hr: range) -> set[int]:
        """Padded-input rows output rows `hr` need: o*stride + dilation*i, i < R."""
        st, d = self.layer.stride, self.layer.dilation
        return {o * st + d * i for o in hr for i in range(self.layer.R)}

    def cols(self, wr: range) -> set[int]:
        st, d = self.layer.stride, self.layer.dilation
        return {o * st + d * i for o in wr for i in range(self.layer.S)}

    def inputs(self, images: range, channels: range, hr: range, wr: range) -> frozenset:
        key = (images.start, images.stop, channels.start, channels.stop, hr.start, hr.stop, wr.start, wr.stop)
        if key not in self._inputs:
            rows, cols = self.rows(hr), self.cols(wr)
            self._inputs[key] = frozenset(self.input_id(n, c, row, col) for n in images
                                          for c in channels for row in rows for col in cols)
        return self._inputs[key]

    def weights(self, kr: range, cr: range) -> frozenset:
        key = (kr.start, kr.stop, cr.start, cr.stop)
        if key not in self._weights:
            L = self.layer
            self._weights[key] = frozenset(
                self.weight_id(k, c, r, s)
                for k in kr for c in cr for r in range(L.R) for s in range(L.S))
        return self._weights[key]


# --------------------------------------------------------------------------------------
# Retention and the walk
# --------------------------------------------------------------------------------------
def _retention(needs: dict, n_pos: int, capacity_bits: int, bits: int) -> tuple[int | None, int]:
    """Smallest r whose largest footprint fits, or None if even r = n_pos does not fit.

    `needs[instance]` lists (step, need) for the steps where the instance is active.
    The footprint at r of one instance and one iteration of the loops outside r
    (= one value of step[:r]) is the union of the needs of the steps with that
    prefix. Footprints only grow as r decreases (a union over more steps), so we go
    from the innermost position outwards and stop at the first r that does not fit.
    Returns (r, largest footprint in elements at r); (None, innermost largest) if
    even the innermost footprint does not fit.
    """
    # level n_pos: every step is its own group
    groups = {inst: [(step, need) for step, need in lst] for inst, lst in needs.items()}
    largest = max((len(s) for lst in groups.values() for _, s in lst), default=0)
    if largest * bits > capacity_bits:
        return None, largest
    prev_largest = largest
    for r in range(n_pos - 1, -1, -1):
        new_groups = {}
        largest = 0
        for inst, lst in groups.items():
            merged: dict[tuple, set] = {}
            for step, s in lst:
                key = step[:r]
                if key in merged:
                    merged[key] |= s
                else:
                    merged[key] = set(s)
            new_groups[inst] = list(merged.items())
            largest = max([largest] + [len(s) for s in merged.values()])
        assert largest >= prev_largest  # monotone, as argued above
        if largest * bits > capacity_bits:
            return r + 1, prev_largest
        groups, prev_largest = new_groups, largest
    return 0, prev_largest


def _walk(needs: list, r: int) -> list:
    """Walk one buffer instance; return [(step, fill)] with fill = need - content.

    The buffer is emptied whenever a loop index at a position < r changes. `needs`
    holds only active steps, in step order; since the steps are enumerated in
    lexicographic order, step[:r] is non-decreasing, so "the prefix differs from the
    last active step's prefix" is the same as "some index outside r changed since".
    """
    content: set = set()
    last = None
    out = []
    for step, need in needs:
        prefix = step[:r]
        if prefix != last:
            content = set()
            last = prefix
        fill = need - content
        content |= fill
        out.append((step, frozenset(fill)))
    return out


def _share(chunks_by_step: dict) -> tuple[int, int]:
    """DRAM reads and die-to-die traffic: identical chunks at a step are read once
    from DRAM and rotated to the other (sharers - 1) chiplets."""
    dram = d2d = 0
    for chunks in chunks_by_step.values():
        for chunk, sharers in Counter(chunks).items():
            dram += len(chunk)
            d2d += (sharers - 1) * len(chunk)
    return dram, d2d


# --------------------------------------------------------------------------------------
# The simulator
# --------------------------------------------------------------------------------------
def simulate(layer: Layer, hw: Hardware, mapping: Mapping) -> SimResult:
    problem = check_structure(mapping, layer, hw)
    if problem is not None:
        raise ValueError(f"structurally invalid mapping: {problem}")
    if layer.groups != 1 and not layer.depthwise:
        raise ValueError("only dense (groups=1) and depthwise layers are supported")
    dw = layer.depthwise
    L, P = hw.lanes, hw.vector
    RS = layer.R * layer.S
    geo = _Geometry(layer, hw, mapping)
    ids = _Ids(layer)

    chip_dims = ORDER_DIMS[mapping.chip_order]
    core_dims = ORDER_DIMS[mapping.core_order]
    n_cb = 1 if dw else math.ceil(layer.Cr / P)
    # c-blocks of the reduced channels (dense); depthwise uses the K tile's channel
    cblocks = [range(b * P, min((b + 1) * P, layer.Cr)) for b in range(n_cb)] if not dw else None

    chiplets = list(itertools.product(*(range(x) for x in mapping.pkg_split)))  # (k, h, w) part
    cores = list(itertools.product(*(range(x) for x in mapping.core_split)))    # (k, h, w) part
    assert len(chiplets) == hw.n_chiplets and len(cores) == hw.n_cores
    pools = sorted({core[0] for core in cores})             # K-part index of each pool
    pool_members = {ik: [c for c in cores if c[0] == ik] for ik in pools}

    b = mapping.batch_tile  # the n loop steps over batch tiles of b images (the last one ragged)
    chip_ranges = [range(math.ceil(layer.N / b))] + [range(geo.chip_extent[d]) for d in chip_dims]
    core_ranges = [range(geo.core_extent[d]) for d in core_dims] + [range(n_cb)]

    a2_needs: dict = {ch: [] for ch in chiplets}
    a1_needs: dict = {(ch, co): [] for ch in chiplets for co in cores}
    w_needs: dict = {(ch, ik): [] for ch in chiplets for ik in pools}
    counts = dict.fromkeys(COUNT_KEYS, 0)
    core_weights: dict = {}  # (chiplet, core) -> every weight the core computes with
    outputs: Counter = Counter()
    o_l2_largest = 0

    for chip_step in itertools.product(*chip_ranges):
        imgs = range(chip_step[0] * b, min(layer.N, (chip_step[0] + 1) * b))
        jchip = dict(zip(chip_dims, chip_step[1:]))
        # chiplet tiles of every active chiplet at this step
        ctile = {}
        for ch in chiplets:
            tiles = {d: geo.chiplet_tile(d, ch[i], jchip[d]) for i, d in enumerate(DIMS)}
            if all(t is not None for t in tiles.values()):
                ctile[ch] = tiles
                o_l2_largest = max(o_l2_largest,
                                   len(imgs) * len(tiles["k"]) * len(tiles["h"]) * len(tiles["w"]))
                chans = tiles["k"] if dw else range(layer.C)
                a2_needs[ch].append((chip_step, ids.inputs(imgs, chans, tiles["h"], tiles["w"])))

        for core_step in itertools.product(*core_ranges):
            step = chip_step + core_step
            jcore = dict(zip(core_dims, core_step[:3]))
            cb = core_step[3]
            # the in-group channels of this c-block's weights (depthwise: the single c = 0)
            w_ch = range(0, 1) if dw else cblocks[cb]
            step_cycles = 0
            for ch, tiles in ctile.items():
                pool_k: dict[int, range] = {}
                active_cores: dict[int, list] = {}
                for co in cores:
                    t = {d: geo.core_tile(d, tiles[d], co[i], jcore[d]) for i, d in enumerate(DIMS)}
                    if any(x is None for x in t.values()):
                        continue  # idle core
                    kr, hr, wr = t["k"], t["h"], t["w"]
                    pixels = len(imgs) * len(hr) * len(wr)  # the pixels of every image of the tile
                    # depthwise: the c-block is the K tile's own channels
                    in_ch = kr if dw else cblocks[cb]
                    red = 1 if dw else len(cblocks[cb])  # reduced channels per lane in this block
                    a1_needs[(ch, co)].append((step, ids.inputs(imgs, in_ch, hr, wr)))
                    if co[0] in pool_k:
                        assert pool_k[co[0]] == kr  # pool members share the K core tile
                    pool_k[co[0]] = kr
                    active_cores.setdefault(co[0], []).append(co)
                    counts["a_l1_read"] += pixels * RS * (len(kr) if dw else len(cblocks[cb]))
                    counts["o_l1_rmw"] += pixels * len(kr) * RS
                    counts["macs"] += pixels * len(kr) * red * RS
                    step_cycles = max(step_cycles, pixels * RS)
                    if cb == 0:
                        for n in imgs:
                            for k in kr:
                                for h in hr:
                                    for w in wr:
                                        outputs[(n, k, h, w)] += 1
                for ik, kr in pool_k.items():
                    need = ids.weights(kr, w_ch)
                    w_needs[(ch, ik)].append((step, need))
                    counts["w_l1_read"] += len(need)  # broadcast: one read per pool and step
                    for co in active_cores[ik]:  # in-memory arrays: what each core computes with
                        core_weights.setdefault((ch, co), set()).update(need)
            counts["compute_cycles"] += step_cycles

    # ---- invariants of the work itself --------------------------------------------
    assert counts["macs"] == layer.macs, (counts["macs"], layer.macs)
    assert len(outputs) == layer.outputs and all(v == 1 for v in outputs.values()), \
        "every output must be produced exactly once"
    for key in ("dram_write_o", "o_l2_write", "o_l2_read"):
        counts[key] = len(outputs)

    # ---- feasibility and retention --------------------------------------------------
    problems = []
    o_l1_need = b * mapping.core_tile[0] * mapping.core_tile[1] * L * hw.psum_bits
    if o_l1_need > hw.capacity_bits("o_l1"):
        problems.append(f"O-L1: core tile {b}x{mapping.core_tile[0]}x{mapping.core_tile[1]}x{L} "
                        f"psums need {o_l1_need} bits > capacity {hw.capacity_bits('o_l1')} bits")
    o_l2_need = o_l2_largest * hw.act_bits
    if o_l2_need > hw.capacity_bits("o_l2"):
        problems.append(f"O-L2: largest chiplet tile ({o_l2_largest} outputs) needs {o_l2_need} "
                        f"bits > capacity {hw.capacity_bits('o_l2')} bits")
    retention = {}
    # an in-memory array holds its own weights; otherwise a pool shares its cores' buffers
    pool_cap = (1 if hw.in_memory else len(pool_members[pools[0]])) * hw.capacity_bits("w_l1")
    assert all(len(v) == len(pool_members[pools[0]]) for v in pool_members.values())
    for name, label, needs, n_pos, cap, bits in (
        ("a_l1", "A-L1", a1_needs, L1_POSITIONS, hw.capacity_bits("a_l1"), hw.act_bits),
        ("w_l1", "W-L1 pool", w_needs, L1_POSITIONS, pool_cap, hw.weight_bits),
        ("a_l2", "A-L2", a2_needs, L2_POSITIONS, hw.capacity_bits("a_l2"), hw.act_bits),
    ):
        r, largest = _retention(needs, n_pos, cap, bits)
        if name == "w_l1" and hw.in_memory and r != 0:  # an IMC array cannot reload weights
            problems.append(f"W-L1 pool (in memory): the weights are not resident (retention {r})")
        elif r is None:
            problems.append(f"{label}: innermost footprint {largest} elements needs "
                            f"{largest * bits} bits > capacity {cap} bits")
        else:
            retention[name] = r
    if problems:
        return SimResult(False, "; ".join(problems), {}, retention)

    # ---- walk the buffers ------------------------------------------------------------
    # A-L2 (per chiplet); DRAM / die-to-die sharing per chiplet-level step
    a2_chunks: dict = {}
    for ch, lst in a2_needs.items():
        for step, fill in _walk(lst, retention["a_l2"]):
            if fill:
                counts["a_l2_write"] += len(fill)
                a2_chunks.setdefault(step, []).append(fill)
    counts["dram_read_a"], counts["d2d_a"] = _share(a2_chunks)

    # A-L1 (per core); multicast from A-L2: distinct chunks per chiplet and step
    multicast: dict = {}
    for (ch, co), lst in a1_needs.items():
        for step, fill in _walk(lst, retention["a_l1"]):
            if fill:
                counts["a_l1_write"] += len(fill)
                multicast.setdefault((ch, step), set()).add(fill)
    counts["a_l2_read"] = sum(len(chunk) for chunks in multicast.values() for chunk in chunks)

    # W-L1 pools; DRAM / die-to-die sharing per global step
    w_chunks: dict = {}
    w_owner: dict = {}
    for (ch, ik), lst in w_needs.items():
        for step, fill in _walk(lst, retention["w_l1"]):
            if fill:
                counts["w_l1_write"] += len(fill)
                w_chunks.setdefault(step, []).append(fill)
                w_owner.setdefault((step, fill), []).append(ch)
    for owners in w_owner.values():  # sharers are always pools of different chiplets
        assert len(owners) == len(set(owners))
    counts["dram_read_w"], counts["d2d_w"] = _share(w_chunks)
    if hw.in_memory:  # resident (r = 0): each array is written every weight it uses, once
        counts["w_l1_write"] = sum(len(ws) for ws in core_weights.values())

    assert set(counts) == set(COUNT_KEYS)
    # the latency is a definition over these counts (the roofline of cost.latency), not a count
    counts["cycles"] = int(latency(counts, hw)["cycles"])
    return SimResult(True, None, counts, retention)


# --------------------------------------------------------------------------------------
# Random small cases for property tests
# --------------------------------------------------------------------------------------
NNBATON_TECH = Tech(
    dram_pj_per_bit=8.75, d2d_pj_per_bit=1.17,
    sram_pj_per_bit_at_1kb=0.30, sram_pj_per_bit_at_32kb=0.81,
    reg_rmw_pj_per_bit=0.104, mac_pj=0.024, frequency_mhz=500,
    mac_area_um2=135.1, sram_area_um2_per_kb=518.4, sram_macro_area_um2=5440,
    d2d_phy_area_mm2=0.38,
)


def simulate_simba(layer: Layer, hw: Hardware, th: int, tw: int) -> dict[str, int]:
    """Walk Simba's weight-centric loop nest (mapper/simba.py, docs/simba.md) PE by PE and
    tile by tile, input windows as explicit sets of rows and columns, and count every
    transfer. Dense layers only."""
    from mapper.simba import chiplet_grid, grid, links  # the arrangement of chiplets, cores, links
    rows_p, cols_p = chiplet_grid(hw)
    rows_c, cols_c = grid(hw.n_cores)
    L, P, RS = hw.lanes, hw.vector, layer.R * layer.S
    chans = _split(range(layer.Cr), rows_p * rows_c)  # PE row i -> input channels
    ks = _split(range(layer.K), cols_p * cols_c)  # PE column j -> output channels
    chip_row = [i // rows_c for i in range(len(chans))]
    chip_col = [j // cols_c for j in range(len(ks))]
    pe_weights = {(i, j): len(ch) * len(k) * RS for i, ch in enumerate(chans) for j, k in enumerate(ks)}
    fits = max(pe_weights.values()) * hw.weight_bits <= hw.capacity_bits("w_l1")
    first_h = range(min(th, layer.H))
    first_w = range(min(tw, layer.W))
    big_window = (len({o * layer.stride + layer.dilation * i for o in first_h for i in range(layer.R)})
                  * len({o * layer.stride + layer.dilation * i for o in first_w for i in range(layer.S)}))
    # A-L1 keeps the row's whole window of the largest tile, or streams it per k-block
    a_fits = max(len(ch) for ch in chans) * big_window * hw.act_bits <= hw.capacity_bits("a_l1")
    c = Counter()
    if fits:  # loaded once, before the first tile
        c["dram_read_w"] = c["w_l1_write"] = sum(pe_weights.values())
    for _n in range(layer.N):
        for hr in _cut(range(layer.H), th):
            rows = {o * layer.stride + layer.dilation * i for o in hr for i in range(layer.R)}
            for wr in _cut(range(layer.W), tw):
                cols = {o * layer.stride + layer.dilation * i for o in wr for i in range(layer.S)}
                pix = len(hr) * len(wr)
                window = len(rows) * len(cols)
                for pr in sorted(set(chip_row)):  # one chiplet of each row reads from DRAM
                    n_in = sum(len(chans[i]) for i in range(len(chans)) if chip_row[i] == pr) * window
                    active_cols = len(set(chip_col))
                    c["dram_read_a"] += n_in
                    # passed along the row, chiplet to chiplet: the mesh hops from the first to the last
                    c["d2d_a"] += n_in * _hops((pr, 0), (pr, active_cols - 1))
                    c["a_l2_write"] += n_in * active_cols
                    sends = 1 if a_fits else max(math.ceil(len(k) / L) for k in ks)
                    c["a_l2_read"] += n_in * active_cols * sends
                for (i, j), w in pe_weights.items():
                    c["a_l1_write"] += len(chans[i]) * window * (1 if a_fits else math.ceil(len(ks[j]) / L))
                    c["w_l1_read"] += w
                    if not fits:  # reloaded for every tile
                        c["dram_read_w"] += w
                        c["w_l1_write"] += w
                    c["a_l1_read"] += pix * RS * len(chans[i]) * math.ceil(len(ks[j]) / L)
                    c["o_l1_rmw"] += pix * RS * math.ceil(len(chans[i]) / P) * len(ks[j])
                    c["macs"] += pix * RS * len(chans[i]) * len(ks[j])
                    if i > 0:  # add the partial sums arriving from the row above
                        c["o_l1_rmw"] += pix * len(ks[j])
                        # partial sums from the chiplet above: the mesh hops between the two
                        c["d2d_p"] += pix * len(ks[j]) * _hops((chip_row[i - 1], chip_col[j]),
                                                               (chip_row[i], chip_col[j]))
                    if i == len(chans) - 1:  # the bottom row emits the outputs
                        for key in ("o_l2_write", "o_l2_read", "dram_write_o"):
                            c[key] += pix * len(ks[j])
                c["compute_cycles"] += (pix * RS * max(math.ceil(len(ch) / P) for ch in chans)
                                * max(math.ceil(len(k) / L) for k in ks))
    out = {k: c[k] for k in (*COUNT_KEYS, "d2d_p")}
    return out | {"cycles": int(latency(out, hw, links(hw))["cycles"])}


def _hops(a: tuple[int, int], b: tuple[int, int]) -> int:
    """Links crossed between two chiplets of the (rows x columns) grid: the Manhattan
    distance on the mesh (dimension-order routing)."""
    return abs(a[0] - b[0]) + abs(a[1] - b[1])


def _log_uniform(rng: random.Random, lo: int, hi: int) -> int:
    """An int in [lo, hi], log-uniform (so small, binding capacities are common)."""
    return min(hi, max(lo, int(math.exp(rng.uniform(math.log(lo), math.log(hi + 1))))))


def random_case(rng: random.Random) -> tuple[Layer, Hardware, Mapping]:
    """A small random (layer, hardware, mapping) that passes `check_structure`."""
    # --- layer
    kind = rng.choices(["conv", "depthwise", "fc"], weights=[75, 17, 8])[0]
    if rng.random() < 0.8:
        R = S = rng.choice([1, 2, 3, 5, 7])
    else:
        R, S = rng.choice([1, 2, 3, 5, 7]), rng.choice([1, 2, 3, 5, 7])
    stride = rng.choice([1, 2, 3])
    dilation = 2 if rng.random() < 0.15 else 1
    H, W = rng.randint(1, 9), rng.randint(1, 9)
    if kind == "depthwise":
        K = C = groups = rng.randint(2, 10)
    elif kind == "fc":
        K, C, groups, H, W, R, S, stride, dilation = rng.randint(1, 12), rng.randint(1, 10), 1, 1, 1, 1, 1, 1, 1
    else:
        K, C, groups = rng.randint(1, 12), rng.randint(1, 10), 1
    r_eff, s_eff = dilation * (R - 1) + 1, dilation * (S - 1) + 1
    # padding < the kernel extent, and small enough that the unpadded input is >= 1
    pad_max = min(r_eff, s_eff) - 1
    while pad_max > 0 and min((H - 1) * stride + r_eff, (W - 1) * stride + s_eff) - 2 * pad_max < 1:
        pad_max -= 1
    padding = rng.randint(0, pad_max)
    layer = Layer(name="rand", K=K, C=C, H=H, W=W, R=R, S=S, stride=stride, padding=padding,
                  dilation=dilation, groups=groups, N=rng.choice([1, 1, 2, 3]), kind=kind)

    # --- hardware
    # bit widths: mostly NN-Baton's 8/8/24, sometimes others (capacities are in bits)
    act, weight, psum = (8, 8, 24) if rng.random() < 0.6 else (
        rng.choice([4, 8, 16]), rng.choice([1, 4, 8, 16]), rng.choice([16, 24, 32]))
    lanes = rng.choice([1, 2, 3, 4])
    hw = Hardware(
        name="rand",
        n_chiplets=rng.choice([1, 2, 3, 4]),
        n_cores=rng.choice([1, 2, 3, 4, 6]),
        lanes=lanes,
        vector=rng.choice([1, 2, 4]),
        o_l1=_log_uniform(rng, -(-lanes * psum // 8), 400),
        a_l1=_log_uniform(rng, 8, 600),
        w_l1=_log_uniform(rng, 8, 400),
        a_l2=_log_uniform(rng, 64, 4000),
        o_l2=_log_uniform(rng, 16, 2000),
        tech=NNBATON_TECH,
        act_bits=act, weight_bits=weight, psum_bits=psum,
        # sometimes bandwidths tight enough to bind (bits per cycle = GB/s x 16 at 500 MHz)
        dram_gb_s=rng.choice([None, 0.25, 1.0, 4.0]), d2d_gb_s=rng.choice([None, 0.25, 1.0]),
        in_memory=rng.random() < 0.1,
    )

    # --- mapping
    pkg = rng.choice(package_splits(hw.n_chiplets))
    core = rng.choice(core_splits(hw.n_cores))
    size = (layer.K, layer.H, layer.W)
    chip_tile = tuple(rng.randint(1, math.ceil(size[i] / pkg[i])) for i in range(3))
    core_tile = tuple(rng.randint(1, math.ceil(chip_tile[i] / core[i])) for i in (1, 2))
    m = Mapping(pkg_split=pkg, chip_tile=chip_tile, chip_order=rng.choice(ORDERS),
                core_split=core, core_tile=core_tile, core_order=rng.choice(ORDERS),
                batch_tile=rng.randint(1, layer.N))
    problem = check_structure(m, layer, hw)
    assert problem is None, problem
    return layer, hw, m
