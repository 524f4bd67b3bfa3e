"""Exact constraint-solver mapper for multichip DNN accelerators (NN-Baton's C³P model).

The public API (docs/api.md)::

    import mapper
    hw = mapper.load_hardware("nnbaton-case-study")
    res = mapper.solve("resnet50", hw)          # a ModelResult: layers, totals, statuses
    print(res.energy_pj, res.statuses, res.worst_gap)

Names are loaded on first use, so `import mapper` pulls in neither torch nor OR-Tools.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"
# Bumped whenever a change alters any count or energy of mapper/cost.py; later
# caches key on it so old results are never served for a new model.
COST_MODEL_VERSION = 2

# public name -> the module that defines it
_EXPORTS = {
    "load_workload": "mapper.api", "load_hardware": "mapper.api", "solve": "mapper.api",
    "evaluate": "mapper.api", "enumerate": "mapper.api", "gap": "mapper.api", "codesign": "mapper.api",
    "zoo": "mapper.api", "describe_hardware": "mapper.api",
    "CodesignResult": "mapper.results", "ZooResult": "mapper.results",
    "Objective": "mapper.choices", "Space": "mapper.choices", "LayerResult": "mapper.results",
    "SolvedLayer": "mapper.results", "GapLayer": "mapper.results", "ModelResult": "mapper.results",
    "GapResult": "mapper.results",
    "Layer": "mapper.layer", "Hardware": "mapper.hwspec", "Mapping": "mapper.space",
    "Workload": "mapper.workload", "Store": "mapper.store",
    "MapperError": "mapper.errors", "InputError": "mapper.errors", "SolverBug": "mapper.errors",
    "HardwareError": "mapper.hardware", "WorkloadError": "mapper.workload", "StoreError": "mapper.store",
}
__all__ = sorted(_EXPORTS) + ["__version__", "COST_MODEL_VERSION"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value  # later look-ups are plain attribute reads
        return value
    raise AttributeError(f"module 'mapper' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
