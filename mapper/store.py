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
returns a wrong solution.

Whose file it is. The store never moves, renames, deletes or writes into anything it did
not create. A store it created is recognised by SQLite's `PRAGMA application_id`, set to
`APPLICATION_ID` (0x4D415053, "MAPS") when the store is created and before WAL mode is
switched on, so it is in bytes 68-71 of the file's header even when the rest of the file is
damaged. A database of an older mapper (application_id 0 holding exactly the `solves`
table with these columns) is also recognised, and stamped on its first writable open.
A missing path (its parent folders are created) or an empty (0-byte) file becomes a new
store. Anything else is a StoreError naming the path and the fix, and is left untouched:
a directory, a file that is not an SQLite database, another program's database. Only a
store it created that SQLite can no longer read is moved aside
(`<file>.corrupt-<time>`, its -wal/-shm files along), and a new store started, with a
warning.

Read-only use (`Store(path, readonly=True)`: `rows`, `get`; `mapper store ls|show|export`)
never writes: a missing file is an empty store and is not created, a damaged row is
reported and not dropped, and no -wal/-shm files are created beside the store (it is
opened `immutable` when no writer has it open, else SQLite's read-only mode).

Concurrent writers (processes of one run, or several runs) are safe: SQLite's WAL mode
with a busy timeout serialises the writes, and every write is its own transaction.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
import sys
import time
import urllib.parse
from pathlib import Path

from mapper import COST_MODEL_VERSION
from mapper.cost import evaluate
from mapper.errors import MapperError
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
APPLICATION_ID = 0x4D415053  # "MAPS": SQLite's header field naming the program a database belongs to
_SQLITE_MAGIC = b"SQLite format 3\x00"
_FIX = "Fix: give a new file name for the store, e.g. --store ./solutions.sqlite (it is created)"


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
    """One SQLite file of solves (module docstring).

    `Store(path)` opens or creates a store for reading and writing; `Store(path,
    readonly=True)` only reads (`rows`, `get`): it never creates, changes, moves or
    deletes a file. A path that is not a store the mapper created is a StoreError.
    `exists` is False for a read-only store whose file does not exist (it reads as empty)."""

    def __init__(self, path: str | Path, readonly: bool = False):
        self.path = Path(path)
        self.readonly = readonly
        self.exists = True
        self.warnings: list[str] = []
        self.db: sqlite3.Connection | None
        if str(path) == ":memory:":
            self.db = sqlite3.connect(":memory:", isolation_level=None)
            self._setup(self.db)
            return
        state = self._inspect()
        if readonly:
            self.exists = state != "missing"
            self.db = None if state in ("missing", "empty") else self._open_readonly()
            return
        if state == "missing":
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except (OSError, ValueError) as e:
                raise self._error(f"cannot create its directory {str(self.path.parent)!r} "
                                  f"({getattr(e, 'strerror', None) or e})") from None
        self.db = self._open(state)

    def _error(self, problem: str, fix: str = _FIX) -> StoreError:
        shown = str(self.path) if str(self.path).isprintable() else repr(str(self.path))
        return StoreError(f"--store {shown}: {problem}. {fix}.")

    def _inspect(self) -> str:
        """'missing', 'empty' (a 0-byte file) or 'sqlite' (an SQLite file, not yet known
        to be a store); a StoreError for anything that cannot be a store."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return "missing"
        except NotADirectoryError:
            raise self._error("a folder on that path is a file, so the store cannot be there") from None
        except (OSError, ValueError) as e:
            raise self._error(f"cannot be used ({getattr(e, 'strerror', None) or e})") from None
        if stat.S_ISDIR(st.st_mode):
            raise self._error("is a directory; the store is a file (the directory was left untouched)",
                              f"Fix: name a file, e.g. --store {self.path / 'solutions.sqlite'}")
        if not stat.S_ISREG(st.st_mode):
            raise self._error("is not a regular file (a device, pipe or socket)")
        if st.st_size == 0:
            return "empty"
        try:
            with open(self.path, "rb") as f:
                head = f.read(100)
        except OSError as e:
            raise self._error(f"cannot be read ({e.strerror or e})",
                              "Fix: check the file's permissions, or give another path with --store") from None
        if not head.startswith(_SQLITE_MAGIC):
            raise self._error("is not a solutions store (not an SQLite database); it was left untouched")
        return "sqlite"

    def _header_is_ours(self) -> bool:
        try:
            with open(self.path, "rb") as f:
                head = f.read(100)
        except OSError:
            return False
        return head.startswith(_SQLITE_MAGIC) and int.from_bytes(head[68:72], "big") == APPLICATION_ID

    @staticmethod
    def _is_ours(db: sqlite3.Connection) -> bool:
        """A store this program created: our application_id, or (a store of an older
        version) id 0 with exactly our `solves` table."""
        app = db.execute("PRAGMA application_id").fetchone()[0]
        if app == APPLICATION_ID:
            return True
        if app != 0:
            return False
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        cols = tuple(r[1] for r in db.execute("PRAGMA table_info(solves)"))
        return tables == ["solves"] and cols == (*COLUMNS, "checksum")

    @staticmethod
    def _setup(db: sqlite3.Connection) -> None:
        db.execute("PRAGMA busy_timeout=60000")
        if db.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
            db.execute(f"PRAGMA application_id={APPLICATION_ID}")  # before WAL: into the file header
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(SCHEMA)

    def _open(self, state: str) -> sqlite3.Connection:
        """Open (or create) for writing; a damaged store of ours is moved aside and restarted."""
        db = None
        try:
            db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            if state == "sqlite" and not self._is_ours(db):
                db.close()
                raise self._error("is an SQLite database of another program, not a solutions store; "
                                  "it was left untouched")
            self._setup(db)
            if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("integrity check failed")
            return db
        except sqlite3.OperationalError as e:
            if db is not None:
                db.close()
            if "locked" in str(e) or "busy" in str(e):
                raise self._error(f"is locked by another program ({e})",
                                  "Fix: wait for it to finish, or give another path with --store") from None
            raise self._error(f"cannot be opened for writing ({e})",
                              "Fix: give a path in a writable folder, e.g. --store ./solutions.sqlite, "
                              "or --no-store") from None
        except sqlite3.DatabaseError as e:  # damaged beyond reading
            if db is not None:
                db.close()
            if not self._header_is_ours():
                raise self._error(f"cannot be read as a solutions store ({e}); it was left untouched") from None
            aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
            try:
                os.replace(self.path, aside)
                for suffix in ("-wal", "-shm"):
                    side = Path(f"{self.path}{suffix}")
                    if side.exists():
                        os.replace(side, Path(f"{aside}{suffix}"))
            except OSError as err:
                raise self._error(f"is damaged ({e}) and cannot be moved aside ({err.strerror or err})",
                                  "Fix: give another path with --store") from None
            self.warnings.append(f"the store {self.path} could not be read ({e}); it was moved to {aside} "
                                 "and a new store started (solves are redone as needed)")
            return self._open("missing")

    def _open_readonly(self) -> sqlite3.Connection:
        """Open for reading only. Without a writer (no -wal file) the file is opened
        `immutable`, so SQLite creates no -wal/-shm files beside it."""
        wal = Path(f"{self.path}-wal").exists()
        uri = f"file:{urllib.parse.quote(str(self.path.resolve()))}?" + ("mode=ro" if wal else "immutable=1")
        try:
            db = sqlite3.connect(uri, uri=True, timeout=60, isolation_level=None)
        except sqlite3.Error as e:
            raise self._error(f"cannot be opened for reading ({e})",
                              "Fix: check the file's permissions, or give another path with --store") from None
        try:
            if not self._is_ours(db):
                raise self._error("is an SQLite database of another program, not a solutions store; "
                                  "it was left untouched")
            if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("integrity check failed")
        except sqlite3.DatabaseError as e:
            db.close()
            raise self._error(f"cannot be read ({e}); it was left untouched",
                              "Fix: a command that writes the store (e.g. mapper solve) moves a damaged "
                              "store aside and starts a new one; or give another path with --store") from None
        except StoreError:
            db.close()
            raise
        return db

    def _read(self, sql: str, args: tuple = ()) -> list[tuple]:
        """Rows of a query; a read-only store that changed under it is a StoreError."""
        if self.db is None:
            return []
        try:
            return self.db.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as e:
            if not self.readonly:
                raise
            raise self._error(f"could not be read ({e}); it may have changed while being read",
                              "Fix: run the command again") from None

    def _writable(self, what: str) -> sqlite3.Connection:
        if self.readonly or self.db is None:
            raise self._error(f"is open read-only; cannot {what}", "Fix: open it with Store(path)")
        return self.db

    def close(self) -> None:
        if self.db is not None:
            self.db.close()

    # ------------------------------------------------------------------ solves
    def get(self, layer: Layer, hw: Hardware, space: str, objective: str, fixed: dict | None = None,
            time_limit: float = float("inf")) -> SolveResult | None:
        """The stored solve, re-priced and checked, or None (a miss)."""
        key = solve_key(layer, hw, space, objective, fixed)
        rows = self._read(f"SELECT {', '.join(COLUMNS)}, checksum FROM solves WHERE key = ?", (key,))
        if not rows:
            return None
        row = rows[0]
        rec = dict(zip(COLUMNS, row))
        if rec["status"] == "FEASIBLE" and rec["time_limit"] < time_limit:
            return None  # asked to search longer than that solve did
        result = self._check(row, layer, hw, objective)
        if result is None and self.readonly:
            self.warnings.append(f"a stored solve of {layer.name} on {hw.name} failed its check; it is "
                                 "ignored (not dropped: the store is open read-only)")
        elif result is None:
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
        db = self._writable("store a solve")
        if res.status not in KEPT or (res.status != "INFEASIBLE" and res.best is None):
            return False
        key = solve_key(res.layer, hw, space, res.objective, fixed)
        mapping = json.dumps(res.best.mapping.to_dict()) if res.best is not None else None
        fields = (key, COST_MODEL_VERSION, json.dumps(res.layer.to_dict()), hw.name, space, res.objective,
                  res.status, mapping, None if res.value is None else str(res.value),
                  None if res.bound is None else str(res.bound), float(time_limit), res.reason,
                  round(res.wall_s, 4), time.time())
        marks = ",".join("?" * (len(fields) + 1))
        db.execute(f"INSERT OR REPLACE INTO solves VALUES ({marks})", fields + (_checksum(fields),))
        return True

    # ------------------------------------------------------------------ mapper store ls|show|export|prune
    def rows(self) -> list[dict]:
        """Every entry, oldest first (layer and mapping as dicts)."""
        out = []
        for r in self._read(f"SELECT {', '.join(COLUMNS)} FROM solves ORDER BY created, key"):
            d = dict(zip(COLUMNS, r))
            d["layer"] = json.loads(d["layer"])
            d["mapping"] = json.loads(d["mapping"]) if d["mapping"] else None
            out.append(d)
        return out

    def prune(self, everything: bool = False) -> int:
        """Drop the entries of other cost-model versions (or every entry); returns how many."""
        db = self._writable("prune")
        if everything:
            n = db.execute("DELETE FROM solves").rowcount
        else:
            n = db.execute("DELETE FROM solves WHERE cost_model != ?", (COST_MODEL_VERSION,)).rowcount
        db.execute("VACUUM")
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


class StoreError(MapperError):
    """A store path that cannot be used: the message names it and the fix."""


def warn(store: Store) -> None:
    for w in store.warnings:
        print(f"mapper: warning: {w}", file=sys.stderr)
    store.warnings.clear()
