"""The typed, frozen results of the library API (`mapper.api`).

Every command works per distinct layer shape and reports per layer: `per_layer` expands
the shape results back to every layer in model order, and `ModelResult` computes the
model's totals, statuses, worst gap and MAC coverage — once, here, not in the renderers.
Each result keeps its JSON-ready rows, so `to_dict()` is exactly what `mapper ... --json`
prints.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from mapper.coverage import Coverage
from mapper.layer import Layer
from mapper.space import Mapping

if TYPE_CHECKING:
    from mapper.design_search import Design, Result as SearchResult
    from mapper.hwspec import Hardware


#: a layer's status when it was priced (evaluate) or enumerated rather than solved
EVALUATED, ENUMERATED, INFEASIBLE = "EVALUATED", "ENUMERATED", "INFEASIBLE"

#: progress callbacks receive (done, total, what was just finished)
ProgressFn = Callable[[int, int, str], None]


@dataclass(frozen=True, kw_only=True)
class LayerResult:
    """One layer of a model, as every command reports it. `row` is the JSON-ready form."""

    name: str
    layer: Layer
    status: str
    energy_pj: float | None
    cycles: int | None
    mapping: Mapping | None
    reason: str | None
    shared_with: int  # layers of the model with this layer's shape (each solved once)
    row: dict = field(repr=False, compare=False)

    @property
    def feasible(self) -> bool:
        return self.energy_pj is not None

    @property
    def macs(self) -> int:
        return self.layer.macs

    @property
    def breakdown_pj(self) -> dict[str, float]:
        return dict(self.row.get("breakdown_pj") or {})

    def to_dict(self) -> dict:
        """The row, with what the layer is: its kind and where its second operand comes
        from ("weights", or "keys", "K-cache", ... for an attention matmul)."""
        return copy.deepcopy(self.row) | {"kind": self.layer.kind, "operand": self.layer.operand}


@dataclass(frozen=True, kw_only=True)
class SolvedLayer(LayerResult):
    """A CP-SAT solve: the objective's incumbent and proven bound (fJ, cycles or fJ x cycles)."""

    objective: str
    objective_value: int | None
    bound_value: int | None
    gap: float | None  # (value - bound) / value; 0 when OPTIMAL
    bound_pj: float | None  # energy objective only


@dataclass(frozen=True, kw_only=True)
class GapLayer(LayerResult):
    """The proven optimum beside every heuristic: energies (pJ) and gaps per method."""

    bound_pj: float | None
    energies_pj: dict[str, float | None]
    gaps: dict[str, float | None]


def _mapping_of(row: dict) -> Mapping | None:
    m = row.get("mapping")
    return Mapping.from_dict(m) if isinstance(m, dict) else None


def layer_result(kind: type[LayerResult], layer: Layer, row: dict, status: str, shared_with: int,
                 **extra: Any) -> LayerResult:
    feasible = row.get("feasible", True) and row.get("energy_pj") is not None
    return kind(name=layer.name, layer=layer, status=status, energy_pj=row["energy_pj"] if feasible else None,
                cycles=row.get("cycles") if feasible else None, mapping=_mapping_of(row) if feasible else None,
                reason=row.get("reason"), shared_with=shared_with, row=row, **extra)


def solved_layer(layer: Layer, row: dict, shared_with: int) -> SolvedLayer:
    return layer_result(SolvedLayer, layer, row, row["status"], shared_with, objective=row["objective"],
                        objective_value=row.get("objective_value"), bound_value=row.get("bound_value"),
                        gap=row.get("gap"), bound_pj=row.get("bound_pj"))


def gap_layer(layer: Layer, row: dict, shared_with: int) -> GapLayer:
    return layer_result(GapLayer, layer, row, row["status"], shared_with, bound_pj=row.get("bound_pj"),
                        energies_pj=dict(row["energies_pj"]), gaps=dict(row["gaps"]))


def priced_layer(status: str) -> Callable[[Layer, dict, int], LayerResult]:
    """Evaluated or enumerated layers: `status` when a mapping fits, else INFEASIBLE."""
    def make(layer: Layer, row: dict, shared_with: int) -> LayerResult:
        ok = row.get("feasible", True) and row.get("energy_pj") is not None
        return layer_result(LayerResult, layer, row, status if ok else INFEASIBLE, shared_with)
    return make


def expand_rows(unique: list[tuple[Layer, list[str]]], per_shape: list[dict], layers: list[Layer]) -> list[dict]:
    """Per-shape rows back to every layer of the model, in model order (by shape, so two
    layers of one name still get their own shape's row)."""
    by_shape = {rep.shape_key(): (row, len(names)) for (rep, names), row in zip(unique, per_shape)}
    out = []
    for L in layers:
        row, shared = by_shape[L.shape_key()]
        out.append(dict(row, name=L.name, shared_with=shared))
    return out


def per_layer(unique: list[tuple[Layer, list[str]]], per_shape: list[dict], layers: list[Layer],
              make: Callable[[Layer, dict, int], LayerResult]) -> tuple[LayerResult, ...]:
    """Per-shape results back to every layer of the model, in model order, as results."""
    rows = expand_rows(unique, per_shape, layers)
    return tuple(make(L, row, row["shared_with"]) for L, row in zip(layers, rows))


def totals(rows: list[dict]) -> dict:
    """Energy, cycles and MACs summed over the layers that have a mapping."""
    ok = [r for r in rows if r.get("feasible", True) and r.get("energy_pj") is not None]
    return {
        "total_energy_pj": float(sum(r["energy_pj"] for r in ok)),
        "total_cycles": sum(r["cycles"] for r in ok),
        "total_macs": sum(r["counts"]["macs"] for r in ok),
        "infeasible_layers": len(rows) - len(ok),
    }


@dataclass(frozen=True, kw_only=True)
class ModelResult:
    """A model (or layer list) on one hardware: every layer in model order and the totals.

    `header` holds what was asked (space, objective, fixed choices, mapping source) and
    `extra` the command's own counters (points evaluated, store hits), both JSON-ready.
    """

    command: str  # solve | evaluate | enumerate
    model: str
    resolution: int | None
    batch: int
    hardware: str
    layers: tuple[LayerResult, ...]
    distinct_shapes: int
    wall_s: float
    model_macs: int  # every MAC of the model, mapped or not
    header: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    unmapped: tuple = ()  # coverage.UnmappedOp: the MAC-carrying ops that are not layers

    @property
    def coverage(self) -> Coverage:
        return Coverage(self.model_macs, self.mapped_macs, self.unmapped)

    @property
    def energy_pj(self) -> float:
        return sum(r.energy_pj for r in self.layers if r.feasible)

    @property
    def cycles(self) -> int:
        return sum(r.cycles for r in self.layers if r.feasible)

    @property
    def mapped_macs(self) -> int:
        """The MACs of the model's layers (the ops the layer model covers), mappable or not."""
        return sum(r.macs for r in self.layers)

    @property
    def mac_coverage(self) -> float:
        """The layers' MACs over all of the model's MACs (1.0: no MAC-carrying op left out)."""
        return self.mapped_macs / self.model_macs if self.model_macs else 1.0

    @property
    def pj_per_mac(self) -> float | None:
        """Energy per MAC over the layers that have a mapping."""
        macs = sum(r.macs for r in self.layers if r.feasible)
        return self.energy_pj / macs if macs else None

    @property
    def infeasible(self) -> tuple[LayerResult, ...]:
        return tuple(r for r in self.layers if not r.feasible)

    @property
    def statuses(self) -> tuple[str, ...]:
        return tuple(sorted({r.status for r in self.layers}))

    @property
    def worst_gap(self) -> float | None:
        """The largest proven optimality gap of a solved layer (None: nothing was solved)."""
        gaps = [r.gap for r in self.layers if isinstance(r, SolvedLayer) and r.gap is not None]
        return max(gaps) if gaps else None

    @property
    def bound_pj(self) -> float | None:
        """The sum of the layers' proven energy bounds: no mapping of the model costs less."""
        if not self.layers or not all(isinstance(r, SolvedLayer) for r in self.layers):
            return None
        if any(r.objective != "energy" for r in self.layers):
            return None
        return float(sum(r.bound_pj or 0 for r in self.layers if r.feasible))

    @property
    def rows(self) -> list[dict]:
        return [r.to_dict() for r in self.layers]

    def totals(self) -> dict:
        t = totals([r.row for r in self.layers])
        t |= self.coverage.to_dict()
        if self.command == "solve":
            t |= {"distinct_shapes": self.distinct_shapes, "statuses": list(self.statuses)}
            t |= self.extra
            if self.header.get("objective") == "energy":
                t["total_bound_pj"] = self.bound_pj
            t["worst_gap"] = self.worst_gap
        elif self.command == "enumerate":
            t |= {"distinct_shapes": self.distinct_shapes} | self.extra
        else:
            t |= self.extra
        return t | {"wall_s": round(self.wall_s, 3)}

    def to_dict(self) -> dict:
        return {"model": self.model, "resolution": self.resolution, "batch": self.batch,
                "hardware": self.hardware, **copy.deepcopy(self.header), "layers": self.rows, **self.totals()}

    def to_dataframe(self):
        """One row per layer (needs pandas)."""
        return _dataframe([_flat(r) for r in self.rows])


@dataclass(frozen=True, kw_only=True)
class GapResult:
    """The optimality gap of each heuristic, per layer and for the model."""

    model: str
    resolution: int | None
    batch: int
    hardware: str
    methods: tuple[str, ...]
    seed: int
    layers: tuple[GapLayer, ...]
    totals: dict
    distinct_shapes: int
    wall_s: float
    per_shape: tuple[dict, ...] = field(repr=False, compare=False)  # one row per distinct shape
    model_macs: int = 0
    unmapped: tuple = ()  # coverage.UnmappedOp

    @property
    def coverage(self) -> Coverage:
        return Coverage(self.model_macs, sum(r.macs for r in self.layers), self.unmapped)

    @property
    def worst_gap(self) -> dict[str, float | None]:
        """Per method, its largest per-layer gap to the optimum."""
        out = {}
        for m in self.methods:
            gaps = [r.gaps.get(m) for r in self.layers if r.gaps.get(m) is not None]
            out[m] = max(gaps) if gaps else None
        return out

    @property
    def infeasible(self) -> tuple[GapLayer, ...]:
        return tuple(r for r in self.layers if not r.feasible)

    def to_dict(self) -> dict:
        return {"model": self.model, "resolution": self.resolution, "batch": self.batch, "hardware": self.hardware,
                "baselines": list(self.methods), "seed": self.seed, "layers": [r.to_dict() for r in self.layers],
                "totals": copy.deepcopy(self.totals) | {"distinct_shapes": self.distinct_shapes,
                                                        "wall_s": round(self.wall_s, 3)} | self.coverage.to_dict()}

    def to_dataframe(self):
        rows = []
        for r in self.layers:
            for m in self.methods:
                rows.append({"name": r.name, "method": m, "energy_pj": r.energies_pj.get(m),
                             "gap": r.gaps.get(m), "optimum_pj": r.energy_pj, "status": r.status})
        return _dataframe(rows)


@dataclass(frozen=True, kw_only=True)
class CodesignResult:
    """The best design (and per chiplet count), its status and bound, every design priced."""

    workload: str
    macs: int
    chiplet_area_mm2: float | None
    objective: str
    memory: str
    mapping_space: str
    design_space: str
    limits: dict
    search: "SearchResult" = field(repr=False)
    tech: Any = field(repr=False)
    coverage: Coverage = Coverage(0, 0)  # of the workload(s) designed for

    @property
    def status(self) -> str:
        return self.search.status

    @property
    def best(self) -> "Design | None":
        return self.search.best

    @property
    def interrupted(self) -> bool:
        return self.search.note.startswith("interrupted")

    def hardware_of(self, d: "Design") -> Hardware:
        """The design as a `Hardware` that `solve` takes (and `mapper hardware` prints)."""
        from mapper import design_search as cd
        return cd.make_hardware(d.alloc, d.sizes, self.tech, cd.DEFAULT_BITS)

    def to_dict(self) -> dict:
        from mapper.hardware import hardware_to_dict
        res = self.search
        per_count = [d.to_dict() | {"status": res.count_status[n]} for n, d in res.per_chiplet_count.items()]
        best = None
        if res.best is not None:
            best = res.best.to_dict() | {"status": res.status, "hardware": hardware_to_dict(self.hardware_of(res.best)),
                                         "bound": res.bound}
        obj = {"workload": self.workload, "macs": self.macs, "chiplet_area_mm2": self.chiplet_area_mm2,
               "objective": self.objective, "memory": self.memory, "mapping_space": self.mapping_space,
               "design_space": self.design_space, "limits": dict(self.limits), "status": res.status,
               "note": res.note, "best": best, "per_chiplet_count": per_count, "points": dict(res.points),
               "solves": res.solves, "wall_s": round(res.wall_s, 3)} | self.coverage.to_dict()
        if self.objective == "pareto":
            obj["front"] = [d.to_dict() | {"status": res.status} for d in res.front]
        return obj


@dataclass(frozen=True, kw_only=True)
class ZooResult:
    """Every model x resolution x hardware: per entry its layers and totals."""

    entries: tuple = field(repr=False)  # batch.Entry
    results: dict = field(repr=False)  # job key -> SolveResult
    models: tuple[ModelResult, ...]
    distinct: int
    solved: int
    cache_hits: int
    wall_s: float
    store: str
    space: str
    objective: str
    time_limit: float

    @property
    def infeasible(self) -> tuple[ModelResult, ...]:
        return tuple(m for m in self.models if m.infeasible)

    def summary(self) -> list[dict]:
        return [{"model": m.model, "resolution": m.resolution, **{k: m.header[k] for k in ("seq_len", "phase")
                                                                  if k in m.header},
                 "hardware": m.hardware, "layers": len(m.layers),
                 "distinct_shapes": m.distinct_shapes, "energy_uj": round(m.energy_pj / 1e6, 3), "cycles": m.cycles,
                 "pj_per_mac": round(m.energy_pj / m.mapped_macs, 4) if m.mapped_macs else None,
                 "statuses": list(m.statuses), "infeasible_layers": len(m.infeasible),
                 "mac_coverage": round(m.mac_coverage, 6), "solve_s": round(m.wall_s, 3)} for m in self.models]

    def write_reports(self, out: str | Path) -> list[Path]:
        """Per entry a reference YAML, Markdown, HTML and figures, and the zoo summaries."""
        from mapper import zoo_report
        return zoo_report.write_all(Path(out), list(self.entries), self.results,
                                    zoo_report.tool_header(self.space, self.objective, self.time_limit),
                                    self.space, self.objective)

    def to_dict(self) -> dict:
        return {"layers_total": sum(len(m.layers) for m in self.models), "distinct": self.distinct,
                "solved": self.solved, "cache_hits": self.cache_hits, "wall_s": round(self.wall_s, 3),
                "store": self.store, "models": self.summary()}


def _flat(row: dict, prefix: str = "") -> dict:
    """Nested dicts as dotted columns; lists stay as they are."""
    out = {}
    for k, v in row.items():
        if isinstance(v, dict):
            out |= _flat(v, f"{prefix}{k}.")
        else:
            out[f"{prefix}{k}"] = v
    return out


def _dataframe(rows: list[dict]):
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("to_dataframe() needs pandas: pip install pandas (to_dict() needs nothing)") from None
    return pd.DataFrame(rows)
