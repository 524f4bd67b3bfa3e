"""Issue 3, done means: on every layer of the five-model zoo at 224 and 512 on the
case-study hardware, CP-SAT's optimum over the template space equals enumeration's, and
CP-SAT's objective equals cost.py's energy of the mapping it returns. (Full space <=
template on every zoo layer is checked by bench/solve_zoo.py, and on samples by
tests/test_cpsat.py: solving the full space of the whole zoo takes ~10 minutes.)"""
import pytest

from mapper.hardware import load_hardware
from mapper.solvers.cpsat import solve_layer
from mapper.solvers.enumerate import enumerate_layer
from mapper.workload import load_workload, unique_layers

CASE = load_hardware("hardware/nnbaton-case-study.yaml")
ZOO = [(m, r) for m in ("alexnet", "vgg16", "resnet50", "darknet19", "mobilenetv2") for r in (224, 512)]


@pytest.mark.slow
@pytest.mark.parametrize("model,res", ZOO, ids=[f"{m}@{r}" for m, r in ZOO])
def test_template_optimum_equals_enumeration_on_every_zoo_layer(model, res):
    for layer, _ in unique_layers(load_workload(model, res).layers):
        truth = enumerate_layer(layer, CASE, "template").best
        got = solve_layer(layer, CASE, "template", time_limit=120, workers=2)
        assert got.status == "OPTIMAL", layer
        assert got.value == got.best.energy_fj == truth.energy_fj, layer
