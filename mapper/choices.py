"""The values and ranges every input may take, defined once for the library and the CLI.

Kept free of heavy imports (no numpy, torch or OR-Tools) so the command-line parser can
use it and `mapper --help` stays quick.
"""
from __future__ import annotations

import enum


class Objective(enum.StrEnum):
    """What a solve minimises: energy (fJ), latency (cycles) or their product (exact)."""

    ENERGY = "energy"
    LATENCY = "latency"
    EDP = "edp"


class Space(enum.StrEnum):
    """The mapping space: every tile size (full) or NN-Baton's divisor tiles (template)."""

    FULL = "full"
    TEMPLATE = "template"


OBJECTIVES = tuple(o.value for o in Objective)
SPACES = tuple(s.value for s in Space)
CODESIGN_OBJECTIVES = OBJECTIVES + ("pareto",)
MEMORY_MODES = ("grid", "proportional")

#: the fixed choices a solve or an enumeration accepts (`fixed=`, `--package` ...), and their values
FIXED_CHOICES = {"package": ("C", "P"), "chiplet": ("C", "P", "H"), "chip_order": ("channel", "plane"),
                 "core_order": ("channel", "plane")}
NAMED_DATAFLOWS = ("ws", "os", "is")  # mapper.dataflows.NAMED, listed here without importing numpy
DEFAULT_BASELINES = "simba,template,random:10000,greedy,ws,os,is"

# Ranges: wide enough for any real use, narrow enough that a typo is caught.
MAX_SECONDS = 7 * 24 * 3600.0  # a time limit of more than a week is a typo
MAX_WORKERS = 4096  # CP-SAT search threads or parallel solves; far above any core count
MAX_RESOLUTION = 16384  # input pixels per side
MAX_BATCH = 1 << 20  # images (or concurrent sequences) per inference
MAX_SEQ_LEN = 1 << 20  # tokens of context (a model's own limit is checked by the model)
MAX_EXTENT = 1 << 20  # one dimension of an --input-shape
PHASES = ("prefill", "decode")  # token models: all tokens at once, or one new token on a KV cache
MAX_SEED = 2**32 - 1
MAX_POINTS = 10**12  # --max-points of a full-space enumeration
MAX_RANDOM_DRAWS = 10**8  # random:N: at ~10^5 draws/s, a day's work
MAX_MACS_BUDGET = 1 << 40  # co-design MAC budget
MAX_CYCLES = 1 << 62  # latency limits
