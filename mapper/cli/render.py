"""Rendering in one place: JSON, terminal tables and summary lines, report files, the
progress bar, and the one check that turns unmapped layers into exit code 3."""
from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Iterator

from mapper.errors import InputError

HW_FIX = "enlarge the named buffer in the hardware YAML (the tiles above are already the smallest the space allows)."
MAPPING_FIX = "use smaller tiles in the mapping, or let `mapper enumerate` choose them."
TIME_FIX = "raise --time-limit (no mapping was found in the time given; none was proven impossible)."


class Unmappable(Exception):
    """Some layer has no mapping on the hardware (exit code 3)."""


def print_json(obj) -> None:
    print(json.dumps(obj, indent=1))


def title(res) -> str:
    """'resnet50 @ 224, batch 8' for a result or a workload (a layer list may carry its own N)."""
    name = f"{res.model} @ {res.resolution}" if res.resolution else res.model
    batch = max([res.batch] + [getattr(r, "layer", r).N for r in res.layers])
    return f"{name}, batch {batch}" if batch > 1 else name


def fix_for(status: str, reason: str | None, default: str) -> str:
    """What to do about an unmapped layer: more time when the solver ran out of it, else `default`."""
    if status in ("UNKNOWN", "FEASIBLE") or (reason or "").startswith("no mapping found within"):
        return TIME_FIX
    return default


def check_mappable(bad, where: str, fix: str = HW_FIX) -> None:
    """Exit code 3 when some layer (a `LayerResult`) has no mapping: the one message of every
    command, with the first reason and the fix that fits it (more time, or `fix`)."""
    if bad:
        names = ", ".join(sorted({r.name for r in bad})[:5])
        raise Unmappable(f"{len(bad)} layer(s) cannot be mapped on {where} ({names}): {bad[0].reason}. "
                         f"Fix: {fix_for(bad[0].status, bad[0].reason, fix)}")


def coverage_warning(res, model: str | None = None) -> None:
    """A loud line on stderr when part of the model's MACs is not mapped (and so not in
    the totals); `res` is anything with a `coverage` (a workload or a result)."""
    warning = res.coverage.warning(model or getattr(res, "model", None) or res.workload)
    if warning:
        print(f"mapper: {warning}", file=sys.stderr)


def coverage_line(res, machine: bool = False) -> None:
    """The MAC coverage line of a text report (stdout), and the warning below 100 %."""
    if not machine:
        print(res.coverage.line())
    coverage_warning(res)


def summary_line(res) -> str:
    from mapper.report import energy_str
    t = res.totals()
    parts = [f"total energy {energy_str(t['total_energy_pj'])}", f"{t['total_cycles']:,} cycles"]
    if t["total_macs"]:
        parts.append(f"{t['total_energy_pj'] / t['total_macs']:.3f} pJ/MAC")
    if t.get("infeasible_layers"):
        parts.append(f"{t['infeasible_layers']} layer(s) INFEASIBLE")
    for key, label in (("distinct_shapes", "distinct shapes"), ("points_evaluated", "points")):
        if key in t:
            parts.append(f"{t[key]:,} {label}")
    if t.get("store_hits"):
        parts.append(f"{t['store_hits']:,} from the store")
    parts.append(f"{t['wall_s']} s")
    return " | ".join(parts)


def write_text(path_text: str, flag: str, text: str) -> None:
    """Write an output file named by a flag; a failure is a message, not a traceback."""
    path = Path(path_text)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as e:
        raise InputError(f"{flag} {path}: cannot write the file ({e.strerror}). Give a writable file path.") from None


def write_report(path_text: str, heading: str, res, keys: tuple[str, ...]) -> None:
    from mapper.report import markdown_report
    obj = res.to_dict()
    header = {k: obj[k] for k in ("model", "resolution", "hardware", *keys) if k in obj}
    write_text(path_text, "--report", markdown_report(heading, header, res.rows, res.totals()))


def emit_model(args, res, tables: list, summary: str, report_title: str, report_keys: tuple[str, ...],
               fix: str = HW_FIX, text: tuple[str, ...] = ()) -> None:
    """A `ModelResult` out: JSON (or YAML) or the tables, extra `text` and the summary; the
    --report file; the coverage warning; exit code 3 if some layer has no mapping."""
    machine = getattr(args, "json", False) or getattr(args, "yaml", False)
    if getattr(args, "yaml", False):
        import yaml
        print(yaml.safe_dump(res.to_dict(), sort_keys=False))
    elif args.json:
        print_json(res.to_dict())
    else:
        print_tables(*tables)
        for t in text:
            print(t)
        print(summary)
    if args.report:
        write_report(args.report, report_title, res, report_keys)
        if not machine:
            print(f"report written to {args.report}")
    coverage_line(res, machine)
    check_mappable(res.infeasible, args.hw, fix)


def print_tables(*tables) -> None:
    from mapper.report import print_tables as show
    show(*tables)


@contextlib.contextmanager
def progress(args, label: str) -> Iterator:
    """A rich progress bar on stderr (done/total, ETA) for work over several items; None
    (nothing shown) under --quiet/--json or when stderr is not a terminal."""
    if getattr(args, "json", False) or getattr(args, "quiet", False) or getattr(args, "yaml", False) \
            or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    bar = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[last]}"),
                   TimeRemainingColumn(), console=Console(stderr=True), transient=True)
    task = None

    def update(done: int, total: int, last: str) -> None:
        nonlocal task
        if task is None:
            task = bar.add_task(label, total=total, last="")
        bar.update(task, completed=done, last=last)

    with bar:
        yield update
