"""The bandwidth-aware latency (cost.latency): hand derivations, CP-SAT against brute
force when bandwidth binds, and the mesh topology's checks."""
import dataclasses
import itertools
from collections import Counter

import pytest

from mapper.cost import evaluate
from mapper.hardware import HardwareError, load_hardware, mesh_has_ring
from mapper.layer import Layer
from mapper.pareto import front
from mapper.simba import SimbaMapping, chiplet_grid, evaluate_simba
from mapper.simba import links as simba_links
from mapper.solvers.cpsat import layer_front, solve_layer
from tests.test_cost import CASE_STUDY, RES2A_2B, WORKED, all_mappings, tiny_hw


def test_worked_example_latency_by_hand():
    """docs/cost-model.md §4 (Time). The worked example moves (weights once, each chiplet's
    window once, outputs once) 36,864 x 8 + 4 x 57,600 x 8 + 200,704 x 8 = 3,743,744
    DRAM bits and 3 x 36,864 x 8 = 884,736 die-to-die bits; compute takes 56,448 cycles."""
    assert evaluate(RES2A_2B, CASE_STUDY, WORKED).cycles == 56_448  # no bandwidth given
    # 12.8 GB/s per channel at 500 MHz = 204.8 bits/cycle, x 4 channels = 819.2:
    # 3,743,744 / 819.2 = 4,570 cycles; links 25 GB/s = 400 bits/cycle x 4 = 1,600:
    # 884,736 / 1,600 = 552.96 -> 553. Compute still bounds.
    hw = dataclasses.replace(CASE_STUDY, dram_gb_s=12.8, d2d_gb_s=25)
    e = evaluate(RES2A_2B, hw, WORKED)
    assert e.times == {"compute": 56_448, "dram": 4_570, "d2d": 553}
    assert e.cycles == 56_448 and e.bound_by == "compute" and e.utilization == 1.0
    # 0.5 GB/s per channel: 8 bits/cycle x 4 = 32 -> 116,992 cycles, DRAM-bound
    slow = dataclasses.replace(CASE_STUDY, dram_gb_s=0.5, d2d_gb_s=0.25)
    e = evaluate(RES2A_2B, slow, WORKED)
    # links 0.25 GB/s: 4 bits/cycle x 4 = 16 -> 884,736 / 16 = 55,296
    assert e.times == {"compute": 56_448, "dram": 116_992, "d2d": 55_296}
    assert e.cycles == 116_992 and e.bound_by == "dram"
    assert e.energy_fj == evaluate(RES2A_2B, CASE_STUDY, WORKED).energy_fj  # energy does not change
    # a faster clock: same bytes per second, fewer bits per cycle -> more DRAM cycles
    fast = dataclasses.replace(slow, clock_mhz=1000)
    assert evaluate(RES2A_2B, fast, WORKED).times["dram"] == 2 * 116_992


LAYER = Layer("a", K=5, C=3, H=5, W=3, R=3, S=3, padding=1)
# DRAM 16 bits/cycle per channel, links 1.6: the die-to-die links bind half the mappings
SLOW = tiny_hw(n_chiplets=2, n_cores=4, a_l1=40, w_l1=60, a_l2=300, dram_gb_s=1, d2d_gb_s=0.1)


@pytest.fixture(scope="module")
def every():
    evs = [e for e in (evaluate(LAYER, SLOW, m) for m in all_mappings(LAYER, SLOW)) if e.feasible]
    kinds = Counter(e.bound_by for e in evs)
    assert kinds["compute"] and kinds["d2d"]  # the test must see both kinds of mapping
    fast = min(e.cycles for e in evs)
    assert fast > min(e.times["compute"] for e in evs)  # bandwidth moves the fastest mapping
    return evs


def test_latency_objective_with_bandwidth_equals_brute_force(every):
    res = solve_layer(LAYER, SLOW, "full", workers=2, objective="latency")
    assert res.status == "OPTIMAL" and res.best.cycles == res.value == min(e.cycles for e in every)


def test_edp_with_bandwidth_equals_brute_force(every):
    res = solve_layer(LAYER, SLOW, "full", workers=2, objective="edp")
    assert res.status == "OPTIMAL" and res.value == min(e.energy_fj * e.cycles for e in every)


def test_front_with_bandwidth_equals_brute_force(every):
    e, c = front([x.energy_fj for x in every], [x.cycles for x in every])
    truth = list(zip(e.tolist(), c.tolist()))
    walked = layer_front(LAYER, SLOW, "full", workers=2)
    assert walked.status == "OPTIMAL" and list(walked.points) == truth


def test_energy_optimum_unchanged_by_bandwidth(every):
    res = solve_layer(LAYER, SLOW, "full", workers=2)
    assert res.status == "OPTIMAL" and res.value == min(e.energy_fj for e in every)
    assert res.best.cycles == min(e.cycles for e in every if e.energy_fj == res.value)  # tie-break


# --- the mesh ------------------------------------------------------------------------------
def _has_cycle(rows: int, cols: int) -> bool:
    """A Hamiltonian cycle of the grid graph, by exhaustive search (small grids)."""
    cells = list(itertools.product(range(rows), range(cols)))
    if len(cells) <= 2:
        return True

    def nbrs(p):
        r, c = p
        return [(r + dr, c + dc) for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0))
                if 0 <= r + dr < rows and 0 <= c + dc < cols]

    def extend(path, seen):
        if len(path) == len(cells):
            return cells[0] in nbrs(path[-1])
        return any(extend(path + [q], seen | {q}) for q in nbrs(path[-1]) if q not in seen)

    return extend([cells[0]], {cells[0]})


@pytest.mark.parametrize("rows,cols", [(1, 1), (1, 2), (1, 3), (1, 4), (2, 2), (2, 3), (3, 3), (3, 4),
                                       (4, 4), (3, 5), (2, 5), (4, 5)])
def test_mesh_ring_rule_matches_search(rows, cols):
    """The loader's rule for 'a ring one hop per link exists' equals exhaustive search."""
    assert mesh_has_ring(rows, cols) == _has_cycle(rows, cols)


def _hw_file(tmp_path, package: str):
    f = tmp_path / "hw.yaml"
    f.write_text(f"""tech: tech-16nm
package: {package}
chiplet: {{cores: 2, a_l2: 4KB, o_l2: 4KB}}
core: {{lanes: 2, vector: 2, o_l1: 64B, a_l1: 64B, w_l1: 64B}}
""")
    return f


@pytest.mark.parametrize("package,words", [
    ("{chiplets: 9, topology: mesh, mesh: [3, 3]}", ["3 x 3", "no ring", "topology: ring"]),
    ("{chiplets: 8, topology: mesh, mesh: [2, 3]}", ["2 x 3 = 6", "package.chiplets is 8"]),
    ("{chiplets: 4, topology: mesh}", ["package.mesh", "missing"]),
    ("{chiplets: 4, mesh: [2, 2]}", ["topology is not mesh"]),
    ("{chiplets: 4, topology: torus}", ["ring, mesh"]),
    ("{chiplets: 4, dram_gb_s: 0}", ["package.dram_gb_s", "is 0"]),
    ("{chiplets: 4, topology: mesh, mesh: [2]}", ["[rows, columns]"]),
])
def test_bad_package_is_one_message(tmp_path, package, words):
    with pytest.raises(HardwareError) as err:
        load_hardware(_hw_file(tmp_path, package))
    msg = str(err.value)
    assert "hw.yaml" in msg and "Fix:" in msg and all(w in msg for w in words), msg


def test_simba36_loads_and_simba_uses_the_mesh_rows(tmp_path):
    hw = load_hardware("simba-36chiplet")
    assert (hw.n_chiplets, hw.topology, hw.mesh, hw.macs, hw.frequency_mhz) == (36, "mesh", (6, 6), 36_864, 1736)
    assert chiplet_grid(hw) == (6, 6)
    wide = load_hardware(_hw_file(tmp_path, "{chiplets: 8, topology: mesh, mesh: [4, 2]}"))
    assert chiplet_grid(wide) == (4, 2)  # the mesh, not the most square 2 x 4
    # psums cross chiplet rows: 4 rows -> 3 crossings per output (a layer spanning all PEs)
    layer = Layer("c", K=8, C=16, H=2, W=2)
    e = evaluate_simba(layer, wide, SimbaMapping(2, 2))
    assert e.counts["d2d_p"] == layer.outputs * 3
    # Simba's dataflow drives every east and south link of a mesh at once: 6 x 5 + 6 x 5 = 60
    # on 6 x 6 (NN-Baton's rotation uses the 36 of its ring); 4 x 1 + 2 x 3 = 10 on 4 x 2
    assert (simba_links(hw), simba_links(wide)) == (60, 10)
    slow = dataclasses.replace(wide, d2d_gb_s=0.25)  # 4 bits per cycle per link at 500 MHz
    e = evaluate_simba(layer, slow, SimbaMapping(2, 2))
    bits = e.counts["d2d_a"] * 8 + e.counts["d2d_p"] * 24
    assert e.times["d2d"] == -(-bits // (10 * 4))
