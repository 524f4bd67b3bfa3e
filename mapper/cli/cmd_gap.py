"""`mapper gap MODEL --hw HW`: how far heuristic mappers are from the proven optimum."""
from __future__ import annotations

from pathlib import Path

from mapper.choices import DEFAULT_BASELINES
from mapper.cli import options, render
from mapper.cli.inputs import check_workers_env, get_hardware, get_workload, open_store

HELP = "how far heuristic mappers are from the proven optimum"


def add_parser(sub) -> None:
    sp = sub.add_parser("gap", help=HELP)
    options.workload_args(sp)
    options.hardware_arg(sp)
    sp.add_argument("--baselines", default=DEFAULT_BASELINES,
                    help="comma-separated: simba, template, random:N (budget), greedy, ws, os, is "
                    "(default: all, random with 10,000 draws)")
    sp.add_argument("--seed", type=options.seed, default=0, help="seed of the random search (default 0)")
    options.time_limit_arg(sp, "seconds per layer for the optimum; a FEASIBLE optimum carries its bound "
                           "(default 60)")
    options.workers_arg(sp)
    sp.add_argument("--md", help="also write the report as Markdown to this path")
    sp.add_argument("--csv", help="also write one row per layer and method as CSV to this path")
    sp.add_argument("--plots", metavar="DIR", help="also write figures (PNG and SVG) to this directory")
    options.store_args(sp)
    options.quiet_arg(sp)
    options.json_arg(sp)
    sp.set_defaults(run=run)


def run(args) -> int:
    from mapper import api
    from mapper.report import gap_csv, gap_markdown, gap_table, gap_totals_table
    for value, flag in ((args.md, "--md"), (args.csv, "--csv")):
        options.check_output_file(value, flag)
    options.check_output_dir(args.plots, "--plots")
    check_workers_env()
    wl, hw = get_workload(args), get_hardware(args)
    api.gap_methods(args.baselines)  # a typo in --baselines is reported before any solve
    store = open_store(args)
    with render.progress(args, "gap") as bar:
        res = api.gap(wl, hw, baselines=args.baselines, seed=args.seed, time_limit=args.time_limit,
                      workers=args.workers, store=store, progress=bar)
    obj, methods = res.to_dict(), list(res.methods)
    rows, total = obj["layers"], obj["totals"]
    name = f"{render.title(res)} on {hw.name}"
    if args.json:
        render.print_json(obj)
    else:
        render.print_tables(gap_table(f"{name} — gap of each method to the proven optimum", rows, methods),
                            gap_totals_table(f"{name} — model totals", total))
        print(f"{res.distinct_shapes} distinct shapes | {total['wall_s']} s")
    render.coverage_line(res, args.json)
    header = {k: obj[k] for k in ("model", "resolution", "hardware", "seed")}
    if args.md:
        render.write_text(args.md, "--md", gap_markdown(f"Optimality gaps: {name}", header, rows, total, methods))
    if args.csv:
        render.write_text(args.csv, "--csv", gap_csv(rows, methods))
    if args.plots:
        write_plots(Path(args.plots), name, list(res.per_shape), total, methods, quiet=args.json)
    render.check_mappable(res.infeasible, args.hw)
    return 0


def write_plots(out: Path, name: str, rows: list[dict], total: dict, methods: list[str], quiet: bool) -> None:
    """Per-layer breakdown bars (optimum beside Simba, else the first method) and the model
    totals, as PNG and SVG in `out`."""
    from mapper import plots  # matplotlib loads only when plots are asked for
    from mapper.errors import InputError
    versus = "simba" if "simba" in methods else methods[0]
    try:
        paths = plots.layer_breakdowns(rows, versus, f"{name}: energy breakdown per layer", out / "gap-layers")
        paths += plots.model_totals(total, f"{name}\nmodel energy of each method", out / "gap-totals")
    except OSError as e:
        raise InputError(f"--plots {out}: cannot write the figures ({e.strerror}). Give a writable directory.") \
            from None
    if not quiet:
        print("figures: " + ", ".join(str(p) for p in paths))
