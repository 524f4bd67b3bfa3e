"""Every layer of each source paper's system solves to a proven optimum (issue 7's "done"):
Simba at 36 chiplets (ResNet-50, batch 1), Eyeriss (AlexNet CONV1-5 at batch 4, VGG-16
CONV at batch 3), Simba's 4 chiplets at 4-bit precision, the in-memory-computing BNN chip
(tests/test_imc.py). Comparisons with
the papers' measurements are benchmarks (bench/simba36.py, eyeriss.py, imc.py)."""
import pytest

from mapper.cost import evaluate
from mapper.hardware import load_hardware
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
