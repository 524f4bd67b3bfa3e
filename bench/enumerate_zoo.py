#!/usr/bin/env python
"""Benchmark (not a test): exhaustive enumeration over the model zoo, and what it costs.

Run with `make bench` (or `.venv/bin/python bench/enumerate_zoo.py`). It prints four
tables and appends a dated section with the command, the machine and the results to
BENCHMARKS.md (unless --no-append or --quick):

1. template-space enumeration of every zoo model x resolution on one hardware;
2. vectorised `enumerate_layer` vs scalar `evaluate` on the same template points,
   measured side by side in this run;
3. full space vs template space on small layers (the template's optimality gap);
4. the referee's cost: `simulate` vs `evaluate` on the same cases.

Timings are wall-clock `time.perf_counter()`. The per-dimension table cache
(`cost.dim_table`, an lru_cache) is cleared before every timed unit (each model x
resolution, each side of a comparison), so every number includes building its own
tables and no row profits from an earlier one.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import datetime, timezone

from common import (command_line, machine, ROOT, Section, add_common_args, append_section, f_int, f_s,  # noqa: E402
                    rich_table)
from rich.console import Console  # noqa: E402

from mapper import models  # noqa: E402
from mapper.cost import dim_table, evaluate  # noqa: E402
from mapper.hardware import find_hardware, load_hardware  # noqa: E402
from mapper.simulate import random_case, simulate  # noqa: E402
from mapper.solvers.enumerate import dim_choices, enumerate_layer, space_size  # noqa: E402
from mapper.space import ORDERS, Mapping, core_splits, package_splits  # noqa: E402
from mapper.workload import load_workload, parse_layer_spec  # noqa: E402
from mapper.workload import unique_layers  # noqa: E402


# Section 2: ResNet-50 layers at 224 (big plane / mid / deep), and the sample size.
VEC_LAYERS = ("conv1", "layer1.0.conv2", "layer4.0.conv2")
VEC_SAMPLE = 2000
# Section 3: small layers, and the largest full space we enumerate.
GAP_LAYERS = (
    "K=16 C=16 H=14 W=14 R=3 S=3 padding=1",
    "K=32 C=16 H=7 W=7 R=1 S=1",
    "K=16 C=3 H=28 W=28 R=7 S=7 stride=2 padding=3",   # ResNet-50 conv1, scaled down
    "K=48 C=32 H=17 W=17 R=3 S=3 padding=1",           # 17 is prime: few divisors
    "K=64 C=64 H=56 W=56 R=3 S=3 padding=1",           # ResNet-50 layer1.0.conv2
)
FULL_LIMIT = 30_000_000
# Section 4: random referee cases, and single layers on the case-study hardware.
REF_CASES = 300
REF_LAYERS = (
    ("K=16 C=16 H=14 W=14 R=3 S=3 padding=1", "optimum"),
    ("K=16 C=16 H=14 W=14 R=3 S=3 padding=1", "finest"),
    ("K=16 C=3 H=28 W=28 R=7 S=7 stride=2 padding=3", "optimum"),
    ("K=16 C=3 H=28 W=28 R=7 S=7 stride=2 padding=3", "finest"),
    ("resnet50:layer1.0.conv2", "optimum"),
    ("resnet50:layer4.0.conv2", "optimum"),
)
SEED = 0


class BenchBug(Exception):
    """A result that contradicts the model (e.g. a negative template gap)."""


# ------------------------------------------------------------------------------ format
def f_rate(x: float) -> str:
    return f"{x:,.0f}"


def f_ms(x: float) -> str:
    return f"{x * 1e3:.1f}"


def timed(fn, *args, **kw):
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


# ------------------------------------------------------------------ 1. zoo enumeration
def section_zoo(model_names: list[str], resolutions: list[int], hw) -> Section:
    sec = Section(
        "1. Template-space enumeration of the zoo",
        ["model", "res", "layers", "shapes", "points", "feasible", "wall s",
         "median ms/shape", "max ms/shape", "slowest shape", "points/s",
         "energy µJ", "cycles"])
    all_times: list[float] = []
    tot = dict(layers=0, shapes=0, points=0, feasible=0, wall=0.0, energy=0, cycles=0)
    slowest_overall = (0.0, "")
    load_s = 0.0
    infeasible: list[str] = []
    for name in model_names:
        for res in resolutions:
            wl, dt = timed(load_workload, name, res)
            load_s += dt
            uniq = unique_layers(wl.layers)
            dim_table.cache_clear()
            times, points, feas, energy, cycles = [], 0, 0, 0, 0
            bad = []
            for layer, names in uniq:
                r, dt = timed(enumerate_layer, layer, hw, "template")
                times.append((dt, layer.name))
                points += r.points
                feas += r.feasible_points
                if r.best is None:
                    bad.append(f"{layer.name} ({r.reason})")
                    continue
                energy += r.best.energy_fj * len(names)
                cycles += r.best.cycles * len(names)
            wall = sum(t for t, _ in times)
            slow = max(times)
            all_times += [t for t, _ in times]
            if slow[0] > slowest_overall[0]:
                slowest_overall = (slow[0], f"{name}@{res} {slow[1]}")
            if bad:
                infeasible += [f"{name}@{res}: {b}" for b in bad]
            e_txt = f"{energy / 1e9:,.2f}" + (f" (+{len(bad)} infeasible)" if bad else "")
            sec.rows.append([
                name, str(res), str(len(wl.layers)), str(len(uniq)), f_int(points), f_int(feas),
                f_s(wall), f_ms(statistics.median(t for t, _ in times)), f_ms(slow[0]), slow[1],
                f_rate(points / wall), e_txt, f_int(cycles)])
            for k, v in (("layers", len(wl.layers)), ("shapes", len(uniq)), ("points", points),
                         ("feasible", feas), ("wall", wall), ("energy", energy),
                         ("cycles", cycles)):
                tot[k] += v
    sec.total_row = [
        "total", "", str(tot["layers"]), str(tot["shapes"]), f_int(tot["points"]),
        f_int(tot["feasible"]), f_s(tot["wall"]), f_ms(statistics.median(all_times)),
        f_ms(slowest_overall[0]), slowest_overall[1], f_rate(tot["points"] / tot["wall"]),
        f"{tot['energy'] / 1e9:,.2f}", f_int(tot["cycles"])]
    sec.notes += [
        "One `enumerate_layer(layer, hw, 'template')` per distinct shape (`unique_layers`); "
        "energy and cycles are the per-shape optima summed over *all* layers, duplicates "
        "included (batch 1, one inference).",
        "`wall s` is the sum of the per-shape wall times (workload extraction excluded: "
        f"{load_s:.2f} s for all rows); the `dim_table` cache is cleared before each row.",
        "Infeasible shapes (no template point fits the buffers): "
        + ("; ".join(infeasible) if infeasible else "none."),
    ]
    return sec


# ----------------------------------------------------- 2. vectorised vs scalar evaluation
def template_blocks(layer, hw) -> list[tuple]:
    """The template space as enumerate_layer walks it: (pkg, cs, choices, size) blocks."""
    blocks = []
    for pkg in package_splits(hw.n_chiplets):
        for cs in core_splits(hw.n_cores):
            ch = {d: dim_choices(layer, hw, d, pkg[i], cs[i], True) for i, d in enumerate("khw")}
            n = len(ORDERS) ** 2 * len(ch["k"]) * len(ch["h"]) * len(ch["w"])
            blocks.append((pkg, cs, ch, n))
    return blocks


def point_at(blocks: list[tuple], idx: int) -> Mapping:
    """The idx-th template point (same order as enumerate_layer: pkg, cs, co, qo, h, w, k)."""
    for pkg, cs, ch, n in blocks:
        if idx < n:
            nh, nw, nk = len(ch["h"]), len(ch["w"]), len(ch["k"])
            o, rest = divmod(idx, nh * nw * nk)
            co, qo = ORDERS[o // len(ORDERS)], ORDERS[o % len(ORDERS)]
            ih, rest = divmod(rest, nw * nk)
            iw, ik = divmod(rest, nk)
            h, w, k = ch["h"], ch["w"], ch["k"]
            return Mapping(pkg, (int(k.tile[ik]), int(h.tile[ih]), int(w.tile[iw])), co, cs,
                           (int(h.core[ih]), int(w.core[iw])), qo)
        idx -= n
    raise IndexError(idx)


def section_vector(hw, sample: int) -> Section:
    sec = Section(
        "2. Vectorised enumeration vs scalar evaluate (same run, same template points)",
        ["layer (ResNet-50 @224)", "space points", "vectorised s", "vectorised pts/s",
         "scalar sample", "scalar s (cold)", "scalar pts/s (cold)", "scalar pts/s (cached)",
         "speed-up vs cold", "speed-up vs cached"])
    wl = load_workload("resnet50", 224)
    by_name = {layer.name: layer for layer in wl.layers}
    rng = random.Random(SEED)
    for lname in VEC_LAYERS:
        layer = by_name[lname]
        dim_table.cache_clear()
        res, t_vec = timed(enumerate_layer, layer, hw, "template")
        blocks = template_blocks(layer, hw)
        total = sum(b[3] for b in blocks)
        if total != res.points:
            raise BenchBug(f"{lname}: rebuilt template space has {total} points, "
                           f"enumerate_layer evaluated {res.points}")
        idx = rng.sample(range(total), min(sample, total))
        maps = [point_at(blocks, i) for i in idx]
        dim_table.cache_clear()
        evals, t_cold = timed(lambda: [evaluate(layer, hw, m) for m in maps])
        _, t_warm = timed(lambda: [evaluate(layer, hw, m) for m in maps])
        feas = [e.energy_fj for e in evals if e.feasible]
        if res.best is not None and feas and min(feas) < res.best.energy_fj:
            raise BenchBug(f"{lname}: a sampled template point ({min(feas)} fJ) beats the "
                           f"enumerated optimum ({res.best.energy_fj} fJ)")
        v_rate = res.points / t_vec
        c_rate, w_rate = len(maps) / t_cold, len(maps) / t_warm
        sec.rows.append([
            f"{lname} ({layer.K}x{layer.C}x{layer.H}x{layer.W} {layer.R}x{layer.S})",
            f_int(res.points), f_s(t_vec), f_rate(v_rate), f_int(len(maps)), f_s(t_cold),
            f_rate(c_rate), f_rate(w_rate), f"{v_rate / c_rate:,.0f}x", f"{v_rate / w_rate:,.0f}x"])
    sec.notes += [
        "Vectorised: one `enumerate_layer` over the whole template space (includes pricing "
        "the optimum and the per-partition bests with `evaluate`).",
        f"Scalar: `evaluate` on {sample:,} points drawn uniformly (seed {SEED}) from the same "
        "space, rebuilt from `package_splits`, `core_splits`, `dim_choices` and the loop "
        "orders. 'cold' starts with an empty `dim_table` cache (as the vectorised run does); "
        "'cached' repeats the same points with every table cached (pure `combine` cost).",
        "Sanity: no sampled point is cheaper than the enumerated optimum, and the rebuilt "
        "space has exactly `EnumResult.points` points.",
    ]
    return sec


# ------------------------------------------------------------ 3. full space vs template
def section_gap(hw, specs: tuple[str, ...]) -> Section:
    sec = Section(
        "3. Full space vs template space (small layers)",
        ["layer", "template points", "template s", "template nJ", "template optimum",
         "full points", "full s", "full nJ", "full optimum", "template gap %"])
    for spec in specs:
        layer = parse_layer_spec(spec, name=spec)
        n_t, n_f = space_size(layer, hw, "template"), space_size(layer, hw, "full")
        dim_table.cache_clear()
        rt, t_t = timed(enumerate_layer, layer, hw, "template")
        e_t = rt.best.energy_fj if rt.best else None
        row = [spec, f_int(n_t), f_s(t_t), f"{e_t / 1e6:,.3f}" if e_t else "infeasible",
               rt.best.mapping.short() if rt.best else "-"]
        if n_f > FULL_LIMIT:
            row += [f_int(n_f), f"skipped (> {FULL_LIMIT / 1e6:.0f}M points)", "-", "-", "-"]
            sec.rows.append(row)
            continue
        dim_table.cache_clear()
        rf, t_f = timed(enumerate_layer, layer, hw, "full")
        e_f = rf.best.energy_fj if rf.best else None
        if e_f is None:
            gap = "-" if e_t is None else "BUG: full infeasible"
        elif e_t is None:
            gap = "template infeasible"
        else:
            gap_v = (e_t - e_f) / e_f * 100
            gap = f"{gap_v:.3f}"
        row += [f_int(rf.points), f_s(t_f), f"{e_f / 1e6:,.3f}" if e_f else "infeasible",
                rf.best.mapping.short() if rf.best else "-", gap]
        sec.rows.append(row)
        if (e_f is None and e_t is not None) or (e_t is not None and e_t < e_f):
            raise BenchBug(f"{spec}: template optimum {e_t} fJ is below the full-space optimum "
                           f"{e_f} fJ, but the full space is a superset of the template space")
        for r, n in ((rt, n_t), (rf, n_f)):
            if r.points != n:
                sec.notes.append(f"WARNING {spec}: space_size({r.space}) = {n:,} but "
                                 f"enumerate_layer evaluated {r.points:,} points.")
    sec.notes += [
        "Template = chiplet and core tiles restricted to divisors of the part they tile; full = "
        "every tile size. Gap = (template - full) / full of the optimum energy; the full space "
        "is a superset, so the gap is >= 0 by construction (a negative gap aborts the run).",
        f"The full space is skipped when `space_size(layer, hw, 'full')` > {FULL_LIMIT:,}.",
    ]
    return sec


# ----------------------------------------------------------------------- 4. referee cost
def finest_mapping(layer, hw) -> Mapping:
    """Plane over every chiplet and core, 1x1 tiles: the most loop steps the space allows."""
    pkg = max((p for p in package_splits(hw.n_chiplets) if p[0] == 1), key=lambda p: min(p[1:]))
    cs = max((c for c in core_splits(hw.n_cores) if c[0] == 1), key=lambda c: min(c[1:]))
    return Mapping(pkg, (min(hw.lanes, layer.K), 1, 1), "channel", cs, (1, 1), "channel")


def section_referee(hw, n_cases: int, layer_specs: tuple) -> Section:
    sec = Section(
        "4. Referee cost: simulate vs evaluate (same cases)",
        ["cases", "median MACs", "evaluate s", "evaluate cases/s", "simulate s",
         "simulate cases/s", "simulate / evaluate", "agree"])
    rng = random.Random(SEED)
    cases = [random_case(rng) for _ in range(n_cases)]
    dim_table.cache_clear()
    evs, t_e = timed(lambda: [evaluate(*c) for c in cases])
    sims, t_s = timed(lambda: [simulate(*c) for c in cases])
    agree = sum(e.feasible == s.feasible and (not s.feasible or e.counts == s.counts)
                for e, s in zip(evs, sims))
    macs = statistics.median(c[0].macs for c in cases)
    sec.rows.append([
        f"{n_cases} random_case (seed {SEED})", f_int(int(macs)), f_s(t_e),
        f_rate(n_cases / t_e), f_s(t_s), f_rate(n_cases / t_s), f"{t_s / t_e:,.0f}x",
        f"{agree}/{n_cases}"])
    resnet = None
    for spec, which in layer_specs:
        if spec.startswith("resnet50:"):
            resnet = resnet or {lay.name: lay for lay in load_workload("resnet50", 224).layers}
            layer = resnet[spec.split(":", 1)[1]]
        else:
            layer = parse_layer_spec(spec, name=spec)
        if which == "optimum":
            m = enumerate_layer(layer, hw, "template").best.mapping
        else:
            m = finest_mapping(layer, hw)
        e, t_e = timed(evaluate, layer, hw, m)
        s, t_s = timed(simulate, layer, hw, m)
        ok = e.feasible == s.feasible and (not s.feasible or e.counts == s.counts)
        sec.rows.append([
            f"{spec} @ {which} {m.short()}", f_int(layer.macs), f"{t_e:.5f}", f_rate(1 / t_e),
            f_s(t_s), f"{1 / t_s:,.2f}", f"{t_s / t_e:,.0f}x", "1/1" if ok else "0/1"])
    sec.notes += [
        "Row 1: the random small (layer, hardware, mapping) cases of the property tests; "
        "rows 2+: one layer on the benchmark hardware, at its template optimum or at the "
        "finest mapping (plane split over all chiplets and cores, 1x1 tiles).",
        "`agree`: `simulate` and `evaluate` give the same feasibility and, when feasible, the "
        "same counts. The referee walks every loop step with explicit element sets, so its "
        "cost grows with the number of steps and elements: it is for small layers only; "
        "`evaluate` is roughly constant per mapping.",
    ]
    return sec


# ------------------------------------------------------------------------------ output
HEADER = """# Benchmarks

Benchmarks are **not tests**: they measure how long things take and record the numbers
that came out, on the machine named in each entry. Nothing here passes or fails, except
that a benchmark aborts (and appends nothing) when a result contradicts the model, e.g.
a template-space optimum below the full-space optimum.

Rerun them with `make bench` (it runs `bench/enumerate_zoo.py`; see `--help` for
options, `--no-append` to print only). Each run appends a dated section below with the
exact command, the machine, and the results. Absolute times depend on the machine;
every ratio (vectorised vs scalar, simulate vs evaluate) is measured side by side in
one run, on the same points or cases, so ratios are comparable across entries.
"""


def append_markdown(sections: list[Section], cmd: str, started: datetime, runtime: float,
                    hw_path: str) -> None:
    mach = machine()
    append_section(f"enumerate_zoo — {started.strftime('%Y-%m-%d %H:%M')} UTC", [
        f"Command: `{cmd}` (run from the repository root)",
        f"Machine: {mach['platform']}, {mach['cpus']} CPUs, Python {mach['python']}, "
        f"numpy {mach['numpy']}",
        f"Hardware: `{hw_path}`",
        f"Total runtime: {runtime:.1f} s"], sections, header=HEADER)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(ap, list(models.MODELS))
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: alexnet at 224 only, small samples in sections 2-4; "
                         "never appends")
    args = ap.parse_args(argv)

    console = Console(width=None if sys.stdout.isatty() else 240)  # wide when piped/logged
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    hw_path = str(find_hardware(args.hw))
    hw = load_hardware(hw_path)
    model_names, resolutions = args.models, args.resolutions
    sample, n_cases, gap_specs, ref_specs = VEC_SAMPLE, REF_CASES, GAP_LAYERS, REF_LAYERS
    if args.quick:
        model_names, resolutions = ["alexnet"], [224]
        sample, n_cases, gap_specs, ref_specs = 200, 30, GAP_LAYERS[1:2], REF_LAYERS[:1]
    mach = machine()
    console.print(f"[bold]enumerate_zoo[/] on {hw.name} ({hw_path}) — {mach['platform']}, "
                  f"{mach['cpus']} CPUs, Python {mach['python']}, numpy {mach['numpy']}")

    sections: list[Section] = []
    steps = [
        lambda: section_zoo(model_names, resolutions, hw),
        lambda: section_vector(hw, sample),
        lambda: section_gap(hw, gap_specs),
        lambda: section_referee(hw, n_cases, ref_specs),
    ]
    for step in steps:
        ts = time.perf_counter()
        try:
            sec = step()
        except BenchBug as bug:
            console.print(f"[bold red]BUG — benchmark stopped, nothing appended:[/] {bug}")
            return 1
        sections.append(sec)
        console.print(rich_table(sec))
        for n in sec.notes:
            console.print(f"  [dim]- {n}[/]")
        console.print(f"  [dim]({time.perf_counter() - ts:.1f} s)[/]\n")
    runtime = time.perf_counter() - t0
    console.print(f"Total runtime: {runtime:.1f} s")
    if args.no_append or args.quick:
        console.print("BENCHMARKS.md not touched" + (" (--quick)" if args.quick else ""))
    else:
        append_markdown(sections, command_line(), started, runtime, os.path.relpath(hw_path, ROOT)
                        if os.path.abspath(hw_path).startswith(str(ROOT)) else hw_path)
        console.print("Appended to BENCHMARKS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
