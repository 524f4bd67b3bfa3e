"""Exact constraint-solver mapper for multichip DNN accelerators (NN-Baton's C³P model)."""

__version__ = "0.1.0"
# Bumped whenever a change alters any count or energy of mapper/cost.py; later
# caches key on it so old results are never served for a new model.
COST_MODEL_VERSION = 2
