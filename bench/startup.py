#!/usr/bin/env python
"""Benchmark (not a test): how long the `mapper` command takes before it does any work,
and what it imports — `mapper --help`, each `mapper COMMAND --help`, `import mapper`, and
`mapper hardware` (which reads a YAML but needs neither torch nor OR-Tools), beside
`python -c pass` measured in the same run.

Run with `.venv/bin/python bench/startup.py` from the repository root; prints the table and
puts a dated section in BENCHMARKS.md (unless --no-append). Issue 14 measured 3.4 s for
`mapper --help` (1.9 s of it importing torch) before the CLI became a package of lazy modules.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from common import ROOT, Section, report  # noqa: E402

PY = sys.executable
CASES = [
    ("python -c pass (the interpreter alone)", [PY, "-c", "pass"]),
    ("import mapper", [PY, "-c", "import mapper"]),
    ("mapper --help", [PY, "-m", "mapper.cli", "--help"]),
    ("mapper solve --help", [PY, "-m", "mapper.cli", "solve", "--help"]),
    ("mapper hardware nnbaton-case-study", [PY, "-m", "mapper.cli", "hardware", "nnbaton-case-study"]),
]
HEAVY = ("torch", "ortools", "numpy")
PROBE = ("import sys, runpy\nsys.argv = {argv!r}\ntry:\n    runpy.run_module('mapper.cli', run_name='__main__')\n"
         "except SystemExit:\n    pass\nprint(sorted(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)")


def wall(cmd: list[str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        out.append(time.perf_counter() - t)
    return out


def loaded(cmd: list[str]) -> str:
    """Which of torch, OR-Tools and numpy the command imported."""
    if cmd[1] == "-c":
        code = cmd[2] + f"\nimport sys\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)"
    else:
        code = PROBE.format(argv=["mapper", *cmd[3:]], heavy=HEAVY)
    p = subprocess.run([PY, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return p.stderr.strip().splitlines()[-1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10, help="runs per command (default 10)")
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()
    sec = Section(f"Start-up: wall time of a whole process, {args.runs} runs each, same run",
                  ["command", "median s", "min s", "max s", "imports of torch / ortools / numpy"])
    for label, cmd in CASES:
        times = wall(cmd, args.runs)
        sec.rows.append([label, f"{statistics.median(times):.3f}", f"{min(times):.3f}", f"{max(times):.3f}",
                         loaded(cmd)])
    sec.notes.append("`mapper` is run as `python -m mapper.cli` (what the console script calls); "
                     f"{os.cpu_count()} CPUs. tests/test_api.py asserts --help stays under 1 s with none of them.")
    report("startup", [sec], [], append=not args.no_append)
    return 0


if __name__ == "__main__":
    sys.exit(main())
