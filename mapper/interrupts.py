"""Ctrl-C and native libraries: a KeyboardInterrupt raised inside the C++ start-up of
torch or OR-Tools (pybind11) aborts the whole process ("terminate called after throwing
... KeyboardInterrupt"), so the CLI could not exit 130 with one line. Their imports hold a
Ctrl-C until they are done, then raise it."""
from __future__ import annotations

import importlib
import signal
import sys
import threading
from types import ModuleType


def import_whole(name: str) -> ModuleType:
    """`importlib.import_module(name)` with SIGINT held for its duration (main thread only;
    elsewhere Python delivers no signals anyway)."""
    if name in sys.modules or threading.current_thread() is not threading.main_thread():
        return importlib.import_module(name)
    held: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    try:
        module = importlib.import_module(name)
    finally:
        signal.signal(signal.SIGINT, previous)
    if held and callable(previous):
        previous(signal.SIGINT, None)  # the default handler raises KeyboardInterrupt here
    return module
