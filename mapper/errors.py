"""The errors the library raises for people: each message names the input at fault
(file, field, value) and the fix. The CLI prints them without a traceback."""
from __future__ import annotations


class MapperError(Exception):
    """Base of every error a user's input can cause (exit code 2 in the CLI)."""


class InputError(MapperError):
    """A bad argument or mapping file: the message names it and says how to fix it."""


class SolverBug(MapperError):
    """A heuristic of the optimum's own space beat a proven optimum: a bug to report."""
