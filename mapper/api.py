"""The library's facade: load a workload and a hardware, then solve, evaluate, enumerate,
gap, codesign or zoo — each keyword-only, each returning a typed, frozen result.

Every command of the CLI is one call here. The work is per distinct layer shape
(`unique_layers`): each shape is solved once and reported for every layer that has it
(`results.per_layer`). Heavy imports (torch, OR-Tools) happen inside the calls that
need them, so `import mapper` stays fast.
"""
from __future__ import annotations

import builtins  # `enumerate` below is the API command; the builtin is builtins.enumerate
import math
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from mapper.choices import (CODESIGN_OBJECTIVES, DEFAULT_BASELINES, FIXED_CHOICES, MAX_BATCH, MAX_CYCLES,
                             MAX_EXTENT, MAX_MACS_BUDGET, MAX_POINTS, MAX_RESOLUTION, MAX_SECONDS, MAX_SEED,
                             MAX_SEQ_LEN, MEMORY_MODES, PHASES, Objective, Space)
from mapper.coverage import Coverage
from mapper.errors import InputError
from mapper.hwspec import Hardware
from mapper.layer import Layer
from mapper.results import (ENUMERATED, EVALUATED, CodesignResult, GapResult, ModelResult, ProgressFn, ZooResult,
                            gap_layer, per_layer, priced_layer, solved_layer)
from mapper.space import Mapping
from mapper.workers import resolve_workers

if TYPE_CHECKING:
    from mapper.design_search import Design
    from mapper.store import Store
    from mapper.workload import Workload

# ------------------------------------------------------------------ inputs
def load_workload(source: Any, *, resolution: int = 224, batch: int = 1,
                  input_shape: Sequence[int] | Sequence[Sequence[int]] | None = None, name: str | None = None,
                  seq_len: int | None = None, phase: str | None = None) -> "Workload":
    """The layers to map, from any of:

    * a zoo name (``"resnet50"``, ``"gpt2"``), a layer-list YAML path, an ONNX file, or
      ``"net.py:Class"`` (traced on ``input_shape``: one shape, or a list of shapes for a
      forward with several inputs);
    * a one-line layer spec (``"K=64 C=64 H=56 W=56 R=3 S=3"``), a `Layer`, or a list of
      either (grouped layers are split into dense ones);
    * a `torch.nn.Module` (traced on meta tensors; `input_shape` defaults to
      ``(batch, 3, resolution, resolution)``);
    * a `Workload` (returned as is, or batched).

    `batch` images or concurrent sequences per inference (a traced model is traced at that
    batch: the leading dimension of every input is multiplied; a layer list's N, or an FC
    layer's rows, is multiplied, a matmul layer repeated). `seq_len` and `phase`
    ("prefill" or "decode") are for the token zoo (gpt2, bert_base, llama_block).
    """
    from mapper import workload as wl_mod

    _check_int("batch", batch, 1, MAX_BATCH)
    if isinstance(source, wl_mod.Workload):
        return _batched(source, batch)
    single = isinstance(source, Layer) or _is_spec(source)  # named "layer", as `--layer` always was
    if single:
        source = [source]
    if isinstance(source, (list, tuple)):
        layers = []
        for i, item in builtins.enumerate(source):
            if isinstance(item, Layer):
                layers += wl_mod.expand_groups(item)
            elif isinstance(item, str):
                layers += wl_mod.expand_groups(wl_mod.parse_layer_spec(item, name=f"layer{i}" if len(source) > 1
                                                                       else "layer"))
            else:
                raise InputError(f"workload item {i} is a {type(item).__name__}; give Layer objects or layer "
                                 "specs such as \"K=64 C=64 H=56 W=56 R=3 S=3\".")
        if not layers:
            raise InputError("the workload is an empty list; give at least one layer.")
        twice = sorted(n for n, k in Counter(L.name for L in layers).items() if k > 1)
        if twice:
            raise InputError(f"layer name(s) {', '.join(map(repr, twice[:5]))} given twice; every layer needs its own "
                             "name (results and mapping files are keyed by it). Rename them.")
        wl = wl_mod.Workload(model=name or ("layer" if single else "layers"), resolution=None,
                             layers=layers, skipped={})
        return _batched(wl, batch)
    shapes = _input_shapes(input_shape)
    if seq_len is not None:
        _check_int("seq_len", seq_len, 1, MAX_SEQ_LEN)
    if phase is not None and phase not in PHASES:
        raise InputError(f"phase must be one of {', '.join(PHASES)}, got {phase!r}.")
    if isinstance(source, (str, Path)):
        _check_int("resolution", resolution, 1, MAX_RESOLUTION)
        return wl_mod.load_workload(str(source), resolution, batch, seq_len=seq_len, phase=phase,
                                    input_shapes=shapes)
    if _is_module(source):
        if seq_len is not None or phase is not None:
            raise InputError("seq_len and phase apply to the token zoo; give a module its token count "
                             "in input_shape, e.g. input_shape=(1, 128, 768).")
        shapes = [(s[0] * batch, *s[1:]) for s in shapes] if shapes else [(batch, 3, resolution, resolution)]
        return wl_mod.extract(source, shapes, name or type(source).__name__,
                              None if input_shape else resolution, batch=batch)
    raise InputError(f"cannot make a workload of a {type(source).__name__}: give a zoo name, a layer-list "
                     "YAML, 'file.py:Class', a layer spec, a Layer, a list of those, or a torch.nn.Module.")


def _is_spec(source: Any) -> bool:
    return isinstance(source, str) and "=" in source and not source.lower().endswith((".yaml", ".yml"))


def _is_module(obj: Any) -> bool:
    """An nn.Module, recognised without importing torch for the other kinds of input."""
    if not any(c.__module__.startswith("torch") for c in type(obj).__mro__):
        return False
    from torch import nn
    return isinstance(obj, nn.Module)


def _batched(wl: "Workload", batch: int) -> "Workload":
    from mapper.workload import batched_workload
    return batched_workload(wl, batch)


def _input_shapes(input_shape: Any) -> list[tuple[int, ...]] | None:
    """One shape (1, 128, 768) or several [(1, 128), (1, 12, 127, 64)], checked."""
    if input_shape is None:
        return None
    items = list(input_shape) if isinstance(input_shape, (list, tuple)) else [input_shape]
    shapes = [items] if items and all(isinstance(d, int) and not isinstance(d, bool) for d in items) else items
    out = []
    for s in shapes:
        if not isinstance(s, (list, tuple)) or not s or len(s) > 8 or any(
                isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= MAX_EXTENT for d in s):
            raise InputError(f"input_shape {input_shape!r}: give one shape of 1 to 8 whole numbers from 1 to "
                             f"{MAX_EXTENT}, e.g. (1, 128, 768), or a list of such shapes for several inputs.")
        out.append(tuple(s))
    return out


def load_hardware(spec: "str | Path | Hardware") -> Hardware:
    """A hardware spec: a YAML path, a bundled name (``"nnbaton-case-study"``) or a `Hardware`."""
    if isinstance(spec, Hardware):
        return spec
    from mapper import hardware
    return hardware.load_hardware(hardware.find_hardware(spec))


def describe_hardware(spec: "str | Path | Hardware") -> dict:
    """A hardware spec as the dict `load_hardware` reads back (`hardware`), with the figures
    derived from it (`derived`): areas, MACs, per-bit energies, bandwidth per cycle."""
    from mapper.cost import bandwidths
    from mapper.hardware import hardware_to_dict
    hw = load_hardware(spec)
    derived = {"chiplet_area_mm2": round(hw.chiplet_area_mm2(), 6),
               "package_area_mm2": round(hw.package_area_mm2(), 6), "macs": hw.macs,
               "frequency_mhz": hw.frequency_mhz, "energy_fj_per_bit": hw.energy_fj_per_bit(),
               "package_bits_per_cycle": {k: round(num / den, 6) for k, (num, den) in bandwidths(hw).items()}}
    return {"hardware": hardware_to_dict(hw), "derived": derived}


def _wl(source, resolution: int = 224, batch: int = 1) -> "Workload":
    from mapper.workload import Workload
    return source if isinstance(source, Workload) else load_workload(source, resolution=resolution, batch=batch)


# ------------------------------------------------------------------ argument checks
def _check_int(what: str, v: Any, low: int, high: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
        raise InputError(f"{what} must be a whole number from {low:,} to {high:,}, got {v!r}.")
    return v


def check_time_limit(what: str, v: Any, optional: bool = False) -> float | None:
    """Seconds: a positive finite number (at most a week)."""
    if v is None and optional:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not 0 < v <= MAX_SECONDS:
        raise InputError(f"{what} must be a positive number of seconds (at most {MAX_SECONDS:,.0f}), got {v!r}. "
                         "E.g. 60.")
    return float(v)


def check_fixed(fixed: dict | None, hw: Hardware) -> dict[str, str]:
    """Fixed partition types and loop orders, checked against their values and the hardware."""
    from mapper.space import core_splits, package_splits, partition_type
    fixed = dict(fixed or {})
    for k, v in fixed.items():
        if k not in FIXED_CHOICES:
            raise InputError(f"fixed choice {k!r} is unknown; give any of {', '.join(FIXED_CHOICES)}.")
        if v not in FIXED_CHOICES[k]:
            raise InputError(f"fixed {k} {v!r}: must be one of {', '.join(FIXED_CHOICES[k])}.")
    for key, splits, units in (("package", package_splits(hw.n_chiplets), f"{hw.n_chiplets} chiplet(s)"),
                               ("chiplet", core_splits(hw.n_cores), f"{hw.n_cores} core(s) per chiplet")):
        possible = sorted({partition_type(sp) for sp in splits})
        if key in fixed and fixed[key] not in possible:
            raise InputError(f"fixed {key} split {fixed[key]} (--{key} {fixed[key]}): {hw.name} has {units}, so "
                             f"the {key} split can only be {'/'.join(possible)}. Drop it or pick one of those.")
    return fixed


def _enum(kind, v, what: str):
    try:
        return kind(v)
    except ValueError:
        raise InputError(f"{what} {v!r} is unknown; give one of {', '.join(m.value for m in kind)}.") from None


# ------------------------------------------------------------------ per shape
def _over_shapes(wl: "Workload", fn: Callable[[Layer], dict], progress: ProgressFn | None):
    from mapper.workload import unique_layers
    unique = unique_layers(wl.layers)
    per_shape = []
    if progress:
        progress(0, len(unique), "")
    for i, (L, _) in builtins.enumerate(unique):
        per_shape.append(fn(L))
        if progress:
            progress(i + 1, len(unique), L.name)
    return unique, per_shape


def _model_result(command: str, wl: "Workload", hw: Hardware, layers: tuple, t0: float, header: dict,
                  extra: dict | None = None) -> ModelResult:
    return ModelResult(command=command, model=wl.model, resolution=wl.resolution, batch=wl.batch, hardware=hw.name,
                       layers=layers, distinct_shapes=len({L.shape_key() for L in wl.layers}),
                       wall_s=time.perf_counter() - t0, model_macs=wl.model_macs, header=_wl_header(wl) | header,
                       extra=extra or {}, unmapped=wl.unmapped)


def _per_resolution(model: Any) -> bool:
    """Whether a zoo entry is loaded once per resolution (not a token model: its tokens are --seq-len)."""
    if not isinstance(model, str):
        return True
    from mapper import models
    return model not in models.TOKEN_MODELS


def _wl_header(wl: "Workload") -> dict:
    """What a token model was traced at (shown in reports and JSON)."""
    return {"seq_len": wl.seq_len, "phase": wl.phase} if wl.phase else {}


# ------------------------------------------------------------------ commands
def solve(workload: Any, hardware: Any, *, objective: Objective | str = Objective.ENERGY,
          space: Space | str = Space.FULL, time_limit: float = 60.0, workers: int | None = None,
          fixed: dict | None = None, warm_start: bool = True, store: "Store | None" = None,
          progress: ProgressFn | None = None) -> ModelResult:
    """The exact optimum of every layer with CP-SAT: OPTIMAL with a proof, or the incumbent
    and its bound at `time_limit` seconds per layer. `store` answers shapes already solved."""
    from mapper.space import loop_nest
    from mapper.store import solve_cached
    wl, hw = _wl(workload), load_hardware(hardware)
    objective, space = _enum(Objective, objective, "objective").value, _enum(Space, space, "space").value
    time_limit = check_time_limit("time_limit", time_limit)
    fixed = check_fixed(fixed, hw)
    workers = resolve_workers(workers)
    t0, hits = time.perf_counter(), 0

    def one(L: Layer) -> dict:
        nonlocal hits
        res = solve_cached(store, L, hw, space, time_limit=time_limit, workers=workers, fixed=fixed,
                           objective=objective, warm_start=warm_start)
        hits += bool(res.stats.get("cached"))
        row = res.to_dict()
        if res.best is not None:
            row["loop_nest"] = loop_nest(res.best.mapping, L, hw)
        return row

    unique, per_shape = _over_shapes(wl, one, progress)
    return _model_result("solve", wl, hw, per_layer(unique, per_shape, wl.layers, solved_layer), t0,
                         {"space": space, "objective": objective, "fixed": fixed}, {"store_hits": hits})


def evaluate(workload: Any, hardware: Any, *, mapping: "str | Path | Mapping | dict",
             progress: ProgressFn | None = None) -> ModelResult:
    """The cost of given mappings: a named dataflow (``"ws"``, ``"os"``, ``"is"``: its best
    template tiles), one `Mapping` for every layer, ``{layer name: Mapping}``, or a mapping YAML."""
    from mapper.cost import evaluate as price
    from mapper.dataflows import NAMED, best_of
    wl, hw = _wl(workload), load_hardware(hardware)
    t0 = time.perf_counter()
    if isinstance(mapping, str) and mapping in NAMED:
        def one(L: Layer) -> dict:
            res = best_of(mapping, L, hw)
            row = res.to_dict()
            if res.best is None:
                row["reason"] = f"no mapping of the '{mapping}' dataflow fits: {res.reason}"
            return row
        unique, per_shape = _over_shapes(wl, one, progress)
        source = f"named dataflow '{mapping}': {NAMED[mapping][0]}; best template tiles"
        return _model_result("evaluate", wl, hw, per_layer(unique, per_shape, wl.layers, priced_layer(EVALUATED)), t0,
                             {"mapping": source})
    from mapper.mapping_file import mappings_for
    mappings, source = mappings_for(mapping, wl.layers, hw)
    cache: dict[tuple, dict] = {}  # same shape and same mapping: priced once
    rows = []
    if progress:
        progress(0, len(wl.layers), "")
    for i, L in builtins.enumerate(wl.layers):
        key = (L.shape_key(), mappings[L.name])
        if key not in cache:
            cache[key] = price(L, hw, mappings[L.name]).to_dict()
        rows.append(dict(cache[key], name=L.name))
        if progress:
            progress(i + 1, len(wl.layers), L.name)
    make = priced_layer(EVALUATED)  # every layer its own mapping: no sharing
    layers = tuple(make(L, dict(row, shared_with=1), 1) for L, row in zip(wl.layers, rows))
    return _model_result("evaluate", wl, hw, layers, t0, {"mapping": source})


def enumerate(workload: Any, hardware: Any, *, space: Space | str = Space.TEMPLATE, fixed: dict | None = None,
              max_points: int = 50_000_000, progress: ProgressFn | None = None) -> ModelResult:
    """The exhaustive optimum of every layer (no solver): NN-Baton's own method over the
    template space, or every tile size of small layers (`space="full"`, up to `max_points`
    points per layer). Each layer's row also holds its best energy per spatial pair
    (`per_partition`, NN-Baton Fig. 11)."""
    from mapper.solvers.enumerate import enumerate_layer, space_size
    from mapper.workload import unique_layers
    wl, hw = _wl(workload), load_hardware(hardware)
    space = _enum(Space, space, "space").value
    fixed = check_fixed(fixed, hw)
    _check_int("max_points", max_points, 1, MAX_POINTS)
    if space == "full":
        for L, _ in unique_layers(wl.layers):
            n = space_size(L, hw, "full")
            if n > max_points:
                raise InputError(f"the full space of layer '{L.name}' has {n:,} points, more than max_points "
                                 f"(--max-points) {max_points:,}. Use the template space, a smaller layer, or raise it "
                                 "(enumeration evaluates about 2 million points/s).")
    t0, points = time.perf_counter(), 0

    def one(L: Layer) -> dict:
        nonlocal points
        res = enumerate_layer(L, hw, space, fixed=fixed)
        points += res.points
        return res.to_dict()

    unique, per_shape = _over_shapes(wl, one, progress)
    return _model_result("enumerate", wl, hw, per_layer(unique, per_shape, wl.layers, priced_layer(ENUMERATED)), t0,
                         {"space": space, "fixed": fixed}, {"points_evaluated": points})


def gap(workload: Any, hardware: Any, *, baselines: str | Iterable[str] = DEFAULT_BASELINES, seed: int = 0,
        time_limit: float = 60.0, workers: int | None = None, store: "Store | None" = None,
        progress: ProgressFn | None = None) -> GapResult:
    """How far each heuristic (Simba's dataflow, the template enumeration, random search,
    greedy rules, the named dataflows) is from the proven optimum, per layer and in total.
    Raises `SolverBug` if a method of the optimum's space beats a proven optimum."""
    from mapper import baselines as bl
    from mapper.store import solve_cached
    wl, hw = _wl(workload), load_hardware(hardware)
    method_list = gap_methods(baselines)
    _check_int("seed", seed, 0, MAX_SEED)
    time_limit = check_time_limit("time_limit", time_limit)
    workers = resolve_workers(workers)
    t0 = time.perf_counter()

    def one(L: Layer) -> dict:
        opt = solve_cached(store, L, hw, "full", time_limit=time_limit, workers=workers)
        return bl.compare_layer(L, hw, method_list, opt, seed)  # SolverBug if a method beats a proof

    unique, per_shape = _over_shapes(wl, one, progress)
    layers = per_layer(unique, per_shape, wl.layers, gap_layer)
    total = bl.gap_totals([r.row for r in layers], method_list)
    return GapResult(model=wl.model, resolution=wl.resolution, batch=wl.batch, hardware=hw.name,
                     methods=tuple(method_list), seed=seed, layers=layers, totals=total,
                     distinct_shapes=len(unique), wall_s=time.perf_counter() - t0, per_shape=tuple(per_shape),
                     model_macs=wl.model_macs, unmapped=wl.unmapped)


def gap_methods(baselines: str | Iterable[str]) -> list[str]:
    """The baseline methods of 'simba,template,random:10000,...' (or a list), checked."""
    from mapper import baselines as bl
    try:
        return bl.methods(baselines if isinstance(baselines, str) else ",".join(baselines))
    except ValueError as e:
        raise InputError(f"baselines (--baselines): {e}") from None


# ------------------------------------------------------------------ co-design
def codesign(workloads: Any, *, macs: int, chiplet_area_mm2: float | None = None, objective: str = "energy",
             design_space: str | Path = "table2", memory: str = "grid", mapping_space: Space | str = Space.FULL,
             time_limit: float | None = None, layer_time_limit: float = 60.0, workers: int | None = None,
             max_energy_pj: float | None = None, max_latency_cycles: int | None = None,
             max_edp: float | None = None, resolution: int = 224,
             on_design: Callable[["Design"], None] | None = None) -> CodesignResult:
    """The hardware (chiplets, cores, lanes, vector width, buffer sizes) with `macs` MACs and
    at most `chiplet_area_mm2` per chiplet that minimises the objective over all the
    workloads' layers together (branch and bound with proof; docs/codesign.md)."""
    from mapper import design_search as cd
    from mapper.hardware import load_design_space
    from mapper.pareto import Limits
    from mapper.workload import unique_layers
    if objective not in CODESIGN_OBJECTIVES:
        raise InputError(f"objective {objective!r} is unknown; give one of {', '.join(CODESIGN_OBJECTIVES)}.")
    if memory not in MEMORY_MODES:
        raise InputError(f"memory {memory!r} is unknown; give one of {', '.join(MEMORY_MODES)}.")
    mapping_space = _enum(Space, mapping_space, "mapping space").value
    _check_int("macs", macs, 1, MAX_MACS_BUDGET)
    time_limit = check_time_limit("time_limit", time_limit, optional=True)
    layer_time_limit = check_time_limit("layer_time_limit", layer_time_limit)
    for what, v in (("chiplet_area_mm2", chiplet_area_mm2), ("max_energy_pj", max_energy_pj),
                    ("max_edp", max_edp)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)
                              or v <= 0):
            raise InputError(f"{what} must be a positive finite number, got {v!r}.")
    if max_latency_cycles is not None:
        _check_int("max_latency_cycles", max_latency_cycles, 1, MAX_CYCLES)
    layers, label, coverage = _codesign_layers(workloads, resolution)
    space = load_design_space(design_space)
    if space["tech"] is None:
        raise InputError(f"{space['path']}: the design space names no technology. Add `tech: tech-16nm.yaml` "
                         "(a technology YAML beside it) at the top level.")
    try:
        steps = cd.proportional_sizes if memory == "proportional" else cd.steps_of(space)
    except ValueError as e:
        raise InputError(str(e)) from None
    if not cd.allocations(space["compute"], macs):
        c = space["compute"]
        raise InputError(f"macs={macs} (--macs {macs}): no (chiplets, cores, lanes, vector) of {space['path']} "
                         f"multiplies to {macs} (chiplets {c['chiplets']}, cores {c['cores']}, lanes {c['lanes']}, "
                         f"vector {c['vector']}). Give a budget they can make, e.g. 2048.")

    def fj(pj: float | None) -> int | None:  # a total meets a pJ limit iff its fJ is <= floor(limit x 1000)
        return None if pj is None else math.floor(pj * 1000)

    limits = Limits(energy_fj=fj(max_energy_pj), cycles=max_latency_cycles, edp=fj(max_edp))
    res = cd.codesign(layers, macs, space["compute"], steps, space["tech"], area_mm2=chiplet_area_mm2,
                      objective=objective, space=mapping_space, time_limit=time_limit,
                      layer_time_limit=layer_time_limit, workers=resolve_workers(workers, len(unique_layers(layers))),
                      on_design=on_design,
                      limits=limits)
    return CodesignResult(workload=label, coverage=coverage, macs=macs, chiplet_area_mm2=chiplet_area_mm2,
                          objective=objective,
                          memory=memory, mapping_space=mapping_space, design_space=str(space["path"]),
                          limits={"max_energy_pj": max_energy_pj, "max_latency_cycles": max_latency_cycles,
                                  "max_edp": max_edp}, search=res, tech=space["tech"])


def _codesign_layers(workloads: Any, resolution: int) -> tuple[list[Layer], str, Coverage]:
    """The layers of every workload, for one workload total: a list of models gives
    model/layer names and the label 'a + b @ resolution'; and their MAC coverage."""
    if isinstance(workloads, (list, tuple)) and not all(isinstance(x, Layer) for x in workloads):
        if not workloads:
            raise InputError("give one or more workloads (zoo names, layer-list YAMLs, file.py:Class or layers).")
        loaded = [_wl(x, resolution) for x in workloads]
        layers = [replace(L, name=f"{wl.model}/{L.name}") for wl in loaded for L in wl.layers]
        names = [str(x) if isinstance(x, (str, Path)) else wl.model for x, wl in zip(workloads, loaded)]
        unmapped = tuple(replace(u, op=f"{wl.model}/{u.op}") for wl in loaded for u in wl.unmapped)
        coverage = Coverage(sum(wl.model_macs for wl in loaded), sum(wl.total_macs for wl in loaded), unmapped)
        return layers, " + ".join(names) + f" @ {resolution}", coverage
    wl = _wl(workloads, resolution)
    return list(wl.layers), wl.model + (f" @ {wl.resolution}" if wl.resolution else ""), wl.coverage


# ------------------------------------------------------------------ many models
def zoo(models: Sequence[Any], hardware: Sequence[Any], *, resolutions: Sequence[int] = (224,),
        seq_len: int | None = None, phase: str | None = None, space: Space | str = Space.FULL,
        objective: Objective | str = Objective.ENERGY, time_limit: float = 60.0,
        workers: int | None = None, scheduler: str | None = None, store: "Store | None" = None,
        on_progress: Callable[[Any], None] | None = None) -> ZooResult:
    """Every layer of many models x resolutions x hardware, each distinct shape solved once
    (a local process pool, one CP-SAT worker per solve, or a Dask cluster at `scheduler`),
    answered from and kept in `store` (an in-memory store if None): an interrupted run
    loses nothing that finished. Token models are loaded once, at `seq_len` in `phase`
    (default: their own context, prefill), whatever the resolutions."""
    from mapper import batch
    from mapper.hardware import find_hardware
    from mapper.store import Store
    space, objective = _enum(Space, space, "space").value, _enum(Objective, objective, "objective").value
    time_limit = check_time_limit("time_limit", time_limit)
    if not models:
        raise InputError("give one or more models.")
    if not hardware:
        raise InputError("give one or more hardware specs.")
    for r in resolutions:
        _check_int("resolution", r, 1, MAX_RESOLUTION)
    t0 = time.perf_counter()
    workloads = [_wl(m, r) if _per_resolution(m) else load_workload(m, seq_len=seq_len, phase=phase)
                 for m in models for r in (resolutions if _per_resolution(m) else resolutions[:1])]
    hws = [(h.name if isinstance(h, Hardware) else Path(find_hardware(h)).stem, load_hardware(h)) for h in hardware]
    entries, jobs = batch.plan(workloads, hws, space, objective, time_limit)
    store = store if store is not None else Store(":memory:")
    n_workers = resolve_workers(workers, len(jobs))

    def backend():
        if scheduler:
            try:
                return batch.DaskBackend(scheduler)
            except (OSError, TimeoutError) as e:
                raise InputError(f"scheduler {scheduler}: cannot reach the Dask scheduler ({e}). Start one "
                                 "(`dask scheduler`) or solve locally.") from None
        return batch.LocalBackend(n_workers)

    results, prog = batch.run(jobs, store, backend, on_progress)
    models_out = []
    for e in entries:
        per_shape = [results[k].to_dict() for k in e.keys]
        m = _model_result("solve", e.workload, dict(hws)[e.hw_name],
                          per_layer(e.unique, per_shape, e.workload.layers, solved_layer), time.perf_counter(),
                          {"space": space, "objective": objective, "fixed": {}})
        models_out.append(replace(m, hardware=e.hw_name, wall_s=sum(r["solve_time_s"] for r in per_shape)))
    return ZooResult(entries=tuple(entries), results=results, models=tuple(models_out), distinct=len(jobs),
                     solved=prog.solved, cache_hits=prog.cache_hits, wall_s=time.perf_counter() - t0,
                     store=str(store.path), space=space, objective=objective, time_limit=time_limit)
