"""The Hardware dataclass: package -> chiplets -> cores -> L lanes x P-wide vector MACs.

Loading and validating YAML lives in `hardware.py`; this module only holds the
domain object and the per-bit energies the cost model needs, in integer
femtojoules (the objective is an integer, so OPTIMAL is exact: docs/solver.md).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

@dataclass(frozen=True)
class Tech:
    """Technology table (NN-Baton Table I and Sec. V-A; sources in the YAML)."""

    dram_pj_per_bit: float
    d2d_pj_per_bit: float
    sram_pj_per_bit_at_1kb: float
    sram_pj_per_bit_at_32kb: float
    reg_rmw_pj_per_bit: float
    mac_pj: float
    frequency_mhz: float
    mac_area_um2: float
    sram_area_um2_per_kb: float
    sram_macro_area_um2: float
    d2d_phy_area_mm2: float
    mac_bits: int = 8  # operand width that mac_pj and mac_area_um2 are for

    def sram_pj_per_bit(self, size_bytes: int) -> float:
        """SRAM access energy, linear in size through the two Table I points."""
        kb = size_bytes / 1024
        slope = (self.sram_pj_per_bit_at_32kb - self.sram_pj_per_bit_at_1kb) / 31
        return self.sram_pj_per_bit_at_1kb + (kb - 1) * slope

    def sram_area_um2(self, size_bytes: int) -> float:
        return self.sram_area_um2_per_kb * size_bytes / 1024 + self.sram_macro_area_um2


@dataclass(frozen=True)
class Hardware:
    """One accelerator instance. Buffer sizes are in bytes, per instance:
    O-L1, A-L1, W-L1 per core; A-L2, O-L2 per chiplet."""

    name: str
    n_chiplets: int  # N_P
    n_cores: int  # N_C per chiplet
    lanes: int  # L (output channels in parallel)
    vector: int  # P (input channels per lane per cycle)
    o_l1: int
    a_l1: int
    w_l1: int
    a_l2: int
    o_l2: int
    tech: Tech
    act_bits: int = 8
    weight_bits: int = 8
    psum_bits: int = 24
    topology: str = "ring"
    mesh: tuple[int, int] | None = None  # rows x columns of chiplets when topology == "mesh"
    dram_gb_s: float | None = None  # per chiplet's DRAM channel (NN-Baton: N_P channels); None: not modelled
    d2d_gb_s: float | None = None  # per die-to-die link and direction; None: not modelled
    clock_mhz: float | None = None  # overrides the technology's frequency (a faster-clocked chip)
    in_memory: bool = False  # W-L1 is an in-memory-computing array: weights used in place, resident
    source: str = ""
    extra: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def macs(self) -> int:
        return self.n_chiplets * self.n_cores * self.lanes * self.vector

    @property
    def mac_scale(self) -> float:
        """MAC energy and area relative to the technology's `mac_bits` x `mac_bits` MAC:
        a multiplier's energy grows with the product of its operand widths (Horowitz, ISSCC
        2014, 45 nm: an 8-bit multiply 0.2 pJ, a 32-bit one 3.1 pJ, 15.5x for 16x the bit
        product); assumption: its area (an array of partial-product cells) grows alike."""
        return self.act_bits * self.weight_bits / self.tech.mac_bits ** 2

    def mac_fj(self, macs):
        """Energy of `macs` MACs in integer fJ, rounded once for the whole count (the MAC
        count does not depend on the mapping, so this rounding never changes an optimum;
        a 1-bit in-memory MAC of 2.9 fJ would lose 5 % if rounded per MAC)."""
        return np.rint(np.asarray(macs) * self.tech.mac_pj * 1000 * self.mac_scale).astype(np.int64)

    @property
    def frequency_mhz(self) -> float:
        return self.clock_mhz or self.tech.frequency_mhz

    def bits_per_cycle(self, gb_s: float) -> Fraction:
        """A bandwidth in GB/s (10^9 bytes per second, the DRAM and link convention) as
        an exact number of bits per clock cycle."""
        return Fraction(str(gb_s)) * 8000 / Fraction(str(self.frequency_mhz))

    def capacity_bits(self, buffer: str) -> int:
        return 8 * getattr(self, buffer)

    def energy_fj_per_bit(self) -> dict[str, int]:
        """Per-bit (per-op for 'mac') energies, rounded to integer femtojoules.

        Rounding to 1 fJ/bit changes an SRAM access by at most 0.17 % (0.5 of
        300 fJ) and keeps every energy an exact integer for the solver.
        """
        t = self.tech
        return {
            "dram": round(t.dram_pj_per_bit * 1000),
            "d2d": round(t.d2d_pj_per_bit * 1000),
            "a_l2": round(t.sram_pj_per_bit(self.a_l2) * 1000),
            "o_l2": round(t.sram_pj_per_bit(self.o_l2) * 1000),
            "w_l1": round(t.sram_pj_per_bit(self.w_l1) * 1000),
            "a_l1": round(t.sram_pj_per_bit(self.a_l1) * 1000),
            "o_l1": round(t.reg_rmw_pj_per_bit * 1000),
            "mac": round(t.mac_pj * 1000 * self.mac_scale),  # per MAC, for display; priced by mac_fj
        }

    def chiplet_area_mm2(self) -> float:
        core_macs = self.lanes * self.vector * self.mac_scale  # in technology-sized MACs
        return chiplet_area_mm2(self.tech, self.n_chiplets, self.n_cores, core_macs,
                                {b: getattr(self, b) for b in ("o_l1", "a_l1", "w_l1", "a_l2", "o_l2")})

    def package_area_mm2(self) -> float:
        return self.n_chiplets * self.chiplet_area_mm2()


def chiplet_area_mm2(tech: Tech, n_chiplets: int, n_cores: int, core_macs: int, sizes: dict):
    """Chiplet area: MACs + SRAM macros + O-L1 registers + one D2D PHY (if N_P > 1).
    `sizes` (bytes per buffer) may be numpy arrays: co-design prices a grid at once.

    O-L1 is a register file; with no published RF area we use the SRAM line for it (an
    assumption, labelled in the technology YAML).
    """
    sram = {b: tech.sram_area_um2(size) for b, size in sizes.items()}
    core = core_macs * tech.mac_area_um2 + sram["a_l1"] + sram["w_l1"] + sram["o_l1"]
    chiplet = n_cores * core + sram["a_l2"] + sram["o_l2"]
    return chiplet / 1e6 + (tech.d2d_phy_area_mm2 if n_chiplets > 1 else 0.0)
