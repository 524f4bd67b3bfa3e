"""`mapper layers MODEL`: the layers the mapper sees in a model."""
from __future__ import annotations

from mapper.cli import options, render
from mapper.cli.inputs import get_workload

HELP = "the extracted layers of a model"


def add_parser(sub) -> None:
    sp = sub.add_parser("layers", help=HELP)
    options.workload_args(sp)
    options.json_arg(sp)
    sp.set_defaults(run=run)


def run(args) -> int:
    from mapper.report import layers_table
    wl = get_workload(args)
    obj = wl.to_dict()
    if args.json:
        render.print_json(obj)
    else:
        render.print_tables(layers_table(render.title(wl), wl.layers))
        print(f"total MACs: {wl.total_macs:,}   distinct shapes: {obj['distinct_shapes']}")
        if wl.skipped:
            print("ops without MACs (count, output elements): " + ", ".join(
                f"{op} {n}×{wl.skipped_elements.get(op, 0):,}" for op, n in wl.skipped.items()))
    render.coverage_line(wl, args.json)
    return 0
