"""Hardware specs as YAML: loading, validation, writing back, bundled-file lookup.

Why a separate module: `hwspec.py` holds the domain object the cost model uses;
this module is the boundary with people. Every mistake in a YAML file becomes one
`HardwareError` paragraph naming the file, the line, the field and the fix, never
a yaml/KeyError/TypeError traceback.

File layout of a hardware description (bundled example:
`hardware/nnbaton-case-study.yaml`)::

    name: my-accelerator            # optional, defaults to the file name
    source: "where the design comes from"   # optional
    notes: ["free text", ...]        # optional
    tech: tech-16nm.yaml            # technology table: path relative to this file,
                                    # a bundled name, or an inline mapping of its fields
    package: {chiplets: 4, topology: ring,     # or topology: mesh with mesh: [rows, columns]
              dram_gb_s: 12.8, d2d_gb_s: 25}   # optional bandwidths (GB/s = 10^9 B/s): the
                                               # latency is then the slowest of MACs, DRAM, links
    chiplet: {cores: 8, a_l2: 64KB, o_l2: 32KB}
    core:    {lanes: 8, vector: 8, o_l1: 1.5KB, a_l1: 800B, w_l1: 18KB}
    bits:    {act: 8, weight: 8, psum: 24}      # optional, these are the defaults

Any number may be written bare (`lanes: 8`) or with its source
(`lanes: {value: 8, source: "NN-Baton Sec. VI-A-1"}`); bundled files always cite.
Buffer sizes are bytes: an integer, or a string with a unit, B, KB/kB/KiB
(1024 bytes) or MB/MiB (1024*1024 bytes): "800B", "1.5KB", "64 KiB". Sizes must
come to a whole number of bytes. There are no bit units ("Kb" is rejected).

A technology table (`hardware/tech-16nm.yaml`) has the `Tech` fields at the top
level, plus optional name/source/notes. A design space (`hardware/table2.yaml`)
is read by `load_design_space`.
"""
from __future__ import annotations

import difflib
import importlib.resources
import math
import re
import reprlib
from dataclasses import fields
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterable, NoReturn

import yaml
from yaml.constructor import ConstructorError

from mapper.errors import MapperError
from mapper.hwspec import Hardware, Tech


def _bundled_dir() -> Path:
    """Where the bundled hardware YAMLs are: the package data `mapper/bundled_hardware/` of
    an installed wheel (pyproject.toml maps the repository's hardware/ there), else the
    repository's hardware/ itself (a source checkout or an editable install)."""
    packaged = importlib.resources.files("mapper") / "bundled_hardware"
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged.resolve()
    return Path(__file__).resolve().parents[1] / "hardware"


HARDWARE_DIR = _bundled_dir()
TOPOLOGIES = ("ring", "mesh")
TECH_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Tech))
TECH_REQUIRED = tuple(f for f in TECH_FIELDS if f != "mac_bits")  # mac_bits defaults to 8
META_KEYS = ("name", "source", "notes")
SIZE_UNITS = {"B": 1, "KB": 1024, "kB": 1024, "KiB": 1024, "MB": 1 << 20, "MiB": 1 << 20}
_SIZE_RE = re.compile(r"^\s*([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(?:[eE]([+-]?[0-9]{1,9}))?\s*([A-Za-z]*)\s*$")
_SIZE_HELP = ('an integer number of bytes such as 1536, or a string such as "1.5KB", '
              '"800B" or "64 KiB" (KB = KiB = 1024 bytes, MB = MiB = 1024 KB)')


class HardwareError(MapperError):
    """A hardware/technology/design-space file is wrong; the message says where and how to fix it."""


# --------------------------------------------------------------------------- allowed ranges
class _Range:
    """The allowed values of a number: from `lo` (or above it, when `open_lo`) to `hi`,
    inclusive, in `unit`; `why` says where the limits come from."""

    def __init__(self, lo: float, hi: float, unit: str, why: str, open_lo: bool = False):
        self.lo, self.hi, self.unit, self.why, self.open_lo = lo, hi, unit, why, open_lo

    def __contains__(self, v: Any) -> bool:
        return (v > self.lo if self.open_lo else v >= self.lo) and v <= self.hi

    def text(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        if self.open_lo:
            return f"above {_num(self.lo)} and at most {_num(self.hi)}{unit}"
        return f"from {_num(self.lo)} to {_num(self.hi)}{unit}"


MAX_BUFFER_BYTES = 1 << 30
MAX_PJ_PER_BIT = 1000  # the most any energy per bit (or per MAC) may be, the SRAM line's included
_ENERGY = _Range(0, MAX_PJ_PER_BIT, "pJ", "1 nJ per bit is 100 times the DRAM access energy of "
                 "the bundled technology tables (8.75 to 12.5 pJ/bit)", open_lo=True)
_CLOCK = _Range(0.001, 100_000, "MHz", "1 kHz to 100 GHz")
_RATE = _Range(0.001, 1_000_000, "GB/s", "1 MB/s to 1 PB/s; an HBM3 stack gives about 800 GB/s")
_UNITS = _Range(1, 1024, "", "no package holds more than a thousand chiplets, nor a chiplet a "
                "thousand cores; Simba has 36 chiplets of 16 PEs")
_ARRAY = _Range(1, 4096, "", "no vector unit or in-memory array is wider than 4096; "
                "the bundled ones are 1 to 128 wide")
_WIDTH = _Range(1, 32, "bits", "the operand and partial-sum widths the cost model prices")
SIZE_RANGE = _Range(1, MAX_BUFFER_BYTES, "bytes (1 GiB)", "no die holds 1 GiB of SRAM in one "
                    "buffer; the bundled buffers are 128 B to 64 KB")
# Every number of a hardware, technology or design-space file has an allowed range, by
# field name (buffer sizes all take SIZE_RANGE). Outside it a value is a typo or a unit
# slip, and inside it every count and per-bit energy is a modest exact integer.
RANGES: dict[str, _Range] = {
    "chiplets": _UNITS, "cores": _UNITS, "mesh": _UNITS,
    "lanes": _ARRAY, "vector": _ARRAY,
    "act": _WIDTH, "weight": _WIDTH, "psum": _WIDTH, "mac_bits": _WIDTH,
    "dram_gb_s": _RATE, "d2d_gb_s": _RATE, "clock_mhz": _CLOCK, "frequency_mhz": _CLOCK,
    "dram_pj_per_bit": _ENERGY, "d2d_pj_per_bit": _ENERGY, "sram_pj_per_bit_at_1kb": _ENERGY,
    "sram_pj_per_bit_at_32kb": _ENERGY, "reg_rmw_pj_per_bit": _ENERGY, "mac_pj": _ENERGY,
    "mac_area_um2": _Range(0, 1e6, "um^2", "1 mm^2 per MAC", open_lo=True),
    "sram_area_um2_per_kb": _Range(0, 1e6, "um^2", "1 mm^2 per KB", open_lo=True),
    "sram_macro_area_um2": _Range(0, 1e8, "um^2", "100 mm^2 per macro", open_lo=True),
    "d2d_phy_area_mm2": _Range(0, 1e4, "mm^2", "larger than any die", open_lo=True),
}


def _num(v: Any) -> str:
    """A number for a message: exact when short, '10^30'-style when huge."""
    if isinstance(v, int) and not isinstance(v, bool):
        if abs(v) < 10**18:
            return str(v)
        return f"{'-' if v < 0 else ''}about 10^{math.log10(abs(v)):.0f}"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e16 else f"{v:g}"
    if isinstance(v, Fraction):
        return _num(v.numerator) if v.denominator == 1 else (
            f"{float(v):g}" if abs(v) < 10**300 else _num(int(v)))
    return str(v)


# --------------------------------------------------------------------------- field table
OPTIONAL = "optional"  # the default of a field that may be left out (the attribute is then None)


class _Field:
    """One YAML field of a hardware file and the Hardware attribute it fills."""

    def __init__(self, attr: str, kind: str, help: str, example: Any, default: Any = None):
        self.attr, self.kind, self.help, self.example, self.default = attr, kind, help, example, default


SECTIONS: dict[str, dict[str, _Field]] = {
    "package": {
        "chiplets": _Field("n_chiplets", "count", "number of chiplets N_P on the package", 4),
        "topology": _Field("topology", "topology", "die-to-die network (ring or mesh)", "ring", "ring"),
        "mesh": _Field("mesh", "mesh", "rows and columns of chiplets of a mesh", [6, 6], OPTIONAL),
        "dram_gb_s": _Field("dram_gb_s", "rate", "DRAM bandwidth per chiplet's channel, GB/s", 12.8, OPTIONAL),
        "d2d_gb_s": _Field("d2d_gb_s", "rate", "die-to-die bandwidth per link and direction, GB/s", 25,
                           OPTIONAL),
        "clock_mhz": _Field("clock_mhz", "rate", "clock, MHz (overrides the technology's frequency_mhz)",
                            1000, OPTIONAL),
    },
    "chiplet": {
        "cores": _Field("n_cores", "count", "number of cores N_C per chiplet", 8),
        "a_l2": _Field("a_l2", "size", "activation buffer A-L2 per chiplet, bytes", "64KB"),
        "o_l2": _Field("o_l2", "size", "output buffer O-L2 per chiplet, bytes", "32KB"),
    },
    "core": {
        "lanes": _Field("lanes", "count", "lanes L per core (output channels in parallel)", 8),
        "vector": _Field("vector", "count", "vector-MAC width P (input channels per lane per cycle)", 8),
        "o_l1": _Field("o_l1", "size", "output register file O-L1 per core, bytes", "1.5KB"),
        "a_l1": _Field("a_l1", "size", "activation buffer A-L1 per core, bytes", "800B"),
        "w_l1": _Field("w_l1", "size", "weight buffer W-L1 per core, bytes", "18KB"),
        "in_memory": _Field("in_memory", "flag", "W-L1 is an in-memory-computing array (weights used "
                            "in place and resident)", False, False),
    },
    "bits": {
        "act": _Field("act_bits", "bits", "activation bit width", 8, 8),
        "weight": _Field("weight_bits", "bits", "weight bit width", 8, 8),
        "psum": _Field("psum_bits", "bits", "partial-sum bit width", 24, 24),
    },
}
REQUIRED_SECTIONS = ("package", "chiplet", "core")
TOP_KEYS = (*META_KEYS, "tech", *SECTIONS)

DESIGN_COMPUTE = ("vector", "lanes", "cores", "chiplets")
DESIGN_MEMORY = ("o_l1", "a_l1", "w_l1", "a_l2", "o_l2")
DESIGN_TOP = (*META_KEYS, "tech", "compute", "memory")


# --------------------------------------------------------------------------- YAML reading
class _Map(dict):
    """A dict that remembers the line of each key, so errors can point at it."""

    lines: dict


class _Loader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys (PyYAML silently keeps the last one)."""


def _construct_map(loader: _Loader, node: yaml.MappingNode):
    data = _Map()
    data.lines = {}
    yield data
    seen: dict[Any, Any] = {}
    for key_node, _ in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
            if key_node.value in seen:
                raise ConstructorError("while reading a mapping", node.start_mark,
                                       f"found duplicate key {key_node.value!r}", key_node.start_mark)
            seen[key_node.value] = True
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise ConstructorError("while reading a mapping", node.start_mark,
                                   "found a key that is not a plain value", key_node.start_mark)
        data[key] = loader.construct_object(value_node, deep=True)
        data.lines[key] = key_node.start_mark.line + 1


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)


class _Ctx:
    """Where we are (file, and the file that referred to it) for error messages."""

    def __init__(self, file: str, via: str | None = None):
        self.file, self.via = file, via

    def fail(self, field: str | None, problem: str, fix: str,
             m: Any = None, key: Any = None, line: int | None = None,
             column: int | None = None) -> NoReturn:
        if line is None and isinstance(m, _Map):
            line = m.lines.get(key)
        where = self.file + (f" (technology table of {self.via})" if self.via else "")
        if line:
            where += f", line {line}" + (f", column {column}" if column else "")
        what = f"{field} {problem}" if field else problem
        err = HardwareError(f"{where}: {what}. Fix: {fix}")
        err.__suppress_context__ = True  # the message says it all; no chained yaml traceback
        raise err


def _read_yaml(path: Path, ctx: _Ctx, what: str) -> dict:
    """Read a YAML mapping, turning every I/O and syntax problem into a HardwareError."""
    if _is_dir(path):
        ctx.fail(None, "is a directory, not a YAML file", "pass one of the .yaml files inside it")
    if not _is_file(path):
        ctx.fail(None, f"{what} file not found",
                 f"check the path (it is relative to the current directory {Path.cwd()}), "
                 f"or use a bundled name: {', '.join(bundled_names()) or '(none)'}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        ctx.fail(None, f"is not UTF-8 text ({e.reason} at byte {e.start})",
                 "save the file as UTF-8 text")
    except OSError as e:
        ctx.fail(None, f"cannot be read ({e.strerror or e})", "check the file's permissions")
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 -- a SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        context = getattr(e, "context", None)
        detail = f"{problem}" + (f" ({context})" if context else "")
        fix = ("check the indentation and the `key: value` syntax at that point "
               "(quote values containing ':' or '#')")
        if "duplicate key" in str(problem):
            fix = "keep one line per key in that mapping (YAML would silently use the last one)"
        tag = yaml_tag_problem(str(problem))
        if tag:
            detail, fix = tag
        if isinstance(e, yaml.reader.ReaderError):  # a control character: no mark, a position
            before = text[:e.position]
            ctx.fail(None, f"contains the character {e.character!r}, which YAML does not allow",
                     "delete it (or quote the text that holds it, written as an escape)",
                     line=before.count("\n") + 1, column=len(before) - before.rfind("\n"))
        if mark is not None:
            ctx.fail(None, f"not valid YAML: {detail}", fix, line=mark.line + 1, column=mark.column + 1)
        ctx.fail(None, f"not valid YAML: {detail}", "check the file's syntax")
    except RecursionError:
        ctx.fail(None, "is nested too deeply to be a hardware file", "flatten the structure")
    except ValueError as e:  # an integer too long to convert (Python's 4300-digit limit)
        hits = ((i + 1, re.search(r"(\w+)\s*:[\s{\[]*(?:value\s*:\s*)?[-+]?[0-9_]{1000}", t))
                for i, t in enumerate(text.splitlines()) if re.search(r"[0-9]{1000}", t))
        line, mt = next(hits, (None, None))
        key = mt.group(1) if mt else None
        ctx.fail(key or None, f"has a number too long to read ({str(e).split(':')[0]})",
                 "write a value in the field's allowed range", line=line)
    if data is None:
        ctx.fail(None, "is empty", f"write a {what} mapping into it (see hardware/ for examples)")
    if not isinstance(data, dict):
        ctx.fail(None, f"must contain a mapping of fields at the top level, got a {_kind(data)}",
                 f"write the {what} as `key: value` lines (see hardware/ for examples)")
    return data


# --------------------------------------------------------------------------- value parsing
def _kind(v: Any) -> str:
    return {dict: "mapping", _Map: "mapping", list: "list", str: "string",
            bool: "boolean", type(None): "empty value"}.get(type(v), type(v).__name__)


def yaml_tag_problem(problem: str) -> tuple[str, str] | None:
    """(what, fix) when a YAML error is an explicit tag the safe loader refuses, e.g.
    `!!python/object:os.system`; None for any other YAML error."""
    mt = re.search(r"constructor for the tag '([^']*)'", problem)
    if not mt:
        return None
    tag = mt.group(1).replace("tag:yaml.org,2002:", "!!")
    if tag.startswith("!!python/"):
        return (f"uses the Python-object tag '{tag}', which is not allowed (the file is read with "
                "YAML's safe loader: plain numbers, text, lists and mappings only)",
                "remove the tag and write the plain value")
    return (f"uses the tag '{tag}', which the safe YAML loader does not know",
            "remove the tag and write the plain value")


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 60
_REPR.maxlist = _REPR.maxdict = 4
_REPR.maxlevel = 2


def _show(v: Any) -> str:
    """A value for a message: short, whatever it is (huge numbers, deep nests, long text)."""
    if v is None:
        return "nothing"
    if isinstance(v, (int, float, Fraction)) and not isinstance(v, bool):
        return _num(v)
    s = _REPR.repr(v) if isinstance(v, (str, list, dict)) else str(v)
    return s if len(s) <= 60 else s[:57] + "..."


def _fail_range(ctx: _Ctx, field: str, v: Any, rng: _Range, m: dict, key: str, example: Any,
                shown: str | None = None) -> NoReturn:
    above = _is_big(v, rng)
    ctx.fail(field, f"is {shown or _show(v)}, {'beyond' if above else 'outside'} the allowed range "
             f"{rng.text()} ({rng.why})",
             f"write a value {rng.text()}, e.g. `{key}: {example}`", m, key)


def _is_big(v: Any, rng: _Range) -> bool:
    try:
        return v > rng.hi
    except TypeError:
        return False



def _check_keys(ctx: _Ctx, m: dict, prefix: str, valid: Iterable[str],
                required: Iterable[str] = (), helps: dict[str, str] | None = None) -> None:
    """Unknown keys (listing the valid ones) and missing required keys."""
    valid = tuple(valid)
    for key in m:
        if key not in valid:
            close = difflib.get_close_matches(str(key), valid, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            ctx.fail(f"{prefix}{key}", "is not a known field",
                     f"{hint}valid fields{' in ' + prefix.rstrip('.') if prefix else ''} are: "
                     f"{', '.join(valid)}", m, key)
    for key in required:
        if key not in m:
            what = f" ({helps[key]})" if helps and key in helps else ""
            ctx.fail(f"{prefix}{key}", f"is missing (a required field{what})",
                     f"add `{key}: ...` {'under `' + prefix.rstrip('.') + ':`' if prefix else 'at the top level'}")


def _unwrap(ctx: _Ctx, m: dict, key: str, field: str, plural: bool = False) -> tuple[Any, str | None]:
    """Return (value, source) from a bare value or a {value, source} mapping."""
    v = m[key]
    vk = "values" if plural else "value"
    if isinstance(v, dict):
        for k in v:
            if k not in (vk, "source"):
                ctx.fail(f"{field}.{k}", "is not a known field",
                         f"a field written as a mapping takes only `{vk}` and `source`, "
                         f"e.g. `{key}: {{{vk}: ..., source: \"NN-Baton Table I\"}}`", v, k)
        if vk not in v:
            ctx.fail(field, f"is a mapping without `{vk}`",
                     f"write `{key}: {{{vk}: ..., source: \"...\"}}` or just `{key}: ...`", m, key)
        src = v.get("source")
        if src is not None and not isinstance(src, str):
            ctx.fail(f"{field}.source", f"must be text, got {_show(src)}",
                     "quote the source, e.g. source: \"NN-Baton Table I\"", v, "source")
        return v[vk], src
    return v, None


def _size_bytes(v: Any) -> Fraction | None:
    """The exact number of bytes a size stands for (possibly fractional, zero or huge), or
    None if `v` is not written as a size. Exponents are read ("1e3" is 1000 bytes); one
    beyond +-400 is clamped there, which keeps the value out of range without computing it."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return Fraction(v)
    if isinstance(v, float):
        return Fraction(v) if math.isfinite(v) else None
    if isinstance(v, str) and len(v) <= 200:
        mt = _SIZE_RE.match(v)
        if not mt or mt.group(3) not in ("", *SIZE_UNITS):
            return None
        exp = max(-400, min(400, int(mt.group(2) or 0)))
        return Fraction(mt.group(1)) * Fraction(10) ** exp * SIZE_UNITS.get(mt.group(3), 1)
    return None


def parse_size(v: Any) -> int | None:
    """Bytes from an int or a size string ("1.5KB", "800B", "64 KiB", "1e3"); None if not
    a size or not a whole number of bytes. The allowed range is checked by the loaders."""
    b = _size_bytes(v)
    return int(b) if b is not None and b.denominator == 1 else None


def _is_whole(v: Any) -> bool:
    return (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer())


def _count(ctx: _Ctx, v: Any, field: str, m: dict, key: str, example: Any) -> int:
    """A whole number in RANGES[key] (a float such as 4.0 is read as 4)."""
    rng = RANGES.get(key, _UNITS)
    if not _is_whole(v):
        ctx.fail(field, f"must be a whole number {rng.text()}, got {_show(v)}",
                 f"write e.g. `{key}: {example}`", m, key)
    if v not in rng:
        _fail_range(ctx, field, v, rng, m, key, example)
    return int(v)


def _size(ctx: _Ctx, v: Any, field: str, m: dict, key: str, example: Any) -> int:
    """A buffer size in bytes, a whole number in SIZE_RANGE."""
    b = _size_bytes(v)
    if b is None:
        extra = ""
        if isinstance(v, str) and (mt := _SIZE_RE.match(v)) and mt.group(3) not in ("", *SIZE_UNITS):
            extra = f" (unknown unit '{mt.group(3)}'; units are bytes: {', '.join(SIZE_UNITS)})"
        elif isinstance(v, float):
            extra = " (not a finite number)"
        ctx.fail(field, f"must be a size in bytes, got {_show(v)}{extra}",
                 f"write {_SIZE_HELP}, e.g. `{key}: {example}`", m, key)
    if b <= 0:
        ctx.fail(field, f"must be a positive size, got {_show(v)} (the allowed range is "
                 f"{SIZE_RANGE.text()})", f"write {_SIZE_HELP}, e.g. `{key}: {example}`", m, key)
    if b not in SIZE_RANGE:
        shown = _show(v) + ("" if isinstance(v, int) or not 10**-100 < abs(b) < 10**100 else f" = {_num(b)} bytes")
        _fail_range(ctx, field, b, SIZE_RANGE, m, key, example, shown)
    if b.denominator != 1:
        ctx.fail(field, f"is {_show(v)} = {_num(b)} bytes, not a whole number of bytes",
                 f"write {_SIZE_HELP}, e.g. `{key}: {example}`", m, key)
    return int(b)


def _bits(ctx: _Ctx, v: Any, field: str, m: dict, key: str, example: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        ctx.fail(field, f"must be an integer bit width {_WIDTH.text()}, got {_show(v)}",
                 f"e.g. `{key}: {example}`", m, key)
    if v not in _WIDTH:
        _fail_range(ctx, field, v, _WIDTH, m, key, example)
    return v


def _positive(ctx: _Ctx, v: Any, field: str, m: dict, key: str) -> float:
    """A number (units in the field name) in RANGES[key]."""
    rng = RANGES.get(key, _Range(0, 1e12, "", "a positive number", open_lo=True))
    example = {"clock_mhz": 1000, "frequency_mhz": 500, "dram_gb_s": 12.8, "d2d_gb_s": 25}.get(key, 0.81)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and math.isnan(v)):
        ctx.fail(field, f"must be a number {rng.text()}, got {_show(v)}",
                 f"write a plain number such as `{key}: {example}` (units are in the field name)", m, key)
    if v not in rng:
        _fail_range(ctx, field, v, rng, m, key, example)
    return float(v)


# --------------------------------------------------------------------------- technology
def _tech_from_mapping(ctx: _Ctx, m: dict, prefix: str, sources: dict[str, str]) -> Tech:
    """Build a Tech from a validated mapping (a tech file's top level, or inline `tech:`)."""
    _check_keys(ctx, m, prefix, (*META_KEYS, *TECH_FIELDS), TECH_REQUIRED)
    vals = {}
    for key in TECH_FIELDS:
        field = f"{prefix}{key}"
        if key not in m:  # an optional field (mac_bits) keeps its default
            continue
        v, src = _unwrap(ctx, m, key, field)
        vals[key] = _count(ctx, v, field, m, key, 8) if key == "mac_bits" else _positive(ctx, v, field, m, key)
        if src:
            sources[f"tech.{key}"] = src
    return Tech(**vals)


def load_tech(path: str | Path) -> Tech:
    """Load a technology table file (e.g. hardware/tech-16nm.yaml, or "tech-16nm")."""
    p = _locate(path)
    ctx = _Ctx(str(p))
    data = _read_yaml(p, ctx, "technology table")
    if "core" in data or "package" in data:
        ctx.fail(None, "is a hardware description, not a technology table",
                 "load it with load_hardware(), or pass a tech-*.yaml file")
    return _tech_from_mapping(ctx, data, "", {})


def _resolve_tech(ctx: _Ctx, data: dict, base: Path, sources: dict[str, str]) -> tuple[Tech, str | None]:
    """`tech:` is a path relative to the hardware file, a bundled name, or an inline mapping."""
    v = data["tech"]
    if isinstance(v, dict):
        return _tech_from_mapping(ctx, v, "tech.", sources), None
    if not isinstance(v, str) or not v.strip():
        ctx.fail("tech", f"must be a file name or a mapping of technology numbers, got {_show(v)}",
                 "write e.g. `tech: tech-16nm.yaml` (relative to this file)", data, "tech")
    tp = Path(v) if Path(v).is_absolute() else base.parent / v
    if not _is_file(tp) and "/" not in v and "\\" not in v:
        for cand in (base.parent / f"{v}.yaml", HARDWARE_DIR / v, HARDWARE_DIR / f"{v}.yaml"):
            if _is_file(cand):
                tp = cand
                break
    if not _is_file(tp):
        techs = [n for n in bundled_names() if n.startswith("tech")]
        ctx.fail("tech", f"refers to '{tp}', which does not exist (paths are relative to the "
                 "hardware file)", f"correct the path, use a bundled table ({', '.join(techs) or 'none'}), "
                 "or write the technology numbers inline under `tech:`", data, "tech")
    tctx = _Ctx(str(tp), via=ctx.file)
    tdata = _read_yaml(tp, tctx, "technology table")
    tech = _tech_from_mapping(tctx, tdata, "", sources)
    return tech, str(tp)


# --------------------------------------------------------------------------- hardware
def load_hardware(path: str | Path) -> Hardware:
    """Load and validate a hardware YAML file (or a bundled name) into a `Hardware`.

    Raises HardwareError (one paragraph: file, line, field, fix) for any bad input.
    """
    p = _locate(path)
    ctx = _Ctx(str(p))
    data = _read_yaml(p, ctx, "hardware")
    if set(data) & set(TECH_FIELDS) and not set(data) & set(SECTIONS):
        ctx.fail(None, "is a technology table, not a hardware description",
                 f"refer to it from a hardware file with `tech: {p.name}`, and pass that file")
    if "compute" in data or "memory" in data:
        ctx.fail(None, "is a design space, not a hardware description",
                 "read it with load_design_space(), or pass a hardware file such as nnbaton-case-study")
    _check_keys(ctx, data, "", TOP_KEYS, ("tech", *REQUIRED_SECTIONS))

    name = data.get("name", p.stem)
    if not isinstance(name, str) or not name.strip():
        ctx.fail("name", f"must be non-empty text, got {_show(name)}", "write e.g. `name: my-chip`",
                 data, "name")
    source = data.get("source", "") or ""
    if not isinstance(source, str):
        ctx.fail("source", f"must be text, got {_show(source)}", "quote it", data, "source")
    notes = _notes(ctx, data)

    sources: dict[str, str] = {}
    tech, tech_path = _resolve_tech(ctx, data, p, sources)

    vals: dict[str, Any] = {}
    for section, spec in SECTIONS.items():
        sec = data.get(section)
        if sec is None and section not in REQUIRED_SECTIONS:
            sec = {}
        if not isinstance(sec, dict):
            ctx.fail(section, f"must be a mapping of fields, got {_show(sec)}",
                     f"write `{section}:` followed by indented fields: {', '.join(spec)}", data, section)
        required = [k for k, f in spec.items() if f.default is None]
        _check_keys(ctx, sec, f"{section}.", spec, required, {k: f.help for k, f in spec.items()})
        for key, f in spec.items():
            field = f"{section}.{key}"
            if key not in sec:
                vals[f.attr] = None if f.default == OPTIONAL else f.default
                continue
            v, src = _unwrap(ctx, sec, key, field)
            if src:
                sources[field] = src
            if f.kind == "count":
                vals[f.attr] = _count(ctx, v, field, sec, key, f.example)
            elif f.kind == "size":
                vals[f.attr] = _size(ctx, v, field, sec, key, f.example)
            elif f.kind == "bits":
                vals[f.attr] = _bits(ctx, v, field, sec, key, f.example)
            elif f.kind == "flag":
                if not isinstance(v, bool):
                    ctx.fail(field, f"must be true or false, got {_show(v)}", f"write `{key}: true`", sec, key)
                vals[f.attr] = v
            elif f.kind == "rate":
                vals[f.attr] = _positive(ctx, v, field, sec, key)
            elif f.kind == "mesh":
                if not isinstance(v, list) or len(v) != 2:
                    ctx.fail(field, f"must be [rows, columns], got {_show(v)}", "write e.g. `mesh: [6, 6]`",
                             sec, key)
                vals[f.attr] = tuple(_count(ctx, x, field, sec, key, "[6, 6]") for x in v)
            else:  # topology
                if v not in TOPOLOGIES:
                    ctx.fail(field, f"must be one of {', '.join(TOPOLOGIES)}, got {_show(v)}",
                             "write `topology: ring` (NN-Baton's directional ring) or `topology: mesh` "
                             "with `mesh: [rows, columns]`", sec, key)
                vals[f.attr] = v

    _check_mesh(ctx, data, vals)
    hw = Hardware(name=name, tech=tech, source=source,
                  extra={"path": ctx.file, "tech_path": tech_path, "sources": sources, "notes": notes},
                  **vals)
    _check_capacities(ctx, hw, data)
    return hw


def _check_mesh(ctx: _Ctx, data: dict, vals: dict) -> None:
    """A mesh must hold the chiplets and carry NN-Baton's ring of rotations one hop per
    link: a closed walk through every chiplet (a Hamiltonian cycle), which a grid has
    when it is at least 2 x 2 with an even number of chiplets (or 2 chiplets side by side)."""
    mesh, n = vals.get("mesh"), vals["n_chiplets"]
    line = _line(data, "package.mesh") or _line(data, "package.topology")
    if vals["topology"] != "mesh":
        if mesh is not None:
            ctx.fail("package.mesh", "is given but package.topology is not mesh",
                     "write `topology: mesh`, or drop `mesh:`", line=line)
        return
    if mesh is None:
        ctx.fail("package.mesh", "is missing (topology mesh needs the grid)",
                 f"add `mesh: [rows, columns]` with rows x columns = {n} under `package:`", line=line)
    rows, cols = mesh
    if rows * cols != n:
        ctx.fail("package.mesh", f"is {rows} x {cols} = {rows * cols} chiplets but package.chiplets is {n}",
                 "make rows x columns equal the number of chiplets", line=line)
    if not mesh_has_ring(rows, cols):
        ctx.fail("package.mesh", f"{rows} x {cols} has no ring through every chiplet one hop apart "
                 "(NN-Baton's rotation needs one)", "use a grid of at least 2 x 2 with an even "
                 "number of chiplets (e.g. 6 x 6), or `topology: ring`", line=line)


def mesh_has_ring(rows: int, cols: int) -> bool:
    """Whether a rows x cols grid has a Hamiltonian cycle (or is 1 x 2 / 1 x 1)."""
    if rows * cols <= 2:
        return True
    return min(rows, cols) >= 2 and rows * cols % 2 == 0


def _notes(ctx: _Ctx, data: dict) -> list[str]:
    notes = data.get("notes", [])
    if isinstance(notes, str):
        notes = [notes]
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        ctx.fail("notes", "must be text or a list of text", "quote each note", data, "notes")
    return notes


def _line(data: dict, field: str) -> int | None:
    section, key = field.split(".")
    sec = data.get(section)
    return sec.lines.get(key) if isinstance(sec, _Map) else None


def least_buffer_bytes(lanes: int, act_bits: int, weight_bits: int, psum_bits: int) -> dict[str, int]:
    """The smallest unit of work every layer needs in each buffer (bytes): one output
    pixel's partial sums in O-L1, one weight per lane in W-L1, one activation elsewhere.
    Checked for a hardware file here and for every co-design candidate."""
    act = math.ceil(act_bits / 8)
    return {"o_l1": math.ceil(lanes * psum_bits / 8), "w_l1": math.ceil(lanes * weight_bits / 8),
            "a_l1": act, "a_l2": act, "o_l2": act}


def _check_capacities(ctx: _Ctx, hw: Hardware, data: dict) -> None:
    """Checks true for every layer: each buffer holds at least its smallest unit of work."""
    least = least_buffer_bytes(hw.lanes, hw.act_bits, hw.weight_bits, hw.psum_bits)
    need = [
        ("core.o_l1", hw.o_l1, least["o_l1"],
         f"one output pixel's {hw.lanes} partial sums ({hw.lanes} lanes x {hw.psum_bits} bits)",
         "or reduce core.lanes or bits.psum"),
        ("core.w_l1", hw.w_l1, least["w_l1"],
         f"one weight per lane ({hw.lanes} lanes x {hw.weight_bits} bits)",
         "or reduce core.lanes or bits.weight"),
        ("core.a_l1", hw.a_l1, least["a_l1"],
         f"one activation ({hw.act_bits} bits)", "or reduce bits.act"),
        ("chiplet.a_l2", hw.a_l2, least["a_l2"],
         f"one activation ({hw.act_bits} bits)", "or reduce bits.act"),
        ("chiplet.o_l2", hw.o_l2, least["o_l2"],
         f"one output ({hw.act_bits} bits)", "or reduce bits.act"),
    ]
    for field, have, least, unit, alt in need:
        if have < least:
            ctx.fail(field, f"is {have} bytes, too small to hold {unit}, which every layer needs",
                     f"increase {field} to at least {least} bytes {alt}", line=_line(data, field))
    for buf, field in (("a_l1", "core.a_l1"), ("w_l1", "core.w_l1"),
                       ("a_l2", "chiplet.a_l2"), ("o_l2", "chiplet.o_l2")):
        e = hw.tech.sram_pj_per_bit(getattr(hw, buf))
        if e <= 0:
            ctx.fail(field, f"gets a non-positive SRAM energy ({e:.4g} pJ/bit) from the technology's "
                     "linear SRAM line", "make tech.sram_pj_per_bit_at_32kb at least "
                     "tech.sram_pj_per_bit_at_1kb, or change the buffer size", line=_line(data, field))
        if e > MAX_PJ_PER_BIT:
            ctx.fail(field, f"of {getattr(hw, buf)} bytes gets {e:.6g} pJ/bit from the technology's "
                     f"linear SRAM line, beyond the allowed {MAX_PJ_PER_BIT} pJ/bit ({_ENERGY.why}; "
                     "the line is fitted between 1 KB and 32 KB)", "make the buffer smaller, or lower "
                     "tech.sram_pj_per_bit_at_1kb and tech.sram_pj_per_bit_at_32kb", line=_line(data, field))


def hardware_to_dict(hw: Hardware, sources: bool = False) -> dict:
    """Plain-number dict in the YAML layout (tech inline): JSON-ready, and
    `load_hardware` reads a YAML dump of it back to an equal Hardware.

    With sources=True, numbers whose source is known (hw.extra['sources']) are
    written as {value, source}, so a derived file keeps its citations.
    """
    src: dict[str, str] = (hw.extra or {}).get("sources", {}) if sources else {}

    def val(field: str, v: Any) -> Any:
        return {"value": v, "source": src[field]} if field in src else v

    d: dict[str, Any] = {"name": hw.name}
    if hw.source:
        d["source"] = hw.source
    d["tech"] = {k: val(f"tech.{k}", getattr(hw.tech, k)) for k in TECH_FIELDS}
    for section, spec in SECTIONS.items():
        d[section] = {k: val(f"{section}.{k}", list(v) if isinstance(v, tuple) else v)
                      for k, f in spec.items() if (v := getattr(hw, f.attr)) is not None}
    return d


# --------------------------------------------------------------------------- lookup
def bundled_names() -> list[str]:
    """Names of the bundled YAML files (`HARDWARE_DIR`: the repository's hardware/, installed
    as package data `mapper/bundled_hardware/`)."""
    if not HARDWARE_DIR.is_dir():
        return []
    return sorted(p.stem for p in HARDWARE_DIR.glob("*.y*ml"))


def _is_file(p: Path) -> bool:
    """Path.is_file that treats unusable names (too long, NUL bytes) as absent."""
    try:
        return p.is_file()
    except (OSError, ValueError):
        return False


def _is_dir(p: Path) -> bool:
    try:
        return p.is_dir()
    except (OSError, ValueError):
        return False


def _locate(path: str | Path) -> Path:
    """The path itself if it exists, else a bundled file of that bare name, else the
    path unchanged (so the loader reports it as not found)."""
    p = Path(path)
    if _is_file(p):
        return p
    try:
        return find_hardware(str(path))
    except HardwareError:
        return p


def find_hardware(spec: str | Path) -> Path:
    """A path to an existing file, or a bare bundled name like "nnbaton-case-study"."""
    if not str(spec).strip():
        raise HardwareError(f"the hardware is an empty name. Fix: pass a path to a YAML file, or one of the bundled "
                            f"names ({', '.join(bundled_names()) or 'none'}).")
    p = Path(spec)
    if _is_file(p):
        return p
    s = str(spec)
    if "/" not in s and "\\" not in s:
        for cand in (HARDWARE_DIR / s, HARDWARE_DIR / f"{s}.yaml", HARDWARE_DIR / f"{s}.yml"):
            if _is_file(cand):
                return cand
    if _is_dir(p):
        raise HardwareError(f"{s}: is a directory, not a hardware file. Fix: pass one of the "
                            f".yaml files inside it.")
    raise HardwareError(f"{s}: no such hardware file, and no bundled hardware of that name. Fix: pass "
                        f"a path to a YAML file, or one of the bundled names "
                        f"({', '.join(bundled_names()) or 'none'}) from {HARDWARE_DIR}.")


# --------------------------------------------------------------------------- design space
def load_design_space(path: str | Path) -> dict:
    """Load a design space (hardware/table2.yaml, or "table2") into plain lists of bytes/counts.

    Returns {name, source, notes, path, tech (Tech or None), tech_path,
    compute: {vector, lanes, cores, chiplets: [ints]},
    memory: {buffer: {min, max, steps: [bytes]}}, sources: {field: text}}.
    A memory entry without `steps` gets the bounds plus the powers of two between.
    """
    p = _locate(path)
    ctx = _Ctx(str(p))
    data = _read_yaml(p, ctx, "design space")
    _check_keys(ctx, data, "", DESIGN_TOP, ("compute", "memory"))
    sources: dict[str, str] = {}
    out: dict[str, Any] = {"name": data.get("name", p.stem), "source": data.get("source", ""),
                           "notes": _notes(ctx, data), "path": str(p), "tech": None,
                           "tech_path": None, "compute": {}, "memory": {}, "sources": sources}
    if "tech" in data:
        out["tech"], out["tech_path"] = _resolve_tech(ctx, data, p, sources)

    comp = data["compute"]
    if not isinstance(comp, dict):
        ctx.fail("compute", f"must be a mapping, got {_show(comp)}",
                 f"list the options of {', '.join(DESIGN_COMPUTE)}", data, "compute")
    _check_keys(ctx, comp, "compute.", DESIGN_COMPUTE, DESIGN_COMPUTE)
    for key in DESIGN_COMPUTE:
        field = f"compute.{key}"
        v, src = _unwrap(ctx, comp, key, field, plural=True)
        if src:
            sources[field] = src
        if not isinstance(v, list) or not v:
            ctx.fail(field, f"must be a non-empty list of positive integers, got {_show(v)}",
                     f"write e.g. `{key}: [2, 4, 8, 16]`", comp, key)
        out["compute"][key] = sorted({_count(ctx, x, field, comp, key, 8) for x in v})

    mem = data["memory"]
    if not isinstance(mem, dict):
        ctx.fail("memory", f"must be a mapping, got {_show(mem)}",
                 f"give min/max/steps for {', '.join(DESIGN_MEMORY)}", data, "memory")
    _check_keys(ctx, mem, "memory.", DESIGN_MEMORY)
    for buf, rng in mem.items():
        pre = f"memory.{buf}"
        if not isinstance(rng, dict):
            ctx.fail(pre, f"must be a mapping with min, max and steps, got {_show(rng)}",
                     f"write `{buf}: {{min: 1KB, max: 128KB}}`", mem, buf)
        _check_keys(ctx, rng, f"{pre}.", ("min", "max", "steps", "source"), ("min", "max"))
        if "source" in rng:
            sources[pre] = str(rng["source"])
        b = {}
        for end in ("min", "max"):
            v, src = _unwrap(ctx, rng, end, f"{pre}.{end}")
            if src:
                sources[f"{pre}.{end}"] = src
            b[end] = _size(ctx, v, f"{pre}.{end}", rng, end, "32KB")
        if b["min"] > b["max"]:
            ctx.fail(pre, f"has min {b['min']} B above max {b['max']} B", "swap them", mem, buf)
        if "steps" in rng:
            v, src = _unwrap(ctx, rng, "steps", f"{pre}.steps", plural=True)
            if src:
                sources[f"{pre}.steps"] = src
            if not isinstance(v, list) or not v:
                ctx.fail(f"{pre}.steps", f"must be a non-empty list of sizes, got {_show(v)}",
                         "write e.g. `steps: [1KB, 2KB, 4KB]`", rng, "steps")
            steps = sorted({_size(ctx, x, f"{pre}.steps", rng, "steps", "4KB") for x in v})
            bad = [s for s in steps if not b["min"] <= s <= b["max"]]
            if bad:
                ctx.fail(f"{pre}.steps", f"has {bad[0]} B outside [{b['min']}, {b['max']}] B",
                         "remove it or widen min/max", rng, "steps")
        else:
            steps = sorted({b["min"], b["max"]} | {1 << k for k in range(64)
                                                   if b["min"] <= 1 << k <= b["max"]})
        out["memory"][buf] = {"min": b["min"], "max": b["max"], "steps": steps}
    return out
