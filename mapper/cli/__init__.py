"""The `mapper` command: one module per command (parse -> one `mapper.api` call -> render).

Exit codes: 0 done; 1 a solver bug or nothing evaluated; 2 bad input (a message naming
the file, field or flag and the fix, never a traceback); 3 some layer cannot be mapped;
130 interrupted (Ctrl-C); 141 the reader of the output went away.

Only the standard library is imported here, so `mapper --help` is fast and a Ctrl-C at
any moment is one line and exit 130.
"""
from __future__ import annotations

import os
import sys

EXIT_OK, EXIT_BUG, EXIT_USAGE, EXIT_UNMAPPABLE, EXIT_INTERRUPTED, EXIT_PIPE = 0, 1, 2, 3, 130, 141


def main(argv: list[str] | None = None) -> int:
    cmd = "mapper"
    try:
        from mapper.cli.parser import build_parser
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as e:  # --help, --version, or a usage error argparse has printed
            return e.code if isinstance(e.code, int) else EXIT_USAGE
        cmd = f"mapper {args.cmd}"
        from mapper.cli.render import Unmappable
        from mapper.errors import MapperError, SolverBug
        try:
            return args.run(args)
        except SolverBug as e:
            print(f"{cmd}: error: {e}", file=sys.stderr)
            return EXIT_BUG
        except MapperError as e:
            print(f"{cmd}: error: {e}", file=sys.stderr)
            return EXIT_USAGE
        except Unmappable as e:
            print(f"{cmd}: error: {e}", file=sys.stderr)
            return EXIT_UNMAPPABLE
    except KeyboardInterrupt:
        print(f"{cmd}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `mapper layers resnet50 | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_PIPE


def entry() -> None:
    """The console script: exit with main's code; a Ctrl-C even during start-up is one line."""
    try:
        code = main()
    except KeyboardInterrupt:  # between the interpreter's start and main's own handler
        print("mapper: interrupted", file=sys.stderr)
        code = EXIT_INTERRUPTED
    if code == EXIT_INTERRUPTED:
        # A Ctrl-C that landed inside code CPython ran through PyRun_* (torch's import does)
        # is remembered as unhandled even once caught, and the interpreter would then end
        # itself by SIGINT instead of exiting 130. Everything is written; leave directly.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
