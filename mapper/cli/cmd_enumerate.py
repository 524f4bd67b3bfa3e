"""`mapper enumerate MODEL --hw HW`: the exhaustive optimum of every layer (no solver)."""
from __future__ import annotations

from mapper.choices import MAX_POINTS, SPACES
from mapper.cli import options, render
from mapper.cli.inputs import get_hardware, get_workload

HELP = "exhaustive optimum of every layer"


def add_parser(sub) -> None:
    sp = sub.add_parser("enumerate", help=HELP)
    options.workload_args(sp)
    options.hardware_arg(sp)
    sp.add_argument("--space", choices=SPACES, default="template",
                    help="template: divisor tiles (NN-Baton); full: every tile size (small layers)")
    options.fixed_args(sp)
    sp.add_argument("--max-points", type=options.int_range(1, MAX_POINTS, "--max-points"), default=50_000_000,
                    help="refuse --space full beyond this many points per layer (default 50M)")
    sp.add_argument("--partitions", action="store_true",
                    help="also show the best energy of each of the six spatial pairs (Fig. 11)")
    options.report_arg(sp)
    options.quiet_arg(sp)
    options.json_arg(sp)
    sp.set_defaults(run=run)


def run(args) -> int:
    from mapper import api
    from mapper.report import partitions_table, results_table
    options.check_output_file(args.report, "--report")
    wl, hw = get_workload(args), get_hardware(args)
    with render.progress(args, "enumerate") as bar:
        res = api.enumerate(wl, hw, space=args.space, fixed=options.fixed_from(args), max_points=args.max_points,
                            progress=bar)
    tables = [results_table(f"{render.title(res)} on {hw.name} — exhaustive optimum ({args.space} space)", res.rows)]
    if args.partitions:
        tables.append(partitions_table("best energy per spatial pair (package,chiplet), relative to the layer's best",
                                       res.rows))
    render.emit_model(args, res, tables, render.summary_line(res), f"Exhaustive optimum of {res.model} on {hw.name}",
                      ("space",))
    return 0
