#!/usr/bin/env python
"""Benchmark (not a test): how many layer solves `codesign` needs on two small searches.

Run with `.venv/bin/python bench/codesign_order.py` from the repository root (about
5 minutes); compare commits by running it on each. Prints one line per search: status,
best design, its value and bound (fJ), layer solves, designs priced, wall seconds.
"""
import sys
import time

from common import ROOT  # noqa: F401  (puts the repository on sys.path)

from mapper import design_search as CD  # noqa: E402
from mapper.hardware import load_design_space  # noqa: E402
from mapper.workload import expand_groups, load_workload, parse_layer_spec  # noqa: E402


def main() -> int:
    space = load_design_space("table2")
    steps = CD.steps_of(space)
    cases = [("one 14x14 3x3 layer", expand_groups(parse_layer_spec("K=64 C=64 H=14 W=14 R=3 S=3 padding=1"))),
             ("alexnet@224", load_workload("alexnet", 224).layers)]
    for name, layers in cases:
        t0 = time.perf_counter()
        r = CD.codesign(layers, 2048, space["compute"], steps, space["tech"], area_mm2=2.0, space="template",
                        workers=2, time_limit=300)
        print(name, r.status, r.best.alloc.label, r.best.sizes, r.best.value, r.bound, r.solves,
              r.points["evaluated"], f"{time.perf_counter() - t0:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
