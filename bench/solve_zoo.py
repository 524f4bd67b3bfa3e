#!/usr/bin/env python
"""Benchmark (not a test): the exact CP-SAT mapper on the full space, and what it costs.

Run with `.venv/bin/python bench/solve_zoo.py`. It prints its tables and appends a dated
section with the command, the machine and the results to BENCHMARKS.md (unless
--no-append or --quick). Everything is measured in one run, side by side:

1. CP-SAT (`solve_layer(..., space='full')`) on every distinct shape of the zoo, with the
   template-enumeration optimum beside it, the issue-3 targets (median solve time
   <= 0.5 s, p95 <= 5 s) and two exactness checks per shape: the solver's objective
   equals `cost.evaluate`'s energy of the returned mapping to the femtojoule, and the
   full-space optimum is never above the template optimum;
2. CP-SAT vs exhaustive enumeration (template space, and the full space where it has
   at most 300 M points), plus CP-SAT without the enumeration warm start;
3. scaling: solve time as one layer family grows, and as the hardware grows.

Timings are wall-clock `time.perf_counter()`; CP-SAT times are `SolveResult.wall_s`
(model build, pruning, the template warm start when on, the search and the canonical
tie-break pass). The per-dimension caches (`cost.dim_table`, `cost.windows`) are cleared
before every timed call, so no call profits from an earlier one.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from common import (command_line, machine, ROOT, Section, add_common_args, append_section, f_int, f_s,  # noqa: E402
                    rich_table)
import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402

from mapper import models  # noqa: E402
from mapper.cost import dim_table, windows  # noqa: E402
from mapper.hardware import find_hardware, load_hardware  # noqa: E402
from mapper.solvers.cpsat import solve_layer  # noqa: E402
from mapper.solvers.enumerate import enumerate_layer, space_size  # noqa: E402
from mapper.workload import load_workload, parse_layer_spec, unique_layers  # noqa: E402

WORKERS = 2
TIME_LIMIT = 60.0
TARGET_MEDIAN, TARGET_P95 = 0.5, 5.0  # issue 3, seconds per layer
SECTION1_BUDGET = 25 * 60  # warn (loudly) when section 1 alone exceeds this

# Section 2: named zoo layers (model, resolution, layer) and small layer specs.
VS_LAYERS = (
    ("resnet50", 224, "conv1"), ("resnet50", 224, "layer1.0.conv2"),
    ("resnet50", 224, "layer3.0.conv2"), ("resnet50", 224, "layer4.0.conv3"),
    ("resnet50", 224, "fc"), ("vgg16", 224, "features.0"), ("vgg16", 224, "features.26"),
    "K=16 C=16 H=14 W=14 R=3 S=3 padding=1",
    "K=32 C=16 H=7 W=7",
    "K=16 C=3 H=28 W=28 R=7 S=7 stride=2 padding=3",
    "K=48 C=32 H=17 W=17 R=3 S=3 padding=1",
)
QUICK_VS = (("resnet50", 224, "fc"), "K=32 C=16 H=7 W=7")
FULL_LIMIT = 300_000_000
EST_RATE = 2_000_000  # points/s, for the estimate of a skipped full enumeration
# Section 3: a ResNet-like 3x3 family, and hardware sizes (chiplets, cores per chiplet).
SCALE_SIZES = (7, 14, 28, 56, 112)
SCALE_HW = ((1, 1), (2, 4), (4, 8), (8, 8), (8, 16))
SCALE_HW_LAYER = ("resnet50", 224, "layer1.0.conv2")


# ------------------------------------------------------------------------------ format
def f_nj(fj: int | None) -> str:
    return "-" if fj is None else f"{fj / 1e6:,.3f}"


def f_ratio(a: float, b: float) -> str:
    r = a / b
    return f"{r:,.1f}x" if r >= 1 else f"{r:.3f}x"


def p95(xs: list[float]) -> float:
    return float(np.percentile(xs, 95))  # linear interpolation between closest ranks


def cands(stats: dict) -> str:
    c = stats.get("candidates") or {}
    if not c:
        return "-"
    return f"{c['k']}x{c['h']}x{c['w']} = {c['k'] * c['h'] * c['w']:,}"


def shape_txt(lay) -> str:
    s = f"{lay.K}x{lay.C}x{lay.H}x{lay.W} {lay.R}x{lay.S}"
    if lay.stride != 1:
        s += f" s{lay.stride}"
    if lay.kind != "conv":
        s += f" {lay.kind}"
    return s


def cold(fn, *args, **kw):
    """Call fn with an empty dim_table cache; return (result, seconds)."""
    dim_table.cache_clear()
    windows.cache_clear()
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


_WL: dict = {}


def zoo_layer(model: str, res: int, name: str):
    if (model, res) not in _WL:
        _WL[(model, res)] = {lay.name: lay for lay in load_workload(model, res).layers}
    return _WL[(model, res)][name]


# ------------------------------------------------------------------- 1. the whole zoo
@dataclass
class ShapeRun:
    where: str
    layer: object
    dups: int
    status: str
    wall: float
    stats: dict
    gap: float | None
    template_points: int


def section_zoo(model_names, resolutions, hw, time_limit, console) -> tuple[list[Section], list[str]]:
    sec = Section(
        "1. CP-SAT on the full space, whole zoo (one solve per distinct shape)",
        ["model", "res", "layers", "shapes", "OPTIMAL", "FEASIBLE (max gap %)", "other",
         "median s", "p95 s", "max s", "slowest shape", "CP-SAT s (sum)", "template enum s (sum)",
         "full-space µJ", "template µJ", "saving %"])
    runs: list[ShapeRun] = []
    violations: list[str] = []
    tot = dict(layers=0, shapes=0, opt=0, feas=0, other=0, cp=0.0, en=0.0, e_full=0, e_tmpl=0)
    max_gap_all = None
    t_start = time.perf_counter()
    for name in model_names:
        for res in resolutions:
            wl = load_workload(name, res)
            uniq = unique_layers(wl.layers)
            times, n_opt, n_feas, other, max_gap = [], 0, 0, [], None
            e_full = e_tmpl = 0
            t_en = 0.0
            for layer, names in uniq:
                r = cold(solve_layer, layer, hw, "full", time_limit, WORKERS)[0]
                en, dt_en = cold(enumerate_layer, layer, hw, "template")
                t_en += dt_en
                where = f"{name}@{res} {layer.name}"
                times.append((r.wall_s, layer.name))
                runs.append(ShapeRun(where, layer, len(names), r.status, r.wall_s, r.stats,
                                     r.gap, en.points))
                if r.status == "OPTIMAL":
                    n_opt += 1
                elif r.status == "FEASIBLE":
                    n_feas += 1
                    max_gap = max(max_gap or 0.0, r.gap or 0.0)
                else:
                    other.append(f"{layer.name}: {r.status}")
                if r.best is not None:
                    e_full += r.best.energy_fj * len(names)
                    if r.value != r.best.energy_fj:
                        violations.append(f"{where}: CP-SAT objective {r.value} fJ != evaluate "
                                          f"{r.best.energy_fj} fJ of its mapping "
                                          f"{r.best.mapping.short()}")
                if en.best is not None:
                    e_tmpl += en.best.energy_fj * len(names)
                    if r.best is None:
                        violations.append(f"{where}: CP-SAT {r.status} ({r.reason}) but the "
                                          f"template space has a feasible optimum "
                                          f"({en.best.energy_fj} fJ)")
                    elif r.best.energy_fj > en.best.energy_fj:
                        violations.append(f"{where}: full-space {r.status} {r.best.energy_fj} fJ "
                                          f"> template optimum {en.best.energy_fj} fJ")
            ts = [t for t, _ in times]
            slow = max(times)
            gap_txt = f"{n_feas}" + (f" ({max_gap * 100:.3f})" if n_feas else "")
            sec.rows.append([
                name, str(res), str(len(wl.layers)), str(len(uniq)), str(n_opt), gap_txt,
                str(len(other)) + (f" ({'; '.join(other)})" if other else ""),
                f_s(statistics.median(ts)), f_s(p95(ts)), f_s(slow[0]), slow[1], f_s(sum(ts)),
                f_s(t_en), f"{e_full / 1e9:,.2f}", f"{e_tmpl / 1e9:,.2f}",
                f"{(e_tmpl - e_full) / e_tmpl * 100:.2f}" if e_tmpl else "-"])
            for k, v in (("layers", len(wl.layers)), ("shapes", len(uniq)), ("opt", n_opt),
                         ("feas", n_feas), ("other", len(other)), ("cp", sum(ts)), ("en", t_en),
                         ("e_full", e_full), ("e_tmpl", e_tmpl)):
                tot[k] += v
            if n_feas:
                max_gap_all = max(max_gap_all or 0.0, max_gap)
            el = time.perf_counter() - t_start
            console.print(f"  [dim]{name}@{res}: {len(uniq)} shapes, median {statistics.median(ts):.2f} s, "
                          f"max {slow[0]:.2f} s ({slow[1]}); section 1 so far {el:.0f} s[/]")
    all_t = [r.wall for r in runs]
    med, pp = statistics.median(all_t), p95(all_t)
    slowest = max(runs, key=lambda r: r.wall)
    sec.total_row = [
        "total", "", str(tot["layers"]), str(tot["shapes"]), str(tot["opt"]),
        f"{tot['feas']}" + (f" ({max_gap_all * 100:.3f})" if tot["feas"] else ""),
        str(tot["other"]), f_s(med), f_s(pp), f_s(slowest.wall), slowest.where, f_s(tot["cp"]),
        f_s(tot["en"]), f"{tot['e_full'] / 1e9:,.2f}", f"{tot['e_tmpl'] / 1e9:,.2f}",
        f"{(tot['e_tmpl'] - tot['e_full']) / tot['e_tmpl'] * 100:.2f}"]
    sec.notes += [
        f"`solve_layer(layer, hw, 'full', time_limit={time_limit:g}, workers={WORKERS})` once per "
        "distinct shape (`unique_layers`), default warm start (the template space is enumerated "
        "first and seeds CP-SAT; that enumeration is inside the CP-SAT time). Solve times are "
        "`SolveResult.wall_s`: build, pruning, warm start, search, canonical tie-break.",
        "`template enum s`: a separate cold `enumerate_layer(layer, hw, 'template')` per shape, "
        "for the template optimum beside the full-space one. Energies are summed over *all* "
        "layers, duplicates included; saving = (template - full) / template.",
        "FEASIBLE = stopped at the time limit with an incumbent; its gap is (value - bound) / "
        "value. `other`: INFEASIBLE / UNKNOWN. p95: numpy linear interpolation.",
    ]
    targets = Section(
        "1a. Issue-3 targets and exactness checks (all shapes of section 1)",
        ["metric", "measured", "target", "verdict"])
    targets.rows += [
        ["median solve time per shape", f"{med:.3f} s", f"<= {TARGET_MEDIAN} s",
         "PASS" if med <= TARGET_MEDIAN else "FAIL"],
        ["p95 solve time per shape", f"{pp:.3f} s", f"<= {TARGET_P95} s",
         "PASS" if pp <= TARGET_P95 else "FAIL"],
        ["shapes proven OPTIMAL", f"{tot['opt']} / {tot['shapes']}", "all",
         "PASS" if tot["opt"] == tot["shapes"] else "FAIL"],
        ["violations: objective != evaluate, full > template, CP-SAT infeasible where the "
         "template is feasible", str(len(violations)), "0", "PASS" if not violations else "FAIL"],
    ]
    targets.notes += [f"VIOLATION {v}" for v in violations] or [
        f"For all {tot['shapes']} shapes: CP-SAT's `value` equals `best.energy_fj` (the "
        "objective is the cost model, to the femtojoule) and `best.energy_fj` <= the template "
        "optimum."]
    slow_sec = Section(
        "1b. The slowest shapes (where the solver needs work)",
        ["model@res layer", "shape", "layers", "status", "solve s", "candidates k x h x w",
         "branches", "conflicts", "template points"])
    for r in sorted(runs, key=lambda r: -r.wall)[:10]:
        slow_sec.rows.append([
            r.where, shape_txt(r.layer), str(r.dups), r.status, f_s(r.wall), cands(r.stats),
            f_int(r.stats.get("branches", 0)), f_int(r.stats.get("conflicts", 0)),
            f_int(r.template_points)])
    slow_sec.notes.append("`candidates`: cuts per dimension left after dominance and bound "
                          "pruning (`stats['candidates']`), and their product.")
    return [sec, targets, slow_sec], violations


# ------------------------------------------------------------- 2. CP-SAT vs enumeration
def resolve(item):
    if isinstance(item, str):
        return item, parse_layer_spec(item, name=item)
    model, res, name = item
    return f"{model}@{res} {name} ({shape_txt(zoo_layer(model, res, name))})", zoo_layer(model, res, name)


def section_vs(items, hw, time_limit) -> tuple[Section, list[str]]:
    sec = Section(
        "2. CP-SAT vs enumeration, side by side (same run)",
        ["layer", "CP-SAT s", "status", "CP-SAT nJ", "CP-SAT no warm start s",
         "template enum s", "template points", "template nJ", "full points", "full enum s",
         "full nJ", "full enum / CP-SAT", "template enum / CP-SAT", "CP-SAT = full enum"])
    problems: list[str] = []
    for item in items:
        label, layer = resolve(item)
        r, _ = cold(solve_layer, layer, hw, "full", time_limit, WORKERS)
        rc, _ = cold(solve_layer, layer, hw, "full", time_limit, WORKERS, warm_start=False)
        et, t_t = cold(enumerate_layer, layer, hw, "template")
        n_full = space_size(layer, hw, "full")
        e_cp = r.best.energy_fj if r.best else None
        row = [label, f_s(r.wall_s), r.status, f_nj(e_cp),
               f"{f_s(rc.wall_s)}" + ("" if rc.status == "OPTIMAL" else f" ({rc.status})"),
               f_s(t_t), f_int(et.points), f_nj(et.best.energy_fj if et.best else None),
               f_int(n_full)]
        if rc.best is not None and r.status == rc.status == "OPTIMAL" \
                and rc.best.energy_fj != e_cp:
            problems.append(f"{label}: CP-SAT optimum with warm start {e_cp} fJ != without "
                            f"{rc.best.energy_fj} fJ")
        if n_full <= FULL_LIMIT:
            ef, t_f = cold(enumerate_layer, layer, hw, "full")
            e_f = ef.best.energy_fj if ef.best else None
            if e_f == e_cp:
                match = "yes"
            elif r.status == "FEASIBLE" and e_cp is not None and e_f is not None and e_cp > e_f:
                match = f"no (FEASIBLE, +{(e_cp - e_f) / e_f * 100:.3f}%)"
            else:
                match = "MISMATCH"
                problems.append(f"{label}: CP-SAT {r.status} {e_cp} fJ != full enumeration "
                                f"{e_f} fJ")
            row += [f_s(t_f), f_nj(e_f), f_ratio(t_f, r.wall_s), f_ratio(t_t, r.wall_s), match]
        else:
            row += [f"skipped (est. {n_full / EST_RATE:,.0f}s at 2M points/s)", "-",
                    f"~{f_ratio(n_full / EST_RATE, r.wall_s)} (est.)", f_ratio(t_t, r.wall_s),
                    "-"]
        sec.rows.append(row)
    sec.notes += [
        f"CP-SAT: `solve_layer(layer, hw, 'full', time_limit={time_limit:g}, "
        f"workers={WORKERS})`, warm start on (its time includes the template enumeration "
        "that seeds it); 'no warm start': `warm_start=False`, pure CP-SAT, no upper bound "
        "for pruning and no hint.",
        "Enumeration: `enumerate_layer` (vectorised numpy, one core). The full space is "
        f"enumerated only when `space_size(layer, hw, 'full')` <= {FULL_LIMIT:,}; otherwise "
        f"its time is an estimate at {EST_RATE:,} points/s.",
        "Ratios > 1: CP-SAT is faster; < 1: enumeration is faster. The template space is a "
        "subset of the full space, so its optimum can be worse (higher nJ).",
    ]
    sec.notes += [f"MISMATCH {p}" for p in problems] or [
        "Check: CP-SAT's full-space optimum equals the full enumeration's wherever both ran "
        "(and the warm and cold CP-SAT optima agree)."]
    return sec, problems


# ------------------------------------------------------------------------- 3. scaling
def section_scaling(sizes, hw_sizes, hw, time_limit) -> list[Section]:
    out = []
    if sizes:
        sec = Section("3a. Scaling with the layer: 3x3 conv K=C=64, padding 1, H=W grows",
                      ["layer", "full-space points", "template points", "solve s", "status",
                       "gap %", "candidates k x h x w", "branches"])
        for hwid in sizes:
            spec = f"K=64 C=64 H={hwid} W={hwid} R=3 S=3 padding=1"
            layer = parse_layer_spec(spec, name=spec)
            r, _ = cold(solve_layer, layer, hw, "full", time_limit, WORKERS)
            sec.rows.append([spec, f_int(space_size(layer, hw, "full")),
                             f_int(space_size(layer, hw, "template")), f_s(r.wall_s), r.status,
                             "-" if r.gap is None else f"{r.gap * 100:.3f}", cands(r.stats),
                             f_int(r.stats.get("branches", 0))])
        sec.notes.append(f"Case-study hardware ({hw.n_chiplets} chiplets x {hw.n_cores} cores), "
                         f"`solve_layer(..., 'full', time_limit={time_limit:g}, workers={WORKERS})`.")
        out.append(sec)
    if hw_sizes:
        model, res, name = SCALE_HW_LAYER
        layer = zoo_layer(model, res, name)
        sec = Section(f"3b. Scaling with the hardware: {model}@{res} {name} "
                      f"({shape_txt(layer)}), chiplets x cores grow",
                      ["chiplets x cores", "full-space points", "template points", "solve s",
                       "status", "gap %", "candidates k x h x w", "branches", "nJ"])
        for nc, nq in hw_sizes:
            h2 = dataclasses.replace(hw, n_chiplets=nc, n_cores=nq)
            r, _ = cold(solve_layer, layer, h2, "full", time_limit, WORKERS)
            sec.rows.append([f"{nc} x {nq}", f_int(space_size(layer, h2, "full")),
                             f_int(space_size(layer, h2, "template")), f_s(r.wall_s), r.status,
                             "-" if r.gap is None else f"{r.gap * 100:.3f}", cands(r.stats),
                             f_int(r.stats.get("branches", 0)),
                             f_nj(r.best.energy_fj if r.best else None)])
        sec.notes.append("`dataclasses.replace(hw, n_chiplets=..., n_cores=...)` of the case-study "
                         "hardware (per-core and per-chiplet buffers unchanged).")
        out.append(sec)
    return out


# ------------------------------------------------------------------------------ output
def append_markdown(sections: list[Section], cmd: str, started: datetime, runtime: float,
                    hw_path: str, extra: list[str]) -> None:
    mach = machine()
    append_section(f"solve_zoo — {started.strftime('%Y-%m-%d %H:%M')} UTC", [
        f"Command: `{cmd}` (run from the repository root)",
        f"Machine: {mach['platform']}, {mach['cpus']} CPUs, Python {mach['python']}, "
        f"numpy {mach['numpy']}, ortools {mach['ortools']}",
        f"Hardware: `{hw_path}`; CP-SAT workers = {WORKERS}",
        f"Total runtime: {runtime:.1f} s", *extra], sections)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(ap, list(models.MODELS))
    ap.add_argument("--time-limit", type=float, default=TIME_LIMIT,
                    help=f"CP-SAT time limit per layer, seconds (default: {TIME_LIMIT:g})")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: resnet50 at 224 only, two layers in section 2, three "
                         "points in section 3; never appends")
    args = ap.parse_args(argv)

    console = Console(width=None if sys.stdout.isatty() else 260)
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    hw_path = str(find_hardware(args.hw))
    hw = load_hardware(hw_path)
    model_names, resolutions = args.models, args.resolutions
    vs_items, sizes, hw_sizes = VS_LAYERS, SCALE_SIZES, SCALE_HW
    if args.quick:
        model_names, resolutions = ["resnet50"], [224]
        vs_items, sizes, hw_sizes = QUICK_VS, SCALE_SIZES[:2], SCALE_HW[1:2]
    mach = machine()
    console.print(f"[bold]solve_zoo[/] on {hw.name} ({hw_path}) — {mach['platform']}, "
                  f"{mach['cpus']} CPUs, Python {mach['python']}, numpy {mach['numpy']}, "
                  f"ortools {mach['ortools']}, workers={WORKERS}, time limit {args.time_limit:g} s")

    sections: list[Section] = []
    loud: list[str] = []
    extra: list[str] = []

    def show(secs: list[Section], ts: float) -> None:
        for sec in secs:
            sections.append(sec)
            console.print(rich_table(sec))
            for n in sec.notes:
                style = "bold red" if n.startswith(("VIOLATION", "MISMATCH")) else "dim"
                console.print(f"  [{style}]- {n}[/]")
        console.print(f"  [dim]({time.perf_counter() - ts:.1f} s)[/]\n")

    ts = time.perf_counter()
    secs, violations = section_zoo(model_names, resolutions, hw, args.time_limit, console)
    t1 = time.perf_counter() - ts
    extra.append(f"Section 1 runtime: {t1:.1f} s")
    if t1 > SECTION1_BUDGET:
        msg = f"section 1 alone took {t1 / 60:.1f} min (> {SECTION1_BUDGET / 60:.0f} min budget)"
        loud.append(msg)
        extra.append(f"WARNING: {msg}")
    loud += [f"VIOLATION {v}" for v in violations]
    show(secs, ts)

    ts = time.perf_counter()
    sec, problems = section_vs(vs_items, hw, args.time_limit)
    loud += [f"MISMATCH {p}" for p in problems]
    show([sec], ts)

    ts = time.perf_counter()
    show(section_scaling(sizes, hw_sizes, hw, args.time_limit), ts)

    runtime = time.perf_counter() - t0
    console.print(f"Total runtime: {runtime:.1f} s")
    for msg in loud:
        console.print(f"[bold red]!!! {msg}[/]")
    if args.no_append or args.quick:
        console.print("BENCHMARKS.md not touched" + (" (--quick)" if args.quick else ""))
    else:
        append_markdown(sections, command_line(), started, runtime,
                        os.path.relpath(hw_path, ROOT)
                        if os.path.abspath(hw_path).startswith(str(ROOT)) else hw_path, extra)
        console.print("Appended to BENCHMARKS.md")
    return 1 if (violations or problems) else 0


if __name__ == "__main__":
    sys.exit(main())
