"""Terminal tables (rich), Markdown and CSV reports. Formatting only: no cost logic here."""
from __future__ import annotations

import csv
import dataclasses
import io
import json

from rich.console import Console
from rich.table import Table

from mapper.cost import LEVELS
from mapper.layer import Layer

LAYER_FIELDS = [f.name for f in dataclasses.fields(Layer)]
SHAPE_DEFAULTS = {"R": 1, "S": 1, "stride": 1, "padding": 0, "dilation": 1, "groups": 1, "N": 1, "kind": "conv"}


def _si(x: float, unit: str) -> str:
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= scale:
            return f"{x / scale:.2f} {prefix}{unit}"
    return f"{x:.0f} {unit}"


def energy_str(pj: float) -> str:
    """pJ in the most readable unit."""
    for scale, unit in ((1e9, "mJ"), (1e6, "µJ"), (1e3, "nJ")):
        if pj >= scale:
            return f"{pj / scale:.3f} {unit}"
    return f"{pj:.1f} pJ"


def layers_table(title: str, layers: list[Layer]) -> Table:
    t = Table(title=title)
    for col in ("#", "name", "kind", "N", "K", "C", "H×W", "R×S", "s", "p", "g", "MACs",
                "weights", "inputs", "outputs"):
        t.add_column(col, justify="right" if col not in ("name", "kind") else "left")
    for i, L in enumerate(layers):
        kind = L.kind if L.kind != "matmul" else f"× {L.operand}"  # what the second operand is
        t.add_row(str(i), L.name, kind, str(L.N), str(L.K), str(L.C), f"{L.H}×{L.W}",
                  f"{L.R}×{L.S}", str(L.stride), str(L.padding), str(L.groups),
                  _si(L.macs, ""), _si(L.weights, ""), _si(L.inputs, ""), _si(L.outputs, ""))
    return t


# Terminal columns: the breakdown grouped so a table fits 100 columns.
GROUPS = {"DRAM": ("dram",), "D2D": ("d2d",), "L2": ("a_l2", "o_l2"), "L1": ("a_l1", "w_l1"),
          "RF": ("o_l1",), "MAC": ("mac",)}


BOUND_TEXT = {"compute": "MAC", "dram": "DRAM", "d2d": "D2D"}
BOUND_CAPTION = "by = what bounds the cycles (MACs, DRAM or die-to-die links)"


def bound_text(r: dict) -> str:
    """What bounds a layer's cycles, for tables."""
    return BOUND_TEXT.get(r.get("bound_by", "compute"), r.get("bound_by", ""))


def results_table(title: str, rows: list[dict]) -> Table:
    """One row per layer: mapping, energy, breakdown shares, cycles, utilisation."""
    t = Table(title=title, caption="mapping: package/chiplet split, T = chiplet tile HxWxK, "
              f"U = core tile HxW (xL); c/p = channel/plane priority; {BOUND_CAPTION}")
    for col in ("layer", "mapping", "energy", *GROUPS, "cycles", "by", "util"):
        t.add_column(col, justify="left" if col in ("layer", "mapping") else "right")
    for r in rows:
        if not r.get("feasible", True):
            t.add_row(r["name"], f"[red]infeasible: {r.get('reason')}[/red]")
            continue
        e = r["energy_pj"]
        shares = [f"{100 * sum(r['breakdown_pj'][lv] for lv in g) / e:.0f}%"
                  for g in GROUPS.values()]
        t.add_row(r["name"], r["mapping_short"], energy_str(e), *shares,
                  f"{r['cycles']:,}", bound_text(r), f"{100 * r['utilization']:.0f}%")
    return t


def solve_table(title: str, rows: list[dict]) -> Table:
    """`mapper solve`: status, proven gap and time beside the energy and its breakdown."""
    t = Table(title=title, caption="mapping: package/chiplet split, T = chiplet tile HxWxK, "
              "U = core tile HxW (xL); c/p = channel/plane priority; gap = (energy - bound)/energy; "
              f"{BOUND_CAPTION}")
    for col in ("layer", "status", "mapping", "energy", "gap", *GROUPS, "cycles", "by", "util", "time"):
        t.add_column(col, justify="left" if col in ("layer", "status", "mapping") else "right")
    for r in rows:
        if not r.get("feasible", True):
            t.add_row(r["name"], r["status"], f"[red]{r.get('reason')}[/red]")
            continue
        e = r["energy_pj"]
        shares = [f"{100 * sum(r['breakdown_pj'][lv] for lv in g) / e:.0f}%" for g in GROUPS.values()]
        gap = "—" if r["gap"] is None else f"{100 * r['gap']:.2f}%"
        t.add_row(r["name"], r["status"], r["mapping_short"], energy_str(e), gap, *shares,
                  f"{r['cycles']:,}", bound_text(r), f"{100 * r['utilization']:.0f}%",
                  f"{r['solve_time_s']:.2f}s")
    return t


def partitions_table(title: str, rows: list[dict]) -> Table:
    """Fig. 11 style: the best energy of every spatial pair per layer (relative to the best)."""
    pairs = sorted({p for r in rows for p in r.get("per_partition", {})})
    t = Table(title=title)
    t.add_column("layer")
    for p in pairs:
        t.add_column(f"({p})", justify="right")
    for r in rows:
        per = r.get("per_partition", {})
        if not per:
            continue
        best = min(per.values())
        cells = []
        for p in pairs:
            if p not in per:
                cells.append("—")
                continue
            txt = f"{per[p] / best:.3f}"
            cells.append(f"[bold green]{txt}[/bold green]" if per[p] == best else txt)
        t.add_row(r["name"], *cells)
    return t


def print_tables(*tables: Table) -> None:
    # Wide enough for the tables when piped to a file or a CI log (rich's default is 80).
    console = Console() if Console().is_terminal else Console(width=170)
    for t in tables:
        console.print(t)


def markdown_report(title: str, header: dict, rows: list[dict], total: dict) -> str:
    """A self-contained Markdown report of per-layer results."""
    out = [f"# {title}", ""]
    out += [f"- **{k}**: {v}" for k, v in header.items()]
    out += ["", "## Per layer", "",
            "| layer | mapping | energy (pJ) | " + " | ".join(LEVELS) + " | cycles | bound by | util |",
            "|---|---|---:|" + "---:|" * len(LEVELS) + "---:|---|---:|"]
    for r in rows:
        if not r.get("feasible", True):
            out.append(f"| {r['name']} | infeasible: {r.get('reason')} |")
            continue
        shares = " | ".join(f"{100 * r['breakdown_pj'][lv] / r['energy_pj']:.1f}%" for lv in LEVELS)
        mapping = r["mapping_short"].replace("|", "\\|")  # H-type splits contain a '|'
        out.append(f"| {r['name']} | {mapping} | {r['energy_pj']:.1f} | {shares} | "
                   f"{r['cycles']} | {bound_text(r)} | {100 * r['utilization']:.1f}% |")
    pairs = sorted({p for r in rows for p in r.get("per_partition", {})})
    if pairs:
        out += ["", "## Best energy per spatial pair (package, chiplet), relative to the best", "",
                "| layer | " + " | ".join(f"({p})" for p in pairs) + " |",
                "|---|" + "---:|" * len(pairs)]
        for r in rows:
            per = r.get("per_partition", {})
            if per:
                best = min(per.values())
                out.append(f"| {r['name']} | " + " | ".join(
                    f"{per[p] / best:.3f}" if p in per else "—" for p in pairs) + " |")
    out += ["", "## Total", ""] + [f"- **{k}**: {v}" for k, v in total.items()] + [""]
    return "\n".join(out)


def _pct(g) -> str:
    return "-" if g is None else f"{100 * g:.2f}%"


def _dram_ratio(row: dict) -> str:
    mark = "*" if row.get("dram_bound") == "capacity" else ""
    return f"{row['dram_vs_bound']:.2f}x{mark}"


def gap_table(title: str, rows: list[dict], method_list: list[str]) -> Table:
    """One row per layer: the optimum (status, energy, bound) and each method's gap."""
    t = Table(title=title, caption="gap = (method - optimum) / optimum; '-': the method found no "
              "mapping that fits; DRAM/min = the optimum's DRAM traffic over the larger of the compulsory "
              "traffic and the on-chip capacity bound (* = capacity; docs/cost-model.md §8)")
    for col in ("layer", "status", "optimum", "bound", "DRAM/min", *method_list):
        t.add_column(col, justify="left" if col in ("layer", "status") else "right")
    for r in rows:
        if r["energy_pj"] is None:
            t.add_row(r["name"], f"[red]{r['status']}[/red]", r.get("reason") or "")
            continue
        bound = energy_str(r["bound_pj"]) if r["bound_pj"] is not None else "-"
        t.add_row(r["name"], r["status"], energy_str(r["energy_pj"]), bound, _dram_ratio(r),
                  *(_pct(r["gaps"].get(m)) for m in method_list))
    return t


def gap_totals_table(title: str, total: dict) -> Table:
    t = Table(title=title)
    for col in ("method", "model energy", "gap", "layers without a mapping"):
        t.add_column(col, justify="left" if col == "method" else "right")
    t.add_row("optimum (CP-SAT)", energy_str(total["optimum_pj"]), "0.00%", "0")
    for m, e in total["energies_pj"].items():
        t.add_row(m, energy_str(e) if e is not None else "-", _pct(total["gaps"][m]),
                  str(total["missing"][m]))
    return t


def gap_markdown(title: str, header: dict, rows: list[dict], total: dict, method_list: list[str]) -> str:
    """The gap report as Markdown: settings, model totals, then per-layer gaps."""
    lines = [f"# {title}", ""] + [f"- {k}: {v}" for k, v in header.items()] + [""]
    lines += ["## Model totals", "", "| method | energy | gap |", "|---|--:|--:|",
              f"| optimum (CP-SAT) | {energy_str(total['optimum_pj'])} | 0.00% |"]
    lines += [f"| {m} | {energy_str(e) if e is not None else '-'} | {_pct(total['gaps'][m])} |"
              for m, e in total["energies_pj"].items()]
    lines += ["", "## Per layer (gap to the proven optimum)", "",
              "| layer | status | optimum | DRAM/min | " + " | ".join(method_list) + " |",
              "|---|---|--:|--:|" + "--:|" * len(method_list)]
    for r in rows:
        opt = energy_str(r["energy_pj"]) if r["energy_pj"] is not None else "-"
        dram = _dram_ratio(r) if r["energy_pj"] is not None else "-"
        lines.append(f"| {r['name']} | {r['status']} | {opt} | {dram} | "
                     + " | ".join(_pct(r["gaps"].get(m)) for m in method_list) + " |")
    lines += ["", "DRAM/min: the optimum's DRAM traffic over the larger of the compulsory traffic and the "
              "on-chip capacity (red-blue pebble) bound, * where the capacity bound is the larger "
              "(docs/cost-model.md)."]
    return "\n".join(lines) + "\n"


def gap_csv(rows: list[dict], method_list: list[str]) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["layer", "status", "optimum_pj", "bound_pj", "method", "energy_pj", "gap", "mapping"])
    for r in rows:
        for m in method_list:
            w.writerow([r["name"], r["status"], r["energy_pj"], r["bound_pj"], m,
                        r["energies_pj"].get(m), r["gaps"].get(m), r["mappings"].get(m)])
    return out.getvalue()


def size_str(n: int) -> str:
    """Bytes as KB when at least 1 KB (1.5625 KB stays exact)."""
    return f"{n / 1024:g} KB" if n >= 1024 else f"{n} B"


def codesign_table(title: str, rows: list[dict], objective: str) -> Table:
    """One row per chiplet count: its best design (NN-Baton Fig. 14's bars); or (objective
    'pareto') one row per point of the front."""
    what = ("the Pareto front: no other design and mapping is as good in energy, latency and area"
            if objective == "pareto" else f"best design per chiplet count by {objective}")
    t = Table(title=title, caption=f"{what}; memory per core (O-L1, A-L1, W-L1) and per chiplet (A-L2, O-L2)")
    for col in ("chiplets", "N_P-N_C-L-P", "O-L1", "A-L1", "W-L1", "A-L2", "O-L2", "chiplet area",
                "energy", "latency (cycles)", "EDP (pJ·cycles)", "status"):
        t.add_column(col, justify="left" if col == "N_P-N_C-L-P" else "right")
    for r in rows:
        m = r["memory_bytes"]
        t.add_row(str(r["chiplets"]), r["allocation"],
                  *(size_str(m[b]) for b in ("o_l1", "a_l1", "w_l1", "a_l2", "o_l2")),
                  f"{r['area_mm2']:.3f} mm²", energy_str(r["energy_pj"]), f"{r['latency_cycles']:,}",
                  f"{r['edp']:.4g}", r["status"])
    return t


def zoo_table(summary: list[dict]) -> Table:
    """`mapper zoo`: one row per model x resolution x hardware."""
    t = Table(title="zoo: optimal mappings of every layer", caption="energy and cycles: sums over the layers")
    for col in ("model", "res", "hardware", "layers", "shapes", "energy", "cycles", "pJ/MAC", "MACs mapped",
                "statuses", "solve s"):
        t.add_column(col, justify="left" if col in ("model", "hardware", "statuses") else "right")
    for r in summary:
        res = f"{r['phase']} {r['seq_len']}" if r.get("phase") else str(r["resolution"])
        t.add_row(r["model"], res, r["hardware"], str(r["layers"]), str(r["distinct_shapes"]),
                  energy_str(r["energy_uj"] * 1e6), f"{r['cycles']:,}",
                  "-" if r["pj_per_mac"] is None else f"{r['pj_per_mac']:.3f}",
                  f"{100 * r.get('mac_coverage', 1.0):.1f} %", ", ".join(r["statuses"]), f"{r['solve_s']:.1f}")
    return t


def store_table(rows: list[dict], path) -> Table:
    """`mapper store ls`: one row per stored solve."""
    t = Table(title=f"solutions store {path}: {len(rows)} entries")
    for col in ("key", "layer (first solved as)", "shape", "hardware", "space", "objective", "status", "value",
                "cost model", "solve s"):
        t.add_column(col, justify="right" if col in ("solve s", "cost model") else "left")
    for r in rows:
        t.add_row(r["key"][:12], r["layer"]["name"], shape_text(r["layer"]), r["hardware"], r["space"],
                  r["objective"], r["status"], r["value"] or "-", f"v{r['cost_model']}", f"{r['solve_s']:.2f}")
    return t


def store_csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    cols = ("key", "layer", "shape", "hardware", "space", "objective", "status", "value", "bound", "time_limit",
            "cost_model", "solve_s", "created", "mapping")
    w = csv.writer(buf)
    w.writerow(cols)
    for r in rows:
        w.writerow([r["key"], r["layer"]["name"], shape_text(r["layer"]), r["hardware"], r["space"], r["objective"],
                    r["status"], r["value"], r["bound"], r["time_limit"], r["cost_model"], r["solve_s"], r["created"],
                    json.dumps(r["mapping"]) if r["mapping"] else ""])
    return buf.getvalue()


def shape_text(layer: dict) -> str:
    """A layer's fields as `--layer` takes them, defaults left out."""
    return " ".join(f"{k}={v}" for k, v in layer.items()
                    if k in LAYER_FIELDS and k != "name" and SHAPE_DEFAULTS.get(k) != v)
