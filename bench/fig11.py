"""NN-Baton Fig. 11 side by side: the five case-study layers (Sec. VI-A-1) at 224 and
512, best energy of each of the six (package, chiplet) spatial pairs, with breakdown.

    python bench/fig11.py [--hw hardware/nnbaton-case-study.yaml] [--markdown]
"""
from __future__ import annotations

import argparse

from mapper.hardware import find_hardware, load_hardware
from mapper.solvers.enumerate import enumerate_layer
from mapper.workload import load_workload

# (paper's name, model, our layer name, paper's category)
FIG11 = [
    ("VGG-16 conv1", "vgg16", "features.0", "activation-intensive"),
    ("VGG-16 conv12", "vgg16", "features.26", "weight-intensive"),
    ("ResNet-50 conv1", "resnet50", "conv1", "large kernel (7x7)"),
    ("res2a_branch2a", "resnet50", "layer1.0.conv1", "pointwise (1x1)"),
    ("res2a_branch2b", "resnet50", "layer1.0.conv2", "common (3x3)"),
]
PAIRS = ["C,C", "C,P", "C,H", "P,C", "P,P", "P,H"]


def rows(hw_path: str, resolutions=(224, 512)) -> list[dict]:
    hw = load_hardware(find_hardware(hw_path))
    out = []
    for res in resolutions:
        models = {}
        for paper, model, name, cat in FIG11:
            if model not in models:
                models[model] = {L.name: L for L in load_workload(model, res).layers}
            layer = models[model][name]
            r = enumerate_layer(layer, hw, "template")
            per = {p: e for p, e in r.per_partition.items()}
            out.append({"res": res, "paper": paper, "category": cat, "layer": layer,
                        "best": r.best, "per": per})
    return out


def markdown(data: list[dict]) -> str:
    lines = ["| res | layer | category | weights / inputs | " + " | ".join(f"({p})" for p in PAIRS)
             + " | best mapping |", "|---|---|---|---:|" + "---:|" * len(PAIRS) + "---|"]
    for d in data:
        L, per = d["layer"], d["per"]
        best = min(e.energy_fj for e in per.values())
        cells = []
        for p in PAIRS:
            if p not in per:
                cells.append("—")
                continue
            v = per[p].energy_fj / best
            cells.append(f"**{v:.2f}**" if per[p].energy_fj == best else f"{v:.2f}")
        lines.append(f"| {d['res']} | {d['paper']} | {d['category']} | "
                     f"{L.weights / L.inputs:.2f} | " + " | ".join(cells)
                     + " | " + d["best"].mapping.short().replace("|", "\\|") + " |")
    lines += ["", "Breakdown of each layer's best mapping (share of energy):", "",
              "| res | layer | energy (µJ) | DRAM | D2D | A-L2 | O-L2 | W-L1 | A-L1 | O-L1 | MAC |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for d in data:
        e = d["best"]
        sh = " | ".join(f"{100 * v / e.energy_fj:.0f}%" for v in e.breakdown_fj.values())
        lines.append(f"| {d['res']} | {d['paper']} | {e.energy_fj / 1e9:.1f} | {sh} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--hw", default="hardware/nnbaton-case-study.yaml")
    ap.parse_args()
    print(markdown(rows(ap.parse_args().hw)))


if __name__ == "__main__":
    main()
