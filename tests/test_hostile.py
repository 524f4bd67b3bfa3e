"""The loaders under hostile input (hypothesis), and one plain test per known failure.

Whatever a hardware file, a layer spec, a layer list, a store path or MAPPER_WORKERS
holds, the library either accepts it or raises its own error (HardwareError,
WorkloadError, StoreError, WorkersError) whose message names the field (or path) at
fault — never another exception, never a hang — and nothing the user owns is changed.
"""
from __future__ import annotations

import math
import os
import sqlite3
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mapper.hardware import HardwareError, load_design_space, load_hardware, parse_size
from mapper.hwspec import Hardware
from mapper.workers import WorkersError, default_workers
from mapper.space import core_splits, divisors, factor_pairs, package_splits, prime_factors
from mapper.store import Store, StoreError
from mapper.workload import FIELD_RANGES, WorkloadError, load_layers_yaml, parse_layer_spec

FAST = settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Values a careless or hostile file may hold, as Python objects (written with yaml.safe_dump) ...
SCALARS = st.one_of(
    st.integers(min_value=-10**40, max_value=10**40),
    st.sampled_from([0, -1, 1, 2**31, 2**63, 2**64, 10**30, 10**4000]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(), st.none(),
    st.text(max_size=20),
    st.sampled_from(["0x40", "1e30", "1e3", "1.5KB", "-1", "nan", "64 KiB", "800b", "1Kb", "١٢", "0b101",
                     "1_000", "1e99999999", "9" * 5000, "1.5B", ".5KB", "  8  "]),
    st.binary(max_size=8),
)
HOSTILE = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["value", "source", "x", "values"]), inner,
                                                 max_size=2)), max_leaves=6)
# ... and as raw YAML text, for what safe_dump would never write.
RAW = st.one_of(
    st.sampled_from(["0x40", "1e30", "1.0e+30", ".nan", "-.inf", "!!python/object:os.system ''",
                     "!!python/name:os.system", "!!python/object/apply:os.system ['true']", "!foo bar",
                     "&a [*a]", "*undefined", "[", "{", "'open", "9" * 5000, "-" + "9" * 5000, "0b11", "1_000",
                     "~", "yes", "0o777", "2001-01-01", "!!binary aGVsbG8=", "!!float 1e400", "!!int 0x7f",
                     "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]"
                     "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\n\r"), max_size=15),
)

TECH = {"dram_pj_per_bit": 8.75, "d2d_pj_per_bit": 1.17, "sram_pj_per_bit_at_1kb": 0.3,
        "sram_pj_per_bit_at_32kb": 0.81, "reg_rmw_pj_per_bit": 0.104, "mac_pj": 0.024, "frequency_mhz": 500,
        "mac_area_um2": 135.1, "sram_area_um2_per_kb": 518.4, "sram_macro_area_um2": 5440,
        "d2d_phy_area_mm2": 0.38, "mac_bits": 8}
HW = {"tech": TECH,
      "package": {"chiplets": 4, "topology": "ring", "dram_gb_s": 12.8, "d2d_gb_s": 25, "clock_mhz": 500},
      "chiplet": {"cores": 8, "a_l2": "64KB", "o_l2": "32KB"},
      "core": {"lanes": 8, "vector": 8, "o_l1": "1.5KB", "a_l1": "800B", "w_l1": "18KB", "in_memory": False},
      "bits": {"act": 8, "weight": 8, "psum": 24}}
HW_FIELDS = [(s, k) for s in HW if s != "tech" for k in HW[s] if k != "topology"] + [("tech", k) for k in TECH]


def _write_hw(d: Path, section: str, key: str, text: str) -> Path:
    """The base hardware, flow style, one field per line, with `section.key` replaced by `text`."""
    lines = []
    for sec, fields in HW.items():
        lines.append(f"{sec}:")
        for k, v in fields.items():
            lines.append(f"  {k}: {text if (sec, k) == (section, key) else yaml.safe_dump(v).splitlines()[0]}")
    p = d / "hw.yaml"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def _line_of(path: Path, key: str) -> int:
    return next(i + 1 for i, t in enumerate(path.read_text(encoding="utf-8").splitlines())
                if t.strip().startswith(f"{key}:"))


def _dump(v) -> str:
    return yaml.safe_dump(v, default_flow_style=True, width=10**9).strip().removesuffix("...").strip()


def _check_hw(path: Path, section: str, key: str) -> None:
    try:
        hw = load_hardware(path)
    except HardwareError as e:
        msg = str(e)
        assert str(path) in msg and "Fix:" in msg, msg
        assert (f"{section}.{key}" in msg or f"line {_line_of(path, key)}" in msg
                or ("not valid YAML" in msg and ", line " in msg)), msg  # an unclosed '[' is found later
        assert "Traceback" not in msg and len(msg) < 2000, msg
        return
    assert isinstance(hw, Hardware)
    hw.energy_fj_per_bit()  # every accepted hardware is priced without overflow
    hw.package_area_mm2()


@FAST
@given(field=st.sampled_from(HW_FIELDS), value=HOSTILE)
def test_hardware_field_with_a_hostile_value(tmp_path, field, value):
    _check_hw(_write_hw(tmp_path, *field, _dump(value)), *field)


@FAST
@given(field=st.sampled_from(HW_FIELDS), text=RAW)
def test_hardware_field_with_hostile_yaml(tmp_path, field, text):
    _check_hw(_write_hw(tmp_path, *field, text), *field)


@FAST
@given(key=st.sampled_from(["chiplets", "cores", "lanes", "vector", "o_l1", "a_l2", "w_l1"]), value=HOSTILE)
def test_design_space_with_a_hostile_value(tmp_path, key, value):
    compute = {"vector": [8], "lanes": [8], "cores": [8], "chiplets": [4]}
    memory = {b: {"min": "1KB", "max": "64KB"} for b in ("o_l1", "a_l1", "w_l1", "a_l2", "o_l2")}
    if key in compute:
        compute[key] = value
        field = f"compute.{key}"
    else:
        memory[key]["max"] = value
        field = f"memory.{key}"
    p = tmp_path / "space.yaml"
    p.write_text(yaml.safe_dump({"tech": TECH, "compute": compute, "memory": memory}), encoding="utf-8")
    try:
        load_design_space(p)
    except HardwareError as e:
        assert field in str(e) and str(p) in str(e), str(e)


# --- layers ----------------------------------------------------------------------------
TOKEN = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters=" ,=\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0"
                                   "\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
                                   "\u2028\u2029\u202f\u205f\u3000"), min_size=1, max_size=20),
    st.integers(min_value=-10**40, max_value=10**40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["0x40", "0X40", "0o17", "0b11", "1e3", "1e30", "1_000", "٣", "+5", "-0", "00064", "9" * 5000,
                     "nan", "inf", "true", "None"]),
)
SPEC_FIELDS = [k for k in FIELD_RANGES if k not in ("padding", "groups")] + ["in_density", "out_density"]


@FAST
@given(key=st.sampled_from(SPEC_FIELDS), value=TOKEN)
def test_layer_spec_with_a_hostile_value(key, value):
    assume(value.split() == [value] and "," not in value and "=" not in value)
    base = {"K": "8", "C": "8", "H": "8", "W": "8"}
    base[key] = value
    spec = " ".join(f"{k}={v}" for k, v in base.items())
    try:
        layer = parse_layer_spec(spec)
    except WorkloadError as e:
        assert key in str(e) and len(str(e)) < 2000, str(e)
        return
    if key in FIELD_RANGES:
        low, high = FIELD_RANGES[key]
        assert low <= getattr(layer, key) <= high


@FAST
@given(text=st.text(max_size=40))
def test_layer_spec_of_any_text(text):
    try:
        parse_layer_spec(text)
    except WorkloadError as e:
        assert "layer spec" in str(e)


LAYER = {"name": "conv1", "K": 8, "C": 8, "H": 8, "W": 8, "R": 3, "S": 3, "padding": 1}
LAYER_FIELDS = ["name", "K", "C", "H", "W", "R", "S", "stride", "padding", "dilation", "groups", "N", "kind",
                "in_density", "out_density"]


def _check_layers(path: Path, key: str) -> None:
    try:
        wl = load_layers_yaml(path)
    except WorkloadError as e:
        msg = str(e)
        assert str(path) in msg and len(msg) < 3000, msg
        assert key in msg or "YAML" in msg or "tag" in msg or "too long" in msg, msg
        return
    for layer in wl.layers:
        for k, (low, high) in FIELD_RANGES.items():
            assert low <= getattr(layer, k) <= high


@FAST
@given(key=st.sampled_from(LAYER_FIELDS), value=HOSTILE)
def test_layer_list_with_a_hostile_value(tmp_path, key, value):
    p = tmp_path / "net.yaml"
    p.write_text(yaml.safe_dump({"layers": [{**LAYER, key: value}]}), encoding="utf-8")
    _check_layers(p, key)


@FAST
@given(key=st.sampled_from(LAYER_FIELDS), text=RAW)
def test_layer_list_with_hostile_yaml(tmp_path, key, text):
    p = tmp_path / "net.yaml"
    fields = {**{k: _dump(v) for k, v in LAYER.items()}, key: text}
    p.write_text("layers:\n  - " + "\n    ".join(f"{k}: {v}" for k, v in fields.items()) + "\n", encoding="utf-8")
    _check_layers(p, key)


@FAST
@given(data=st.binary(max_size=200))
def test_layer_list_of_any_bytes(tmp_path, data):
    p = tmp_path / "net.yaml"
    p.write_bytes(data)
    try:
        load_layers_yaml(p)
    except WorkloadError as e:
        assert str(p) in str(e)


# --- the solutions store ---------------------------------------------------------------
def _snapshot(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in root.rglob("*")}


def _fixtures(root: Path) -> None:
    (root / "dir").mkdir()
    (root / "dir" / "precious.txt").write_text("keep")
    (root / "notes.txt").write_bytes(b"\xff\xfe not a database " * 20)
    (root / "empty").write_bytes(b"")
    db = sqlite3.connect(root / "other.db")
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()


PATHS = st.one_of(
    st.sampled_from([".", "", "dir", "dir/", "notes.txt", "notes.txt/s.sqlite", "other.db", "empty", "new.sqlite",
                     "a/b/c/new.sqlite", "dir/precious.txt", "bad\x00name", "x" * 300, "/proc/s.sqlite"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="/\\"), min_size=1, max_size=30),
)


@settings(max_examples=40, deadline=5000)
@given(name=PATHS, readonly=st.booleans())
def test_store_path_never_touches_what_it_did_not_create(name, readonly):
    assume(".." not in name)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _fixtures(root)
        before = _snapshot(root)
        path = Path(name) if name.startswith("/") else root / name
        try:
            st_ = Store(path, readonly=readonly)
        except StoreError as e:
            assert "--store" in str(e) and "Fix:" in str(e), str(e)
        else:
            assert st_.rows() == []
            st_.close()
        after = _snapshot(root)
        for rel, content in before.items():  # nothing there before is moved or changed ...
            if not (rel == "empty" and path == root / "empty" and not readonly):  # (... but an empty
                assert after.get(rel, "gone") == content, rel                       # file becomes a store)
        if readonly:
            assert after == before  # and a read-only open creates nothing


# --- MAPPER_WORKERS --------------------------------------------------------------------
@FAST
@given(value=st.one_of(TOKEN, st.text(max_size=10)))
def test_mapper_workers(monkeypatch, value):
    assume("\x00" not in value)
    monkeypatch.setenv("MAPPER_WORKERS", value)
    try:
        n = default_workers()
    except WorkersError as e:
        assert "MAPPER_WORKERS" in str(e) and isinstance(e, ValueError)
        return
    assert isinstance(n, int) and 1 <= n <= 4096


# --- the known failures, one by one ----------------------------------------------------
def _hw_with(tmp_path: Path, section: str, key: str, text: str) -> Path:
    return _write_hw(tmp_path, section, key, text)


@pytest.mark.parametrize("text, match", [
    (str(10**30), r"chiplet.a_l2 is about 10\^30, beyond the allowed range from 1 to 1073741824 bytes"),
    ("1e30", r"chiplet.a_l2 is '1e30' = about 10\^30 bytes, beyond the allowed range"),
    ("512MB", r"chiplet.a_l2 of 536870912 bytes gets .* pJ/bit .* beyond the allowed 1000 pJ/bit"),
])
def test_huge_buffer_is_out_of_range_not_an_overflow(tmp_path, text, match):
    with pytest.raises(HardwareError, match=match):
        load_hardware(_hw_with(tmp_path, "chiplet", "a_l2", text))


def test_exponent_size_in_range_is_read(tmp_path):
    assert parse_size("1e3") == 1000 and parse_size("1.5KB") == 1536 and parse_size("1e99999999") > 2**30
    assert load_hardware(_hw_with(tmp_path, "chiplet", "a_l2", "6.4e4")).a_l2 == 64000


def test_absurd_chiplet_count_is_refused_and_divisors_do_not_scan(tmp_path):
    with pytest.raises(HardwareError, match=r"package.chiplets is 1000000000000, beyond the allowed range "
                                            r"from 1 to 1024"):
        load_hardware(_hw_with(tmp_path, "package", "chiplets", str(10**12)))
    t = time.perf_counter()
    assert len(package_splits(10**12)) == 170 and len(core_splits(2**40)) == 41 * 42 // 2
    assert divisors(999999999989 * 1000000000039) == [1, 999999999989, 1000000000039,
                                                      999999999989 * 1000000000039]
    assert time.perf_counter() - t < 5


def test_divisors_and_factor_pairs_match_the_definition():
    for n in range(1, 500):
        assert divisors(n) == [d for d in range(1, n + 1) if n % d == 0]
        assert factor_pairs(n) == [(a, n // a) for a in range(1, n + 1) if n % a == 0]
        assert math.prod(p ** e for p, e in prime_factors(n).items()) == n
    with pytest.raises(ValueError):
        divisors(0)


def test_python_tag_is_named_as_such(tmp_path):
    with pytest.raises(HardwareError, match=r"Python-object tag '!!python/object/apply:os.system'.*not allowed"):
        load_hardware(_hw_with(tmp_path, "core", "lanes", "!!python/object/apply:os.system ['true']"))
    p = tmp_path / "net.yaml"
    p.write_text("layers:\n  - {K: !!python/object/apply:os.system ['true'], C: 8, H: 8, W: 8}\n")
    with pytest.raises(WorkloadError, match=r"Python-object tag '!!python/object/apply:os.system'.*not allowed"):
        load_layers_yaml(p)


@pytest.mark.parametrize("value, hint", [("0x40", "K=64"), ("1e3", "K=1000"), ("5.5", "K=5"), ("0b11", "K=3")])
def test_hex_and_float_layer_values_get_a_decimal_hint(value, hint):
    with pytest.raises(WorkloadError, match=f"decimal whole number from 1 to 1048576, e.g. {hint}"):
        parse_layer_spec(f"K={value} C=8 H=8 W=8")


def test_layer_fields_are_bounded():
    with pytest.raises(WorkloadError, match=r"'K' is 2000000, beyond the allowed range 1 to 1048576"):
        parse_layer_spec("K=2000000 C=1 H=1 W=1")
    with pytest.raises(WorkloadError, match=r"'stride' is 5000, beyond the allowed range 1 to 1024"):
        parse_layer_spec("K=1 C=1 H=1 W=1 stride=5000")
    with pytest.raises(WorkloadError, match=r"'K' is '9999.*beyond the allowed range"):
        parse_layer_spec("K=" + "9" * 5000 + " C=1 H=1 W=1")


def test_non_utf8_layer_list_is_a_message(tmp_path):
    p = tmp_path / "net.yaml"
    p.write_bytes(b"layers:\n  - {name: \xff\xfe, K: 8, C: 8, H: 8, W: 8}\n")
    with pytest.raises(WorkloadError, match="not UTF-8 text"):
        load_layers_yaml(p)


@pytest.mark.parametrize("value", ["0", "abc", "2.5", "-1", "5000", "1e3", "9" * 50])
def test_bad_mapper_workers(monkeypatch, value):
    monkeypatch.setenv("MAPPER_WORKERS", value)
    with pytest.raises(WorkersError, match=f"MAPPER_WORKERS is '{value[:10]}.*from 1 to 4096"):
        default_workers()


@pytest.mark.parametrize("value, n", [("3", 3), (" 2 ", 2), ("+4", 4), ("", os.cpu_count() or 1)])
def test_good_mapper_workers(monkeypatch, value, n):
    monkeypatch.setenv("MAPPER_WORKERS", value)
    assert default_workers() == n
