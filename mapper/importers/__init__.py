"""Importers: turn a model written elsewhere into the mapper's `Workload`.

Each importer is its own module and imports its framework at its top, so importing
`mapper` (or `mapper.workload`) never loads torch: `mapper.workload` imports
`mapper.importers.torch_fx` only when a PyTorch model is to be traced.
"""

from types import ModuleType

from mapper.interrupts import import_whole


def load_torch() -> ModuleType:
    """`import torch`, never cut by a Ctrl-C (see `mapper.interrupts.import_whole`)."""
    return import_whole("torch")
