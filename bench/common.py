"""Table helpers shared by the bench/ scripts: one Section shape, printed with rich
and appended to BENCHMARKS.md as Markdown."""
from __future__ import annotations

from dataclasses import dataclass, field

from rich.table import Table


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
