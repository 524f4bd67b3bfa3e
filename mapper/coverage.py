"""MAC coverage: how much of a model's work its layers hold, and what they leave out.

Every report (layers, solve, gap, zoo, codesign; text and JSON) shows it, so a total never
silently covers only part of a model.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UnmappedOp:
    """A MAC-carrying op the layer model cannot hold: reported, never silently dropped."""

    op: str  # e.g. "conv3d" or "mul+sum"
    count: int  # how many times the model runs it
    macs: int  # all its MACs (every call)
    reason: str  # why it is not a layer, and what would make it one

    def to_dict(self) -> dict:
        return {"op": self.op, "count": self.count, "macs": self.macs, "reason": self.reason}


@dataclass(frozen=True)
class Coverage:
    """Mapped MACs over all of a model's MACs, with the unmapped ops listed."""

    model_macs: int
    mapped_macs: int
    unmapped: tuple[UnmappedOp, ...] = ()

    @property
    def fraction(self) -> float:
        return self.mapped_macs / self.model_macs if self.model_macs else 1.0

    def to_dict(self) -> dict:
        return {"model_macs": self.model_macs, "mapped_macs": self.mapped_macs,
                "mac_coverage": round(self.fraction, 6), "unmapped": [u.to_dict() for u in self.unmapped]}

    def line(self) -> str:
        """One line for a text report: 'MAC coverage: 100.0 % (1,234 of 1,234 MACs)'."""
        return (f"MAC coverage: {100 * self.fraction:.1f} % ({self.mapped_macs:,} of {self.model_macs:,} MACs"
                + (f"; unmapped: {', '.join(f'{u.op} x{u.count} ({u.macs:,} MACs)' for u in self.unmapped)})"
                   if self.unmapped else ")"))

    def warning(self, model: str) -> str | None:
        """The loud warning below 100 %, or None."""
        if self.fraction >= 1:
            return None
        listed = "; ".join(f"{u.op} x{u.count}: {u.macs:,} MACs ({u.reason})" for u in self.unmapped)
        return (f"warning: only {100 * self.fraction:.1f} % of {model}'s MACs are mapped "
                f"({self.mapped_macs:,} of {self.model_macs:,}); the totals cover the mapped layers only. "
                f"Unmapped: {listed or 'ops counted without a layer'}.")
