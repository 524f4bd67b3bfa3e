"""The committed reference results in solutions/: a sample re-solved from scratch must
reproduce its file byte for byte, and every file's mappings must cost what it says."""
from pathlib import Path

import pytest
import yaml

from mapper import batch, zoo_report
from mapper.cost import evaluate
from mapper.hardware import find_hardware, load_hardware
from mapper.space import Mapping
from mapper.store import Store
from mapper.workload import load_workload

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted((ROOT / "solutions").glob("*.yaml"))


def test_the_zoo_is_committed():
    """`make solutions`: 6 image models (the CNNs and ViT-B/16) x 2 resolutions and 3 token
    models (at their own context, prefill) x 2 bundled hardware files."""
    assert len(FILES) == (6 * 2 + 3) * 2
    assert {p.stem.split("-")[0] for p in FILES} >= {"gpt2", "bert_base", "llama_block", "vit_b16"}


@pytest.mark.parametrize("hw_name", ["nnbaton-case-study", "simba-4chiplet"])
def test_resolving_a_sample_reproduces_the_file(hw_name, tmp_path):
    hw = load_hardware(find_hardware(hw_name))
    entries, jobs = batch.plan([load_workload("alexnet", 224)], [(hw_name, hw)], "full", "energy", 60.0)
    results, _ = batch.run(jobs, Store(tmp_path / "s.sqlite"), lambda: batch.LocalBackend(2))
    rows, total = zoo_report.entry_rows(entries[0], results)
    fresh = zoo_report.reference_yaml(entries[0], rows, total, "full", "energy")
    assert fresh == (ROOT / "solutions" / f"alexnet-224-{hw_name}.yaml").read_text()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_committed_mapping_costs_what_the_file_says(path):
    doc = yaml.safe_load(path.read_text())
    hw = load_hardware(find_hardware(doc["hardware"]))
    wl = load_workload(doc["model"], doc["resolution"] or 224, seq_len=doc.get("seq_len"), phase=doc.get("phase"))
    layers = {L.name: L for L in wl.layers}
    total = 0
    for row in doc["layers"]:
        assert row["status"] == "OPTIMAL"
        e = evaluate(layers[row["name"]], hw, Mapping.from_dict(row["mapping_fields"]))
        assert e.feasible and e.energy_fj == round(row["energy_pj"] * 1000) and e.cycles == row["cycles"]
        total += e.energy_fj
    assert total == round(doc["totals"]["energy_pj"] * 1000)
