#!/usr/bin/env python
"""Benchmark (not a test): how far heuristic mappers are from the proven optimum.

Run with `.venv/bin/python bench/gap_zoo.py` from the repository root. For every model
and resolution, each distinct layer shape is solved to its optimum (`solve_layer`, full
space) and every baseline of `mapper.baselines` runs beside it, priced by the same
cost model (`compare_layer`); energies are then summed over all layers of the model.
Prints the tables and appends a dated section to BENCHMARKS.md (unless --no-append).

1. Model energy of the optimum and of each method, and each method's gap to it, with
   the optimum's DRAM traffic over the DRAM lower bound (mapper/bounds.py).
2. Random search: the model gap after 10, 100, ..., 100,000 draws (one seeded stream).
3. The two DRAM lower bounds: on-chip words, layers where the capacity bound binds.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timezone

from common import (ROOT, Section, add_common_args, append_section, command_line,  # noqa: E402
                    machine, rich_table)
from rich.console import Console  # noqa: E402

import mapper  # noqa: E402
from mapper import models  # noqa: E402
from mapper.baselines import CHECKPOINTS  # noqa: E402
from mapper.bounds import onchip_words  # noqa: E402
from mapper.hardware import find_hardware, load_hardware  # noqa: E402

MODELS = ["alexnet", "vgg16", "resnet50", "darknet19"]  # NN-Baton Fig. 13 and issue 4
METHODS = ["simba", "template", "random:100000", "greedy", "ws", "os", "is"]
WORKERS, TIME_LIMIT, SEED = 2, 60.0, 0
PAPER_SAVING = "22.5-44"  # NN-Baton abstract and Fig. 13: VGG-16, ResNet-50, DarkNet-19 at 224 and 512


def model_gap(model: str, res: int, hw) -> mapper.GapResult:
    """`mapper.gap`: the optimum and every method per distinct shape, for every layer."""
    return mapper.gap(mapper.load_workload(model, resolution=res), hw, baselines=METHODS, seed=SEED,
                      time_limit=TIME_LIMIT, workers=WORKERS)


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}"


def uj(pj: float | None) -> str:
    return "-" if pj is None else f"{pj / 1e6:,.2f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(ap, list(models.MODELS))
    ap.set_defaults(models=MODELS)
    args = ap.parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 260)
    started, t0 = datetime.now(timezone.utc), time.perf_counter()
    hw_path = str(find_hardware(args.hw))
    hw = load_hardware(hw_path)

    totals = Section("1. Model energy (µJ) of the optimum and of each method; gap to the optimum (%)",
                     ["model", "res", "shapes", "statuses", "optimum µJ", "DRAM / bound",
                      *[f"{m} µJ" for m in METHODS], *[f"{m} gap %" for m in METHODS],
                      "optimum's saving over simba %", "NN-Baton Fig. 13 saving %", "wall s"])
    curve = Section("2. Random search: model gap (%) after n draws (seed 0)",
                    ["model", "res", *[f"n={n:,}" for n in CHECKPOINTS]])
    bounds = Section("3. DRAM lower bounds: compulsory traffic vs the on-chip capacity (red-blue pebble) bound",
                     ["model", "res", "on-chip words", "layers", "capacity binds", "max capacity / compulsory",
                      "optimum DRAM / compulsory", "optimum DRAM / bound"])
    bad = 0
    for model in args.models:
        for res in args.resolutions:
            result = model_gap(model, res, hw)
            rows, wall, total = [r.row for r in result.layers], result.wall_s, result.totals
            ok = [r for r in rows if r["energy_pj"] is not None]
            bad += len(rows) - len(ok)
            opt, energy, dram = total["optimum_pj"], total["energies_pj"], total["dram_vs_bound"]
            statuses = ",".join(sorted({r["status"] for r in rows}))
            totals.rows.append([model, str(res), str(result.distinct_shapes),
                                statuses, uj(opt), f"{dram:.3f}x", *[uj(energy[m]) for m in METHODS],
                                *[pct(total["gaps"][m]) for m in METHODS],
                                pct(None if energy["simba"] is None else (energy["simba"] - opt) / energy["simba"]),
                                PAPER_SAVING, f"{wall:.1f}"])
            at = []
            for n in CHECKPOINTS:
                vals = [r["random_curve_pj"].get(n) for r in ok]
                at.append(None if any(v is None for v in vals) else (sum(vals) - opt) / opt)
            curve.rows.append([model, str(res), *[pct(g) for g in at]])
            compulsory = sum(r["dram_compulsory_bits"] for r in ok)
            bounds.rows.append([model, str(res), f"{onchip_words(hw):,}", str(len(ok)),
                                str(sum(r["dram_bound"] == "capacity" for r in ok)),
                                f"{max(r['dram_capacity_bits'] / r['dram_compulsory_bits'] for r in ok):.3f}",
                                f"{total['dram_bits'] / compulsory:.3f}x", f"{dram:.3f}x"])
            console.print(f"  {model}@{res}: {wall:.1f} s")
    totals.notes += [
        f"`mapper.gap(workload, hw, time_limit={TIME_LIMIT:g}, workers={WORKERS})`: the full-space optimum per "
        "distinct shape and every method beside it (the same `cost.py` prices all of them); "
        "energies summed over all layers of the model, duplicates included.",
        "Methods: template = NN-Baton enumeration (divisor tiles); random:100000 = uniform draws from the "
        "full space, seed 0; greedy = split/order rules + largest tiles that fit; ws / os / is = the named "
        "dataflows with their best template tiles (docs/cli.md). '-' = the method could not map some layer.",
        "DRAM / bound: the optimum's DRAM traffic over the larger, per layer, of the compulsory traffic and "
        "the on-chip capacity bound (section 3; docs/cost-model.md §8): no mapping can do with less.",
        "simba = Simba's weight-centric dataflow (docs/simba.md) with its best plane tile. Saving = "
        "(simba - optimum) / simba. NN-Baton gives only the range over its three models and two "
        "resolutions (the figure's bars are not in the text); docs/simba.md compares.",
    ]
    curve.notes.append("Best feasible energy after the first n draws of the random:100000 run, summed over "
                       "the model's layers; '-' = some layer had no feasible draw yet.")
    bounds.notes.append("Per layer (duplicates included): compulsory = every weight and input read once, every "
                        "output written once; capacity = the red-blue pebble bound for the package's on-chip "
                        "words (mapper/bounds.py). 'capacity binds' counts layers where it is the larger.")
    for sec in (totals, curve, bounds):
        console.print(rich_table(sec))
    runtime = time.perf_counter() - t0
    console.print(f"Total runtime: {runtime:.1f} s")
    if not args.no_append:
        mach = machine()
        rel = os.path.relpath(hw_path, ROOT) if os.path.abspath(hw_path).startswith(str(ROOT)) else hw_path
        append_section(f"gap_zoo — {started.strftime('%Y-%m-%d %H:%M')} UTC", [
            f"Command: `{command_line()}` (run from the repository root)",
            f"Machine: {mach['platform']}, {mach['cpus']} CPUs, Python {mach['python']}, "
            f"numpy {mach['numpy']}, ortools {mach['ortools']}",
            f"Hardware: `{rel}`; CP-SAT workers = {WORKERS}", f"Total runtime: {runtime:.1f} s"],
            [totals, curve, bounds])
        console.print("Appended to BENCHMARKS.md")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
