#!/usr/bin/env python
"""Benchmark (not a test): the exact CP-SAT mapper on transformer ("token") layer shapes.

Run with `.venv/bin/python bench/token_shapes.py` from the repository root. It prints its
tables and puts a dated section with the command, the machine and the results at the top
of BENCHMARKS.md (unless --no-append or --quick).

Transformer layers arrive as 1x1 layers with the tokens on the plane: a linear on T
tokens is `K=out C=in H=T W=1`, an attention matmul Q.K^T per head `K=S C=head H=T`, A.V
`K=head C=S H=T`. The token zoo below (GPT-2 small, BERT-base, ViT-B/16 at 224, a
Llama-3-8B-style block with grouped-query attention; prefill at T = 128 and 1024 tokens,
decode with a context of S = 1024 and 4096) has 51 distinct shapes. Every distinct shape is
solved once per hardware through the library API (`mapper.solve`, full space, energy,
no store), each in its own call with the per-dimension caches cleared (cold), and timed
wall-clock around the call. Beside them, in the same run, the distinct shapes of the CNN
zoo (ResNet-50, MobileNetV2, VGG-16 at 224).

Targets (per distinct shape, 2 cores, 2 CP-SAT workers): median <= 1 s and max <= 5 s on
each hardware, every shape OPTIMAL; and the CP-SAT objective equals `cost.py`'s energy of
the returned mapping to the femtojoule on every shape.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

from common import ROOT, Section, f_s, report  # noqa: E402
import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402

import mapper  # noqa: E402
from mapper.cost import dim_table, windows  # noqa: E402
from mapper.hardware import find_hardware  # noqa: E402
from mapper.workload import parse_layer_spec, unique_layers  # noqa: E402

WORKERS, TIME_LIMIT = 2, 60.0
TARGET_MEDIAN, TARGET_MAX = 1.0, 5.0  # seconds per distinct shape
HARDWARE = ["nnbaton-case-study", "simba-4chiplet"]
CNN_MODELS, CNN_RES = ["resnet50", "mobilenetv2", "vgg16"], 224


# ---------------------------------------------------------------------- the token zoo
def linear(k: int, c: int, rows: int) -> str:
    return f"K={k} C={c} H={rows} W=1 kind=fc"


def qk(keys: int, head: int, rows: int) -> str:  # Q.K^T of one head (or one KV group)
    return f"K={keys} C={head} H={rows} W=1"


def av(keys: int, head: int, rows: int) -> str:  # A.V of one head (or one KV group)
    return f"K={head} C={keys} H={rows} W=1"


def token_zoo(quick: bool = False) -> list[tuple[str, str, str]]:
    """(model, role, layer spec) of every transformer layer of the zoo, batch 1."""
    out: list[tuple[str, str, str]] = []
    prefill, contexts = ((128,), (1024,)) if quick else ((128, 1024), (1024, 4096))
    # GPT-2 small: d 768, 12 heads of 64, FFN 3072, vocabulary 50257 (= 29 x 1733)
    gpt2 = {"qkv": (2304, 768), "proj": (768, 768), "fc1": (3072, 768), "fc2": (768, 3072),
            "lm_head": (50257, 768)}
    for t in prefill:
        out += [("gpt2", f"prefill T={t} {n}", linear(k, c, t)) for n, (k, c) in gpt2.items()]
        out += [("gpt2", f"prefill T={t} QK", qk(t, 64, t)), ("gpt2", f"prefill T={t} AV", av(t, 64, t))]
    out += [("gpt2", f"decode {n}", linear(k, c, 1)) for n, (k, c) in gpt2.items()]
    for s in contexts:
        out += [("gpt2", f"decode S={s} QK", qk(s, 64, 1)), ("gpt2", f"decode S={s} AV", av(s, 64, 1))]
    if quick:
        return out
    # BERT-base, prefill of 128 tokens
    out += [("bert-base", f"T=128 {n}", linear(k, c, 128))
            for n, (k, c) in (("proj", (768, 768)), ("ffn1", (3072, 768)), ("ffn2", (768, 3072)))]
    out += [("bert-base", "T=128 QK", qk(128, 64, 128)), ("bert-base", "T=128 AV", av(128, 64, 128))]
    # ViT-B/16 at 224: 196 patches + the class token = 197 tokens
    out.append(("vit-b16", "patch embedding", "K=768 C=3 H=14 W=14 R=16 S=16 stride=16"))
    out += [("vit-b16", f"T=197 {n}", linear(k, c, 197)) for n, (k, c) in
            (("qkv", (2304, 768)), ("proj", (768, 768)), ("fc1", (3072, 768)), ("fc2", (768, 3072)))]
    out += [("vit-b16", "T=197 QK", qk(197, 64, 197)), ("vit-b16", "T=197 AV", av(197, 64, 197)),
            ("vit-b16", "head", linear(1000, 768, 1))]
    # Llama-3-8B-style block: d 4096, 32 query heads / 8 KV heads of 128, FFN 14336; the 4
    # query heads of a KV group share its keys and values, so they sit on the plane (H = 4T)
    llama = {"q": (4096, 4096), "k": (1024, 4096), "v": (1024, 4096), "o": (4096, 4096),
             "gate": (14336, 4096), "up": (14336, 4096), "down": (4096, 14336)}
    for t in prefill:
        out += [("llama3-8b", f"prefill T={t} {n}", linear(k, c, t)) for n, (k, c) in llama.items()]
        out += [("llama3-8b", f"prefill T={t} QK", qk(t, 128, 4 * t)),
                ("llama3-8b", f"prefill T={t} AV", av(t, 128, 4 * t))]
    out += [("llama3-8b", f"decode {n}", linear(k, c, 1)) for n, (k, c) in llama.items()]
    for s in contexts:
        out += [("llama3-8b", f"decode S={s} QK", qk(s, 128, 4)),
                ("llama3-8b", f"decode S={s} AV", av(s, 128, 4))]
    return out


def token_shapes(quick: bool) -> list[tuple]:
    """The distinct shapes of the token zoo: (layer, [model role, ...])."""
    entries = token_zoo(quick)
    layers = [parse_layer_spec(spec, name=f"{model} {role}") for model, role, spec in entries]
    where = {lay.name: spec for lay, (_, _, spec) in zip(layers, entries)}
    return [(lay, names, where[lay.name]) for lay, names in unique_layers(layers)]


def cnn_shapes(models: list[str]) -> list[tuple]:
    out, seen = [], set()
    for model in models:
        for lay, names in unique_layers(mapper.load_workload(model, resolution=CNN_RES).layers):
            if lay.shape_key() in seen:
                continue
            seen.add(lay.shape_key())
            out.append((lay, [f"{model} {n}" for n in names], shape_text(lay)))
    return out


def shape_text(lay) -> str:
    s = f"K={lay.K} C={lay.C} H={lay.H} W={lay.W}"
    if (lay.R, lay.S) != (1, 1):
        s += f" R={lay.R} S={lay.S}"
    if lay.stride != 1:
        s += f" stride={lay.stride}"
    if lay.groups != 1:
        s += f" groups={lay.groups}"
    return s


# -------------------------------------------------------------------------- solving
def solve_cold(layer, hw, time_limit: float) -> dict:
    """One distinct shape through `mapper.solve`, with empty per-dimension caches."""
    dim_table.cache_clear()
    windows.cache_clear()
    t0 = time.perf_counter()
    res = mapper.solve([layer], hw, time_limit=time_limit, workers=WORKERS, store=None)
    wall = time.perf_counter() - t0
    r = res.layers[0]
    row = r.to_dict()
    energy_fj = round(r.energy_pj * 1000) if r.energy_pj is not None else None
    return {"status": r.status, "wall_s": wall, "energy_fj": energy_fj, "objective_fj": r.objective_value,
            "mapping": r.mapping.short() if r.mapping else None, "cycles": r.cycles,
            "candidates": row.get("candidates")}


def summary_row(kind: str, hw_name: str, runs: list[dict]) -> list[str]:
    ts = [r["wall_s"] for r in runs]
    slow = max(runs, key=lambda r: r["wall_s"])
    n_opt = sum(r["status"] == "OPTIMAL" for r in runs)
    med, mx = statistics.median(ts), max(ts)
    ok = med <= TARGET_MEDIAN and mx <= TARGET_MAX and n_opt == len(runs)
    return [kind, hw_name, str(len(runs)), f"{n_opt}/{len(runs)}", f_s(med), f_s(float(np.percentile(ts, 95))),
            f_s(mx), slow["shape"], f_s(sum(ts)), "PASS" if ok else "FAIL"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hw", nargs="+", default=HARDWARE, metavar="HW",
                    help=f"hardware files or bundled names (default: {' '.join(HARDWARE)})")
    ap.add_argument("--cnn-models", nargs="*", default=CNN_MODELS, metavar="MODEL",
                    help=f"CNN zoo models at {CNN_RES} measured beside (default: {' '.join(CNN_MODELS)}; "
                         "none: leave them out)")
    ap.add_argument("--time-limit", type=float, default=TIME_LIMIT,
                    help=f"CP-SAT time limit per shape, seconds (default: {TIME_LIMIT:g})")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: GPT-2 only at T=128 (decode at S=1024), MobileNetV2 for the CNN "
                         "side; never appends")
    ap.add_argument("--json", metavar="FILE", help="also write every solve (status, time, energy in fJ, "
                                                    "mapping) to FILE, e.g. to compare two versions")
    ap.add_argument("--no-append", action="store_true", help="print only; do not touch BENCHMARKS.md")
    args = ap.parse_args(argv)

    console = Console(width=None if sys.stdout.isatty() else 260)
    t_start = time.perf_counter()
    cnn_models = ["mobilenetv2"] if args.quick and args.cnn_models == CNN_MODELS else args.cnn_models
    sets = {"token": token_shapes(args.quick), "CNN": cnn_shapes(cnn_models) if cnn_models else []}
    hws = [(os.path.relpath(p, ROOT) if str(p).startswith(str(ROOT)) else str(p), mapper.load_hardware(p))
           for p in (find_hardware(h) for h in args.hw)]
    from mapper.solvers import cpsat  # noqa: F401  (OR-Tools' start-up outside the timings)

    runs: dict[tuple[str, str], list[dict]] = {}
    violations: list[str] = []
    for kind, shapes in sets.items():
        for hw_path, hw in hws:
            out = runs.setdefault((kind, hw.name), [])
            for lay, names, spec in shapes:
                r = solve_cold(lay, hw, args.time_limit)
                r |= {"shape": spec, "used_by": names}
                out.append(r)
                if r["energy_fj"] is not None and r["objective_fj"] != r["energy_fj"]:
                    violations.append(f"{hw.name} {spec}: objective {r['objective_fj']} fJ != evaluate "
                                      f"{r['energy_fj']} fJ")
                if r["status"] != "OPTIMAL":
                    violations.append(f"{hw.name} {spec}: {r['status']}")
            ts = [r["wall_s"] for r in out]
            console.print(f"  [dim]{kind} shapes on {hw.name}: {len(out)}, median {statistics.median(ts):.2f} s, "
                          f"max {max(ts):.2f} s[/]")

    hw_names = [hw.name for _, hw in hws]
    detail = Section("Token shapes: one solve per distinct shape (energy in µJ, time in s)",
                     ["shape", "used by"] + [f"{h} {c}" for h in hw_names for c in ("status", "s", "µJ")])
    for i, (lay, names, spec) in enumerate(sets["token"]):
        cells = []
        for h in hw_names:
            r = runs[("token", h)][i]
            cells += [r["status"], f_s(r["wall_s"]),
                      "-" if r["energy_fj"] is None else f"{r['energy_fj'] / 1e9:,.3f}"]
        used = names[0] + (f" (+{len(names) - 1})" if len(names) > 1 else "")
        detail.rows.append([spec, used] + cells)
    detail.notes += [
        f"`mapper.solve(layer, hw, time_limit={args.time_limit:g}, workers={WORKERS}, store=None)` once per "
        "distinct shape and hardware (full space, energy objective), the per-dimension caches cleared before "
        "each call; time: wall-clock around the call (tables, pruning, warm start, CP-SAT, tie-break, result).",
        "`used by`: the first model layer with the shape (+ how many more share it). Linears are "
        "`K=out C=in H=tokens W=1`; attention per head (Llama: per KV group, its 4 query heads on the plane): "
        "QK `K=keys C=head H=rows`, AV `K=head C=keys H=rows`.",
    ]
    summary = Section("Per hardware: token shapes and CNN shapes (same run)",
                      ["shapes", "hardware", "count", "OPTIMAL", "median s", "p95 s", "max s", "slowest shape", "sum s",
                       f"median <= {TARGET_MEDIAN:g} s, max <= {TARGET_MAX:g} s, all OPTIMAL"])
    for kind in sets:
        for h in hw_names:
            if runs.get((kind, h)):
                summary.rows.append(summary_row(kind, h, runs[(kind, h)]))
    summary.notes += [
        f"CNN shapes: the distinct shapes of {', '.join(cnn_models) or 'no model'} at {CNN_RES} "
        "(shared shapes counted once), solved the same way.",
        "Per-shape wall-clock time of one cold `mapper.solve` call; p95: numpy linear interpolation."]
    slow = Section("The slowest shapes (both sets, all hardware)",
                   ["shape", "hardware", "status", "s", "candidates k x h x w", "mapping"])
    every = [(kind, h, r) for (kind, h), rs in runs.items() for r in rs]
    for kind, h, r in sorted(every, key=lambda x: -x[2]["wall_s"])[:10]:
        c = r["candidates"] or {}
        slow.rows.append([r["shape"], h, r["status"], f_s(r["wall_s"]),
                          f"{c['k']}x{c['h']}x{c['w']}" if c else "-", r["mapping"] or "-"])
    slow.notes.append("`candidates`: cuts per dimension left after dominance and bound pruning.")

    runtime = time.perf_counter() - t_start
    facts = [f"Hardware: {', '.join(f'`{p}`' for p, _ in hws)}; CP-SAT workers = {WORKERS}",
             f"Total runtime: {runtime:.1f} s",
             f"Exactness: CP-SAT's objective equals `cost.evaluate`'s energy of the returned mapping on "
             f"{'every shape' if not violations else 'all but ' + str(len(violations))}; "
             f"{len(violations)} violation(s)" + ("" if not violations else ": " + "; ".join(violations))]
    if args.json:
        with open(args.json, "w") as f:
            json.dump({f"{kind}|{h}": rs for (kind, h), rs in runs.items()}, f, indent=1)
    report("token_shapes", [summary, detail, slow], facts, append=not (args.no_append or args.quick), width=260)
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
