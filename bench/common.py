"""Table helpers shared by the bench/ scripts: one Section shape, printed with rich
and appended to BENCHMARKS.md as Markdown."""
from __future__ import annotations

import os
import platform
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import ortools

from rich.table import Table

# Run as `python bench/x.py`: make the repository importable and name the shared defaults.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
DEFAULT_MODELS = ["alexnet", "vgg16", "resnet50", "darknet19", "mobilenetv2"]
DEFAULT_RESOLUTIONS = [224, 512]
DEFAULT_HW = "hardware/nnbaton-case-study.yaml"
BENCH_FILE = ROOT / "BENCHMARKS.md"


@dataclass
class Section:
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    total_row: list[str] | None = None


def f_int(n: int) -> str:
    return f"{n:,}"


def f_s(x: float) -> str:
    return f"{x:.2f}" if x >= 0.1 else f"{x:.3f}"


def rich_table(sec: Section) -> Table:
    t = Table(title=sec.title, title_justify="left", show_lines=False)
    for i, c in enumerate(sec.columns):
        t.add_column(c, justify="left" if i == 0 else "right", overflow="fold")
    for r in sec.rows:
        t.add_row(*r)
    if sec.total_row:
        t.add_section()
        t.add_row(*sec.total_row, style="bold")
    return t


def md_table(sec: Section) -> str:
    def line(cells):
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"
    out = [f"### {sec.title}", "", line(sec.columns),
           "|" + "|".join("---" if i == 0 else "--:" for i in range(len(sec.columns))) + "|"]
    out += [line(r) for r in sec.rows]
    if sec.total_row:
        out.append(line([f"**{c}**" if c else "" for c in sec.total_row]))
    out.append("")
    out += [f"- {n}" for n in sec.notes]
    return "\n".join(out) + "\n"


def add_common_args(ap, zoo_names: list[str]) -> None:
    """The options every zoo benchmark takes."""
    ap.add_argument("--models", nargs="+", default=DEFAULT_MODELS, choices=zoo_names,
                    metavar="MODEL", help=f"zoo models (default: {' '.join(DEFAULT_MODELS)})")
    ap.add_argument("--resolutions", nargs="+", type=int, default=DEFAULT_RESOLUTIONS,
                    metavar="RES", help="input resolutions (default: 224 512)")
    ap.add_argument("--hw", default=DEFAULT_HW, help=f"hardware file or bundled name "
                    f"(default: {DEFAULT_HW})")
    ap.add_argument("--no-append", action="store_true", help="print only; do not touch BENCHMARKS.md")


def append_section(heading: str, facts: list[str], sections: list[Section], header: str = "") -> None:
    """Append one dated section (facts as bullets, then the tables) to BENCHMARKS.md."""
    text = [f"## {heading}", ""] + [f"- {f}" for f in facts] + [""] + [md_table(s) for s in sections]
    if header and (not BENCH_FILE.exists() or not BENCH_FILE.read_text().strip()):
        BENCH_FILE.write_text(header)
    with BENCH_FILE.open("a") as f:
        f.write("\n" + "\n".join(text))



def need(result, what: str):
    """A solve's mapping, or stop the benchmark with a message naming what found none."""
    if result.best is None:
        raise SystemExit(f"{what}: {result.status} ({result.reason or 'no mapping'}); "
                         "raise --time-limit or check the hardware")
    return result.best


def report(name: str, sections: list[Section], facts: list[str], append: bool, width: int = 220) -> None:
    """Print the tables, their notes and the facts; then (if `append`) add them to
    BENCHMARKS.md under a dated heading with the command and the machine."""
    from datetime import datetime, timezone

    from rich.console import Console

    con = Console(width=width)
    for sec in sections:
        con.print(rich_table(sec))
        for n in sec.notes:
            con.print("- " + n)
    for f in facts:
        con.print("- " + f)
    if append:
        m = machine()
        append_section(f"{name} — {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC", [
            f"Command: `{command_line()}` (run from the repository root)",
            f"Machine: {m['platform']}, {m['cpus']} CPUs, Python {m['python']}, ortools {m['ortools']}",
            *facts], sections)


def command_line() -> str:
    """The command that ran this script, paths relative to the repository root."""
    def rel(p: str) -> str:
        ap = os.path.abspath(p)
        return os.path.relpath(ap, ROOT) if ap.startswith(str(ROOT)) else p
    return shlex.join([rel(sys.executable), rel(sys.argv[0]), *sys.argv[1:]])


def machine() -> dict[str, str]:
    return {"platform": platform.platform(), "cpus": str(os.cpu_count()),
            "python": platform.python_version(), "numpy": np.__version__,
            "ortools": ortools.__version__}
