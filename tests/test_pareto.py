"""Energy-latency fronts: the numpy front, sums and limits against brute force over
every combination, and one layer's front (full enumeration, CP-SAT walk) against the
non-dominated set of every mapping."""
import itertools

import numpy as np
import pytest

from mapper.choices import OBJECTIVES
from mapper import pareto
from mapper.cost import evaluate
from mapper.layer import Layer
from mapper.pareto import Limits
from mapper.solvers.cpsat import layer_front
from mapper.solvers.enumerate import enumerate_layer
from tests.test_cost import all_mappings, tiny_hw


def naive_front(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Distinct pairs no other pair is <= in both and < in one, by energy."""
    pts = set(points)
    return sorted(p for p in pts if not any(q != p and q[0] <= p[0] and q[1] <= p[1] for q in pts))


def random_points(rng, n: int) -> list[tuple[int, int]]:
    return [(int(e), int(c)) for e, c in rng.integers(0, 12, size=(n, 2))]  # many ties


@pytest.mark.seeds(range(5))
def test_front_equals_pairwise_definition(sweep_seed):
    pts = random_points(np.random.default_rng(sweep_seed), 200)
    e, c = pareto.front([p[0] for p in pts], [p[1] for p in pts])
    assert list(zip(e.tolist(), c.tolist())) == naive_front(pts)


@pytest.mark.seeds(range(5))
def test_sum_of_fronts_equals_every_combination(sweep_seed):
    """Layer a once and layer b three times (each copy may use its own mapping)."""
    rng = np.random.default_rng(sweep_seed)
    a, b = naive_front(random_points(rng, 20)), naive_front(random_points(rng, 20))
    sums = [(sum(p[0] for p in combo), sum(p[1] for p in combo))
            for combo in itertools.product(a, b, b, b)]
    fa, fb = pareto.front(*zip(*a)), pareto.front(*zip(*b))
    e, c = pareto.add(fa, fb, 3)
    assert list(zip(e.tolist(), c.tolist())) == naive_front(sums)


@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("limits", [Limits(), Limits(cycles=6), Limits(energy_fj=3),
                                    Limits(edp=20), Limits(cycles=0)], ids=str)
def test_best_point_within_limits(objective, limits):
    pts = naive_front(random_points(np.random.default_rng(7), 60))
    ok = [p for p in pts if (limits.cycles is None or p[1] <= limits.cycles)
          and (limits.energy_fj is None or p[0] <= limits.energy_fj)
          and (limits.edp is None or p[0] * p[1] <= limits.edp)]
    e, c = pareto.front(*zip(*pts))
    i = pareto.best(e, c, objective, limits)
    if not ok:
        assert i is None
        return
    value = {"energy": lambda p: p[0], "latency": lambda p: p[1], "edp": lambda p: p[0] * p[1]}[objective]
    assert value((int(e[i]), int(c[i]))) == min(value(p) for p in ok)


LAYER = Layer("a", K=5, C=3, H=5, W=3, R=3, S=3, padding=1)
HW = tiny_hw(n_chiplets=2, n_cores=4, a_l1=40, w_l1=60, a_l2=300)


def test_layer_front_equals_every_mapping():
    """Full enumeration's front and CP-SAT's walk both equal the front of every mapping."""
    every = [(e.energy_fj, e.cycles) for e in (evaluate(LAYER, HW, m) for m in all_mappings(LAYER, HW))
             if e.feasible]
    truth = naive_front(every)
    assert len(truth) >= 3  # a front worth walking
    enum = enumerate_layer(LAYER, HW, "full", front=True)
    assert list(zip(*(a.tolist() for a in enum.front))) == truth
    walked = layer_front(LAYER, HW, "full", workers=2)
    assert walked.status == "OPTIMAL" and list(walked.points) == truth == list(walked.floor)


def test_template_front_by_walk_equals_enumeration():
    layer = Layer("b", K=16, C=8, H=8, W=8, R=3, S=3, padding=1)
    hw = tiny_hw(n_chiplets=2, n_cores=4, a_l1=64, w_l1=256, a_l2=1024)
    enum = enumerate_layer(layer, hw, "template", front=True)
    walked = layer_front(layer, hw, "template", workers=2)
    assert walked.status == "OPTIMAL"
    assert list(walked.points) == list(zip(*(a.tolist() for a in enum.front)))


def test_infeasible_layer_has_no_front():
    layer = Layer("big", K=64, C=256, H=14, W=14, R=3, S=3, padding=1)
    hw = tiny_hw(n_chiplets=4, n_cores=8, lanes=8, vector=8, a_l2=2048, o_l1=1536)
    f = layer_front(layer, hw, "full", workers=2)
    assert f.status == "INFEASIBLE" and not f.points and "a_l2" in f.reason
