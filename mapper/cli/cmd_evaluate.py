"""`mapper evaluate MODEL --hw HW --mapping FILE|ws|os|is`: the cost of given mappings."""
from __future__ import annotations

from mapper.choices import NAMED_DATAFLOWS
from mapper.cli import options, render
from mapper.cli.inputs import get_hardware, get_workload

HELP = "cost of a given mapping or named dataflow"


def add_parser(sub) -> None:
    sp = sub.add_parser("evaluate", help=HELP)
    options.workload_args(sp)
    options.hardware_arg(sp)
    sp.add_argument("--mapping", required=True,
                    help=f"a mapping YAML, or a named dataflow: {', '.join(NAMED_DATAFLOWS)}")
    options.report_arg(sp)
    options.quiet_arg(sp)
    options.json_arg(sp)
    sp.set_defaults(run=run)


def run(args) -> int:
    from mapper import api
    from mapper.report import results_table
    options.check_output_file(args.report, "--report")
    wl, hw = get_workload(args), get_hardware(args)
    with render.progress(args, "evaluate") as bar:
        res = api.evaluate(wl, hw, mapping=args.mapping, progress=bar)
    source, named = res.header["mapping"], args.mapping in NAMED_DATAFLOWS
    render.emit_model(args, res, [results_table(f"{render.title(res)} on {hw.name} — {source}", res.rows)],
                      render.summary_line(res), f"Evaluation of {res.model} on {hw.name} ({source})", ("mapping",),
                      render.HW_FIX if named else render.MAPPING_FIX)
    return 0
