"""Named fixed dataflows: partition types and loop orders pinned, tiles searched.

The vocabulary is the tutorial seed's (shared/seeds/003_62fc0e41f3436ba0.txt, "Dataflows:
Temporal Data Reuse"): which operand stays put while the others stream. Inside a core
NN-Baton is always weight-stationary over the pixels of a core tile and
output-stationary over the reduction; these names pin the choices *above* the core.
"""
from __future__ import annotations

from mapper.hwspec import Hardware

NAMED: dict[str, tuple[str, dict[str, str]]] = {
    "ws": ("weight-stationary: weights stay while the plane sweeps (plane-priority at both "
           "levels), plane split across chiplets and cores so weights are shared",
           {"package": "P", "chiplet": "P", "chip_order": "plane", "core_order": "plane"}),
    "is": ("input-stationary: a plane tile's inputs stay while output channels sweep "
           "(channel-priority at both levels), channels split so inputs are shared",
           {"package": "C", "chiplet": "C", "chip_order": "channel", "core_order": "channel"}),
}


def fixed_choices(name: str, hw: Hardware) -> dict[str, str]:
    """The pinned choices of a named dataflow (a trivial split has only one type)."""
    fixed = dict(NAMED[name][1])
    if hw.n_chiplets == 1:
        fixed.pop("package")
    if hw.n_cores == 1:
        fixed.pop("chiplet")
    return fixed
