"""`mapper store ls|show|export|prune`: the solutions store. Only prune writes."""
from __future__ import annotations

from mapper.cli import options, render
from mapper.cli.inputs import open_store

HELP = "the solutions store: ls, show KEY, export, prune"


def add_parser(sub) -> None:
    sp = sub.add_parser("store", help=HELP)
    sp.add_argument("action", choices=("ls", "show", "export", "prune"))
    sp.add_argument("key", nargs="?", help="for show: an entry key (a unique prefix is enough)")
    sp.add_argument("--format", choices=("json", "csv"), default="json", help="export format (default json)")
    sp.add_argument("--out", help="export to this file (default: standard output)")
    sp.add_argument("--all", action="store_true", help="prune: every entry, not only other cost-model versions")
    options.json_arg(sp, "ls: one JSON list")
    options.store_args(sp, no_store=False)
    sp.set_defaults(run=run)


def run(args) -> int:
    from mapper.errors import InputError
    from mapper.report import store_csv, store_table
    if args.action == "export":
        options.check_output_file(args.out, "--out")
    st = open_store(args, readonly=args.action != "prune")
    if args.action == "prune":
        n = st.prune(everything=args.all)
        print(f"pruned {n} entr{'y' if n == 1 else 'ies'} from {st.path}")
        return 0
    rows = st.rows()
    if args.action == "ls":
        if args.json:
            render.print_json(rows)
        else:
            render.print_tables(store_table(rows, st.path))
    elif args.action == "show":
        hits = [r for r in rows if args.key and r["key"].startswith(args.key)]
        if len(hits) != 1:
            raise InputError(f"`mapper store show KEY`: {'no' if not hits else len(hits)} entries match "
                             f"{args.key!r}. Give a key (or a unique prefix) from `mapper store ls`.")
        render.print_json(hits[0])
    else:
        import json
        text = json.dumps(rows, indent=1) + "\n" if args.format == "json" else store_csv(rows)
        if args.out:
            render.write_text(args.out, "--out", text)
        else:
            print(text, end="")
    return 0
