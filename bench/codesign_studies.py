#!/usr/bin/env python
"""Benchmark (not a test): NN-Baton's two co-design studies (Sec. VI-B) with our area model.

Run with `.venv/bin/python bench/codesign_studies.py` from the repository root. Prints the
tables and appends a dated section to BENCHMARKS.md (unless --no-append).

(a) Chiplet granularity (Fig. 14): 2,048 MACs, every (N_P, N_C, L, P) of Table II, buffers
    proportional to the MACs they serve (`--memory proportional`), each model's layers
    mapped for the least model EDP on the full space; the best design per chiplet count by EDP, without
    and with a 2 mm² chiplet-area limit, beside the paper's "4-4-16-8 always the top pick".
(b) Design-space exploration (Fig. 15): 4,096 MACs over Table II's compute options and
    buffer sizes under 3 mm², branch and bound over the sizes (template mappings, energy),
    beside the paper's 2-8-16-16 with its memory allocation; and the same study by brute
    force (every valid design x template enumeration of every layer), run for a fixed
    budget in the same process: its rate gives the time it would need for every design.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timezone

from common import ROOT, Section, append_section, command_line, machine, rich_table  # noqa: E402
from rich.console import Console  # noqa: E402

from mapper import design_search as CD  # noqa: E402
from mapper.hardware import load_design_space  # noqa: E402
from mapper.report import size_str  # noqa: E402
from mapper.workload import load_workload  # noqa: E402

STUDY_A = [("alexnet", 224), ("vgg16", 224), ("resnet50", 224), ("darknet19", 224)]
STUDY_B = [("vgg16", 512), ("resnet50", 224), ("darknet19", 224)]
PAPER_B = "2-8-16-16; A-L1 32 KB (512x512) vs 4 KB (224x224); W-L1 72 KB (DarkNet-19 @224) vs 144 KB"
WORKERS = 2


def layers_of(model: str, res: int):
    return load_workload(model, res).layers


def best_by(designs, key, area=None):
    pool = [d for d in designs if area is None or d.area_mm2 <= area + 1e-12]
    return min(pool, key=lambda d: (key(d), d.area_mm2), default=None)


def edp(d) -> float:
    return d.energy_fj / 1000 * d.cycles


def study_a(console, space) -> Section:
    sec = Section("(a) 2,048 MACs, proportional buffers: best design per chiplet count by EDP",
                  ["model", "chiplets", "best (no limit)", "EDP pJ·cyc", "energy µJ", "cycles", "area mm²",
                   "best under 2 mm²", "EDP pJ·cyc (2 mm²)", "designs <= 2 mm²", "paper", "wall s"])
    for model, res in STUDY_A:
        t0 = time.perf_counter()
        r = CD.codesign(layers_of(model, res), 2048, space["compute"], CD.proportional_sizes, space["tech"],
                        objective="edp", space="full", workers=WORKERS)
        wall = time.perf_counter() - t0
        for n in sorted({d.alloc.chiplets for d in r.designs}):
            mine = [d for d in r.designs if d.alloc.chiplets == n]
            free, lim = best_by(mine, edp), best_by(mine, edp, 2.0)
            sec.rows.append([f"{model}@{res}", str(n), free.alloc.label, f"{edp(free):.4g}",
                             f"{free.energy_fj / 1e9:,.1f}", f"{free.cycles:,}", f"{free.area_mm2:.3f}",
                             lim.alloc.label if lim else "-", f"{edp(lim):.4g}" if lim else "-",
                             str(sum(d.area_mm2 <= 2.0 for d in mine)),
                             "4-4-16-8 top pick (4 chiplets, 2 mm²)" if n == 4 else "", f"{wall:.0f}"])
        top = best_by(r.designs, edp, 2.0)
        console.print(f"  (a) {model}@{res}: best under 2 mm² by EDP {top.alloc.label if top else '-'}, "
                      f"{r.solves} solves, {wall:.0f} s")
    sec.notes += [
        "Every design: `codesign(..., proportional_sizes, objective='edp', space='full')`, i.e. each design's "
        "exact least model EDP (model energy x model cycles) over every combination of its layers' mappings on "
        "the full mapping space (the layers' energy-latency fronts walked by CP-SAT, proven; docs/codesign.md). "
        "Buffers per MAC served as in the case study (docs/codesign.md). Area: our area model "
        "(hardware/tech-16nm.yaml).",
        "NN-Baton Sec. VI-B-1: without a limit fewer chiplets cost less energy; under 2 mm² no one-chiplet design "
        "fits and 4-4-16-8 is the top pick of the 4-chiplet designs for every model.",
    ]
    return sec


def study_b(console, space, budget_s: float, brute_s: float) -> tuple[Section, Section]:
    steps = CD.steps_of(space)
    sec = Section("(b) 4,096 MACs over Table II under 3 mm²: branch and bound (template mappings, energy)",
                  ["model", "status", "best design", "O-L1", "A-L1", "W-L1", "A-L2", "O-L2", "area mm²",
                   "energy µJ", "bound gap %", "considered", "valid", "evaluated", "pruned", "layer solves",
                   "wall s", "paper"])
    cmp = Section("(b') The same study by brute force, run for a fixed budget beside it",
                  ["model", "valid designs", "brute force: designs priced", "brute force s", "s per design",
                   "projected brute force h", "branch and bound s", "ratio (projected / B&B)"])
    for model, res in STUDY_B:
        layers = layers_of(model, res)
        t0 = time.perf_counter()
        r = CD.codesign(layers, 4096, space["compute"], steps, space["tech"], area_mm2=3.0, objective="energy",
                        space="template", time_limit=budget_s, workers=WORKERS)
        wall = time.perf_counter() - t0
        b = r.best
        gap = "-" if b is None or r.bound is None else f"{100 * (b.value - r.bound) / b.value:.2f}"
        p = r.points
        sec.rows.append([f"{model}@{res}", r.status, b.alloc.label if b else "-",
                         *([size_str(b.sizes[k]) for k in CD.BUFFERS] if b else ["-"] * 5),
                         f"{b.area_mm2:.3f}" if b else "-", f"{b.energy_fj / 1e9:,.1f}" if b else "-", gap,
                         f"{p['considered']:,}", f"{p['valid']:,}", f"{p['evaluated']:,}", f"{p['pruned']:,}",
                         f"{r.solves:,}", f"{wall:.0f}", PAPER_B])
        n, secs = brute_sample(layers, space, steps, brute_s)
        per = secs / max(n, 1)
        cmp.rows.append([f"{model}@{res}", f"{p['valid']:,}", str(n), f"{secs:.0f}", f"{per:.2f}",
                         f"{per * p['valid'] / 3600:,.1f}", f"{wall:.0f}",
                         f"{per * p['valid'] / wall:,.0f}x"
                         + ("" if r.status == "OPTIMAL" else " (B&B stopped early)")])
        console.print(f"  (b) {model}@{res}: {r.status}, {b.alloc.label if b else '-'}, {wall:.0f} s; "
                      f"brute force {per:.2f} s/design")
    sec.notes += [
        f"`codesign(..., steps_of(table2), area_mm2=3.0, objective='energy', space='template', "
        f"time_limit={budget_s:g})`: OPTIMAL = no valid design of the grid can have less energy (template "
        "mappings): every box closed, or stopped at the time limit with only boxes whose bound is no better than "
        "the best left open (ties: a design as good on a smaller chiplet may remain); FEASIBLE = stopped at the "
        "time limit, bound gap = (best - bound) / best.",
        "Memory steps: hardware/table2.yaml (Table II's bounds; the steps and O-L2's range are assumptions, cited "
        "there). Considered = allocations x size grid; valid = A-L1 <= A-L2, every buffer holds its smallest unit "
        "of work, chiplet area <= 3 mm².",
    ]
    cmp.notes.append("Brute force: valid designs in grid order, each layer by `enumerate_layer(..., 'template')` "
                     f"with a fresh cache per design, for {brute_s:g} s; projected = s per design x valid designs.")
    return sec, cmp


def brute_sample(layers, space, steps, budget_s: float) -> tuple[int, float]:
    """Price valid designs one by one (every layer, template enumeration) for `budget_s`."""
    from mapper.solvers.enumerate import enumerate_layer
    shapes = {L.shape_key(): L for L in layers}
    t0, n = time.perf_counter(), 0
    for a in CD.allocations(space["compute"], 4096):
        masks = CD.grid_masks(a, steps, space["tech"], CD.DEFAULT_BITS, 3.0)
        for idx in zip(*masks["valid"].nonzero()):
            sizes = {b: steps[b][i] for b, i in zip(CD.BUFFERS, idx)}
            hw = CD.make_hardware(a, sizes, space["tech"], CD.DEFAULT_BITS)
            for L in shapes.values():
                enumerate_layer(L, hw, "template")
            n += 1
            if time.perf_counter() - t0 > budget_s:
                return n, time.perf_counter() - t0
    return n, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--budget", type=float, default=900.0, help="seconds per model for study (b) (default 900)")
    ap.add_argument("--brute", type=float, default=120.0, help="seconds of brute force per model (default 120)")
    ap.add_argument("--only", choices=("a", "b"), help="run one study")
    ap.add_argument("--no-append", action="store_true", help="print only; do not touch BENCHMARKS.md")
    args = ap.parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 240)
    started, t0 = datetime.now(timezone.utc), time.perf_counter()
    space = load_design_space("table2")
    sections = []
    if args.only in (None, "a"):
        sections.append(study_a(console, space))
    if args.only in (None, "b"):
        sections += study_b(console, space, args.budget, args.brute)
    for s in sections:
        console.print(rich_table(s))
    runtime = time.perf_counter() - t0
    if not args.no_append:
        mach = machine()
        append_section(f"codesign_studies — {started.strftime('%Y-%m-%d %H:%M')} UTC", [
            f"Command: `{command_line()}` (run from the repository root)",
            f"Machine: {mach['platform']}, {mach['cpus']} CPUs, Python {mach['python']}, numpy {mach['numpy']}, "
            f"ortools {mach['ortools']}", f"Design space: `{os.path.relpath(space['path'], ROOT)}`; "
            f"{WORKERS} layer solves side by side", f"Total runtime: {runtime:.0f} s"], sections)
        console.print("Appended to BENCHMARKS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
