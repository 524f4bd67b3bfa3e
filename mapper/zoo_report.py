"""The files `mapper zoo --out DIR` writes: per model x resolution x hardware a reference
YAML (deterministic: no times, so a re-solve reproduces it byte for byte), a Markdown
and an HTML report beside its figure (figures/*.png); for the whole zoo a Markdown and a
self-contained HTML report (every table, figures embedded), a CSV with one row per
layer, and a JSON summary."""
from __future__ import annotations

import base64
import csv
import html
import io
import json
from pathlib import Path

import yaml

from mapper import COST_MODEL_VERSION, __version__
from mapper.report import GROUPS, markdown_report, shape_text
from mapper.results import expand_rows, totals
from mapper.solvers.cpsat import SolveResult
from mapper.batch import Entry


def stem(e: Entry) -> str:
    return f"{e.workload.model}-{e.workload.tag}-{e.hw_name}"


def entry_rows(e: Entry, results: dict[str, SolveResult]) -> tuple[list[dict], dict]:
    """Every layer's row (shared shapes expanded back to each layer) and the totals."""
    per_shape = [results[k].to_dict() for k in e.keys]
    rows = expand_rows(e.unique, per_shape, e.workload.layers)
    statuses = sorted({r["status"] for r in rows})
    total = totals(rows) | {"layers": len(rows), "distinct_shapes": len(e.unique), "statuses": statuses,
                            "solve_s": round(sum(r["solve_time_s"] for r in per_shape), 3)}
    return rows, total


def _pj(fj_as_pj: float) -> float:
    return round(fj_as_pj, 3)  # whole femtojoules: no binary fraction noise in the file


def _exact_sum_pj(layers: list[dict]) -> float:
    """The layers' energies summed in whole femtojoules (a float sum of hundreds of large
    pJ values can be off by one fJ in the last written digit)."""
    return sum(round(d["energy_pj"] * 1000) for d in layers if "energy_pj" in d) / 1000


def reference_yaml(e: Entry, rows: list[dict], total: dict, space: str, objective: str) -> str:
    """The committed form of a result: what was solved, the totals and every layer's
    mapping and figures; nothing that depends on the machine or the run."""
    layers = []
    for L, r in zip(e.workload.layers, rows):
        d = {"name": r["name"], "shape": shape_text(L.to_dict()), "status": r["status"]}
        if r.get("feasible", True):
            d |= {"energy_pj": _pj(r["energy_pj"]), "cycles": r["cycles"], "bound_by": r.get("bound_by", "compute"),
                  "utilization": round(r["utilization"], 6),
                  "mapping": r["mapping_short"], "mapping_fields": r["mapping"],
                  "breakdown_pj": {k: _pj(v) for k, v in r["breakdown_pj"].items()}}
        else:
            d["reason"] = r.get("reason")
        layers.append(d)
    wl = e.workload
    doc = {"model": wl.model, "resolution": wl.resolution,
           **({"seq_len": wl.seq_len, "phase": wl.phase} if wl.phase else {}),
           **({"mac_coverage": round(wl.mac_coverage, 6)} if wl.unmapped else {}), "hardware": e.hw_name,
           "space": space, "objective": objective, "cost_model_version": COST_MODEL_VERSION,
           "totals": {"energy_pj": _pj(_exact_sum_pj(layers)), "cycles": total["total_cycles"],
                      "macs": total["total_macs"], "layers": total["layers"],
                      "distinct_shapes": total["distinct_shapes"], "statuses": total["statuses"]},
           "layers": layers}
    head = (f"# {e.workload.model} @ {e.workload.tag} on {e.hw_name}: the {objective}-optimal mapping of "
            f"every layer ({space} space),\n# by `mapper zoo` (CP-SAT, cost model v{COST_MODEL_VERSION}). "
            "Regenerate with `make solutions`.\n")
    return head + yaml.safe_dump(doc, sort_keys=False, width=120, default_flow_style=None)


def summary_row(e: Entry, total: dict) -> dict:
    macs = total["total_macs"]
    return {"model": e.workload.model, "resolution": e.workload.resolution, "hardware": e.hw_name,
            "layers": total["layers"], "distinct_shapes": total["distinct_shapes"],
            "energy_uj": round(total["total_energy_pj"] / 1e6, 3), "cycles": total["total_cycles"],
            "pj_per_mac": round(total["total_energy_pj"] / macs, 4) if macs else None,
            "statuses": total["statuses"], "infeasible_layers": total["infeasible_layers"],
            "solve_s": total["solve_s"]}


def zoo_markdown(summary: list[dict], header: dict) -> str:
    cols = list(summary[0]) if summary else []
    out = ["# Zoo results", ""] + [f"- **{k}**: {v}" for k, v in header.items()] + [""]
    out += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in summary:
        out.append("| " + " | ".join(", ".join(v) if isinstance(v, list) else str(v) for v in r.values()) + " |")
    out += ["", "Per model: the `<model>-<resolution>-<hardware>.md` reports beside this file.", ""]
    return "\n".join(out)


def zoo_csv(all_rows: list[tuple[Entry, list[dict]]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["model", "resolution", "hardware", "layer", "status", "energy_pj", *GROUPS, "cycles",
                "utilization", "mapping", "solve_s"])
    for e, rows in all_rows:
        for r in rows:
            ok = r.get("feasible", True)
            parts = [sum(r["breakdown_pj"][lv] for lv in g) if ok else "" for g in GROUPS.values()]
            w.writerow([e.workload.model, e.workload.resolution, e.hw_name, r["name"], r["status"],
                        r["energy_pj"] if ok else "", *parts, r["cycles"] if ok else "",
                        round(r["utilization"], 6) if ok else "", r["mapping_short"] if ok else r.get("reason"),
                        r["solve_time_s"]])
    return buf.getvalue()


# ------------------------------------------------------------------ HTML
STYLE = ("body{font-family:sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse;font-size:12px}"
         "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}td:first-child{text-align:left}"
         "img{max-width:100%}")


def _table(rows: list[dict], cols: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(r.get(c)))}</td>" for c in cols) + "</tr>"
                   for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _cell(v) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1e4 else f"{v:,.0f}"
    if isinstance(v, list):
        return ", ".join(map(str, v))
    return "" if v is None else str(v)


def _img(png: Path) -> str:
    data = base64.b64encode(png.read_bytes()).decode()
    return f'<img alt="{html.escape(png.stem)}" src="data:image/png;base64,{data}">'


def layer_table_rows(rows: list[dict]) -> list[dict]:
    out = []
    for r in rows:
        ok = r.get("feasible", True)
        out.append({"layer": r["name"], "status": r["status"], "mapping": r["mapping_short"] if ok else r.get("reason"),
                    "energy (pJ)": r["energy_pj"] if ok else None, "cycles": r["cycles"] if ok else None,
                    "util %": round(100 * r["utilization"], 1) if ok else None, "solve s": r["solve_time_s"]})
    return out


def html_page(title: str, sections: list[str]) -> str:
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{''.join(sections)}</body></html>\n")


def entry_section(e: Entry, rows: list[dict], total: dict, png: Path | None, embed: bool) -> str:
    """One model's HTML: a line of totals, its figure (embedded, or linked beside the
    page) and its layer table."""
    t, table = summary_row(e, total), layer_table_rows(rows)
    return (f"<h2>{html.escape(e.label)}</h2><p>{t['layers']} layers, {t['distinct_shapes']} distinct shapes, "
            f"{t['energy_uj']:,} µJ, {t['cycles']:,} cycles, {t['pj_per_mac']} pJ/MAC, "
            f"statuses {', '.join(t['statuses'])}</p>"
            + (_img(png) if png and embed else f'<img alt="{png.stem}" src="figures/{png.name}">' if png else "")
            + _table(table, list(table[0])))


# ------------------------------------------------------------------ all files
def write_all(out: Path, entries: list[Entry], results: dict[str, SolveResult], header: dict,
              space: str, objective: str) -> list[Path]:
    from mapper import plots  # matplotlib loads only when files are asked for
    out.mkdir(parents=True, exist_ok=True)
    files, sections, summary, all_rows = [], [], [], []
    for e in entries:
        rows, total = entry_rows(e, results)
        s = stem(e)
        (out / f"{s}.yaml").write_text(reference_yaml(e, rows, total, space, objective))
        figs = plots.zoo_entry(rows, e.label, out / "figures" / s) if any(r.get("breakdown_pj") for r in rows) else []
        png = next((f for f in figs if f.suffix == ".png"), None)
        info = header | {"model": e.workload.model, "resolution": e.workload.resolution, "hardware": e.hw_name}
        (out / f"{s}.md").write_text(markdown_report(f"{e.label}: optimal mappings", info, rows, total)
                                     + (f"\n![{s}](figures/{s}.png)\n" if png else ""))
        page = entry_section(e, rows, total, png, embed=False)
        (out / f"{s}.html").write_text(html_page(f"{e.label}: optimal mappings", [page]))
        files += [out / f"{s}.yaml", out / f"{s}.md", out / f"{s}.html", *figs]
        sections.append(entry_section(e, rows, total, png, embed=True))
        summary.append(summary_row(e, total))
        all_rows.append((e, rows))
    head = "<ul>" + "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(str(v))}</li>" for k, v in header.items())
    zoo_html = html_page("Zoo results", [head + "</ul>", _table(summary, list(summary[0])) if summary else "",
                                         *sections])
    for name, text in (("zoo.md", zoo_markdown(summary, header)), ("zoo.html", zoo_html),
                       ("zoo.csv", zoo_csv(all_rows)),
                       ("zoo.json", json.dumps({"header": header, "models": summary}, indent=1) + "\n")):
        (out / name).write_text(text)
        files.append(out / name)
    return files


def tool_header(space: str, objective: str, time_limit: float) -> dict:
    return {"tool": f"mapper {__version__}", "cost model": f"v{COST_MODEL_VERSION}", "space": space,
            "objective": objective, "time limit per layer (s)": time_limit}
