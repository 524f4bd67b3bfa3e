"""`mapper hardware HW`: a spec as the YAML `load_hardware` reads back, derived figures as comments."""
from __future__ import annotations

from mapper.cli import options, render

HELP = "show a hardware spec with its area and energies"


def add_parser(sub) -> None:
    sp = sub.add_parser("hardware", help=HELP)
    sp.add_argument("hw", help="hardware YAML (path or bundled name)")
    options.json_arg(sp)
    sp.set_defaults(run=run)


def run(args) -> int:
    from mapper import api
    info = api.describe_hardware(args.hw)
    if args.json:
        render.print_json(info)
    else:
        import yaml
        print(yaml.safe_dump(info["hardware"], sort_keys=False), end="")
        print("\n".join("# " + line for line in yaml.safe_dump(info["derived"], sort_keys=False).splitlines()))
    return 0
