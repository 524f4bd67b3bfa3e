"""The argument parser: one sub-parser per command module, built without importing the
library (so `mapper --help` is quick)."""
from __future__ import annotations

import argparse

from mapper.cli import (cmd_codesign, cmd_enumerate, cmd_evaluate, cmd_gap, cmd_hardware, cmd_layers, cmd_solve,
                        cmd_store, cmd_zoo)

COMMANDS = (cmd_layers, cmd_evaluate, cmd_enumerate, cmd_solve, cmd_gap, cmd_codesign, cmd_zoo, cmd_store,
            cmd_hardware)


def build_parser() -> argparse.ArgumentParser:
    from mapper import __version__
    p = argparse.ArgumentParser(prog="mapper", description=(
        "Exact mapper for multichip DNN accelerators (NN-Baton C3P cost model)."))
    p.add_argument("--version", action="version", version=f"mapper {__version__}")
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    for cmd in COMMANDS:
        cmd.add_parser(sub)
    return p
