"""The mapping space: NN-Baton's spatial, temporal and rotating primitives as data.

A mapping decomposes each output dimension d in {K, H, W} hierarchically:

    D  --package split p_d-->  parts  --chiplet tile t_d-->  chiplet tiles
       --core split c_d-->  core parts  --core tile u_d-->  core tiles

Two cutting rules: a *temporal* tiling by tile size q gives ceil(D/q) contiguous
pieces, the last one possibly smaller; a *spatial* split over p units gives min(p, D)
contiguous parts whose sizes differ by at most one, larger first. For K the core
tile is the lane count L (a core computes L output channels at a time). Tiles need
not divide anything.

The package split is C-type (all N_P chiplets along K) or P-type (a ph x pw grid
over the plane); the chiplet split is C-, P- or H-type (K x plane hybrid). Loop
orders at both levels: 'channel' priority (channel loop innermost) or 'plane'.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from math import ceil, gcd, isqrt

from mapper.hwspec import Hardware
from mapper.layer import Layer

ORDERS = ("channel", "plane")
DIMS = ("k", "h", "w")


@dataclass(frozen=True)
class DimSplit:
    """How one dimension is cut: parts, chiplet tile, core parts, core tile."""

    size: int
    parts: int
    tile: int
    core_parts: int
    core_tile: int


@dataclass(frozen=True)
class Mapping:
    """One point of the mapping space (splits are (K, H, W) triples)."""

    pkg_split: tuple[int, int, int]
    chip_tile: tuple[int, int, int]
    chip_order: str
    core_split: tuple[int, int, int]
    core_tile: tuple[int, int]
    core_order: str
    batch_tile: int = 1  # images per step: the batch loop n is cut into ceil(N / batch_tile) steps

    @property
    def package_type(self) -> str:
        return partition_type(self.pkg_split)

    @property
    def chiplet_type(self) -> str:
        return partition_type(self.core_split)

    def dim_split(self, layer: Layer, hw: Hardware, dim: str) -> DimSplit:
        i = DIMS.index(dim)
        size = (layer.K, layer.H, layer.W)[i]
        core_tile = hw.lanes if dim == "k" else self.core_tile[i - 1]
        return DimSplit(size, self.pkg_split[i], self.chip_tile[i], self.core_split[i], core_tile)

    def to_dict(self) -> dict:
        d = asdict(self)
        d = {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}
        d["package_type"] = self.package_type
        d["chiplet_type"] = self.chiplet_type
        if self.batch_tile == 1:  # one image per step: the only choice at batch 1, left implicit
            del d["batch_tile"]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Mapping":
        """Parse a mapping written as YAML/JSON; ValueError names the bad field."""
        if not isinstance(d, dict):
            raise ValueError(f"a mapping must be a mapping of fields, got {type(d).__name__}")
        fields = {"pkg_split": 3, "chip_tile": 3, "core_split": 3, "core_tile": 2,
                  "chip_order": 0, "core_order": 0}
        # to_dict adds the two types; batch_tile is optional (default 1)
        extra = set(d) - set(fields) - {"package_type", "chiplet_type", "batch_tile"}
        if extra:
            raise ValueError(f"unknown field(s) {sorted(extra)}; valid: {sorted(fields)}, and optional batch_tile")
        out = {}
        for name, length in fields.items():
            if name not in d:
                raise ValueError(f"missing field '{name}'")
            v = d[name]
            if length == 0:
                if v not in ORDERS:
                    raise ValueError(f"field '{name}' must be one of {ORDERS}, got {v!r}")
                out[name] = v
                continue
            if (not isinstance(v, (list, tuple)) or len(v) != length
                    or not all(isinstance(x, int) and not isinstance(x, bool) for x in v)):
                what = "[k, h, w]" if length == 3 else "[h, w]"
                raise ValueError(f"field '{name}' must be a list of {length} whole numbers {what}, got {v!r}")
            out[name] = tuple(v)
        b = d.get("batch_tile", 1)
        if not isinstance(b, int) or isinstance(b, bool) or b < 1:
            raise ValueError(f"field 'batch_tile' must be a whole number >= 1, got {b!r}")
        m = cls(**out, batch_tile=b)
        for key, actual in (("package_type", m.package_type), ("chiplet_type", m.chiplet_type)):
            if key in d and d[key] != actual:
                raise ValueError(f"field '{key}' is {d[key]!r} but the splits make it {actual!r}; "
                                 f"drop '{key}' (it is derived) or fix the split")
        return m

    def splits_text(self, paren: bool = False) -> tuple[str, str]:
        """The package and chiplet splits, e.g. ('P2x2', 'H2|2x1') or ('P(2x2)', 'H(2|2x1)')."""
        def fmt(kind: str, body: str) -> str:
            return f"{kind}({body})" if paren else f"{kind}{body}"
        pk, ph, pw = self.pkg_split
        ck, ch, cw = self.core_split
        pkg = fmt("C", f"{pk}") if self.package_type == "C" else fmt("P", f"{ph}x{pw}")
        body = {"C": f"{ck}", "P": f"{ch}x{cw}", "H": f"{ck}|{ch}x{cw}"}[self.chiplet_type]
        return pkg, fmt(self.chiplet_type, body)

    def short(self) -> str:
        """Compact form for tables: 'P2x2/H2|2x1 T14x14x16c U7x7p' (c/p = loop priority)."""
        pkg, chip = self.splits_text()
        tk, th, tw = self.chip_tile
        uh, uw = self.core_tile
        batch = f" B{self.batch_tile}" if self.batch_tile > 1 else ""
        return (f"{pkg}/{chip} T{th}x{tw}x{tk}{self.chip_order[0]} "
                f"U{uh}x{uw}{self.core_order[0]}{batch}")

    def describe(self) -> str:
        """Long form: 'P(2x2)-H(2|2x1) chiplet tile 14x14x16 plane-priority, core tile ...'."""
        pkg, chip = self.splits_text(paren=True)
        tk, th, tw = self.chip_tile
        uh, uw = self.core_tile
        batch = f", {self.batch_tile} images per step" if self.batch_tile > 1 else ""
        return (f"{pkg}-{chip} chiplet tile {th}x{tw}x{tk} {self.chip_order}-priority, "
                f"core tile {uh}x{uw}xL {self.core_order}-priority{batch}")


def loop_nest(m: Mapping, layer: Layer, hw: Hardware) -> str:
    """The mapping as a readable loop nest (largest unit's extents; ragged pieces smaller)."""
    def n(size: int, piece: int) -> int:
        return ceil(size / piece)
    s = {d: m.dim_split(layer, hw, d) for d in DIMS}
    part = {d: ceil(s[d].size / s[d].parts) for d in DIMS}
    core = {d: ceil(s[d].tile / s[d].core_parts) for d in DIMS}
    chip_loops = {"k": f"for k_t in {n(part['k'], s['k'].tile)}",
                  "h": f"for h_t in {n(part['h'], s['h'].tile)}",
                  "w": f"for w_t in {n(part['w'], s['w'].tile)}"}
    core_loops = {"k": f"for k_c in {n(core['k'], hw.lanes)}",
                  "h": f"for h_c in {n(core['h'], s['h'].core_tile)}",
                  "w": f"for w_c in {n(core['w'], s['w'].core_tile)}"}
    order = {"channel": "hwk", "plane": "khw"}
    pkg, chip = m.splits_text(paren=True)
    b = m.batch_tile
    lines = [
        f"for n in {n(layer.N, b)} batch tiles of {min(b, layer.N)} image(s):",
        f"  parallel_for chiplet in {pkg}:   # each: K={part['k']} x {part['h']}x{part['w']} outputs",
        "    " + ": ".join(chip_loops[d] for d in order[m.chip_order])
        + f":   # chiplet tile {s['h'].tile}x{s['w'].tile}x{s['k'].tile}, {m.chip_order}-priority",
        f"      parallel_for core in {chip}:   # each: {core['h']}x{core['w']}x{core['k']}",
        "        " + ": ".join(core_loops[d] for d in order[m.core_order])
        + f":   # core tile {s['h'].core_tile}x{s['w'].core_tile}x{hw.lanes}, {m.core_order}-priority",
        f"          for c in {ceil(layer.Cr / hw.vector)} blocks of {min(hw.vector, layer.Cr)}: "
        f"for r, s in {layer.R}x{layer.S}: for image, pixel: {hw.lanes} lanes x {hw.vector}-wide MAC",
    ]
    return "\n".join(lines)


def partition_type(split: tuple[int, int, int]) -> str:
    """'C' if only channels are split, 'P' if only the plane, 'H' if both."""
    k, h, w = split
    if h * w == 1:
        return "C"
    if k == 1:
        return "P"
    return "H"


def pieces(size: int, piece: int) -> list[int]:
    """Sizes of the contiguous pieces of a range of `size` cut every `piece`."""
    n = ceil(size / piece)
    return [piece] * (n - 1) + [size - piece * (n - 1)]


def split(size: int, parts: int) -> list[int]:
    """Sizes when `size` is split over `parts` units: min(parts, size) parts whose sizes
    differ by at most one, larger first.

    Balanced (not ceil-sized) so that a smaller tile never has *more* parts than a
    larger one: a unit idle in one tile is then idle in every smaller tile, which is
    what makes lock-step sharing (multicast, rotation) follow the first unit.
    """
    n = min(parts, size)
    base, extra = divmod(size, n)
    return [base + 1] * extra + [base] * (n - extra)


def _is_prime(n: int) -> bool:
    """Miller-Rabin; deterministic for n < 3.3 * 10^24 (the first 13 prime bases)."""
    if n < 2:
        return False
    small = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41)
    for p in small:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for a in small:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def _find_factor(n: int) -> int:
    """A non-trivial factor of an odd composite n (Pollard's rho, Brent's cycle search;
    deterministic: the constants c = 1, 2, ... are tried in order)."""
    c = 0
    while True:
        c += 1
        y, m, g, r, q = 2, 128, 1, 1, 1
        x = ys = y
        while g == 1:
            x = y
            for _ in range(r):
                y = (y * y + c) % n
            k = 0
            while k < r and g == 1:
                ys = y
                for _ in range(min(m, r - k)):
                    y = (y * y + c) % n
                    q = q * abs(x - y) % n
                g = gcd(q, n)
                k += m
            r *= 2
        if g == n:  # the batch overshot: step back one at a time
            g = 1
            while g == 1:
                ys = (ys * ys + c) % n
                g = gcd(abs(x - ys), n)
        if g != n:
            return g


def prime_factors(n: int) -> dict[int, int]:
    """{prime: exponent} of a positive integer, by trial division up to 1000 and then
    Pollard's rho: never a scan over the value (a chiplet count of 10^12 factors at once)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"prime_factors needs a positive integer, got {n!r}")
    out: dict[int, int] = {}
    for p in (2, *range(3, 1000, 2)):
        if p * p > n:
            break
        while n % p == 0:
            out[p] = out.get(p, 0) + 1
            n //= p
    stack = [n] if n > 1 else []
    while stack:
        m = stack.pop()
        if _is_prime(m):
            out[m] = out.get(m, 0) + 1
            continue
        r = isqrt(m)
        if r * r == m:
            stack += [r, r]
            continue
        f = _find_factor(m)
        stack += [f, m // f]
    return dict(sorted(out.items()))


def divisors(n: int) -> list[int]:
    """Every divisor of n, ascending, built from its prime factorisation."""
    if type(n) is not int:  # a bool is not a count (and would share 1's cache entry)
        prime_factors(n)  # raises for anything but a positive integer
    return list(_divisors(n))


@lru_cache(maxsize=4096)
def _divisors(n: int) -> tuple[int, ...]:  # template spaces ask for the same few numbers again and again
    divs = [1]
    for p, e in prime_factors(n).items():
        divs = [d * p ** i for d in divs for i in range(e + 1)]
    return tuple(sorted(divs))


def factor_pairs(n: int) -> list[tuple[int, int]]:
    """Every (a, n // a) with a dividing n, a ascending."""
    return [(a, n // a) for a in divisors(n)]


def package_splits(n_chiplets: int) -> list[tuple[int, int, int]]:
    """C-type (all chiplets on K) and every P-type height x width pattern."""
    out = [(n_chiplets, 1, 1)]
    if n_chiplets > 1:
        out += [(1, h, w) for h, w in factor_pairs(n_chiplets)]
    return out


def core_splits(n_cores: int) -> list[tuple[int, int, int]]:
    """C-, P- and H-type splits of N_C cores: every (k, h, w) with k*h*w = N_C."""
    return [(k, h, w) for k, rest in factor_pairs(n_cores) for h, w in factor_pairs(rest)]


def tile_choices(size: int, parts: int, template: bool) -> list[int]:
    """Chiplet-tile (or core-tile) sizes for a range of `size` split `parts` ways.

    The template space (what a template tool enumerates) takes divisors of the
    largest part; the full space takes every size from 1 to the largest part.
    """
    q = ceil(size / parts)
    return divisors(q) if template else list(range(1, q + 1))


def check_structure(m: Mapping, layer: Layer, hw: Hardware) -> str | None:
    """Return why a mapping is structurally invalid for (layer, hw), or None."""
    if layer.groups != 1 and not layer.depthwise:
        return "grouped convolutions are mapped as separate dense groups (workload.expand_groups)"
    if m.chip_order not in ORDERS or m.core_order not in ORDERS:
        return f"loop orders must be one of {ORDERS}"
    pk, ph, pw = m.pkg_split
    if pk * ph * pw != hw.n_chiplets:
        return f"pkg_split {list(m.pkg_split)} does not multiply to the {hw.n_chiplets} chiplets"
    if pk != 1 and ph * pw != 1:
        return "pkg_split is C-type [N_P, 1, 1] (channels) or P-type [1, ph, pw] (plane), not both"
    if not 1 <= m.batch_tile <= layer.N:
        return f"batch_tile {m.batch_tile} must be from 1 to the batch N = {layer.N}"
    ck, ch, cw = m.core_split
    if ck * ch * cw != hw.n_cores:
        return f"core_split {list(m.core_split)} does not multiply to the {hw.n_cores} cores"
    for d in DIMS:
        s = m.dim_split(layer, hw, d)
        if min(s.parts, s.tile, s.core_parts, s.core_tile) < 1:
            return f"{d}: splits and tiles must be >= 1"
        if s.tile > ceil(s.size / s.parts):
            return (f"chip_tile {d}={s.tile} exceeds the chiplet's part of {d} "
                    f"({ceil(s.size / s.parts)})")
        if d != "k" and s.core_tile > ceil(s.tile / s.core_parts):
            return (f"core_tile {d}={s.core_tile} exceeds the core's part of the chiplet tile "
                    f"({ceil(s.tile / s.core_parts)})")
    return None
