"""`mapper solve MODEL --hw HW`: the exact optimum of every layer with CP-SAT."""
from __future__ import annotations

from mapper.choices import OBJECTIVES, SPACES
from mapper.cli import options, render
from mapper.cli.inputs import check_workers_env, get_hardware, get_workload, open_store

HELP = "the exact optimum of every layer with CP-SAT (proof or bound)"


def add_parser(sub) -> None:
    sp = sub.add_parser("solve", help=HELP)
    options.workload_args(sp)
    options.hardware_arg(sp)
    sp.add_argument("--space", choices=SPACES, default="full",
                    help="full: every tile size (default); template: divisor tiles, as enumerate")
    sp.add_argument("--objective", choices=OBJECTIVES, default="energy",
                    help="energy (fJ), latency (cycles) or edp (energy x cycles, exact Pareto walk)")
    options.time_limit_arg(sp, "seconds per layer; at the limit the incumbent and its bound are reported "
                           "(default 60)")
    options.workers_arg(sp)
    options.fixed_args(sp)
    sp.add_argument("--no-warm-start", action="store_true",
                    help="do not seed CP-SAT with the template optimum (slower; for comparisons)")
    sp.add_argument("--loop-nest", action="store_true", help="also print each mapping as a loop nest")
    options.report_arg(sp)
    sp.add_argument("--yaml", action="store_true", help="print one YAML document, nothing else")
    options.store_args(sp)
    options.quiet_arg(sp)
    options.json_arg(sp)
    sp.set_defaults(run=run)


def run(args) -> int:
    from mapper import api
    from mapper.report import solve_table
    options.check_output_file(args.report, "--report")
    check_workers_env()
    wl, hw = get_workload(args), get_hardware(args)
    store = open_store(args)
    with render.progress(args, "solve") as bar:
        res = api.solve(wl, hw, objective=args.objective, space=args.space, time_limit=args.time_limit,
                        workers=args.workers, fixed=options.fixed_from(args), warm_start=not args.no_warm_start,
                        store=store, progress=bar)
    if store is not None:
        from mapper.store import warn
        warn(store)
    nests, seen = [], set()
    for r in res.layers if args.loop_nest else ():
        if "loop_nest" in r.row and r.layer.shape_key() not in seen:  # one per distinct shape
            seen.add(r.layer.shape_key())
            nests.append(f"\n{r.name}: {r.row['mapping_text']}\n{r.row['loop_nest']}")
    table = solve_table(f"{render.title(res)} on {hw.name} — CP-SAT, {args.objective}, {args.space} space", res.rows)
    render.emit_model(args, res, [table], render.summary_line(res) + f" | statuses: {', '.join(res.statuses)}",
                      f"CP-SAT optimum of {res.model} on {hw.name}", ("space", "objective"), text=tuple(nests))
    return 0
