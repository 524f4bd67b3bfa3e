"""Table helpers shared by the bench/ scripts: one Section shape, printed with rich
and written to BENCHMARKS.md as Markdown.

BENCHMARKS.md keeps the latest run of each bench (and command line) at the top, newest
first; a new run replaces the latest run of the same bench and command, which moves to
the "Earlier runs" part below, marked as superseded by the new run (`append_section`)."""
from __future__ import annotations

import os
import platform
import re
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


# BENCHMARKS.md: a preamble, the latest runs, then the earlier (superseded) runs. Each
# run is one entry: a `## <bench> — <YYYY-MM-DD HH:MM> UTC` heading and everything up to
# the next such heading. The two markers are where the parts begin.
LATEST_MARK = "<!-- latest runs: the newest run of each bench and command, newest first (bench/common.py) -->"
HISTORY_MARK = "<!-- earlier runs: superseded by a newer run of the same bench and command, newest first -->"
LATEST_HEAD = ("# Latest results\n\nThe newest run of each bench (and of each command line it was run with), "
               "newest first.\n")
HISTORY_HEAD = ("# Earlier runs\n\nRuns replaced by a newer run of the same bench with the same command line, "
                "newest first; each names the run that superseded it. Kept for the record: their numbers "
                "are as measured then, by the code of that time.\n")
SUPERSEDED = "- **Superseded** by {run} above (same bench, same command)."


def _entries(text: str) -> list[str]:
    """Split a part of BENCHMARKS.md into entries (each from its `## ` heading on)."""
    starts = [m.start() for m in re.finditer(r"^## ", text, flags=re.M)]
    return [text[a:b].strip() + "\n" for a, b in zip(starts, starts[1:] + [len(text)])]


def entry_date(entry: str) -> str:
    """'YYYY-MM-DD HH:MM' from the entry's heading ('' if it names none)."""
    m = re.match(r"## .*? — (\d{4}-\d{2}-\d{2} \d{2}:\d{2})", entry)
    return m.group(1) if m else ""


def entry_key(entry: str) -> tuple[str, str]:
    """What a newer run must match to supersede an entry: the bench name of its heading
    and the arguments of its `Command:` fact (another --hw or --only is another result)."""
    name = entry.splitlines()[0][3:].split(" — ")[0].strip()
    m = re.search(r"^- Command: `([^`]*)`", entry, flags=re.M)
    args = shlex.split(m.group(1))[2:] if m else []  # after the interpreter and the script
    return name, shlex.join(args)


def _superseded(entry: str, by: str) -> str:
    if "**Superseded**" in entry:
        return entry
    head, _, body = entry.partition("\n")
    return f"{head}\n\n{SUPERSEDED.format(run=f'the run of {by} UTC' if by else 'a later run')}\n{body.lstrip(chr(10))}"


def place(text: str, entry: str) -> str:
    """BENCHMARKS.md's text with a new run's `entry` at the top of the latest runs; the
    latest run of the same bench and command moves to the earlier runs, marked superseded.
    Text in the old layout (every entry appended in date order) is converted first."""
    if LATEST_MARK not in text or HISTORY_MARK not in text:
        first = re.search(r"^## ", text, flags=re.M)
        pre, old = (text[:first.start()], text[first.start():]) if first else (text, "")
        text = f"{pre.rstrip()}\n\n{LATEST_HEAD}\n{LATEST_MARK}\n\n{HISTORY_MARK}\n\n{HISTORY_HEAD}"
        for e in sorted(_entries(old), key=entry_date):  # stable: same-minute entries keep their order
            text = place(text, e)
    pre, rest = text.split(LATEST_MARK, 1)
    latest_part, history_part = rest.split(HISTORY_MARK, 1)
    first = re.search(r"^## ", history_part, flags=re.M)
    history_head = (history_part[:first.start()] if first else history_part).strip()
    latest, history = _entries(latest_part), _entries(history_part)
    key, date = entry_key(entry), entry_date(entry)
    history += [_superseded(e, date) for e in latest if entry_key(e) == key]
    latest = [entry.strip() + "\n"] + [e for e in latest if entry_key(e) != key]
    latest.sort(key=entry_date, reverse=True)  # stable: a new run stays above a same-minute one
    history.sort(key=entry_date, reverse=True)
    return "\n".join([f"{pre.rstrip()}\n\n{LATEST_MARK}\n", *latest, f"{HISTORY_MARK}\n\n{history_head}\n",
                      *history]).rstrip() + "\n"


def append_section(heading: str, facts: list[str], sections: list[Section], header: str = "") -> None:
    """Put one dated section (facts as bullets, then the tables) at the top of
    BENCHMARKS.md's latest runs (`place`); `header` starts a new file."""
    text = "\n".join([f"## {heading}", ""] + [f"- {f}" for f in facts] + [""] + [md_table(s) for s in sections])
    old = BENCH_FILE.read_text() if BENCH_FILE.exists() else ""
    BENCH_FILE.write_text(place(old if old.strip() else (header or "# Benchmarks\n"), text))



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
