#!/usr/bin/env python
"""Benchmark (not a test): `mapper zoo` on the whole zoo, cold and warm, and the Dask
backend beside the process pool on the same work.

Run with `.venv/bin/python bench/zoo_batch.py` from the repository root. Prints a table
and appends a dated section to BENCHMARKS.md (unless --no-append). In one run:

1. cold: every layer of the zoo (default 5 models x 224 and 512) on the hardware, with
   an empty store and the local process pool (`--workers`, one CP-SAT worker each);
2. warm: the same command again on the filled store (every solve a store hit);
3. the same cold work on a Dask LocalCluster with as many single-threaded worker
   processes, and its ratio to (1).
The answers of (1) and (3) are compared: they must be identical.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from common import Section, add_common_args, append_section, command_line, machine, rich_table  # noqa: E402
from rich.console import Console  # noqa: E402

from mapper import models  # noqa: E402
from mapper import batch  # noqa: E402
from mapper.hardware import find_hardware, load_hardware  # noqa: E402
from mapper.store import Store  # noqa: E402
from mapper.workload import load_workload  # noqa: E402


def answers(results: dict) -> dict:
    return {k: (r.status, r.best.mapping if r.best else None, r.value) for k, r in results.items()}


def timed(jobs, store, backend):
    t0 = time.perf_counter()
    res, prog = batch.run(jobs, store, backend)
    return time.perf_counter() - t0, res, prog


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(ap, list(models.MODELS))
    ap.add_argument("--workers", type=int, default=2, help="solves side by side (default 2)")
    ap.add_argument("--time-limit", type=float, default=60.0, help="seconds per layer (default 60)")
    args = ap.parse_args()
    console = Console()
    started = datetime.now(timezone.utc)
    hw = load_hardware(find_hardware(args.hw))
    t0 = time.perf_counter()
    workloads = [load_workload(m, r) for m in args.models for r in args.resolutions]
    entries, jobs = batch.plan(workloads, [(Path(args.hw).stem, hw)], "full", "energy", args.time_limit)
    plan_s = time.perf_counter() - t0
    layers = sum(len(w.layers) for w in workloads)
    with tempfile.TemporaryDirectory() as tmp:
        cold_s, cold, prog = timed(jobs, Store(Path(tmp) / "local.sqlite"),
                                   lambda: batch.LocalBackend(args.workers))
        console.print(f"cold (process pool): {cold_s:.1f} s, {prog.solved} solves")
        warm_s, warm, warm_prog = timed(jobs, Store(Path(tmp) / "local.sqlite"), lambda: None)
        console.print(f"warm: {warm_s:.2f} s, {warm_prog.cache_hits} store hits")
        from distributed import Client, LocalCluster
        with LocalCluster(n_workers=args.workers, threads_per_worker=1, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            dask_s, remote, _ = timed(jobs, Store(Path(tmp) / "dask.sqlite"), lambda: batch.DaskBackend(client))
        console.print(f"cold (Dask LocalCluster): {dask_s:.1f} s")
    same = answers(remote) == answers(cold) == answers(warm)
    statuses = sorted({r.status for r in cold.values()})
    sec = Section("Whole zoo on one hardware: cold, warm, Dask",
                  ["run", "layers", "distinct solves", "solved", "store hits", "wall s", "vs cold pool"])
    sec.rows += [
        ["cold, process pool", f"{layers:,}", f"{len(jobs):,}", f"{prog.solved:,}", "0", f"{cold_s:.1f}", "1.00"],
        ["warm rerun (store)", f"{layers:,}", f"{len(jobs):,}", "0", f"{warm_prog.cache_hits:,}", f"{warm_s:.2f}",
         f"{warm_s / cold_s:.4f}"],
        ["cold, Dask LocalCluster", f"{layers:,}", f"{len(jobs):,}", f"{len(jobs):,}", "0", f"{dask_s:.1f}",
         f"{dask_s / cold_s:.2f}"],
    ]
    sec.notes += [
        f"Models {' '.join(args.models)} at {' '.join(map(str, args.resolutions))}; full mapping space, energy, "
        f"time limit {args.time_limit:.0f} s per layer; statuses of the cold run: {', '.join(statuses)}.",
        f"{args.workers} solves side by side in both backends (process pool of {args.workers}; LocalCluster of "
        f"{args.workers} single-threaded worker processes), one CP-SAT worker per solve. Planning (model tracing "
        f"and de-duplication) {plan_s:.1f} s, not in the times.",
        f"Answers identical across the three runs (mapping, status and value of every solve): {same}.",
        "The warm rerun re-prices every stored mapping with cost.evaluate and checks its value (mapper/store.py).",
    ]
    console.print(rich_table(sec))
    if not args.no_append:
        facts = [f"Command: `{command_line()}` (run from the repository root)",
                 "Machine: " + ", ".join(f"{k} {v}" for k, v in machine().items()),
                 f"Hardware: `{args.hw}`"]
        append_section(f"zoo_batch — {started:%Y-%m-%d %H:%M} UTC", facts, [sec])


if __name__ == "__main__":
    main()
