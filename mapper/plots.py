"""Figures of `mapper gap` and `mapper codesign` (matplotlib, written to files; no
display needed).

* per layer: the energy breakdown of the optimum beside one method, normalised to the
  larger of the two (NN-Baton Fig. 12 compares Simba and NN-Baton this way);
* per model: every method's total energy normalised to the optimum (Fig. 13);
* co-design: every evaluated design, energy vs delay and EDP vs area, coloured by
  chiplet count (Fig. 15);
* zoo: per model, the optimum's energy breakdown, utilisation and solve time per layer.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: works without a display
import matplotlib.pyplot as plt  # noqa: E402

from mapper.report import GROUPS  # noqa: E402

COLORS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860")


def _grouped(breakdown_pj: dict[str, float]) -> list[float]:
    return [sum(breakdown_pj[level] for level in levels) for levels in GROUPS.values()]


def layer_breakdowns(rows: list[dict], method: str, title: str, stem: Path) -> list[Path]:
    """Stacked bars per layer: the optimum and `method`, normalised per layer."""
    rows = [r for r in rows if r.get("breakdown_pj") and (r.get("breakdowns_pj") or {}).get(method)]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.55 * len(rows) + 2), 4.2))
    width = 0.38
    for side, (label, key) in enumerate((("optimum", None), (method, method))):
        bottoms = [0.0] * len(rows)
        for gi, group in enumerate(GROUPS):
            heights = []
            for r in rows:
                opt, other = sum(_grouped(r["breakdown_pj"])), sum(_grouped(r["breakdowns_pj"][method]))
                parts = _grouped(r["breakdown_pj"] if key is None else r["breakdowns_pj"][key])
                heights.append(parts[gi] / max(opt, other))
            xs = [i + (side - 0.5) * width for i in range(len(rows))]
            ax.bar(xs, heights, width, bottom=bottoms, color=COLORS[gi], edgecolor="white", linewidth=0.4,
                   hatch="//" if side else None, label=group if side == 0 else None)
            bottoms = [b + h for b, h in zip(bottoms, heights)]
    ax.set_xticks(range(len(rows)), [r["name"] for r in rows], rotation=70, ha="right", fontsize=7)
    ax.set_ylabel(f"energy / max(optimum, {method})")
    ax.set_title(f"{title}\nleft bar: optimum, right bar (hatched): {method}", fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _save(fig, stem)


def model_totals(total: dict, title: str, stem: Path) -> list[Path]:
    """Each method's model energy over the optimum's (1.0 = the optimum)."""
    methods = [m for m, e in total["energies_pj"].items() if e is not None]
    ratios = [total["energies_pj"][m] / total["optimum_pj"] for m in methods]
    fig, ax = plt.subplots(figsize=(max(4.5, 1.0 + 0.8 * (len(methods) + 1)), 3.6))
    ax.bar(["optimum", *methods], [1.0, *ratios], color=[COLORS[0]] + [COLORS[1]] * len(methods))
    for i, v in enumerate([1.0, *ratios]):
        ax.text(i, v, f"{v:.3f}", ha="center", va="bottom", fontsize=7)
    ax.set_ylabel("model energy / optimum")
    ax.set_title(title, fontsize=9)
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    return _save(fig, stem)


def design_scatter(designs: list[dict], best: dict | None, title: str, stem: Path,
                   front: list[dict] | None = None) -> list[Path]:
    """Two panels over the evaluated designs (`Design.to_dict` rows): energy vs delay
    and EDP vs chiplet area, one colour per chiplet count, the best design circled and
    the Pareto front's points (if given) marked."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    panels = (("latency_cycles", "energy_pj", "delay (cycles)", "energy (pJ)"),
              ("area_mm2", "edp", "chiplet area (mm²)", "EDP (pJ × cycles)"))
    counts = sorted({d["chiplets"] for d in designs})
    for ax, (x, y, xl, yl) in zip(axes, panels):
        for i, n in enumerate(counts):
            pts = [d for d in designs if d["chiplets"] == n]
            ax.scatter([d[x] for d in pts], [d[y] for d in pts], s=14, color=COLORS[i % len(COLORS)],
                       label=f"{n} chiplet{'s' if n > 1 else ''}", alpha=0.8)
        if front:
            ax.scatter([d[x] for d in front], [d[y] for d in front], s=30, marker="x", color="black",
                       label="Pareto front")
        if best is not None:
            ax.scatter([best[x]], [best[y]], s=120, facecolors="none", edgecolors="black", label="best")
        ax.set_xlabel(xl)
        ax.set_ylabel(yl)
        ax.set_yscale("log")
        ax.ticklabel_format(axis="x", style="sci", scilimits=(-3, 4))  # cycles: 1e5, not 125000
    axes[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    return _save(fig, stem)


def zoo_entry(rows: list[dict], title: str, stem: Path) -> list[Path]:
    """Three panels over a model's layers (`mapper solve` rows): the optimum's energy by
    level (stacked), the MAC utilisation, and the solve time (0 for a store hit)."""
    rows = [r for r in rows if r.get("breakdown_pj")]
    xs = range(len(rows))
    fig, axes = plt.subplots(3, 1, figsize=(max(6.0, 0.28 * len(rows) + 2), 7.5), sharex=True)
    bottoms = [0.0] * len(rows)
    for gi, (group, parts) in enumerate(zip(GROUPS, zip(*[_grouped(r["breakdown_pj"]) for r in rows]))):
        heights = [p / 1e6 for p in parts]  # µJ
        axes[0].bar(xs, heights, 0.8, bottom=bottoms, color=COLORS[gi], label=group)
        bottoms = [b + h for b, h in zip(bottoms, heights)]
    axes[0].set_ylabel("energy (µJ)")
    axes[0].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    axes[1].bar(xs, [100 * r["utilization"] for r in rows], 0.8, color=COLORS[2])
    axes[1].set_ylabel("MAC utilisation (%)")
    axes[2].bar(xs, [r.get("solve_time_s") or 0.0 for r in rows], 0.8, color=COLORS[4])
    axes[2].set_ylabel("solve time (s)")
    axes[2].set_xticks(list(xs), [r["name"] for r in rows], rotation=75, ha="right", fontsize=6)
    axes[0].set_title(title, fontsize=9)
    return _save(fig, stem, (".png",), dpi=100)  # one small PNG: a zoo has dozens, and HTML embeds them


def _save(fig, stem: Path, suffixes: tuple[str, ...] = (".png", ".svg"), dpi: int = 150) -> list[Path]:
    stem.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    paths = [stem.with_suffix(s) for s in suffixes]
    for p in paths:
        fig.savefig(p, dpi=dpi)
    plt.close(fig)
    return paths
