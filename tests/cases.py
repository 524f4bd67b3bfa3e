"""Seeded streams of random cases shared by the sweeps. Case i of a stream is the i-th
case its filter keeps, drawn in order from `random.Random(stream)`: the default run (seed 0
only) and `--all-seeds` see the same cases, and each case is generated once per process."""
from __future__ import annotations

import random
from typing import Any, Callable

from mapper.simulate import random_case

_STREAMS: dict[tuple, tuple[random.Random, list]] = {}


def nth_case(stream: int, i: int, keep: Callable[[Any, Any], Any]) -> tuple:
    """(layer, hw, keep(layer, hw)) of the i-th case of the stream for which `keep` is not None."""
    rng, kept = _STREAMS.setdefault((stream, keep), (random.Random(stream), []))
    while len(kept) <= i:
        layer, hw, _ = random_case(rng)
        extra = keep(layer, hw)
        if extra is not None:
            kept.append((layer, hw, extra))
    return kept[i]
