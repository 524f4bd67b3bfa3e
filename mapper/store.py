"""The solutions store: proven layer solves kept in SQLite, so no layer shape is solved
twice on the same hardware, and an interrupted run loses nothing it finished.

A solve is keyed by a hash of everything its answer depends on: the layer's shape (not
its name), the hardware's parameters (not its name), the mapping space, the objective,
the fixed choices, and the cost-model version (`mapper.COST_MODEL_VERSION`, raised
whenever the cost model changes; an entry of another version is never returned).
Proven answers (OPTIMAL, INFEASIBLE) answer any later request; a time-limited one
(FEASIBLE, with its bound) only requests with no longer a time limit — more time might
find better.

An entry holds the mapping, not its cost: a hit re-prices the mapping with today's
`cost.evaluate` (microseconds) and checks the objective value against the stored one,
so a damaged or stale row is detected, dropped and solved again — the store never
returns a wrong solution. A file that is not a readable database is moved aside
(`<file>.corrupt-<time>`) and a new store is started, with a warning.

Concurrent writers (processes of one run, or several runs) are safe: SQLite's WAL mode
with a busy timeout serialises the writes, and every write is its own transaction.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
import time
from pathlib import Path

from mapper import COST_MODEL_VERSION
from mapper.cost import evaluate
from mapper.hardware import hardware_to_dict
from mapper.hwspec import Hardware
from mapper.layer import Layer
from mapper.solvers.cpsat import SolveResult, solve_layer
from mapper.space import Mapping

SCHEMA = """
CREATE TABLE IF NOT EXISTS solves (
    key TEXT PRIMARY KEY,
    cost_model INTEGER NOT NULL,
    layer TEXT NOT NULL,           -- the layer's fields, JSON (the name of the first layer solved)
    hardware TEXT NOT NULL,        -- the hardware's name when solved (for people; not in the key)
    space TEXT NOT NULL,
    objective TEXT NOT NULL,
    status TEXT NOT NULL,          -- OPTIMAL, FEASIBLE or INFEASIBLE
    mapping TEXT,                  -- JSON of mapper.space.Mapping (NULL when INFEASIBLE)
    value TEXT,                    -- objective value (integer, as text: EDP exceeds 64 bits)
    bound TEXT,                    -- proven lower bound, same units
    time_limit REAL NOT NULL,      -- seconds the solve was given
    reason TEXT,
    solve_s REAL NOT NULL,
    created REAL NOT NULL,
    checksum TEXT NOT NULL
)
"""
KEPT = ("OPTIMAL", "FEASIBLE", "INFEASIBLE")
COLUMNS = ("key", "cost_model", "layer", "hardware", "space", "objective", "status", "mapping", "value", "bound",
           "time_limit", "reason", "solve_s", "created")


def default_path() -> Path:
    """$MAPPER_STORE, else the user cache directory (XDG_CACHE_HOME or ~/.cache)."""
    if os.environ.get("MAPPER_STORE"):
        return Path(os.environ["MAPPER_STORE"])
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "mapper" / "solutions.sqlite"


def hardware_params(hw: Hardware) -> dict:
    """The hardware as the cost model sees it: every parameter and the per-bit energies
    it charges (a priced relaxation differs there), without names and sources."""
    d = hardware_to_dict(hw)
    d.pop("name", None)
    d.pop("source", None)
    d["energy_fj_per_bit"] = hw.energy_fj_per_bit()
    return d


def solve_key(layer: Layer, hw: Hardware, space: str, objective: str, fixed: dict | None) -> str:
    shape = {k: v for k, v in layer.to_dict().items() if k != "name"}
    payload = {"layer": shape, "hardware": hardware_params(hw), "space": space, "objective": objective,
               "fixed": dict(sorted((fixed or {}).items())), "cost_model": COST_MODEL_VERSION}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _checksum(row: tuple) -> str:
    return hashlib.sha256(json.dumps(row, default=str).encode()).hexdigest()[:16]


class Store:
    """One SQLite file of solves (module docstring)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.warnings: list[str] = []
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"--store {self.path}: cannot create its directory ({e.strerror}). "
                             "Give a writable path, e.g. --store ./solutions.sqlite.") from None
        self.db = self._open()

    def _open(self) -> sqlite3.Connection:
        try:
            return self._connect()
        except sqlite3.DatabaseError as e:  # not a database, or damaged beyond reading
            aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
            os.replace(self.path, aside)
            for suffix in ("-wal", "-shm"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)
            self.warnings.append(f"the store {self.path} could not be read ({e}); it was moved to {aside} "
                                 "and a new store started (solves are redone as needed)")
            return self._connect()
        except sqlite3.OperationalError as e:
            raise StoreError(f"--store {self.path}: cannot open ({e}). Give a writable path.") from None

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA busy_timeout=60000")
        db.execute(SCHEMA)
        if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            db.close()
            raise sqlite3.DatabaseError("integrity check failed")
        return db

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------ solves
    def get(self, layer: Layer, hw: Hardware, space: str, objective: str, fixed: dict | None = None,
            time_limit: float = float("inf")) -> SolveResult | None:
        """The stored solve, re-priced and checked, or None (a miss)."""
        key = solve_key(layer, hw, space, objective, fixed)
        row = self.db.execute(f"SELECT {', '.join(COLUMNS)}, checksum FROM solves WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        rec = dict(zip(COLUMNS, row))
        if rec["status"] == "FEASIBLE" and rec["time_limit"] < time_limit:
            return None  # asked to search longer than that solve did
        result = self._check(row, layer, hw, objective)
        if result is None:
            self.db.execute("DELETE FROM solves WHERE key = ?", (key,))
            self.warnings.append(f"a stored solve of {layer.name} on {hw.name} failed its check and was dropped; "
                                 "it is solved again")
        return result

    def _check(self, row: tuple, layer: Layer, hw: Hardware, objective: str) -> SolveResult | None:
        *fields, checksum = row
        rec = dict(zip(COLUMNS, fields))
        if checksum != _checksum(tuple(fields)) or rec["cost_model"] != COST_MODEL_VERSION:
            return None
        status, mapping, value = rec["status"], rec["mapping"], rec["value"]
        if status == "INFEASIBLE":
            return SolveResult(layer, status, None, None, None, 0.0, reason=rec["reason"], objective=objective,
                               stats={"cached": True})
        try:
            best = evaluate(layer, hw, Mapping.from_dict(json.loads(mapping)))
        except (ValueError, TypeError):
            return None
        got = {"energy": best.energy_fj, "latency": best.cycles, "edp": best.energy_fj * best.cycles}[objective]
        if not best.feasible or str(got) != value:
            return None
        bound = int(rec["bound"]) if rec["bound"] is not None else None
        return SolveResult(layer, status, best, got, bound, 0.0, objective=objective, stats={"cached": True})

    def put(self, res: SolveResult, hw: Hardware, space: str, time_limit: float,
            fixed: dict | None = None) -> bool:
        """Keep a solve with an answer (a mapping, or proven infeasibility); an unfinished
        one (no mapping in time) is not kept. Returns whether it was stored."""
        if res.status not in KEPT or (res.status != "INFEASIBLE" and res.best is None):
            return False
        key = solve_key(res.layer, hw, space, res.objective, fixed)
        mapping = json.dumps(res.best.mapping.to_dict()) if res.best is not None else None
        fields = (key, COST_MODEL_VERSION, json.dumps(res.layer.to_dict()), hw.name, space, res.objective,
                  res.status, mapping, None if res.value is None else str(res.value),
                  None if res.bound is None else str(res.bound), float(time_limit), res.reason,
                  round(res.wall_s, 4), time.time())
        marks = ",".join("?" * (len(fields) + 1))
        self.db.execute(f"INSERT OR REPLACE INTO solves VALUES ({marks})", fields + (_checksum(fields),))
        return True

    # ------------------------------------------------------------------ mapper store ls|show|export|prune
    def rows(self) -> list[dict]:
        """Every entry, oldest first (layer and mapping as dicts)."""
        out = []
        for r in self.db.execute(f"SELECT {', '.join(COLUMNS)} FROM solves ORDER BY created, key"):
            d = dict(zip(COLUMNS, r))
            d["layer"] = json.loads(d["layer"])
            d["mapping"] = json.loads(d["mapping"]) if d["mapping"] else None
            out.append(d)
        return out

    def prune(self, everything: bool = False) -> int:
        """Drop the entries of other cost-model versions (or every entry); returns how many."""
        if everything:
            n = self.db.execute("DELETE FROM solves").rowcount
        else:
            n = self.db.execute("DELETE FROM solves WHERE cost_model != ?", (COST_MODEL_VERSION,)).rowcount
        self.db.execute("VACUUM")
        return n


def solve_cached(store: Store | None, layer: Layer, hw: Hardware, space: str = "full", time_limit: float = 60.0,
                 workers: int | None = None, fixed: dict | None = None, objective: str = "energy",
                 warm_start: bool = True) -> SolveResult:
    """`solve_layer`, answered from the store when it can be and stored when solved."""
    hit = store.get(layer, hw, space, objective, fixed, time_limit) if store is not None else None
    if hit is not None:
        return hit
    res = solve_layer(layer, hw, space, time_limit=time_limit, workers=workers, fixed=fixed, objective=objective,
                      warm_start=warm_start)
    if store is not None:
        store.put(res, hw, space, time_limit, fixed)
    return res


class StoreError(Exception):
    """A store path that cannot be used: the message names it and the fix."""


def warn(store: Store) -> None:
    for w in store.warnings:
        print(f"mapper: warning: {w}", file=sys.stderr)
    store.warnings.clear()
