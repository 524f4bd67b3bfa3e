#!/usr/bin/env python
"""Benchmark (not a test): the system efficiency an in-memory-computing BNN chip reaches
once data movement is counted, beside the macro's 700 TOPS/W (Zhang & Verma, JETCAS
2019, Zhang and Verma, JETCAS 2019).

Run with `.venv/bin/python bench/imc.py` from the repository root. The MNIST BNN of
`models/bnn_mnist.py` is solved for the least energy (CP-SAT, full space) on
`hardware/imc-bnn.yaml` (16 arrays of 128 x 128 bit cells, weights resident in the
arrays) at several batch sizes; the weights are written into the arrays once per batch.
Prints the table and appends a dated section to BENCHMARKS.md (unless --no-append).
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter

from common import ROOT, Section, need, report  # noqa: E402

from mapper.hardware import load_hardware  # noqa: E402
from mapper.solvers.cpsat import solve_layer  # noqa: E402
from mapper.workload import load_workload  # noqa: E402

MACRO_TOPS_W, MACRO_TOPS_MM2 = 700, 6  # seed 004


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8, 64, 512])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()
    hw = load_hardware("imc-bnn")
    t0 = time.time()
    statuses: Counter = Counter()
    cols = ["batch (images)", "system TOPS/W", "macro (seed)", "energy nJ/image", "DRAM", "array writes",
            "buffers + registers", "in-array MACs", "images/s", "why they differ"]
    sec = Section(f"MNIST BNN ({'-'.join(['784', '256', '256', '10'])}) on {hw.name}: "
                  f"{hw.macs:,} one-bit MACs, {hw.frequency_mhz:.0f} MHz", cols)
    for batch in args.batches:
        wl = load_workload("bnn_mnist", batch=batch)
        evals = []
        for layer in wl.layers:
            r = solve_layer(layer, hw, "full", time_limit=60, workers=args.workers)
            statuses[r.status] += 1
            evals.append(need(r, f"batch {batch} {layer.name}"))
        energy = sum(e.energy_fj for e in evals)
        part = {k: sum(e.breakdown_fj[k] for e in evals) / energy for k in ("dram", "w_l1", "mac")}
        ops = 2 * sum(e.layer.macs for e in evals)
        tops_w = ops / (energy * 1e-15) / 1e12
        seconds = sum(e.cycles for e in evals) / (hw.frequency_mhz * 1e6)
        e_dram = hw.energy_fj_per_bit()["dram"]
        w_dram = sum(e.counts["dram_read_w"] for e in evals) * hw.weight_bits * e_dram / energy
        sec.rows.append([str(batch), f"{tops_w:.2f}", f"{MACRO_TOPS_W}", f"{energy / 1e6 / batch:.2f}",
                         f"{part['dram']:.0%}", f"{part['w_l1']:.0%}", f"{1 - sum(part.values()):.0%}",
                         f"{part['mac']:.1%}", f"{batch / seconds:,.0f}",
                         f"DRAM is {w_dram:.0%} of the energy for the weights (loaded once per batch) and "
                         f"{part['dram'] - w_dram:.0%} for activations (every layer's inputs and outputs cross "
                         "DRAM: layers run one by one); one in-array MAC costs 2.9 fJ, one DRAM bit 8.75 pJ"])
    area = hw.chiplet_area_mm2()
    peak_tops = 2 * hw.macs * hw.frequency_mhz * 1e6 / 1e12
    sec.notes += [
        f"Statuses: {dict(statuses)}; {time.time() - t0:.0f} s in all. System TOPS/W = 2 x MACs / all energy "
        "(DRAM, array writes, buffers, registers, MACs); the macro's 700 TOPS/W counts the in-array MACs only.",
        f"Peak {peak_tops:.1f} TOPS on {area:.2f} mm² = {peak_tops / area:.2f} TOPS/mm² with the buffers "
        f"(macro: {MACRO_TOPS_MM2} TOPS/mm², the MAC area derived from it at the assumed 100 MHz).",
        "Memory energies are NN-Baton's 16 nm Table I (the seed gives none for the prototype): "
        "hardware/tech-imc.yaml.",
    ]
    report("imc", [sec], [], not args.no_append)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
