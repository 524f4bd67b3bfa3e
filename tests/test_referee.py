"""The referee rule: cost.py's analytical counts equal the referee simulator's, field
by field, over random small layers, hardware and mappings (ragged tiles, stride > 1,
dilation, 1x1 to 7x7 kernels, depthwise, FC, batch 2 and 3 with every batch tile, bandwidth
limits, every split and order)."""
import random

import pytest

from mapper.cost import evaluate
from mapper.simulate import random_case, simulate

# 200 cases in `make test` (one chunk), 2,400 in `make test-long` (every chunk; CI runs both)
CHUNKS, PER_CHUNK = 12, 200


@pytest.mark.seeds(range(CHUNKS))
def test_cost_equals_simulator(sweep_seed):
    rng = random.Random(1000 + sweep_seed)
    feasible = 0
    for _ in range(PER_CHUNK):
        layer, hw, m = random_case(rng)
        sim, ana = simulate(layer, hw, m), evaluate(layer, hw, m)
        case = f"{layer} on {hw.n_chiplets}x{hw.n_cores}x{hw.lanes}x{hw.vector} with {m}"
        assert sim.feasible == ana.feasible, case
        if not sim.feasible:
            continue
        feasible += 1
        assert ana.counts == sim.counts, case
        assert ana.retention == sim.retention, case
    assert feasible >= PER_CHUNK // 4  # the generator must keep exercising feasible cases
