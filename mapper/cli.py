"""The `mapper` command: layers, evaluate, enumerate, solve, gap, codesign, zoo, store, hardware.

Bad input never shows a traceback: library errors carry a message for people
(file, field, fix), printed here with a non-zero exit code.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import sys
import time
from pathlib import Path

import yaml
from rich.console import Console

from mapper import __version__, baselines, batch, codesign, zoo_report
from mapper.cost import bandwidths, evaluate
from mapper.dataflows import NAMED, best_of
from mapper.hardware import HardwareError, find_hardware, hardware_to_dict, load_design_space, load_hardware
from mapper.hwspec import Hardware
from mapper.layer import Layer
from mapper.pareto import Limits
from mapper.report import (codesign_table, energy_str, expand, gap_csv, gap_markdown, gap_table, gap_totals_table,
                           layers_table, markdown_report, partitions_table, print_tables, results_table, size_str,
                           solve_table, store_csv, store_table, totals, zoo_table)
from mapper.solvers.enumerate import enumerate_layer, space_size
from mapper.store import Store, StoreError, solve_cached
from mapper.store import default_path as default_store_path
from mapper.store import warn as warn_store
from mapper.solvers.cpsat import default_workers
from mapper.space import (Mapping, check_structure, core_splits, loop_nest, package_splits,
                          partition_type)
from mapper.workload import (Workload, WorkloadError, batched, expand_groups, load_workload,
                             parse_layer_spec, unique_layers)


class UsageError(Exception):
    """A problem with the command line or a mapping file, explained for people."""


class Unmappable(Exception):
    """Some layer has no feasible mapping on the hardware (exit code 3)."""


def check_mappable(rows: list[dict], hw_path: str, fix: str) -> None:
    bad = [r for r in rows if not r.get("feasible", True)]
    if bad:
        names = ", ".join(sorted({r["name"] for r in bad})[:5])
        raise Unmappable(f"{len(bad)} layer(s) cannot be mapped on {hw_path} ({names}): "
                         f"{bad[0]['reason']}. Fix: {fix}")


HW_FIX = ("enlarge the named buffer in the hardware YAML (the tiles above are already the "
          "smallest the space allows).")
MAPPING_FIX = ("use smaller tiles in the mapping, or let `mapper enumerate` choose them.")


# ------------------------------------------------------------------ inputs
def get_workload(args) -> Workload:
    if args.layer and args.model:
        raise UsageError(f"give either a model ('{args.model}') or --layer, not both.")
    batch = getattr(args, "batch", 1)  # commands without --batch (zoo) map one image
    if args.layer:
        layers = [batched(lay, batch) for lay in expand_groups(parse_layer_spec(args.layer))]
        return Workload(model="layer", resolution=None, layers=layers, skipped={}, batch=batch)
    if not args.model:
        raise UsageError("give a model (a zoo name, a layer-list YAML or file.py:Class) "
                         "or a single layer with --layer \"K=64 C=64 H=56 W=56 R=3 S=3\".")
    return load_workload(args.model, args.resolution, batch)


def title(wl: Workload) -> str:
    name = f"{wl.model} @ {wl.resolution}" if wl.resolution else wl.model
    batch = max([wl.batch] + [lay.N for lay in wl.layers])  # a layer list may carry its own N
    return f"{name}, batch {batch}" if batch > 1 else name


def get_hardware(args) -> Hardware:
    return load_hardware(find_hardware(args.hw))


def load_mapping_file(path: str, layers: list[Layer], hw: Hardware) -> dict[str, Mapping]:
    """A mapping YAML: one mapping for every layer, or `layers: {name: mapping}` with an
    optional `default:` mapping for the layers not listed."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise UsageError(f"{path}: no such mapping file. Give a mapping YAML or one of the "
                         f"named dataflows: {', '.join(NAMED)}.") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{path}: cannot read the mapping file ({e.__class__.__name__}). "
                         "Give a YAML text file.") from None
    except yaml.YAMLError as e:
        raise UsageError(f"{path}: not valid YAML ({e}). Fix the syntax.") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a mapping (pkg_split, chip_tile, ...) or "
                         "`layers: {name: mapping}` at the top level.")
    per_layer, default = data, data  # a single mapping applies to every layer
    if "layers" in data or "default" in data:
        per_layer, default = data.get("layers") or {}, data.get("default")
        if not isinstance(per_layer, dict):
            raise UsageError(f"{path}: `layers:` must map layer names to mappings.")
        unknown = set(per_layer) - {L.name for L in layers}
        if unknown:
            raise UsageError(f"{path}: `layers:` names {sorted(unknown)[:5]} match no layer of the "
                             "model. Fix the names (see `mapper layers MODEL`).")
    else:
        per_layer = {}
    out = {}
    for L in layers:
        raw = per_layer.get(L.name, default)
        if raw is None:
            raise UsageError(f"{path}: no mapping for layer '{L.name}'. Add it under `layers:` "
                             "or give a `default:` mapping.")
        try:
            m = Mapping.from_dict(raw)
        except ValueError as e:
            raise UsageError(f"{path}: mapping for '{L.name}': {e}. Fields: pkg_split [k,h,w], "
                             "chip_tile [k,h,w], chip_order, core_split [k,h,w], core_tile [h,w], "
                             "core_order (see docs/cli.md).") from None
        why = check_structure(m, L, hw)
        if why:
            raise UsageError(f"{path}: mapping for '{L.name}' is invalid: {why}.")
        out[L.name] = m
    return out


# ------------------------------------------------------------------ output
def emit(args, obj: dict, tables: list, report_title: str, rows: list[dict], total: dict) -> None:
    if args.json:
        print(json.dumps(obj, indent=1))
    else:
        print_tables(*tables)
        print(summary_line(total))
    if getattr(args, "report", None):
        header = {k: obj[k] for k in ("model", "resolution", "hardware", "space", "mapping")
                  if k in obj}
        write_report(args.report, report_title, header, rows, total)
        if not args.json:
            print(f"report written to {args.report}")


def write_report(path_text: str, title_: str, header: dict, rows: list[dict], total: dict) -> None:
    write_text(path_text, "--report", markdown_report(title_, header, rows, total))


def write_text(path_text: str, flag: str, text: str) -> None:
    """Write an output file named by a flag; a failure is a message, not a traceback."""
    path = Path(path_text)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    except OSError as e:
        raise UsageError(f"{flag} {path}: cannot write the file ({e.strerror}). "
                         "Give a writable file path.") from None


def summary_line(total: dict) -> str:
    parts = [f"total energy {energy_str(total['total_energy_pj'])}",
             f"{total['total_cycles']:,} cycles"]
    if total["total_macs"]:
        parts.append(f"{total['total_energy_pj'] / total['total_macs']:.3f} pJ/MAC")
    if total.get("infeasible_layers"):
        parts.append(f"{total['infeasible_layers']} layer(s) INFEASIBLE")
    for key, label in (("distinct_shapes", "distinct shapes"), ("points_evaluated", "points")):
        if key in total:
            parts.append(f"{total[key]:,} {label}")
    if total.get("store_hits"):
        parts.append(f"{total['store_hits']:,} from the store")
    parts.append(f"{total['wall_s']} s")
    return " | ".join(parts)


def open_store(args) -> Store | None:
    """The solutions store of --store (default: $MAPPER_STORE or the user cache), or
    None with --no-store."""
    if getattr(args, "no_store", False):
        return None
    try:
        st = Store(args.store or default_store_path())
    except StoreError as e:
        raise UsageError(str(e)) from None
    warn_store(st)
    return st


# ------------------------------------------------------------------ commands
def cmd_layers(args) -> int:
    wl = get_workload(args)
    layers = [dict(L.to_dict(), weights=L.weights, inputs=L.inputs, outputs=L.outputs)
              for L in wl.layers]
    obj = {"model": wl.model, "resolution": wl.resolution, "layers": layers,
           "total_macs": wl.total_macs, "distinct_shapes": len(unique_layers(wl.layers)),
           "skipped_ops": wl.skipped}
    if args.json:
        print(json.dumps(obj, indent=1))
    else:
        print_tables(layers_table(title(wl), wl.layers))
        print(f"total MACs: {wl.total_macs:,}   distinct shapes: {obj['distinct_shapes']}   "
              f"skipped ops: {wl.skipped}")
    return 0


def cmd_evaluate(args) -> int:
    wl, hw = get_workload(args), get_hardware(args)
    t0 = time.perf_counter()
    if args.mapping in NAMED:
        unique = unique_layers(wl.layers)
        rows = []
        for L, _ in unique:
            res = best_of(args.mapping, L, hw)
            row = res.to_dict()
            if res.best is None:
                row["reason"] = f"no mapping of the '{args.mapping}' dataflow fits: {res.reason}"
            rows.append(row)
        rows = expand(unique, rows, wl.layers)
        source = f"named dataflow '{args.mapping}': {NAMED[args.mapping][0]}; best template tiles"
        fix = HW_FIX
    else:
        mappings = load_mapping_file(args.mapping, wl.layers, hw)
        cache: dict[tuple, dict] = {}  # same shape and same mapping: priced once
        rows = []
        for L in wl.layers:
            key = (L.shape_key(), mappings[L.name])
            if key not in cache:
                cache[key] = evaluate(L, hw, mappings[L.name]).to_dict()
            rows.append(dict(cache[key], name=L.name))
        source = f"mapping file {args.mapping}"
        fix = MAPPING_FIX
    total = totals(rows) | {"wall_s": round(time.perf_counter() - t0, 3)}
    obj = {"model": wl.model, "resolution": wl.resolution, "hardware": hw.name,
           "mapping": source, "layers": rows, **total}
    emit(args, obj, [results_table(f"{title(wl)} on {hw.name} — {source}", rows)],
         f"Evaluation of {wl.model} on {hw.name} ({source})", rows, total)
    check_mappable(rows, args.hw, fix)
    return 0


def fixed_choices_from(args, hw: Hardware) -> dict[str, str]:
    """The --package/--chiplet/--chip-order/--core-order flags, checked against the hardware."""
    fixed = {k: v for k, v in (("package", args.package), ("chiplet", args.chiplet),
                               ("chip_order", args.chip_order), ("core_order", args.core_order))
             if v}
    check_fixable(fixed, hw, args.hw)
    return fixed


def check_fixable(fixed: dict, hw: Hardware, hw_path: str) -> None:
    """A fixed partition type the hardware cannot have is a usage error, not a shortage."""
    for key, splits, units in (("package", package_splits(hw.n_chiplets), f"{hw.n_chiplets} chiplet(s)"),
                               ("chiplet", core_splits(hw.n_cores), f"{hw.n_cores} core(s) per chiplet")):
        possible = sorted({partition_type(sp) for sp in splits})
        if key in fixed and fixed[key] not in possible:
            raise UsageError(f"--{key} {fixed[key]}: {hw_path} has {units}, so the {key} split can "
                             f"only be {'/'.join(possible)}. Drop --{key} or pick one of those.")


def positive_int(text: str) -> int:
    v = int(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return v


def positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = -1.0
    if not v > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got '{text}'")
    return v


def seed_int(text: str) -> int:
    v = int(text)
    if v < 0:
        raise argparse.ArgumentTypeError(f"a seed is a whole number >= 0, got {text}")
    return v


def cmd_enumerate(args) -> int:
    wl, hw = get_workload(args), get_hardware(args)
    unique = unique_layers(wl.layers)
    fixed = fixed_choices_from(args, hw)
    if args.space == "full":
        for L, _ in unique:
            n = space_size(L, hw, "full")
            if n > args.max_points:
                raise UsageError(
                    f"the full space of layer '{L.name}' has {n:,} points, more than "
                    f"--max-points {args.max_points:,}. Use --space template, a smaller layer, or "
                    "raise --max-points (enumeration evaluates about 2 million points/s).")
    t0 = time.perf_counter()
    per_shape, points = [], 0
    for L, _ in unique:
        res = enumerate_layer(L, hw, args.space, fixed=fixed)
        points += res.points
        per_shape.append(res.to_dict())
    rows = expand(unique, per_shape, wl.layers)
    total = totals(rows) | {"distinct_shapes": len(unique), "points_evaluated": points,
                            "wall_s": round(time.perf_counter() - t0, 3)}
    obj = {"model": wl.model, "resolution": wl.resolution, "hardware": hw.name,
           "space": args.space, "fixed": fixed, "layers": rows, **total}
    tables = [results_table(f"{title(wl)} on {hw.name} — exhaustive optimum ({args.space} space)",
                            rows)]
    if args.partitions:
        tables.append(partitions_table("best energy per spatial pair (package,chiplet), "
                                       "relative to the layer's best", rows))
    emit(args, obj, tables, f"Exhaustive optimum of {wl.model} on {hw.name}", rows, total)
    check_mappable(rows, args.hw, HW_FIX)
    return 0


def cmd_solve(args) -> int:
    wl, hw = get_workload(args), get_hardware(args)
    unique = unique_layers(wl.layers)
    fixed = fixed_choices_from(args, hw)
    t0 = time.perf_counter()
    per_shape = []
    store = open_store(args)
    hits = 0
    for L, _ in unique:
        res = solve_cached(store, L, hw, args.space, time_limit=args.time_limit, workers=args.workers,
                           fixed=fixed, objective=args.objective, warm_start=not args.no_warm_start)
        hits += bool(res.stats.get("cached"))
        row = res.to_dict()
        if res.best is not None:
            row["loop_nest"] = loop_nest(res.best.mapping, L, hw)
        per_shape.append(row)
    rows = expand(unique, per_shape, wl.layers)
    statuses = sorted({r["status"] for r in rows})
    total = totals(rows) | {"distinct_shapes": len(unique), "statuses": statuses, "store_hits": hits,
                            "wall_s": round(time.perf_counter() - t0, 3)}
    if args.objective == "energy":
        total["total_bound_pj"] = float(sum(r["bound_pj"] or 0 for r in rows if r.get("feasible", True)))
    obj = {"model": wl.model, "resolution": wl.resolution, "hardware": hw.name, "space": args.space,
           "objective": args.objective, "fixed": fixed, "layers": rows, **total}
    if args.yaml:
        print(yaml.safe_dump(obj, sort_keys=False))
    elif args.json:
        print(json.dumps(obj, indent=1))
    else:
        print_tables(solve_table(f"{title(wl)} on {hw.name} — CP-SAT, {args.objective}, "
                                 f"{args.space} space", rows))
        if args.loop_nest:
            for r in per_shape:
                if "loop_nest" in r:
                    print(f"\n{r['name']}: {r['mapping_text']}\n{r['loop_nest']}")
        print(summary_line(total) + f" | statuses: {', '.join(statuses)}")
    if args.report:
        write_report(args.report, f"CP-SAT optimum of {wl.model} on {hw.name}",
                     {k: obj[k] for k in ("model", "resolution", "hardware", "space", "objective")},
                     rows, total)
    check_mappable(rows, args.hw, HW_FIX)
    return 0


def write_gap_plots(out: Path, name: str, rows: list[dict], total: dict, method_list: list[str],
                    quiet: bool) -> None:
    """Per-layer breakdown bars (optimum beside Simba, else the first method) and the
    model totals, as PNG and SVG in `out`."""
    from mapper import plots  # matplotlib loads only when plots are asked for
    versus = "simba" if "simba" in method_list else method_list[0]
    try:
        paths = plots.layer_breakdowns(rows, versus, f"{name}: energy breakdown per layer",
                                       out / "gap-layers")
        paths += plots.model_totals(total, f"{name}\nmodel energy of each method", out / "gap-totals")
    except OSError as e:
        raise UsageError(f"--plots {out}: cannot write the figures ({e.strerror}). "
                         "Give a writable directory.") from None
    if not quiet:
        print("figures: " + ", ".join(str(p) for p in paths))


def cmd_gap(args) -> int:
    wl, hw = get_workload(args), get_hardware(args)
    try:
        method_list = baselines.methods(args.baselines)
    except ValueError as e:
        raise UsageError(f"--baselines: {e}") from None
    unique = unique_layers(wl.layers)
    store = open_store(args)
    t0 = time.perf_counter()
    per_shape = []
    for L, _ in unique:
        opt = solve_cached(store, L, hw, "full", time_limit=args.time_limit, workers=args.workers)
        try:
            per_shape.append(baselines.compare_layer(L, hw, method_list, opt, args.seed))
        except ValueError as e:  # a method beat a proven optimum
            print(f"mapper gap: error: {e}", file=sys.stderr)
            return 1
    rows = expand(unique, per_shape, wl.layers)
    total = baselines.gap_totals(rows, method_list) | {"distinct_shapes": len(unique),
                                             "wall_s": round(time.perf_counter() - t0, 3)}
    obj = {"model": wl.model, "resolution": wl.resolution, "hardware": hw.name,
           "baselines": method_list, "seed": args.seed, "layers": rows, "totals": total}
    name = f"{title(wl)} on {hw.name}"
    if args.json:
        print(json.dumps(obj, indent=1))
    else:
        print_tables(gap_table(f"{name} — gap of each method to the proven optimum", rows, method_list),
                     gap_totals_table(f"{name} — model totals", total))
        print(f"{total['distinct_shapes']} distinct shapes | {total['wall_s']} s")
    header = {k: obj[k] for k in ("model", "resolution", "hardware", "seed")}
    if args.md:
        write_text(args.md, "--md", gap_markdown(f"Optimality gaps: {name}", header, rows, total, method_list))
    if args.csv:
        write_text(args.csv, "--csv", gap_csv(rows, method_list))
    if args.plots:
        write_gap_plots(Path(args.plots), name, per_shape, total, method_list, quiet=args.json)
    if any(r["energy_pj"] is None for r in rows):
        bad = next(r for r in rows if r["energy_pj"] is None)
        raise Unmappable(f"{bad['name']} cannot be mapped on {args.hw}: {bad['reason']}. Fix: {HW_FIX}")
    return 0


def codesign_layers(args) -> tuple[list[Layer], str]:
    """The layers of every model named (or of --layer), for one workload total."""
    if args.layer and args.models:
        raise UsageError(f"give models ({' '.join(args.models)}) or --layer, not both.")
    if args.layer:
        return expand_groups(parse_layer_spec(args.layer)), "layer"
    if not args.models:
        raise UsageError("give one or more models (zoo names, layer-list YAMLs or file.py:Class), "
                         "e.g. `mapper codesign resnet50 vgg16 --macs 2048`, or --layer.")
    layers = []
    for name in args.models:
        wl = load_workload(name, args.resolution)
        layers += [dataclasses.replace(L, name=f"{wl.model}/{L.name}") for L in wl.layers]
    return layers, " + ".join(args.models) + f" @ {args.resolution}"


def design_row(d: codesign.Design, status: str) -> dict:
    return d.to_dict() | {"status": status}


def codesign_hardware(d: codesign.Design, tech) -> Hardware:
    return codesign.make_hardware(d.alloc, d.sizes, tech, codesign.DEFAULT_BITS)


def cmd_codesign(args) -> int:
    layers, label = codesign_layers(args)
    space = load_design_space(args.space)
    if space["tech"] is None:
        raise UsageError(f"{space['path']}: the design space names no technology. Add "
                         "`tech: tech-16nm.yaml` (a technology YAML beside it) at the top level.")
    try:
        steps = codesign.proportional_sizes if args.memory == "proportional" else codesign.steps_of(space)
    except ValueError as e:
        raise UsageError(str(e)) from None
    tech = space["tech"]
    if not codesign.allocations(space["compute"], args.macs):
        c = space["compute"]
        raise UsageError(f"--macs {args.macs}: no (chiplets, cores, lanes, vector) of {space['path']} "
                         f"multiplies to {args.macs} (chiplets {c['chiplets']}, cores {c['cores']}, lanes "
                         f"{c['lanes']}, vector {c['vector']}). Give a budget they can make, e.g. 2048.")
    status_line = None if args.json else Console(stderr=True).status("co-design: starting")
    priced = 0

    def progress(d: codesign.Design) -> None:
        nonlocal priced
        priced += 1
        if status_line is not None:
            status_line.update(f"co-design: {priced} designs priced, last {d.alloc.label}")

    with status_line or contextlib.nullcontext():
        res = codesign.codesign(layers, args.macs, space["compute"], steps, tech, area_mm2=args.chiplet_area,
                                objective=args.objective, space=args.mapping_space, time_limit=args.time_limit,
                                layer_time_limit=args.layer_time_limit, workers=args.workers, on_design=progress,
                                limits=codesign_limits(args))
    per_count = [design_row(d, res.count_status[n]) for n, d in res.per_chiplet_count.items()]
    best = None
    if res.best is not None:
        best = design_row(res.best, res.status) | {
            "hardware": hardware_to_dict(codesign_hardware(res.best, tech)), "bound": res.bound}
    obj = {"workload": label, "macs": args.macs, "chiplet_area_mm2": args.chiplet_area,
           "objective": args.objective, "memory": args.memory, "mapping_space": args.mapping_space,
           "design_space": space["path"], "limits": {"max_energy_pj": args.max_energy,
                                                     "max_latency_cycles": args.max_latency,
                                                     "max_edp": args.max_edp},
           "status": res.status, "note": res.note, "best": best, "per_chiplet_count": per_count,
           "points": res.points, "solves": res.solves, "wall_s": round(res.wall_s, 3)}
    if args.objective == "pareto":
        obj["front"] = [design_row(d, res.status) for d in res.front]
    if args.out:
        write_codesign_outputs(Path(args.out), res, tech, obj, quiet=args.json)
    if args.json:
        print(json.dumps(obj, indent=1))
    else:
        print_codesign(obj, res, label)
    if res.note.startswith("interrupted"):
        return 130
    if res.best is None and res.status != "INFEASIBLE":
        print(f"mapper codesign: no design was fully evaluated ({res.note}). Fix: raise --time-limit "
              "(or --layer-time-limit).", file=sys.stderr)
        return 1
    if res.best is None:
        limited = res.points["over_limits"] > 0
        raise Unmappable(f"no design of {space['path']} with {args.macs} MACs"
                         + (f" and a chiplet area of at most {args.chiplet_area} mm²" if args.chiplet_area else "")
                         + f" maps every layer: {res.note}. Fix: "
                         + ("loosen --max-energy / --max-latency / --max-edp, or " if limited else "")
                         + "raise --chiplet-area, widen the memory steps in the design space, or change --macs.")
    return 0


def codesign_limits(args) -> Limits:
    """The workload limits in the search's integer units (fJ, cycles, fJ x cycles); a
    total meets a limit in pJ exactly when its fJ figure is at most floor(limit x 1000)."""
    def fj(pj: float | None) -> int | None:
        return None if pj is None else math.floor(pj * 1000)
    return Limits(energy_fj=fj(args.max_energy), cycles=args.max_latency, edp=fj(args.max_edp))


def objective_str(value: int | None, objective: str) -> str:
    """A value in the objective's integer units (fJ, cycles, fJ x cycles) for people."""
    if value is None:
        return "none"
    return {"energy": energy_str(value / 1000), "pareto": energy_str(value / 1000), "latency": f"{value:,} cycles",
            "edp": f"{value / 1000:.4g} pJ·cycles"}[objective]


def print_codesign(obj: dict, res, label: str) -> None:
    area = f", chiplet area <= {obj['chiplet_area_mm2']} mm²" if obj["chiplet_area_mm2"] else ""
    lim = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in obj["limits"].items() if v is not None)
    title = f"{label}: {obj['macs']} MACs{area}" + (f", {lim}" if lim else "")
    if obj["objective"] == "pareto":
        print_tables(codesign_table(title, obj["front"], "pareto"))
    print_tables(codesign_table(title, obj["per_chiplet_count"],
                                "energy" if obj["objective"] == "pareto" else obj["objective"]))
    b = obj["best"]
    if b is not None:
        m = b["memory_bytes"]
        which = "least energy on the front" if obj["objective"] == "pareto" else obj["objective"]
        print(f"best ({which}, {res.status}): {b['allocation']} (chiplets-cores-lanes-vector), "
              + ", ".join(f"{k.upper().replace('_', '-')} {size_str(v)}" for k, v in m.items())
              + f" | {energy_str(b['energy_pj'])}, {b['latency_cycles']:,} cycles, {b['area_mm2']:.3f} mm²"
              + ("" if res.status == "OPTIMAL" else f" | bound {objective_str(b['bound'], obj['objective'])}"))
    p = obj["points"]
    print(f"designs: {p['considered']:,} considered ({p['allocations']} compute allocations), "
          f"{p['invalid_rules']:,} invalid, {p['over_area']:,} over the area, {p['valid']:,} valid: "
          f"{p['evaluated']:,} evaluated, {p['pruned']:,} pruned by bounds, {p['infeasible']:,} unmappable"
          + (f", {p['over_limits']:,} over the limits" if p["over_limits"] else "")
          + (f", {p['unresolved']:,} unresolved" if p["unresolved"] else "")
          + f" | {obj['solves']:,} layer solves, {obj['wall_s']} s" + (f" | {res.note}" if res.note else ""))


def write_codesign_outputs(out: Path, res, tech, obj: dict, quiet: bool) -> None:
    """best.yaml (and best-<n>chiplets.yaml) that `mapper solve --hw` reads unchanged, the
    evaluated designs as JSON, and their scatter (PNG and SVG)."""
    from mapper import plots  # matplotlib loads only when plots are asked for
    try:
        out.mkdir(parents=True, exist_ok=True)
        files = []
        for n, d in res.per_chiplet_count.items():
            files.append(out / f"best-{n}chiplets.yaml")
            files[-1].write_text(hardware_yaml(codesign_hardware(d, tech), obj))
        if res.best is not None:
            files.append(out / "best.yaml")
            files[-1].write_text(hardware_yaml(codesign_hardware(res.best, tech), obj))
        rows = [d.to_dict() for d in res.designs]
        files.append(out / "designs.json")
        files[-1].write_text(json.dumps(rows, indent=1))
        if rows:
            files += plots.design_scatter(rows, obj["best"], f"{obj['workload']}: every evaluated design "
                                          f"({obj['macs']} MACs)", out / "designs", obj.get("front"))
    except OSError as e:
        raise UsageError(f"--out {out}: cannot write ({e.strerror}). Give a writable directory.") from None
    if not quiet:
        print("written: " + ", ".join(str(f) for f in files))


def hardware_yaml(hw: Hardware, obj: dict) -> str:
    head = (f"# Chosen by `mapper codesign` for {obj['workload']} ({obj['macs']} MACs, objective "
            f"{obj['objective']}, chiplet area <= {obj['chiplet_area_mm2']} mm²).\n"
            "# Read it with `mapper solve MODEL --hw THIS_FILE`.\n")
    return head + yaml.safe_dump(hardware_to_dict(hw), sort_keys=False)


def zoo_models(args) -> list[str]:
    import models
    if args.all and args.models:
        raise UsageError(f"give model names ({' '.join(args.models)}) or --all, not both.")
    if args.all:
        return list(models.ZOO)
    if not args.models:
        raise UsageError(f"give one or more models, e.g. `mapper zoo alexnet vgg16 --hw nnbaton-case-study`, "
                         f"or --all (the bundled zoo: {', '.join(models.ZOO)}).")
    return args.models


def cmd_zoo(args) -> int:
    t0 = time.perf_counter()
    workloads = [load_workload(m, r) for m in zoo_models(args) for r in args.resolution]
    hardware = [(Path(find_hardware(h)).stem, load_hardware(find_hardware(h))) for h in args.hw]
    entries, jobs = batch.plan(workloads, hardware, args.space, args.objective, args.time_limit)
    store = open_store(args) or Store(":memory:")

    def backend():
        if args.scheduler:
            try:
                return batch.DaskBackend(args.scheduler)
            except (OSError, TimeoutError) as e:
                raise UsageError(f"--scheduler {args.scheduler}: cannot reach the Dask scheduler ({e}). "
                                 "Start one (`dask scheduler`) or drop --scheduler to solve locally.") from None
        return batch.LocalBackend(args.workers or default_workers())

    quiet = args.quiet or args.json
    bar = None if quiet else ZooProgress()
    try:
        with bar or contextlib.nullcontext():
            results, prog = batch.run(jobs, store, backend, bar.update if bar else None)
    except KeyboardInterrupt:
        print(f"interrupted: every finished solve is in the store ({store.path}); run the same command "
              "again to continue", file=sys.stderr)
        return 130
    finally:
        warn_store(store)
    layer_rows = [zoo_report.entry_rows(e, results) for e in entries]
    summary = [zoo_report.summary_row(e, total) for e, (_, total) in zip(entries, layer_rows)]
    obj = {"layers_total": sum(len(e.workload.layers) for e in entries), "distinct": len(jobs),
           "solved": prog.solved, "cache_hits": prog.cache_hits, "wall_s": round(time.perf_counter() - t0, 3),
           "store": str(store.path), "models": summary}
    if args.out:
        try:
            files = zoo_report.write_all(Path(args.out), entries, results,
                                         zoo_report.tool_header(args.space, args.objective, args.time_limit),
                                         args.space, args.objective)
        except OSError as e:
            raise UsageError(f"--out {args.out}: cannot write ({e.strerror}). Give a writable directory.") from None
        obj["files"] = len(files)
    if args.json:
        print(json.dumps(obj, indent=1))
    else:
        print_tables(zoo_table(summary))
        print(f"{obj['layers_total']:,} layers, {obj['distinct']:,} distinct solves: {obj['solved']:,} solved, "
              f"{obj['cache_hits']:,} from the store ({obj['store']}) | {obj['wall_s']} s"
              + (f" | {obj['files']} files in {args.out}" if args.out else ""))
    bad = [r for r in summary if r["infeasible_layers"]]
    if bad:
        names = ", ".join(f"{r['model']}@{r['resolution']} on {r['hardware']}" for r in bad)
        raise Unmappable(f"{names}: some layers have no mapping — none fits, or none was found within "
                         f"--time-limit (the reports give each layer's reason). Fix: {HW_FIX} Or raise --time-limit.")
    return 0


class ZooProgress:
    """A rich progress bar: solves done/total, store hits, worst proven gap, ETA."""

    def __init__(self):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
        self.progress = Progress(TextColumn("zoo"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[hits]} from the store, worst gap {task.fields[gap]}"),
                                 TimeRemainingColumn(), console=Console(stderr=True), transient=True)
        self.task = None

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def update(self, p: batch.Progress) -> None:
        if self.task is None:
            self.task = self.progress.add_task("zoo", total=p.total, hits=0, gap="0%")
        self.progress.update(self.task, completed=p.done, hits=p.cache_hits, gap=f"{100 * p.worst_gap:.2f}%")


def cmd_store(args) -> int:
    st = open_store(args)
    rows = st.rows()
    if args.action == "ls":
        if args.json:
            print(json.dumps(rows, indent=1))
            return 0
        print_tables(store_table(rows, st.path))
    elif args.action == "show":
        hits = [r for r in rows if args.key and r["key"].startswith(args.key)]
        if len(hits) != 1:
            raise UsageError(f"`mapper store show KEY`: {'no' if not hits else len(hits)} entries match "
                             f"{args.key!r}. Give a key (or a unique prefix) from `mapper store ls`.")
        print(json.dumps(hits[0], indent=1))
    elif args.action == "export":
        text = json.dumps(rows, indent=1) + "\n" if args.format == "json" else store_csv(rows)
        if args.out:
            write_text(args.out, "--out", text)
        else:
            print(text, end="")
    else:
        n = st.prune(everything=args.all)
        print(f"pruned {n} entr{'y' if n == 1 else 'ies'} from {st.path}")
    return 0


def cmd_hardware(args) -> int:
    """The spec as YAML that `load_hardware` accepts back, derived figures as comments."""
    hw = get_hardware(args)
    derived = {"chiplet_area_mm2": round(hw.chiplet_area_mm2(), 6),
               "package_area_mm2": round(hw.package_area_mm2(), 6), "macs": hw.macs,
               "frequency_mhz": hw.frequency_mhz, "energy_fj_per_bit": hw.energy_fj_per_bit(),
               "package_bits_per_cycle": {k: round(num / den, 6) for k, (num, den) in bandwidths(hw).items()}}
    if args.json:
        print(json.dumps({"hardware": hardware_to_dict(hw), "derived": derived}, indent=1))
    else:
        print(yaml.safe_dump(hardware_to_dict(hw), sort_keys=False), end="")
        print("\n".join("# " + line for line in yaml.safe_dump(derived, sort_keys=False).splitlines()))
    return 0


# ------------------------------------------------------------------ parser
def store_flags(sp) -> None:
    sp.add_argument("--store", help="the solutions store file (default: $MAPPER_STORE or "
                    "~/.cache/mapper/solutions.sqlite)")
    sp.add_argument("--no-store", action="store_true", help="neither read nor write the store")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mapper", description=(
        "Exact mapper for multichip DNN accelerators (NN-Baton C3P cost model)."))
    p.add_argument("--version", action="version", version=f"mapper {__version__}")
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    def common(sp, hw: bool):
        sp.add_argument("model", nargs="?", help="zoo name (alexnet, vgg16, resnet50, darknet19, "
                        "mobilenetv2, bnn_mnist), a layer-list YAML, or file.py:Class")
        sp.add_argument("--layer", help='one layer instead of a model, e.g. '
                        '"K=64 C=64 H=56 W=56 R=3 S=3 stride=1" (H, W: output plane)')
        sp.add_argument("--resolution", type=int, default=224, help="input resolution (default 224)")
        sp.add_argument("--batch", type=positive_int, default=1,
                        help="images per inference: multiplies N of every conv layer (an FC layer's "
                        "rows, H) (default 1)")
        if hw:
            sp.add_argument("--hw", required=True, help="hardware YAML (path or bundled name)")
        sp.add_argument("--json", action="store_true", help="print one JSON object, nothing else")

    sp = sub.add_parser("layers", help="the extracted layers of a model")
    common(sp, hw=False)
    sp.set_defaults(func=cmd_layers)

    sp = sub.add_parser("evaluate", help="cost of a given mapping or named dataflow")
    common(sp, hw=True)
    sp.add_argument("--mapping", required=True,
                    help=f"a mapping YAML, or a named dataflow: {', '.join(NAMED)}")
    sp.add_argument("--report", help="also write a Markdown report to this path")
    sp.set_defaults(func=cmd_evaluate)

    sp = sub.add_parser("enumerate", help="exhaustive optimum of every layer")
    common(sp, hw=True)
    sp.add_argument("--space", choices=("template", "full"), default="template",
                    help="template: divisor tiles (NN-Baton); full: every tile size (small layers)")
    sp.add_argument("--package", choices=("C", "P"), help="fix the package partition")
    sp.add_argument("--chiplet", choices=("C", "P", "H"), help="fix the chiplet partition")
    sp.add_argument("--chip-order", choices=("channel", "plane"), help="fix the chiplet loop order")
    sp.add_argument("--core-order", choices=("channel", "plane"), help="fix the core loop order")
    sp.add_argument("--max-points", type=positive_int, default=50_000_000,
                    help="refuse --space full beyond this many points per layer (default 50M)")
    sp.add_argument("--partitions", action="store_true",
                    help="also show the best energy of each of the six spatial pairs (Fig. 11)")
    sp.add_argument("--report", help="also write a Markdown report to this path")
    sp.set_defaults(func=cmd_enumerate)

    sp = sub.add_parser("solve", help="the exact optimum of every layer with CP-SAT (proof or bound)")
    common(sp, hw=True)
    sp.add_argument("--space", choices=("full", "template"), default="full",
                    help="full: every tile size (default); template: divisor tiles, as enumerate")
    sp.add_argument("--objective", choices=("energy", "latency", "edp"), default="energy",
                    help="energy (fJ), latency (cycles) or edp (energy x cycles, exact Pareto walk)")
    sp.add_argument("--time-limit", type=float, default=60.0,
                    help="seconds per layer; at the limit the incumbent and its bound are reported")
    sp.add_argument("--workers", type=positive_int, default=None,
                    help="CP-SAT workers (default: $MAPPER_WORKERS or the core count)")
    sp.add_argument("--package", choices=("C", "P"), help="fix the package partition")
    sp.add_argument("--chiplet", choices=("C", "P", "H"), help="fix the chiplet partition")
    sp.add_argument("--chip-order", choices=("channel", "plane"), help="fix the chiplet loop order")
    sp.add_argument("--core-order", choices=("channel", "plane"), help="fix the core loop order")
    sp.add_argument("--no-warm-start", action="store_true",
                    help="do not seed CP-SAT with the template optimum (slower; for comparisons)")
    sp.add_argument("--loop-nest", action="store_true", help="also print each mapping as a loop nest")
    sp.add_argument("--report", help="also write a Markdown report to this path")
    sp.add_argument("--yaml", action="store_true", help="print one YAML document, nothing else")
    store_flags(sp)
    sp.set_defaults(func=cmd_solve)

    sp = sub.add_parser("gap", help="how far heuristic mappers are from the proven optimum")
    common(sp, hw=True)
    sp.add_argument("--baselines", default="simba,template,random:10000,greedy,ws,os,is",
                    help="comma-separated: simba, template, random:N (budget), greedy, ws, os, is "
                    "(default: all, random with 10,000 draws)")
    sp.add_argument("--seed", type=seed_int, default=0, help="seed of the random search (default 0)")
    sp.add_argument("--time-limit", type=float, default=60.0,
                    help="seconds per layer for the optimum; a FEASIBLE optimum carries its bound")
    sp.add_argument("--workers", type=positive_int, default=None,
                    help="CP-SAT workers (default: $MAPPER_WORKERS or the core count)")
    sp.add_argument("--md", help="also write the report as Markdown to this path")
    sp.add_argument("--csv", help="also write one row per layer and method as CSV to this path")
    sp.add_argument("--plots", metavar="DIR", help="also write figures (PNG and SVG) to this directory")
    store_flags(sp)
    sp.set_defaults(func=cmd_gap)

    sp = sub.add_parser("codesign", help="the hardware (compute and buffer sizes) that minimises "
                        "energy, latency or EDP under a MAC and chiplet-area budget")
    sp.add_argument("models", nargs="*", help="one or more models (zoo names, layer-list YAMLs, file.py:Class); "
                    "their layers are optimised together")
    sp.add_argument("--layer", help="one layer instead of models, as in `solve`")
    sp.add_argument("--resolution", type=int, default=224, help="input resolution (default 224)")
    sp.add_argument("--macs", type=positive_int, required=True, help="MAC budget: N_P x N_C x L x P")
    sp.add_argument("--chiplet-area", type=positive_float, help="chiplet area budget in mm² (default: none)")
    sp.add_argument("--objective", choices=codesign.OBJECTIVES, default="energy",
                    help="energy (default), latency, edp, or pareto: every design and mapping no other "
                    "is as good as in energy, latency and chiplet area (docs/codesign.md)")
    sp.add_argument("--max-energy", type=positive_float, metavar="PJ",
                    help="only designs whose workload energy can be at most this (pJ)")
    sp.add_argument("--max-latency", type=positive_int, metavar="CYCLES",
                    help="only designs whose workload latency can be at most this (cycles)")
    sp.add_argument("--max-edp", type=positive_float, metavar="PJ_CYCLES",
                    help="only designs whose workload EDP can be at most this (pJ x cycles)")
    sp.add_argument("--space", default="table2",
                    help="design space YAML (default: hardware/table2.yaml, NN-Baton Table II)")
    sp.add_argument("--memory", choices=("grid", "proportional"), default="grid",
                    help="grid: search the buffer sizes of the design space (default); proportional: "
                    "the case study's bytes per MAC for every allocation (NN-Baton Fig. 14's setup)")
    sp.add_argument("--mapping-space", choices=("full", "template"), default="full",
                    help="mappings each design is solved over (default full, as `solve`)")
    sp.add_argument("--time-limit", type=float, help="seconds for the whole search; then the best design "
                    "so far and a bound (default: run to the proof)")
    sp.add_argument("--layer-time-limit", type=float, default=60.0, help="seconds per layer solve (default 60)")
    sp.add_argument("--workers", type=positive_int, default=None,
                    help="CP-SAT workers (default: $MAPPER_WORKERS or the core count)")
    sp.add_argument("--out", metavar="DIR", help="write best.yaml, best-<n>chiplets.yaml, designs.json and "
                    "the designs scatter (PNG, SVG) here")
    sp.add_argument("--json", action="store_true", help="print one JSON object, nothing else")
    sp.set_defaults(func=cmd_codesign)

    sp = sub.add_parser("zoo", help="solve every layer of many models x resolutions x hardware, "
                        "each distinct shape once, kept in the solutions store")
    sp.add_argument("models", nargs="*", help="zoo names, layer-list YAMLs or file.py:Class")
    sp.add_argument("--all", action="store_true", help="every model of the bundled zoo")
    sp.add_argument("--hw", nargs="+", required=True, help="one or more hardware YAMLs (paths or bundled names)")
    sp.add_argument("--resolution", type=positive_int, nargs="+", default=[224],
                    help="one or more input resolutions (default 224)")
    sp.add_argument("--space", choices=("full", "template"), default="full", help="mapping space (default full)")
    sp.add_argument("--objective", choices=("energy", "latency", "edp"), default="energy")
    sp.add_argument("--time-limit", type=float, default=60.0, help="seconds per layer solve (default 60)")
    sp.add_argument("--workers", type=positive_int, default=None,
                    help="solves side by side, one CP-SAT worker each (default: $MAPPER_WORKERS or the core count)")
    sp.add_argument("--scheduler", metavar="ADDRESS",
                    help="a Dask scheduler (tcp://host:8786): the solves run on its cluster instead")
    sp.add_argument("--out", metavar="DIR", help="write per-model YAML/Markdown/HTML and zoo reports here")
    sp.add_argument("--quiet", action="store_true", help="no progress bar (for logs)")
    sp.add_argument("--json", action="store_true", help="print one JSON summary, nothing else")
    store_flags(sp)
    sp.set_defaults(func=cmd_zoo)

    sp = sub.add_parser("store", help="the solutions store: ls, show KEY, export, prune")
    sp.add_argument("action", choices=("ls", "show", "export", "prune"))
    sp.add_argument("key", nargs="?", help="for show: an entry key (a unique prefix is enough)")
    sp.add_argument("--format", choices=("json", "csv"), default="json", help="export format (default json)")
    sp.add_argument("--out", help="export to this file (default: standard output)")
    sp.add_argument("--all", action="store_true", help="prune: every entry, not only other cost-model versions")
    sp.add_argument("--json", action="store_true", help="ls: one JSON list")
    sp.add_argument("--store", help="the store file (default: $MAPPER_STORE or ~/.cache/mapper/solutions.sqlite)")
    sp.set_defaults(func=cmd_store)

    sp = sub.add_parser("hardware", help="show a hardware spec with its area and energies")
    sp.add_argument("hw", help="hardware YAML (path or bundled name)")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_hardware)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (HardwareError, WorkloadError, UsageError) as e:
        print(f"mapper {args.cmd}: error: {e}", file=sys.stderr)
        return 2
    except Unmappable as e:
        print(f"mapper {args.cmd}: error: {e}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `mapper layers resnet50 | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
