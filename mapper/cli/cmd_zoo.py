"""`mapper zoo MODELS --hw HW...`: every layer of many models x resolutions x hardware,
each distinct shape solved once and kept in the solutions store."""
from __future__ import annotations

import contextlib
import sys

from mapper.choices import OBJECTIVES, SPACES
from mapper.cli import options, render
from mapper.cli.inputs import check_workers_env, open_store

HELP = "solve every layer of many models x resolutions x hardware, each distinct shape once, kept in the store"


def add_parser(sub) -> None:
    sp = sub.add_parser("zoo", help=HELP)
    sp.add_argument("models", nargs="*", help="zoo names, layer-list YAMLs or file.py:Class")
    sp.add_argument("--all", action="store_true", help="every model of the bundled zoo")
    sp.add_argument("--hw", nargs="+", required=True, help="one or more hardware YAMLs (paths or bundled names)")
    options.resolution_arg(sp, many=True)
    options.token_args(sp)
    sp.add_argument("--space", choices=SPACES, default="full", help="mapping space (default full)")
    sp.add_argument("--objective", choices=OBJECTIVES, default="energy")
    options.time_limit_arg(sp, "seconds per layer solve (default 60)")
    options.workers_arg(sp, "solves side by side, one CP-SAT worker each (default: $MAPPER_WORKERS or the core "
                        "count; never more than there are solves)")
    sp.add_argument("--scheduler", metavar="ADDRESS",
                    help="a Dask scheduler (tcp://host:8786): the solves run on its cluster instead")
    sp.add_argument("--out", metavar="DIR", help="write per-model YAML/Markdown/HTML and zoo reports here")
    options.store_args(sp)
    options.quiet_arg(sp)
    options.json_arg(sp, "print one JSON summary, nothing else")
    sp.set_defaults(run=run)


def zoo_models(args) -> list[str]:
    from mapper.errors import InputError
    from mapper.models import TOKEN_ZOO, ZOO
    if args.all and args.models:
        raise InputError(f"give model names ({' '.join(args.models)}) or --all, not both.")
    if args.all:
        return list(ZOO) + [m for m in TOKEN_ZOO if m not in ZOO]
    if not args.models:
        raise InputError(f"give one or more models, e.g. `mapper zoo alexnet vgg16 --hw nnbaton-case-study`, "
                         f"or --all (the bundled zoo: {', '.join(ZOO + TOKEN_ZOO)}).")
    return args.models


def run(args) -> int:
    from mapper import api
    from mapper.store import Store, warn
    options.check_output_dir(args.out, "--out")
    check_workers_env()
    names = zoo_models(args)
    store = open_store(args) or Store(":memory:")
    try:
        with _bar(args) as on_progress:
            res = api.zoo(names, args.hw, resolutions=args.resolution, seq_len=args.seq_len, phase=args.phase,
                          space=args.space, objective=args.objective,
                          time_limit=args.time_limit, workers=args.workers, scheduler=args.scheduler, store=store,
                          on_progress=on_progress)
    except KeyboardInterrupt:
        print(f"mapper zoo: interrupted: every finished solve is in the store ({store.path}); run the same "
              "command again to continue", file=sys.stderr)
        return 130
    finally:
        warn(store)
    obj = res.to_dict()
    if args.out:
        from mapper.errors import InputError
        try:
            files = res.write_reports(args.out)
        except OSError as e:
            raise InputError(f"--out {args.out}: cannot write ({e.strerror}). Give a writable directory.") from None
        obj["files"] = len(files)
    if args.json:
        render.print_json(obj)
    else:
        from mapper.report import zoo_table
        render.print_tables(zoo_table(obj["models"]))
        print(f"{obj['layers_total']:,} layers, {obj['distinct']:,} distinct solves: {obj['solved']:,} solved, "
              f"{obj['cache_hits']:,} from the store ({obj['store']}) | {obj['wall_s']} s"
              + (f" | {obj['files']} files in {args.out}" if args.out else ""))
    for m in res.models:
        render.coverage_warning(m, f"{m.model} on {m.hardware}")
    render.check_mappable([r for m in res.infeasible for r in m.infeasible],
                          ", ".join(f"{m.model}@{m.resolution} on {m.hardware}" for m in res.infeasible))
    return 0


@contextlib.contextmanager
def _bar(args):
    """A rich progress bar: solves done/total, store hits, worst proven gap, ETA."""
    if args.quiet or args.json or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    bar = Progress(TextColumn("zoo"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[hits]} from the store, worst gap {task.fields[gap]}"),
                   TimeRemainingColumn(), console=Console(stderr=True), transient=True)
    task = None

    def update(p) -> None:
        nonlocal task
        if task is None:
            task = bar.add_task("zoo", total=p.total, hits=0, gap="0%")
        bar.update(task, completed=p.done, hits=p.cache_hits, gap=f"{100 * p.worst_gap:.2f}%")

    with bar:
        yield update
