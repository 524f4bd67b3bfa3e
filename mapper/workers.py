"""How many workers: CP-SAT search threads for one solve, or solves side by side. One
rule for the library and the CLI, read from $MAPPER_WORKERS or the core count, checked."""
from __future__ import annotations

import os

from mapper.choices import MAX_WORKERS
from mapper.errors import InputError


class WorkersError(InputError, ValueError):
    """$MAPPER_WORKERS or a workers argument is not a usable count; the message names it,
    its value and the fix."""


def default_workers() -> int:
    """$MAPPER_WORKERS (a decimal whole number from 1 to MAX_WORKERS; unset or empty: the
    core count). Raises WorkersError for anything else."""
    raw = os.environ.get("MAPPER_WORKERS", "")
    if not raw.strip():
        return os.cpu_count() or 1
    text = raw.strip().removeprefix("+")
    n = int(text) if text.isascii() and text.isdigit() and len(text) <= 6 else None
    if n is None or not 1 <= n <= MAX_WORKERS:
        shown = repr(raw) if len(raw) <= 40 else repr(raw[:37]) + "..."
        raise WorkersError(
            f"MAPPER_WORKERS is {shown}, but it must be a whole number of workers from 1 to "
            f"{MAX_WORKERS}. Fix: set it to e.g. MAPPER_WORKERS={os.cpu_count() or 1} (the core "
            f"count), or unset it to use the core count.")
    return n


def resolve_workers(workers: int | None, jobs: int | None = None) -> int:
    """`workers` (None: the default), capped at the number of jobs that can run side by
    side, so two solves never fork hundreds of processes."""
    if workers is None:
        n = default_workers()
    elif isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS:
        raise WorkersError(f"workers must be a whole number from 1 to {MAX_WORKERS}, got {workers!r}.")
    else:
        n = workers
    return max(1, min(n, jobs)) if jobs is not None else n
