"""Batch-solving (`mapper zoo`): every layer of every model x resolution x hardware, each
distinct (layer shape, hardware, settings) solved once, answers kept in the store.

The work is a set of `Job`s (one per distinct solve), run by a backend: a local
process pool (one CP-SAT worker per solve, `workers` solves side by side) or a Dask
cluster (`scheduler` address). Each finished solve is written to the store as soon as
it arrives, in this process, so Ctrl-C or a killed run loses nothing finished and a
rerun starts where it stopped. Results are deterministic (canonical optima), so the
backend and the number of workers do not change them.
"""
from __future__ import annotations

import multiprocessing as mp
import signal
from dataclasses import dataclass, field
from typing import Callable, Iterator

from mapper.hwspec import Hardware
from mapper.layer import Layer
from mapper.solvers.cpsat import SolveResult, solve_layer
from mapper.store import Store, solve_key
from mapper.workload import Workload, unique_layers


@dataclass(frozen=True)
class Job:
    """One distinct solve."""

    key: str
    layer: Layer
    hw: Hardware
    space: str
    objective: str
    time_limit: float


def run_job(job: Job) -> SolveResult:
    """What a worker runs: one layer, one CP-SAT worker (the pool gives the parallelism)."""
    return solve_layer(job.layer, job.hw, job.space, time_limit=job.time_limit, workers=1,
                       objective=job.objective)


@dataclass
class Entry:
    """One model at one resolution on one hardware."""

    workload: Workload
    hw_name: str
    unique: list[tuple[Layer, list[str]]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # per unique shape, its Job key

    @property
    def label(self) -> str:
        return f"{self.workload.model}@{self.workload.tag} on {self.hw_name}"


def plan(workloads: list[Workload], hardware: list[tuple[str, Hardware]], space: str, objective: str,
         time_limit: float) -> tuple[list[Entry], dict[str, Job]]:
    """The entries and the distinct jobs they need (first-seen order)."""
    entries, jobs = [], {}
    for name, hw in hardware:
        for wl in workloads:
            e = Entry(wl, name, unique_layers(wl.layers))
            for layer, _ in e.unique:
                key = solve_key(layer, hw, space, objective, None)
                e.keys.append(key)
                jobs.setdefault(key, Job(key, layer, hw, space, objective, time_limit))
            entries.append(e)
    return entries, jobs


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it keeps what finished


class LocalBackend:
    """A process pool: `workers` solves side by side. Closing it ends the workers at
    once (an interrupted run does not wait for the solves in flight)."""

    def __init__(self, workers: int):
        self.pool = mp.get_context("fork").Pool(workers, initializer=_ignore_sigint)

    def results(self, jobs: list[Job]) -> Iterator[tuple[Job, SolveResult]]:
        yield from self.pool.imap_unordered(_job_and_result, jobs, chunksize=1)

    def close(self) -> None:
        self.pool.terminate()
        self.pool.join()


def _job_and_result(job: Job) -> tuple[Job, SolveResult]:
    return job, run_job(job)


class DaskBackend:
    """An existing Dask cluster (`tcp://host:8786`), or a Client given directly (tests)."""

    def __init__(self, scheduler):
        from distributed import Client  # only needed for clusters
        self.own = isinstance(scheduler, str)
        self.client = Client(scheduler, timeout="20s") if self.own else scheduler
        self.futures: dict = {}

    def results(self, jobs: list[Job]) -> Iterator[tuple[Job, SolveResult]]:
        from distributed import as_completed
        self.futures = {self.client.submit(run_job, j, key=f"solve-{j.key}", pure=False): j for j in jobs}
        for f in as_completed(list(self.futures)):
            yield self.futures[f], f.result()

    def close(self) -> None:
        self.client.cancel(list(self.futures))  # an interrupted run leaves no work on the cluster
        if self.own:
            self.client.close()


@dataclass
class Progress:
    """What the caller's progress display reads."""

    total: int
    done: int = 0
    cache_hits: int = 0
    solved: int = 0
    worst_gap: float = 0.0


def run(jobs: dict[str, Job], store: Store, backend_factory: Callable[[], object],
        on_progress: Callable[[Progress], None] | None = None) -> tuple[dict[str, SolveResult], Progress]:
    """Every job's result: from the store when it has it, else solved by the backend and
    stored as it arrives. KeyboardInterrupt propagates after the pool is shut down;
    everything stored until then stays stored."""
    results: dict[str, SolveResult] = {}
    todo: list[Job] = []
    prog = Progress(total=len(jobs))
    for key, job in jobs.items():
        hit = store.get(job.layer, job.hw, job.space, job.objective, time_limit=job.time_limit)
        if hit is not None:
            results[key] = hit
            prog.cache_hits += 1
            prog.done += 1
        else:
            todo.append(job)
    if on_progress:
        on_progress(prog)
    if todo:
        backend = backend_factory()
        try:
            for job, res in backend.results(todo):
                store.put(res, job.hw, job.space, job.time_limit)
                results[job.key] = res
                prog.solved += 1
                prog.done += 1
                if res.gap:
                    prog.worst_gap = max(prog.worst_gap, res.gap)
                if on_progress:
                    on_progress(prog)
        finally:
            backend.close()
    return results, prog
