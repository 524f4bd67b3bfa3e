"""Every layer of each source paper's system solves to a proven optimum (issue 7's "done"):
Simba at 36 chiplets (ResNet-50, batch 1), Eyeriss (AlexNet CONV1-5 at batch 4, VGG-16
CONV at batch 3), Simba's 4 chiplets at 4-bit precision, the in-memory-computing BNN chip
(tests/test_imc.py). Comparisons with
the papers' measurements are benchmarks (bench/simba36.py, eyeriss.py, imc.py)."""
import pytest
from ortools.sat.python import cp_model

from mapper.cost import evaluate
from mapper.hardware import load_hardware
from mapper.solvers import cpsat
from mapper.solvers.cpsat import solve_layer
from mapper.workload import load_workload, unique_layers

SYSTEMS = [("simba-36chiplet", "resnet50", 1), ("eyeriss", "models/eyeriss/alexnet-conv.yaml", 4),
           ("eyeriss", "models/eyeriss/vgg16-conv.yaml", 3), ("simba-4chiplet-int4", "resnet50", 1)]


@pytest.mark.slow
@pytest.mark.parametrize("hw_name,model,batch", SYSTEMS)
def test_every_layer_solves_to_optimal(hw_name, model, batch):
    hw = load_hardware(hw_name)
    wl = load_workload(model)
    assert {lay.N for lay in wl.layers if lay.kind != "fc"} == {batch}
    for layer, names in unique_layers(wl.layers):
        r = solve_layer(layer, hw, "full", time_limit=120, workers=2)
        assert r.status == "OPTIMAL", (hw_name, names, r.reason)
        again = evaluate(layer, hw, r.best.mapping)  # the reported figures are cost.py's
        assert (again.energy_fj, again.cycles) == (r.value, r.best.cycles)
        # ... and the CP-SAT model's own energy and cycles of that mapping (one cost model, two back ends)
        assert pinned_objectives(layer, hw, r.best.mapping) == (r.value, r.best.cycles), (hw_name, names)


def pinned_objectives(layer, hw, mapping) -> tuple[int, int]:
    """The CP-SAT model of the layer (the other back end of the cost model) with every
    choice pinned to `mapping`: its least energy and, solved again, its least cycles.
    For a fixed mapping both are the model's value of that mapping, computed by the
    solver from the symbolic counts, not by cost.evaluate."""
    fixed = {"package": mapping.package_type, "chiplet": mapping.chiplet_type, "chip_order": mapping.chip_order,
             "core_order": mapping.core_order, "batch_tile": mapping.batch_tile}
    out = []
    for objective in ("energy", "latency"):
        model = cpsat._Model(layer, hw, False, fixed)
        model.build(objective)
        assert model.hint(mapping), "the mapping is not among the model's candidates"
        hint = model.m.Proto().solution_hint
        for index, value in zip(hint.vars, hint.values):  # the hint, made a constraint
            model.m.Add(model.m.GetIntVarFromProtoIndex(index) == value)
        solver = cpsat._solver(60, 2)
        assert solver.Solve(model.m) == cp_model.OPTIMAL
        out.append(int(round(solver.ObjectiveValue())))
    return out[0], out[1]
