#!/usr/bin/env python
"""Benchmark (not a test): where the token zoo spends its energy at the proven optimum —
prefill against decode, batch 1 against batch 8 — beside ResNet-50, and which spatial
partitions the optimal mappings choose per kind of layer (conv, fc, attention matmul).

Run with `.venv/bin/python bench/token_zoo.py` from the repository root (`--quick`: the
case study only, no batch 8); prints the tables and puts a dated section in BENCHMARKS.md
(unless --no-append). docs/systems.md ("Transformers: prefill and decode") reads them.
"""
from __future__ import annotations

import argparse
import collections
import os
import sys
import time

from common import Section, report  # noqa: E402

import mapper

# (model, phase, seq_len, batch); None: an image model at 224
CASES = [
    ("resnet50", None, None, 1),
    ("vit_b16", None, None, 1),
    ("bert_base", "prefill", 128, 1),
    ("gpt2", "prefill", 1024, 1),
    ("gpt2", "decode", 1024, 1),
    ("gpt2", "decode", 1024, 8),
    ("llama_block", "prefill", 1024, 1),
    ("llama_block", "decode", 4096, 1),
    ("llama_block", "decode", 4096, 8),
]
HARDWARE = ["nnbaton-case-study", "simba-4chiplet"]


def tokens(wl) -> int:
    """Tokens (or images) one inference produces: what the energy is per."""
    if wl.phase == "decode":
        return wl.batch
    if wl.phase == "prefill":
        return wl.batch * wl.seq_len
    return wl.batch


def operand_group(row_layer) -> str:
    if row_layer.kind == "matmul":
        return "attention"
    return "weights (fc)" if row_layer.kind == "fc" else "conv"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the case study only, batch 1 only")
    ap.add_argument("--workers", type=int, default=os.cpu_count(), help="CP-SAT workers per solve")
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()
    hws = HARDWARE[:1] if args.quick else HARDWARE
    cases = [c for c in CASES if not (args.quick and c[3] > 1)]

    energy = Section("Token zoo at the proven optimum: energy per inference and per token",
                     ["hardware", "model", "phase", "batch", "layers / shapes", "statuses", "MACs", "energy",
                      "µJ per token", "pJ/MAC", "DRAM share", "attention share", "solve s"])
    parts = Section("Optimal package/chiplet partitions by kind of layer (count of layers)",
                    ["hardware", "kind", "layers", "most chosen partitions (share)"])
    for hw in hws:
        by_kind: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        for model, phase, seq_len, batch in cases:
            wl = mapper.load_workload(model, seq_len=seq_len, phase=phase, batch=batch)
            t0 = time.perf_counter()
            res = mapper.solve(wl, hw, workers=args.workers)
            wall = time.perf_counter() - t0
            total = res.energy_pj
            dram = sum(r.row["breakdown_pj"]["dram"] for r in res.layers if r.feasible)
            attn = sum(r.energy_pj for r in res.layers if r.feasible and r.layer.kind == "matmul")
            for r in res.layers:
                if r.feasible:
                    by_kind[operand_group(r.layer)][r.row["mapping_short"].split()[0]] += 1
            energy.rows.append([hw, model, f"{phase} {seq_len}" if phase else "image 224", str(batch),
                                f"{len(res.layers)} / {res.distinct_shapes}", ", ".join(res.statuses),
                                f"{res.mapped_macs / 1e9:.2f} G", f"{total / 1e9:.3f} mJ",
                                f"{total / 1e6 / tokens(wl):,.2f}", f"{total / res.mapped_macs:.3f}",
                                f"{100 * dram / total:.0f} %", f"{100 * attn / total:.0f} %", f"{wall:.1f}"])
            print(energy.rows[-1], file=sys.stderr)
        for kind, counter in sorted(by_kind.items()):
            n = sum(counter.values())
            top = ", ".join(f"{p} ({100 * c / n:.0f} %)" for p, c in counter.most_common(4))
            parts.rows.append([hw, kind, str(n), top])
    energy.notes += [
        "µJ per token: prefill divides by batch × tokens, decode by the batch (one new token per sequence); "
        "ResNet-50 and ViT per image.",
        "DRAM share: the DRAM part of the energy breakdown; attention share: the energy of the Q·Kᵀ and A·V "
        "layers (operand keys/values or K-/V-cache).",
        f"{os.cpu_count()} CPUs, {args.workers} CP-SAT workers per solve; every distinct shape solved afresh "
        "(no store).",
    ]
    parts.notes.append("Partition: package split / chiplet split as `mapper solve` writes them (docs/cli.md): "
                       "`C4` output channels over 4, `P1x4` the output plane cut h×w = 1×4, `H2|2x2` both "
                       "(channels 2 | plane 2×2). A token layer's plane is its rows (tokens) × 1.")
    report("token_zoo", [energy, parts], [], append=not args.no_append)
    return 0


if __name__ == "__main__":
    sys.exit(main())
