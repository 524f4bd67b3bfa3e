"""`mapper codesign MODELS --macs N`: the hardware that minimises energy, latency or EDP."""
from __future__ import annotations

import contextlib
import json
from pathlib import Path

from mapper.choices import CODESIGN_OBJECTIVES, MAX_CYCLES, MAX_MACS_BUDGET, MEMORY_MODES, SPACES
from mapper.cli import options, render
from mapper.cli.inputs import check_workers_env, layer_spec

HELP = ("the hardware (compute and buffer sizes) that minimises energy, latency or EDP under a MAC and "
        "chiplet-area budget")


def add_parser(sub) -> None:
    sp = sub.add_parser("codesign", help=HELP)
    sp.add_argument("models", nargs="*", help="one or more models (zoo names, layer-list YAMLs, file.py:Class); "
                    "their layers are optimised together")
    sp.add_argument("--layer", help="one layer instead of models, as in `solve`")
    options.resolution_arg(sp)
    sp.add_argument("--macs", type=options.int_range(1, MAX_MACS_BUDGET, "--macs"), required=True,
                    help="MAC budget: N_P x N_C x L x P")
    sp.add_argument("--chiplet-area", type=options.positive_number, help="chiplet area budget in mm² (default: none)")
    sp.add_argument("--objective", choices=CODESIGN_OBJECTIVES, default="energy",
                    help="energy (default), latency, edp, or pareto: every design and mapping no other "
                    "is as good as in energy, latency and chiplet area (docs/codesign.md)")
    sp.add_argument("--max-energy", type=options.positive_number, metavar="PJ",
                    help="only designs whose workload energy can be at most this (pJ)")
    sp.add_argument("--max-latency", type=options.int_range(1, MAX_CYCLES, "--max-latency"), metavar="CYCLES",
                    help="only designs whose workload latency can be at most this (cycles)")
    sp.add_argument("--max-edp", type=options.positive_number, metavar="PJ_CYCLES",
                    help="only designs whose workload EDP can be at most this (pJ x cycles)")
    sp.add_argument("--space", default="table2",
                    help="design space YAML (default: hardware/table2.yaml, NN-Baton Table II)")
    sp.add_argument("--memory", choices=MEMORY_MODES, default="grid",
                    help="grid: search the buffer sizes of the design space (default); proportional: "
                    "the case study's bytes per MAC for every allocation (NN-Baton Fig. 14's setup)")
    sp.add_argument("--mapping-space", choices=SPACES, default="full",
                    help="mappings each design is solved over (default full, as `solve`)")
    options.time_limit_arg(sp, "seconds for the whole search; then the best design so far and a bound "
                           "(default: run to the proof)", default=None)
    options.time_limit_arg(sp, "seconds per layer solve (default 60)", flag="--layer-time-limit")
    options.workers_arg(sp)
    sp.add_argument("--out", metavar="DIR", help="write best.yaml, best-<n>chiplets.yaml, designs.json and "
                    "the designs scatter (PNG, SVG) here")
    options.quiet_arg(sp)
    options.json_arg(sp)
    sp.set_defaults(run=run)


def run(args) -> int:
    from mapper import api
    from mapper.errors import InputError
    options.check_output_dir(args.out, "--out")
    check_workers_env()
    if args.layer is not None and args.models:
        raise InputError(f"give models ({' '.join(args.models)}) or --layer, not both.")
    if args.layer is None and not args.models:
        raise InputError("give one or more models (zoo names, layer-list YAMLs or file.py:Class), "
                         "e.g. `mapper codesign resnet50 vgg16 --macs 2048`, or --layer.")
    workloads = api.load_workload(layer_spec(args.layer)) if args.layer is not None else list(args.models)
    with _status(args) as on_design:
        res = api.codesign(workloads, macs=args.macs, chiplet_area_mm2=args.chiplet_area, objective=args.objective,
                           design_space=args.space, memory=args.memory, mapping_space=args.mapping_space,
                           time_limit=args.time_limit, layer_time_limit=args.layer_time_limit,
                           workers=args.workers, max_energy_pj=args.max_energy, max_latency_cycles=args.max_latency,
                           max_edp=args.max_edp, resolution=args.resolution, on_design=on_design)
    obj = res.to_dict()
    if args.out:
        write_outputs(Path(args.out), res, obj, quiet=args.json)
    if args.json:
        render.print_json(obj)
    else:
        print_codesign(obj, res)
    render.coverage_line(res, args.json)
    if res.interrupted:
        return 130
    search = res.search
    if search.best is None and search.status != "INFEASIBLE":
        import sys
        print(f"mapper codesign: no design was fully evaluated ({search.note}). Fix: raise --time-limit "
              "(or --layer-time-limit).", file=sys.stderr)
        return 1
    if search.best is None:
        limited = search.points["over_limits"] > 0
        raise render.Unmappable(
            f"no design of {obj['design_space']} with {args.macs} MACs"
            + (f" and a chiplet area of at most {args.chiplet_area} mm²" if args.chiplet_area else "")
            + f" maps every layer: {search.note}. Fix: "
            + ("loosen --max-energy / --max-latency / --max-edp, or " if limited else "")
            + "raise --chiplet-area, widen the memory steps in the design space, or change --macs.")
    return 0


@contextlib.contextmanager
def _status(args):
    """A status line on stderr (designs priced, the last allocation): the search's total is
    not known in advance, so a count rather than a bar."""
    import sys
    if args.json or args.quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    line, priced = Console(stderr=True).status("co-design: starting"), 0

    def on_design(d) -> None:
        nonlocal priced
        priced += 1
        line.update(f"co-design: {priced} designs priced, last {d.alloc.label}")

    with line:
        yield on_design


def objective_str(value: int | None, objective: str) -> str:
    """A value in the objective's integer units (fJ, cycles, fJ x cycles) for people."""
    from mapper.report import energy_str
    if value is None:
        return "none"
    return {"energy": energy_str(value / 1000), "pareto": energy_str(value / 1000), "latency": f"{value:,} cycles",
            "edp": f"{value / 1000:.4g} pJ·cycles"}[objective]


def print_codesign(obj: dict, res) -> None:
    from mapper.report import codesign_table, energy_str, size_str
    area = f", chiplet area <= {obj['chiplet_area_mm2']} mm²" if obj["chiplet_area_mm2"] else ""
    lim = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in obj["limits"].items() if v is not None)
    heading = f"{obj['workload']}: {obj['macs']} MACs{area}" + (f", {lim}" if lim else "")
    if obj["objective"] == "pareto":
        render.print_tables(codesign_table(heading, obj["front"], "pareto"))
    render.print_tables(codesign_table(heading, obj["per_chiplet_count"],
                                       "energy" if obj["objective"] == "pareto" else obj["objective"]))
    b, status = obj["best"], res.status
    if b is not None:
        m = b["memory_bytes"]
        which = "least energy on the front" if obj["objective"] == "pareto" else obj["objective"]
        print(f"best ({which}, {status}): {b['allocation']} (chiplets-cores-lanes-vector), "
              + ", ".join(f"{k.upper().replace('_', '-')} {size_str(v)}" for k, v in m.items())
              + f" | {energy_str(b['energy_pj'])}, {b['latency_cycles']:,} cycles, {b['area_mm2']:.3f} mm²"
              + ("" if status == "OPTIMAL" else f" | bound {objective_str(b['bound'], obj['objective'])}"))
    p = obj["points"]
    print(f"designs: {p['considered']:,} considered ({p['allocations']} compute allocations), "
          f"{p['invalid_rules']:,} invalid, {p['over_area']:,} over the area, {p['valid']:,} valid: "
          f"{p['evaluated']:,} evaluated, {p['pruned']:,} pruned by bounds, {p['infeasible']:,} unmappable"
          + (f", {p['over_limits']:,} over the limits" if p["over_limits"] else "")
          + (f", {p['unresolved']:,} unresolved" if p["unresolved"] else "")
          + f" | {obj['solves']:,} layer solves, {obj['wall_s']} s" + (f" | {obj['note']}" if obj["note"] else ""))


def write_outputs(out: Path, res, obj: dict, quiet: bool) -> None:
    """best.yaml (and best-<n>chiplets.yaml) that `mapper solve --hw` reads unchanged, the
    evaluated designs as JSON, and their scatter (PNG and SVG)."""
    from mapper import plots  # matplotlib loads only when plots are asked for
    from mapper.errors import InputError
    search = res.search
    try:
        out.mkdir(parents=True, exist_ok=True)
        files = []
        for n, d in search.per_chiplet_count.items():
            files.append(out / f"best-{n}chiplets.yaml")
            files[-1].write_text(hardware_yaml(res.hardware_of(d), obj))
        if search.best is not None:
            files.append(out / "best.yaml")
            files[-1].write_text(hardware_yaml(res.hardware_of(search.best), obj))
        rows = [d.to_dict() for d in search.designs]
        files.append(out / "designs.json")
        files[-1].write_text(json.dumps(rows, indent=1))
        if rows:
            files += plots.design_scatter(rows, obj["best"], f"{obj['workload']}: every evaluated design "
                                          f"({obj['macs']} MACs)", out / "designs", obj.get("front"))
    except OSError as e:
        raise InputError(f"--out {out}: cannot write ({e.strerror}). Give a writable directory.") from None
    if not quiet:
        print("written: " + ", ".join(str(f) for f in files))


def hardware_yaml(hw, obj: dict) -> str:
    import yaml
    from mapper.hardware import hardware_to_dict
    head = (f"# Chosen by `mapper codesign` for {obj['workload']} ({obj['macs']} MACs, objective "
            f"{obj['objective']}, chiplet area <= {obj['chiplet_area_mm2']} mm²).\n"
            "# Read it with `mapper solve MODEL --hw THIS_FILE`.\n")
    return head + yaml.safe_dump(hardware_to_dict(hw), sort_keys=False)
