"""The library API (`import mapper`): what a notebook user gets without reading source.

Expected values come from hand formulas, the cost model called directly, and the CLI's
JSON for the same run (the CLI is a renderer over this API, so the two must agree).
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

import mapper
from mapper.cli import main
from mapper.cost import evaluate as price
from mapper.workload import parse_layer_spec
from tests.test_cli import SMALL_SPACE  # one small design space for the co-design tests

ROOT = Path(__file__).resolve().parents[1]
HW = "nnbaton-case-study"
TINY = "K=8 C=4 H=4 W=4 R=3 S=3 padding=1"
RES2A = "name=res2a_branch2b K=64 C=64 H=56 W=56 R=3 S=3 padding=1"
EXAMPLES = ROOT / "docs" / "examples"


def python(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, **env))


# ------------------------------------------------------------------ the surface
def test_no_submodule_hides_an_api_name():
    """`import mapper.X` sets the attribute mapper.X to the module: a module named like an
    API function (say mapper/codesign.py) would replace the function for every caller."""
    import pkgutil
    modules = {m.name for m in pkgutil.iter_modules(mapper.__path__)}
    assert not modules & set(mapper.__all__), modules & set(mapper.__all__)


def test_public_surface_is_declared_and_loads():
    for name in mapper.__all__:
        assert getattr(mapper, name) is not None, name
    for fn in ("load_workload", "load_hardware", "solve", "evaluate", "enumerate", "gap", "codesign", "zoo"):
        assert callable(getattr(mapper, fn)), fn
    with pytest.raises(AttributeError):
        mapper.no_such_name  # noqa: B018


def test_commands_are_keyword_only():
    """Everything after the workload and the hardware is a keyword: no positional mix-ups."""
    import inspect
    for fn in (mapper.solve, mapper.evaluate, mapper.enumerate, mapper.gap):
        params = list(inspect.signature(fn).parameters.values())
        assert [p.name for p in params[:2]] == ["workload", "hardware"], fn
        assert all(p.kind is p.KEYWORD_ONLY for p in params[2:]), fn


def test_import_mapper_loads_neither_torch_nor_ortools():
    p = python("import sys, mapper; mapper.Objective; mapper.LayerResult\n"
               "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'ortools'))\n"
               "print(heavy)")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]"


def test_help_is_quick_and_loads_no_torch():
    """`mapper --help` and every `mapper COMMAND --help`: under a second, no torch, OR-Tools or numpy."""
    code = ("import contextlib, io, sys, time\nt = time.perf_counter()\nfrom mapper.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    codes = [main(argv) for argv in (['--help'], *([c, '--help'] for c in ('layers', 'evaluate', "
            "'enumerate', 'solve', 'gap', 'codesign', 'zoo', 'store', 'hardware')))]\n"
            "print(time.perf_counter() - t, file=sys.stderr)\n"
            "print(set(codes), sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'ortools', 'numpy')))")
    p = python(code)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "{0} []"
    assert float(p.stderr.strip().splitlines()[-1]) < 1.0


# ------------------------------------------------------------------ the notebook session
def test_notebook_session_matches_the_cli_json(capsys):
    """docs/api.md's session: the API's totals are exactly `mapper solve resnet50 --json`'s
    (two independent solves, no store)."""
    hw = mapper.load_hardware(HW)
    net = mapper.load_workload("resnet50", resolution=224)
    res = mapper.solve(net, hw, time_limit=60)
    assert main(["solve", "resnet50", "--hw", HW, "--json", "--no-store"]) == 0
    cli = json.loads(capsys.readouterr().out)
    for key in ("total_energy_pj", "total_cycles", "total_macs", "statuses", "total_bound_pj", "mac_coverage"):
        assert cli[key] == res.totals()[key], key
    assert [r["mapping"] for r in cli["layers"]] == [r.row["mapping"] for r in res.layers]
    assert math.isclose(res.energy_pj, sum(r.energy_pj for r in res.layers))
    assert res.cycles == sum(r.cycles for r in res.layers)


def test_model_result_layers_in_model_order_and_shared_shapes_solved_once():
    res = mapper.solve("resnet50", HW, space="template", time_limit=60)
    wl = mapper.load_workload("resnet50")
    assert [r.name for r in res.layers] == [L.name for L in wl.layers]
    assert res.distinct_shapes == len({L.shape_key() for L in wl.layers}) < len(wl.layers)
    by_shape: dict = {}
    for r in res.layers:
        by_shape.setdefault(r.layer.shape_key(), []).append(r)
    for group in by_shape.values():
        assert len({r.mapping for r in group}) == 1 and all(r.shared_with == len(group) for r in group)
    # every layer's energy is cost.py's for its mapping (one cost model)
    for r in res.layers[:5]:
        assert price(r.layer, res_hw(), r.mapping).energy_fj == r.objective_value
    # torchvision's ResNet50_Weights.IMAGENET1K_V1 card: 4.09 GFLOPS (multiply-adds)
    assert abs(res.mapped_macs / 4.09e9 - 1) < 0.02
    assert res.statuses == ("OPTIMAL",) and res.worst_gap == 0.0


def res_hw():
    return mapper.load_hardware(HW)


def test_results_are_frozen():
    res = mapper.enumerate(TINY, HW)
    with pytest.raises(AttributeError):
        res.model = "other"
    with pytest.raises(AttributeError):
        res.layers[0].energy_pj = 0.0


def test_to_dict_is_json_and_to_dataframe_has_one_row_per_layer():
    res = mapper.enumerate([TINY, RES2A], HW)
    d = json.loads(json.dumps(res.to_dict()))
    assert [r["name"] for r in d["layers"]] == ["layer0", "res2a_branch2b"]
    pd = pytest.importorskip("pandas")
    df = res.to_dataframe()
    assert isinstance(df, pd.DataFrame) and list(df["name"]) == ["layer0", "res2a_branch2b"]
    assert math.isclose(df["energy_pj"].sum(), res.energy_pj)


# ------------------------------------------------------------------ workloads
def test_load_workload_from_every_kind_of_source():
    spec = mapper.load_workload(RES2A)
    layer = mapper.load_workload(parse_layer_spec(RES2A, name="res2a_branch2b"))
    listed = mapper.load_workload([RES2A, TINY])
    yaml_file = mapper.load_workload(str(EXAMPLES / "layers.yaml"))
    module_file = mapper.load_workload(f"{EXAMPLES / 'tinynet.py'}:TinyNet", resolution=32)
    assert spec.layers == layer.layers and spec.total_macs == 64 * 64 * 56 * 56 * 9
    assert len(listed.layers) == 2 and listed.total_macs == spec.total_macs + 8 * 4 * 4 * 4 * 9
    assert "res2a_branch2b" in [L.name for L in yaml_file.layers]
    assert [L.name for L in module_file.layers] == ["stem", "dw", "pw", "fc"]


def test_load_workload_from_an_nn_module():
    from torch import nn
    net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(16 * 8 * 8, 10))
    wl = mapper.load_workload(net, input_shape=(1, 3, 8, 8), name="tiny")
    assert wl.model == "tiny" and [L.kind for L in wl.layers] == ["conv", "fc"]
    assert wl.total_macs == 16 * 3 * 9 * 8 * 8 + 10 * 16 * 8 * 8
    assert mapper.load_workload(net, input_shape=(1, 3, 8, 8), batch=4).total_macs == 4 * wl.total_macs


def test_layers_of_one_name_are_refused_and_shapes_expand_by_position():
    a, b = parse_layer_spec(TINY), parse_layer_spec("K=64 C=64 H=56 W=56 R=3 S=3")  # both named "layer"
    with pytest.raises(mapper.InputError, match="'layer' given twice"):
        mapper.load_workload([a, b])
    res = mapper.enumerate([parse_layer_spec(RES2A), TINY, RES2A.replace("res2a_branch2b", "again")], HW)
    first, tiny, again = res.layers
    assert (first.shared_with, tiny.shared_with, again.shared_with) == (2, 1, 2)
    assert first.energy_pj == again.energy_pj != tiny.energy_pj
    assert math.isclose(res.energy_pj, 2 * first.energy_pj + tiny.energy_pj)


def test_mac_coverage_counts_unmapped_ops(capsys):
    """Ops that carry MACs but are no layer stay out of the totals, and are said to."""
    from dataclasses import replace
    from mapper.cli import render
    from mapper.coverage import UnmappedOp
    wl = mapper.load_workload(TINY)
    partial = replace(wl, unmapped=(UnmappedOp("conv3d", 1, 3 * wl.total_macs, "3-D"),))
    res = mapper.enumerate(partial, HW)
    assert (res.model_macs, res.mapped_macs, res.mac_coverage) == (4 * wl.total_macs, wl.total_macs, 0.25)
    assert res.to_dict()["mac_coverage"] == 0.25
    assert res.to_dict()["unmapped"] == [{"op": "conv3d", "count": 1, "macs": 3 * wl.total_macs, "reason": "3-D"}]
    render.coverage_warning(res)
    err = capsys.readouterr().err
    assert "only 25.0 %" in err and "conv3d x1" in err
    assert mapper.enumerate(wl, HW).mac_coverage == 1.0


@pytest.mark.parametrize("bad", [3.5, object(), [], [None]])
def test_load_workload_rejects_what_it_cannot_use(bad):
    with pytest.raises(mapper.MapperError):
        mapper.load_workload(bad)


# ------------------------------------------------------------------ arguments
@pytest.mark.parametrize("limit", [0, -1, float("nan"), float("inf"), "60", True])
def test_time_limit_must_be_a_positive_finite_number(limit):
    with pytest.raises(mapper.InputError, match="time_limit"):
        mapper.solve(TINY, HW, time_limit=limit)


@pytest.mark.parametrize("workers", [0, -2, 2.0, "2"])
def test_workers_must_be_a_positive_whole_number(workers):
    with pytest.raises(mapper.InputError, match="workers"):
        mapper.solve(TINY, HW, workers=workers)


@pytest.mark.parametrize("value", ["0", "two", "-1", "1e3"])
def test_mapper_workers_variable_is_checked(monkeypatch, value):
    monkeypatch.setenv("MAPPER_WORKERS", value)
    with pytest.raises(mapper.InputError, match="MAPPER_WORKERS"):
        mapper.solve(TINY, HW)


def test_workers_are_capped_at_the_jobs():
    from mapper.api import resolve_workers
    assert resolve_workers(1000, jobs=2) == 2 and resolve_workers(3, jobs=10) == 3


def test_enums_accept_their_strings_and_name_the_choices():
    assert mapper.Objective("edp") is mapper.Objective.EDP and mapper.Space.FULL == "full"
    with pytest.raises(mapper.InputError, match="energy, latency, edp"):
        mapper.solve(TINY, HW, objective="power")
    with pytest.raises(mapper.InputError, match="full, template"):
        mapper.enumerate(TINY, HW, space="huge")


# ------------------------------------------------------------------ the other commands
def test_evaluate_a_given_mapping_is_the_cost_model():
    opt = mapper.enumerate(RES2A, HW)
    (row,) = opt.layers
    again = mapper.evaluate(RES2A, HW, mapping=row.mapping)
    assert again.layers[0].energy_pj == row.energy_pj
    direct = price(row.layer, mapper.load_hardware(HW), row.mapping)
    assert again.layers[0].energy_pj == direct.energy_fj / 1000 and again.layers[0].status == "EVALUATED"
    with pytest.raises(mapper.InputError, match="no mapping for layer"):
        mapper.evaluate([RES2A, TINY], HW, mapping={"res2a_branch2b": row.mapping})


def test_solve_is_never_worse_than_the_template_enumeration():
    full = mapper.solve([RES2A, TINY], HW, time_limit=60)
    template = mapper.enumerate([RES2A, TINY], HW)
    for s, t in zip(full.layers, template.layers):
        assert s.status == "OPTIMAL" and s.energy_pj <= t.energy_pj


def test_gap_result_per_method():
    res = mapper.gap(TINY, HW, baselines=["template", "greedy", "random:50"], seed=1)
    (row,) = res.layers
    assert res.methods == ("template", "greedy", "random:50") and row.status == "OPTIMAL"
    for m in res.methods:  # all three search the optimum's own space
        assert row.gaps[m] >= 0 and math.isclose(row.energies_pj[m], row.energy_pj * (1 + row.gaps[m]))
    assert res.worst_gap == row.gaps and res.to_dict()["totals"]["optimum_pj"] == row.energy_pj
    with pytest.raises(mapper.InputError, match="annealing"):
        mapper.gap(TINY, HW, baselines="annealing")


def test_codesign_result_is_the_best_design_solved_again(tmp_path):
    """The chosen design, as a Hardware, gives the reported energy when solved on its own."""
    space = tmp_path / "space.yaml"
    space.write_text(SMALL_SPACE.format(tech=ROOT / "hardware" / "tech-16nm.yaml"))
    res = mapper.codesign(TINY, macs=64, design_space=space, mapping_space="template", workers=1)
    assert res.status == "OPTIMAL" and res.best is not None and not res.interrupted
    hw = res.hardware_of(res.best)
    assert hw.macs == 64
    again = mapper.solve(TINY, hw, space="template")
    assert again.energy_pj * 1000 == res.best.energy_fj
    d = res.to_dict()
    assert d["best"]["energy_pj"] == min(r["energy_pj"] for r in d["per_chiplet_count"])
    with pytest.raises(mapper.InputError, match="--macs 63"):
        mapper.codesign(TINY, macs=63, design_space=space)


def test_zoo_result(tmp_path):
    store = mapper.Store(tmp_path / "s.sqlite")
    yaml_file = str(EXAMPLES / "layers.yaml")
    res = mapper.zoo([yaml_file], [HW], space="template", workers=8, store=store)
    (m,) = res.models
    alone = mapper.solve(yaml_file, HW, space="template")
    assert m.energy_pj == alone.energy_pj and [r.mapping for r in m.layers] == [r.mapping for r in alone.layers]
    again = mapper.zoo([yaml_file], [HW], space="template", store=store)
    assert again.cache_hits == again.distinct and again.solved == 0


# ------------------------------------------------------------------ mapping spaces (from the CLI tests)
MAPPING_FILE = EXAMPLES / "mapping-res2a_branch2b.yaml"


@pytest.mark.parametrize("name", ["ws", "os", "is"])
def test_named_dataflow_pins_its_choices_and_is_never_below_the_template_optimum(name):
    from mapper.dataflows import NAMED
    (row,) = mapper.evaluate(RES2A, HW, mapping=name).layers
    m = row.mapping
    got = {"package": m.package_type, "chiplet": m.chiplet_type, "chip_order": m.chip_order,
           "core_order": m.core_order}
    assert all(got[k] == v for k, v in NAMED[name][1].items())  # what the dataflow pins
    (best,) = mapper.enumerate(RES2A, HW).layers  # a pinned dataflow is one corner of the template space
    assert row.energy_pj >= best.energy_pj


def test_full_space_enumeration_is_never_worse_than_the_template():
    (tpl,) = mapper.enumerate(TINY, HW).layers
    (full,) = mapper.enumerate(TINY, HW, space="full").layers
    assert full.row["points"] > tpl.row["points"] and full.energy_pj <= tpl.energy_pj


def test_fixed_choices_are_kept():
    fixed = {"package": "C", "chiplet": "P", "chip_order": "plane", "core_order": "channel"}
    res = mapper.enumerate(RES2A, HW, fixed=fixed)
    m = res.layers[0].mapping
    assert (m.package_type, m.chiplet_type, m.chip_order, m.core_order) == ("C", "P", "plane", "channel")
    assert m.pkg_split == (4, 1, 1) and m.core_split[0] == 1 and res.header["fixed"] == fixed
    with pytest.raises(mapper.InputError, match="chip_order 'diagonal'"):
        mapper.enumerate(RES2A, HW, fixed={"chip_order": "diagonal"})


def test_a_layer_list_shares_shapes_only_when_they_are_equal():
    res = mapper.enumerate(str(EXAMPLES / "layers.yaml"), HW)
    assert [r.name for r in res.layers] == ["conv1", "res2a_branch2b", "fc"]
    assert res.distinct_shapes == 3 and not res.infeasible and all(r.shared_with == 1 for r in res.layers)


def test_layers_of_one_shape_keep_their_own_mappings(tmp_path):
    import yaml
    net = tmp_path / "two.yaml"
    net.write_text("layers:\n"
                   "  - {name: a, K: 64, C: 64, H: 56, W: 56, R: 3, S: 3, padding: 1}\n"
                   "  - {name: b, K: 64, C: 64, H: 56, W: 56, R: 3, S: 3, padding: 1}\n")
    mine = yaml.safe_load(MAPPING_FILE.read_text())
    other = mine | {"pkg_split": [4, 1, 1], "chip_order": "plane"}
    f = tmp_path / "m.yaml"
    f.write_text(yaml.safe_dump({"layers": {"a": mine, "b": other}}))
    a, b = mapper.evaluate(str(net), HW, mapping=str(f)).layers
    assert a.mapping.pkg_split == tuple(mine["pkg_split"]) != b.mapping.pkg_split == (4, 1, 1)
    assert a.energy_pj == price(a.layer, mapper.load_hardware(HW), a.mapping).energy_fj / 1000
    assert b.energy_pj == price(b.layer, mapper.load_hardware(HW), b.mapping).energy_fj / 1000
